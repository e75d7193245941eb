#include <cmath>
#include <limits>

#include "polaris/tool.hpp"

namespace polaris {
namespace {

const Json& empty_object() {
  static const Json object = Json::object();  // immutable
  return object;
}

std::optional<std::int64_t> as_integer(const Json& value) {
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (!std::isfinite(number) || std::fabs(number) > 9.2e18) return std::nullopt;
    return static_cast<std::int64_t>(number);
  }
  return std::nullopt;
}

std::optional<double> as_number(const Json& value) {
  if (value.is_number()) return value.get<double>();
  return std::nullopt;
}

std::optional<std::string> as_string(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return std::nullopt;
}

std::optional<bool> as_boolean(const Json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number()) {
    const double number = value.get<double>();
    if (number == 1) return true;
    if (number == 0) return false;
    return std::nullopt;
  }
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    if (text == "yes" || text == "true" || text == "1") return true;
    if (text == "no" || text == "false" || text == "0") return false;
  }
  return std::nullopt;
}

// Reads one scalar: the argument when it has the right type, else the default when that has the
// right type, else the zero value.
template <typename T, typename Convert>
T read_scalar(const Json* value, const Json* fallback, Convert convert) {
  if (value != nullptr) {
    if (auto converted = convert(*value)) return *converted;
  }
  if (fallback != nullptr) {
    if (auto converted = convert(*fallback)) return *converted;
  }
  return T{};
}

template <typename T, typename Convert>
std::vector<T> read_array(const Json* value, const Json* fallback, Convert convert) {
  const Json* source = value != nullptr && value->is_array()         ? value
                       : fallback != nullptr && fallback->is_array() ? fallback
                                                                     : nullptr;
  std::vector<T> result;
  if (source == nullptr) return result;
  result.reserve(source->size());
  for (const auto& element : *source) result.push_back(convert(element).value_or(T{}));
  return result;
}

}  // namespace

Request::Request(const Json& arguments, Schema schema, const Context* context)
    : arguments_(&arguments), schema_(std::move(schema)), context_(context) {}

const Json* Request::find(std::string_view key) const {
  if (!arguments_->is_object()) return nullptr;
  auto it = arguments_->find(key);
  if (it == arguments_->end() || it->is_null()) return nullptr;
  return &*it;
}

const Json* Request::fallback(std::string_view key) const {
  const Schema* property = schema_.property(key);
  if (property == nullptr || property->default_value().is_null()) return nullptr;
  return &property->default_value();
}

Schema Request::property_schema(std::string_view key) const {
  const Schema* property = schema_.property(key);
  return property != nullptr ? *property : Schema{};
}

bool Request::has(std::string_view key) const { return find(key) != nullptr; }

std::int64_t Request::integer(std::string_view key) const {
  return read_scalar<std::int64_t>(find(key), fallback(key), as_integer);
}

double Request::number(std::string_view key) const {
  return read_scalar<double>(find(key), fallback(key), as_number);
}

std::string Request::string(std::string_view key) const {
  return read_scalar<std::string>(find(key), fallback(key), as_string);
}

bool Request::boolean(std::string_view key) const {
  return read_scalar<bool>(find(key), fallback(key), as_boolean);
}

std::vector<std::int64_t> Request::integers(std::string_view key) const {
  return read_array<std::int64_t>(find(key), fallback(key), as_integer);
}

std::vector<double> Request::numbers(std::string_view key) const {
  return read_array<double>(find(key), fallback(key), as_number);
}

std::vector<std::string> Request::strings(std::string_view key) const {
  return read_array<std::string>(find(key), fallback(key), as_string);
}

std::vector<bool> Request::booleans(std::string_view key) const {
  return read_array<bool>(find(key), fallback(key), as_boolean);
}

Request Request::object(std::string_view key) const {
  const Json* value = find(key);
  return Request(value != nullptr && value->is_object() ? *value : empty_object(),
                 property_schema(key), context_);
}

std::vector<Request> Request::objects(std::string_view key) const {
  std::vector<Request> result;
  const Json* value = find(key);
  if (value == nullptr || !value->is_array()) return result;
  const Schema array_schema = property_schema(key);
  const Schema item_schema = array_schema.items() != nullptr ? *array_schema.items() : Schema{};
  for (const auto& element : *value) {
    if (element.is_object()) result.emplace_back(element, item_schema, context_);
  }
  return result;
}

}  // namespace polaris
