// polaris/describe.hpp - a C++ struct described once gives a tool's schema, validation and parsing.
//
//   enum class Op { add, subtract, multiply, divide };
//   POLARIS_DESCRIBE_ENUM(Op, add, subtract, multiply, divide);
//   struct Calc { Op operation; double a; double b; };
//   POLARIS_DESCRIBE_STRUCT(Calc, "calc params", (operation, "operation to perform"),
//                           (a, "first operand"), (b, "second operand"));
//
//   polaris::schema_of<Calc>()          // the Object schema, as the schema API would build it
//   polaris::to_json(Calc{Op::add, 1, 2})
//   polaris::from_json<Calc>(json)      // validates and parses; throws Error(invalid_argument)
//
// The macros go at namespace scope, in the namespace of the type (they define a function found by
// argument-dependent lookup), after the type's definition. POLARIS_DESCRIBE(Type, members...) is
// POLARIS_DESCRIBE_STRUCT without a description for the struct itself.
//
// Members are `(name, "description")`, or `(name, "description", polaris::not_required)`.
// Member types: bool; integers (INTEGER); float and double (NUMBER); std::string; described enums
// (a STRING enum of the value names) and structs (a nested OBJECT); std::optional of any of these;
// std::vector of any of these (arrays); polaris::Json (any value, no schema of its own is rendered
// beyond its description: use it sparingly).
//
// Required or not: a member is required unless it is a std::optional, is marked
// polaris::not_required, or has a default: a value in `Type{}` that differs from the type's empty
// value (`int retries = 3;`, `std::string unit = "celsius";`). C++20 cannot tell `bool verbose =
// false;` from `bool verbose;`: such a member counts as required unless marked not_required (or
// made std::optional). A member with a default takes it when the argument is missing or null, as
// schema defaults do (the default is part of the schema, never sent on the wire).
//
// Enum values are `name` or `(name, "description")`; value descriptions are appended to the
// description of each member of that enum type ("what to do (add: a + b; ...)"), since the wire
// schema has no place for them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "polaris/schema.hpp"

namespace polaris {

/// Third element of a described member: not required although its default is the empty value.
struct NotRequired {};
inline constexpr NotRequired not_required{};

namespace detail::describe {

template <class T, class M>
struct Member {
  std::string_view name;
  M T::*pointer;
  std::string_view description;
  bool not_required;
};

template <class T, class M>
constexpr Member<T, M> member(std::string_view name, M T::*pointer, std::string_view description) {
  return {name, pointer, description, false};
}
template <class T, class M>
constexpr Member<T, M> member(std::string_view name, M T::*pointer, std::string_view description,
                              NotRequired /*unused*/) {
  return {name, pointer, description, true};
}

template <class T, class... Members>
struct StructInfo {
  std::string_view description;
  std::tuple<Members...> members;
};

template <class T, class... Members>
constexpr StructInfo<T, Members...> make_struct(std::string_view description, Members... members) {
  return {description, std::tuple<Members...>{members...}};
}

template <class E>
struct EnumValue {
  E value;
  std::string_view name;
  std::string_view description;
};

}  // namespace detail::describe
}  // namespace polaris

// ---- preprocessor plumbing (a map over up to 40 arguments) ----
#define POLARIS_PP_ARG_N(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, \
                         _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30,  \
                         _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, N, ...)              \
  N
#define POLARIS_PP_COUNT(...)                                                                    \
  POLARIS_PP_ARG_N(__VA_ARGS__, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25,  \
                   24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, \
                   3, 2, 1, 0)
