#include "schema/validate.hpp"

#include <algorithm>
#include <cmath>

namespace polaris::detail {
namespace {

std::string describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::string:
      return "the string " + value.dump();
    case Json::value_t::boolean:
      return value.dump();
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return value.dump();
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    default:
      return "null";
  }
}

bool is_integral(const Json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  const double number = value.get<double>();
  return std::isfinite(number) && number == std::trunc(number);
}

bool is_boolean_like(const Json& value) {
  if (value.is_boolean()) return true;
  if (value.is_number()) return value == 0 || value == 1;
  if (!value.is_string()) return false;
  static constexpr std::string_view kWords[] = {"yes", "no", "true", "false", "1", "0"};
  const auto& text = value.get_ref<const std::string&>();
  return std::find(std::begin(kWords), std::end(kWords), text) != std::end(kWords);
}

// The enum value an argument stands for, as the schema lists it (strings).
std::string enum_key(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
  if (value.is_number_integer()) return std::to_string(value.get<std::int64_t>());
  // 3.0 stands for 3; a float beyond the integers cannot be cast (undefined) nor match an enum.
  if (is_integral(value) && std::fabs(value.get<double>()) < 9.2e18) {
    return std::to_string(static_cast<std::int64_t>(value.get<double>()));
  }
  return value.dump();
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& value : values) text += (text.empty() ? "" : ", ") + value;
  return text;
}

void check(const Schema& schema, const Json& value, const std::string& path,
           std::vector<std::string>& problems) {
  const auto expect = [&](bool ok, const char* what) {
    if (!ok) problems.push_back(path + " must be " + what + ", not " + describe(value));
    return ok;
  };
  bool type_ok = true;
  switch (schema.type()) {
    case SchemaType::integer:
      type_ok = expect(is_integral(value), "an integer");
      break;
    case SchemaType::number:
      type_ok = expect(value.is_number(), "a number");
      break;
    case SchemaType::string:
      type_ok = expect(value.is_string(), "a string");
      break;
    case SchemaType::boolean:
      type_ok = expect(is_boolean_like(value), "a boolean");
      break;
    case SchemaType::array:
      type_ok = expect(value.is_array(), "an array");
      if (type_ok && schema.items() != nullptr) {
        for (std::size_t i = 0; i < value.size(); ++i) {
          if (!value[i].is_null()) {
            check(*schema.items(), value[i], path + "[" + std::to_string(i) + "]", problems);
          }
        }
      }
      break;
    case SchemaType::object:
      type_ok = expect(value.is_object(), "an object");
      if (type_ok) {
        for (const auto& [name, property] : schema.properties()) {
          const std::string child = path.empty() ? name : path + "." + name;
          auto it = value.find(name);
          if (it == value.end() || it->is_null()) {
            if (property.required()) problems.push_back(child + " is required");
          } else {
            check(property, *it, child, problems);
          }
        }
      }
      break;
    default:
      break;  // unspecified or NULL: anything goes
  }
  const auto& values = schema.enum_values();
  if (type_ok && !values.empty() &&
      std::find(values.begin(), values.end(), enum_key(value)) == values.end()) {
    problems.push_back(path + " must be one of " + joined(values) + ", not " + describe(value));
  }
}

}  // namespace

std::vector<std::string> validate_arguments(const Schema& schema, const Json& arguments) {
  std::vector<std::string> problems;
  if (schema.empty()) return problems;
  check(schema, arguments, "", problems);
  for (auto& problem : problems) {
    if (problem.starts_with(" must be")) problem = "the arguments" + problem;  // the root itself
  }
  return problems;
}

}  // namespace polaris::detail