#define POLARIS_PP_MAP_1(m, x) m(x)
#define POLARIS_PP_MAP_2(m, x, ...) m(x), POLARIS_PP_MAP_1(m, __VA_ARGS__)
#define POLARIS_PP_MAP_3(m, x, ...) m(x), POLARIS_PP_MAP_2(m, __VA_ARGS__)
#define POLARIS_PP_MAP_4(m, x, ...) m(x), POLARIS_PP_MAP_3(m, __VA_ARGS__)
#define POLARIS_PP_MAP_5(m, x, ...) m(x), POLARIS_PP_MAP_4(m, __VA_ARGS__)
#define POLARIS_PP_MAP_6(m, x, ...) m(x), POLARIS_PP_MAP_5(m, __VA_ARGS__)
#define POLARIS_PP_MAP_7(m, x, ...) m(x), POLARIS_PP_MAP_6(m, __VA_ARGS__)
#define POLARIS_PP_MAP_8(m, x, ...) m(x), POLARIS_PP_MAP_7(m, __VA_ARGS__)
#define POLARIS_PP_MAP_9(m, x, ...) m(x), POLARIS_PP_MAP_8(m, __VA_ARGS__)
#define POLARIS_PP_MAP_10(m, x, ...) m(x), POLARIS_PP_MAP_9(m, __VA_ARGS__)
#define POLARIS_PP_MAP_11(m, x, ...) m(x), POLARIS_PP_MAP_10(m, __VA_ARGS__)
#define POLARIS_PP_MAP_12(m, x, ...) m(x), POLARIS_PP_MAP_11(m, __VA_ARGS__)
#define POLARIS_PP_MAP_13(m, x, ...) m(x), POLARIS_PP_MAP_12(m, __VA_ARGS__)
#define POLARIS_PP_MAP_14(m, x, ...) m(x), POLARIS_PP_MAP_13(m, __VA_ARGS__)
#define POLARIS_PP_MAP_15(m, x, ...) m(x), POLARIS_PP_MAP_14(m, __VA_ARGS__)
#define POLARIS_PP_MAP_16(m, x, ...) m(x), POLARIS_PP_MAP_15(m, __VA_ARGS__)
#define POLARIS_PP_MAP_17(m, x, ...) m(x), POLARIS_PP_MAP_16(m, __VA_ARGS__)
#define POLARIS_PP_MAP_18(m, x, ...) m(x), POLARIS_PP_MAP_17(m, __VA_ARGS__)
#define POLARIS_PP_MAP_19(m, x, ...) m(x), POLARIS_PP_MAP_18(m, __VA_ARGS__)
#define POLARIS_PP_MAP_20(m, x, ...) m(x), POLARIS_PP_MAP_19(m, __VA_ARGS__)
#define POLARIS_PP_MAP_21(m, x, ...) m(x), POLARIS_PP_MAP_20(m, __VA_ARGS__)
#define POLARIS_PP_MAP_22(m, x, ...) m(x), POLARIS_PP_MAP_21(m, __VA_ARGS__)
#define POLARIS_PP_MAP_23(m, x, ...) m(x), POLARIS_PP_MAP_22(m, __VA_ARGS__)
#define POLARIS_PP_MAP_24(m, x, ...) m(x), POLARIS_PP_MAP_23(m, __VA_ARGS__)
#define POLARIS_PP_MAP_25(m, x, ...) m(x), POLARIS_PP_MAP_24(m, __VA_ARGS__)
#define POLARIS_PP_MAP_26(m, x, ...) m(x), POLARIS_PP_MAP_25(m, __VA_ARGS__)
#define POLARIS_PP_MAP_27(m, x, ...) m(x), POLARIS_PP_MAP_26(m, __VA_ARGS__)
#define POLARIS_PP_MAP_28(m, x, ...) m(x), POLARIS_PP_MAP_27(m, __VA_ARGS__)
#define POLARIS_PP_MAP_29(m, x, ...) m(x), POLARIS_PP_MAP_28(m, __VA_ARGS__)
#define POLARIS_PP_MAP_30(m, x, ...) m(x), POLARIS_PP_MAP_29(m, __VA_ARGS__)
#define POLARIS_PP_MAP_31(m, x, ...) m(x), POLARIS_PP_MAP_30(m, __VA_ARGS__)
#define POLARIS_PP_MAP_32(m, x, ...) m(x), POLARIS_PP_MAP_31(m, __VA_ARGS__)
#define POLARIS_PP_MAP_33(m, x, ...) m(x), POLARIS_PP_MAP_32(m, __VA_ARGS__)
#define POLARIS_PP_MAP_34(m, x, ...) m(x), POLARIS_PP_MAP_33(m, __VA_ARGS__)
#define POLARIS_PP_MAP_35(m, x, ...) m(x), POLARIS_PP_MAP_34(m, __VA_ARGS__)
#define POLARIS_PP_MAP_36(m, x, ...) m(x), POLARIS_PP_MAP_35(m, __VA_ARGS__)
#define POLARIS_PP_MAP_37(m, x, ...) m(x), POLARIS_PP_MAP_36(m, __VA_ARGS__)
#define POLARIS_PP_MAP_38(m, x, ...) m(x), POLARIS_PP_MAP_37(m, __VA_ARGS__)
#define POLARIS_PP_MAP_39(m, x, ...) m(x), POLARIS_PP_MAP_38(m, __VA_ARGS__)
#define POLARIS_PP_MAP_40(m, x, ...) m(x), POLARIS_PP_MAP_39(m, __VA_ARGS__)
#define POLARIS_PP_CAT(a, b) POLARIS_PP_CAT_(a, b)
#define POLARIS_PP_CAT_(a, b) a##b
#define POLARIS_PP_MAP(m, ...) \
  POLARIS_PP_CAT(POLARIS_PP_MAP_, POLARIS_PP_COUNT(__VA_ARGS__))(m, __VA_ARGS__)
// 1 when the argument is parenthesised, else 0.
#define POLARIS_PP_SECOND(a, b, ...) b
#define POLARIS_PP_IS_PAREN(x) POLARIS_PP_IS_PAREN_(POLARIS_PP_IS_PAREN_PROBE x)
#define POLARIS_PP_IS_PAREN_(...) POLARIS_PP_SECOND(__VA_ARGS__, 0, ~)
#define POLARIS_PP_IS_PAREN_PROBE(...) ~, 1

#define POLARIS_PP_MEMBER(pair) POLARIS_PP_MEMBER_ pair
#define POLARIS_PP_MEMBER_(name, description, ...)                          \
  ::polaris::detail::describe::member(#name, &polaris_described_type::name, \
                                      description __VA_OPT__(, ) __VA_ARGS__)
#define POLARIS_PP_ENUM_VALUE(x) POLARIS_PP_CAT(POLARIS_PP_ENUM_VALUE_, POLARIS_PP_IS_PAREN(x))(x)
#define POLARIS_PP_ENUM_VALUE_0(name)                              \
  ::polaris::detail::describe::EnumValue<polaris_described_type> { \
    polaris_described_type::name, #name, ""                        \
  }
#define POLARIS_PP_ENUM_VALUE_1(pair) POLARIS_PP_ENUM_PAIR pair
#define POLARIS_PP_ENUM_PAIR(name, description)                    \
  ::polaris::detail::describe::EnumValue<polaris_described_type> { \
    polaris_described_type::name, #name, description               \
  }

/// Describes a struct: its description, then its members as (name, "description") pairs.
#define POLARIS_DESCRIBE_STRUCT(Type, description, ...)                \
  [[maybe_unused]] inline auto polaris_describe(const Type* /*tag*/) { \
    using polaris_described_type = Type;                               \
    return ::polaris::detail::describe::make_struct<Type>(             \
        description, POLARIS_PP_MAP(POLARIS_PP_MEMBER, __VA_ARGS__));  \
  }                                                                    \
  static_assert(true, "")

/// Describes a struct without a description of its own.
#define POLARIS_DESCRIBE(Type, ...) POLARIS_DESCRIBE_STRUCT(Type, "", __VA_ARGS__)

/// Describes an enum: its values, as `name` or (name, "description").
#define POLARIS_DESCRIBE_ENUM(Type, ...)                                   \
  [[maybe_unused]] inline auto polaris_describe(const Type* /*tag*/) {     \
    using polaris_described_type = Type;                                   \
    return std::array{POLARIS_PP_MAP(POLARIS_PP_ENUM_VALUE, __VA_ARGS__)}; \
  }                                                                        \
  static_assert(true, "")

namespace polaris {
namespace detail::describe {

template <class T>
concept Described = requires(const T* tag) {
  polaris_describe(tag);
};
template <class T>
concept DescribedEnum = std::is_enum_v<T> && Described<T>;
template <class T>
concept DescribedStruct = std::is_class_v<T> && Described<T>;

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T, class A>
struct IsVector<std::vector<T, A>> : std::true_type {};

template <class T>
concept Integer = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T>
inline constexpr bool kSupported =
    std::is_same_v<T, bool> || Integer<T> || std::is_floating_point_v<T> ||
    std::is_same_v<T, std::string> || std::is_same_v<T, Json> || Described<T> ||
    IsOptional<T>::value || IsVector<T>::value;

[[noreturn]] inline void bad(const std::string& path, const std::string& problem) {
  throw Error(Errc::invalid_argument,
              (path.empty() ? std::string("arguments") : path) + ": " + problem);
}

inline std::string join(const std::string& path, std::string_view name) {
  return path.empty() ? std::string(name) : path + "." + std::string(name);
}

template <class E>
std::string_view enum_name(E value) {
  for (const auto& entry : polaris_describe(static_cast<const E*>(nullptr))) {
    if (entry.value == value) return entry.name;
  }
  throw Error(Errc::invalid_argument,
              "enum value " + std::to_string(static_cast<long long>(value)) + " is not described");
}

template <class E>
std::string enum_description(std::string description) {
  std::string values;
  for (const auto& entry : polaris_describe(static_cast<const E*>(nullptr))) {
    if (entry.description.empty()) continue;
    if (!values.empty()) values += "; ";
    values.append(entry.name).append(": ").append(entry.description);
  }
  if (values.empty()) return description;
  return description.empty() ? values : description + " (" + values + ")";
}

// ---- to JSON ----

template <class T>
Json encode(const T& value) {
  static_assert(kSupported<T>, "polaris: this member type cannot be described (see describe.hpp)");
  if constexpr (std::is_same_v<T, Json>) {
    return value;
  } else if constexpr (IsOptional<T>::value) {
    return value ? encode(*value) : Json(nullptr);
  } else if constexpr (IsVector<T>::value) {
    Json array = Json::array();
    for (const auto& item : value) array.push_back(encode<typename T::value_type>(item));
    return array;
  } else if constexpr (DescribedEnum<T>) {
    return Json(std::string(enum_name(value)));
  } else if constexpr (DescribedStruct<T>) {
    Json object = Json::object();
    std::apply(
        [&](const auto&... member) {
          (
              [&] {
                const auto& field = value.*(member.pointer);
                if constexpr (IsOptional<std::remove_cvref_t<decltype(field)>>::value) {
                  if (!field) return;  // absent rather than null: as a hand-written reply would be
                }
                object[std::string(member.name)] = encode(field);
              }(),
              ...);
        },
        polaris_describe(static_cast<const T*>(nullptr)).members);
    return object;
  } else {
    return Json(value);
  }
}

// ---- from JSON, as leniently as the library's argument validation ----

template <class T>
T decode(const Json& json, const std::string& path);

inline bool boolean_from_json(const Json& json, const std::string& path) {
  if (json.is_boolean()) return json.get<bool>();
  if (json.is_string()) {
    const auto& text = json.get_ref<const std::string&>();
    if (text == "true" || text == "yes" || text == "1") return true;
    if (text == "false" || text == "no" || text == "0") return false;
  }
  if (json.is_number() && (json == 0 || json == 1)) return json == 1;
  bad(path, "expected a boolean, got " + json.dump());
}

template <class T>
T integer_from_json(const Json& json, const std::string& path) {
  if (json.is_number_unsigned()) {
    const auto value = json.get<std::uint64_t>();
    if (value <= static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
      return static_cast<T>(value);
    }
  } else if (json.is_number_integer()) {
    const auto value = json.get<std::int64_t>();
    if (std::in_range<T>(value)) return static_cast<T>(value);
  } else if (json.is_number_float()) {
    // 3.0 stands for 3, as the argument validation accepts it.
    const double value = json.get<double>();
    if (value == static_cast<double>(static_cast<std::int64_t>(value)) && value >= -9.2e18 &&
        value <= 9.2e18 && std::in_range<T>(static_cast<std::int64_t>(value))) {
      return static_cast<T>(static_cast<std::int64_t>(value));
    }
  }
  bad(path, "expected an integer in range, got " + json.dump());
}

template <class T>
T struct_from_json(const Json& json, const std::string& path) {
  if (!json.is_object()) bad(path, "expected an object, got " + json.dump());
  T value{};
  const T defaults{};
  std::apply(
      [&](const auto&... member) {
        (
            [&] {
              using M = std::remove_cvref_t<decltype(value.*(member.pointer))>;
              const auto found = json.find(std::string(member.name));
              const std::string where = join(path, member.name);
              if (found != json.end() && !found->is_null()) {
                value.*(member.pointer) = decode<M>(*found, where);
              } else if constexpr (!IsOptional<M>::value) {
                if (!member.not_required && encode(defaults.*(member.pointer)) == encode(M{})) {
                  bad(where, "required");
                }
              }
            }(),
            ...);
      },
      polaris_describe(static_cast<const T*>(nullptr)).members);
  return value;
}

template <class T>
T decode(const Json& json, const std::string& path) {
  static_assert(kSupported<T>, "polaris: this member type cannot be described (see describe.hpp)");
  if constexpr (std::is_same_v<T, Json>) {
    return json;
  } else if constexpr (IsOptional<T>::value) {
    if (json.is_null()) return std::nullopt;
    return decode<typename T::value_type>(json, path);
  } else if constexpr (IsVector<T>::value) {
    if (!json.is_array()) bad(path, "expected an array, got " + json.dump());
    T values;
    values.reserve(json.size());
    for (std::size_t i = 0; i < json.size(); ++i) {
      values.push_back(
          decode<typename T::value_type>(json[i], path + "[" + std::to_string(i) + "]"));
    }
    return values;
  } else if constexpr (DescribedEnum<T>) {
    if (json.is_string()) {
      for (const auto& entry : polaris_describe(static_cast<const T*>(nullptr))) {
        if (entry.name == json.get_ref<const std::string&>()) return entry.value;
      }
    }
    std::string names;
    for (const auto& entry : polaris_describe(static_cast<const T*>(nullptr))) {
      names.append(names.empty() ? "" : ", ").append(entry.name);
    }
    bad(path, "expected one of " + names + ", got " + json.dump());
  } else if constexpr (DescribedStruct<T>) {
    return struct_from_json<T>(json, path);
  } else if constexpr (std::is_same_v<T, bool>) {
    return boolean_from_json(json, path);
  } else if constexpr (Integer<T>) {
    return integer_from_json<T>(json, path);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!json.is_number()) bad(path, "expected a number, got " + json.dump());
    return json.get<T>();
  } else {
    if (!json.is_string()) bad(path, "expected a string, got " + json.dump());
    return json.get<std::string>();
  }
}

// ---- schemas ----

template <class T>
Properties properties();

template <class T>
std::string_view struct_description() {
  return polaris_describe(static_cast<const T*>(nullptr)).description;
}

// The schema of a member of type T; `fallback` is its default (nullptr: none).
template <class T>
Schema member_schema(std::string description, bool required, const T* fallback) {
  static_assert(kSupported<T>, "polaris: this member type cannot be described (see describe.hpp)");
  const auto value_or_none = [&](auto convert) {
    return fallback ? std::optional(convert(*fallback)) : std::nullopt;
  };
  if constexpr (std::is_same_v<T, Json>) {
    return Schema::from_json(Json{{"description", description}, {"nullable", true}});
  } else if constexpr (IsOptional<T>::value) {
    return member_schema<typename T::value_type>(std::move(description), false, nullptr);
  } else if constexpr (IsVector<T>::value) {
    using Item = typename T::value_type;
    if constexpr (std::is_same_v<Item, bool>) {
      return BoolArray{.description = description, .required = required};
    } else if constexpr (Integer<Item>) {
      return IntArray{.description = description, .required = required};
    } else if constexpr (std::is_floating_point_v<Item>) {
      return FloatArray{.description = description, .required = required};
    } else if constexpr (std::is_same_v<Item, std::string>) {
      return StringArray{.description = description, .required = required};
    } else if constexpr (DescribedStruct<Item>) {
      return ObjectArray{.description = description,
                         .item_description = std::string(struct_description<Item>()),
                         .properties = properties<Item>(),
                         .required = required};
    } else {
      return Array{.description = description,
                   .items = member_schema<Item>("", false, nullptr),
                   .required = required};
    }
  } else if constexpr (DescribedEnum<T>) {
    std::vector<std::string> names;
    for (const auto& entry : polaris_describe(static_cast<const T*>(nullptr))) {
      names.emplace_back(entry.name);
    }
    return StringEnum{
        .description = enum_description<T>(std::move(description)),
        .values = std::move(names),
        .required = required,
        .default_value = value_or_none([](T v) { return std::string(enum_name(v)); })};
  } else if constexpr (DescribedStruct<T>) {
    return Object{.description = description.empty() ? std::string(struct_description<T>())
                                                     : std::move(description),
                  .properties = properties<T>(),
                  .required = required};
  } else if constexpr (std::is_same_v<T, bool>) {
    return Bool{.description = description,
                .required = required,
                .default_value = value_or_none([](bool v) { return v; })};
  } else if constexpr (Integer<T>) {
    return Int{.description = description,
               .required = required,
               .default_value = value_or_none([](T v) { return static_cast<std::int64_t>(v); })};
  } else if constexpr (std::is_floating_point_v<T>) {
    return Float{.description = description,
                 .required = required,
                 .default_value = value_or_none([](T v) { return static_cast<double>(v); })};
  } else {
    return String{.description = description,
                  .required = required,
                  .default_value = value_or_none([](const std::string& v) { return v; })};
  }
}

template <class T>
Properties properties() {
  Properties result;
  const T defaults{};
  std::apply(
      [&](const auto&... member) {
        (
            [&] {
              using M = std::remove_cvref_t<decltype(defaults.*(member.pointer))>;
              const M& fallback = defaults.*(member.pointer);
              bool has_default = false;
              if constexpr (!IsOptional<M>::value) has_default = encode(fallback) != encode(M{});
              const bool required = !IsOptional<M>::value && !member.not_required && !has_default;
              result.emplace_back(std::string(member.name),
                                  member_schema<M>(std::string(member.description), required,
                                                   has_default ? &fallback : nullptr));
            }(),
            ...);
      },
      polaris_describe(static_cast<const T*>(nullptr)).members);
  return result;
}

}  // namespace detail::describe

/// The OBJECT schema of a described struct (its description, its members' properties). Computed
/// once per type.
template <class T>
requires detail::describe::DescribedStruct<T>
const Schema& schema_of() {
  static const Schema schema =
      Object{.description = std::string(detail::describe::struct_description<T>()),
             .properties = detail::describe::properties<T>()};
  return schema;
}

/// The JSON of a described value (a struct renders as an object; std::nullopt members are left
/// out).
template <class T>
Json to_json(const T& value) {
  return detail::describe::encode(value);
}

/// Parses and validates a described value; members absent (or null) take their defaults.
/// @throws Error(Errc::invalid_argument) naming the first bad member, e.g. "a: expected a number".
template <class T>
T from_json(const Json& json) {
  return detail::describe::decode<T>(json, "");
}

}  // namespace polaris
