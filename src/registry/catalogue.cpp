#include "registry/catalogue.hpp"

namespace polaris::detail {

CheckedName check_declaration(const Json& declaration) {
  if (!declaration.is_object()) return {"", "the declaration is not a JSON object"};
  auto name = declaration.find("name");
  if (name == declaration.end() || !name->is_string()) {
    return {"", "the declaration has no string \"name\""};
  }
  const auto& text = name->get_ref<const std::string&>();
  if (text.empty()) return {"", "the tool name is empty"};
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '*' || c == '>') {
      return {text, "the tool name '" + text + "' contains white space or a wildcard"};
    }
  }
  return {text, ""};
}

Catalogue::Outcome Catalogue::add(const Json& declaration, Clock::time_point now) {
  const CheckedName checked = check_declaration(declaration);
  if (!checked.problem.empty()) return {false, "register: " + checked.problem};
  std::lock_guard lock(mutex_);
  auto [it, inserted] = tools_.try_emplace(checked.name, Entry{declaration, now + deadline_});
  if (!inserted) {
    if (!allow_overwrite_) return {false, "register: " + checked.name + " already registered"};
    it->second = Entry{declaration, now + deadline_};
  }
  return {true, "OK"};
}

Catalogue::Outcome Catalogue::remove(const Json& declaration) {
  const CheckedName checked = check_declaration(declaration);
  if (!checked.problem.empty()) return {false, "unregister: " + checked.problem};
  std::lock_guard lock(mutex_);
  if (tools_.erase(checked.name) == 0) {
    return {false, "unregister: " + checked.name + " not found"};
  }
  return {true, "OK"};
}

Catalogue::Outcome Catalogue::keepalive(const Json& declarations, Clock::time_point now) {
  if (!declarations.is_array()) {
    return {false, "keepalive: the body must be a JSON array of declarations"};
  }
  std::string problems;
  std::lock_guard lock(mutex_);
  for (const auto& declaration : declarations) {
    const CheckedName checked = check_declaration(declaration);
    if (!checked.problem.empty()) {
      problems += (problems.empty() ? "" : "; ") + checked.problem;
      continue;
    }
    auto [it, inserted] = tools_.try_emplace(checked.name, Entry{declaration, now + deadline_});
    if (!inserted) it->second.deadline = now + deadline_;
  }
  if (!problems.empty()) return {false, "keepalive: " + problems};
  return {true, "OK"};
}

Json Catalogue::list() const {
  Json array = Json::array();
  std::lock_guard lock(mutex_);
  for (const auto& [name, entry] : tools_) array.push_back(entry.declaration);
  return array;
}

std::vector<std::string> Catalogue::sweep(Clock::time_point now) {
  std::vector<std::string> removed;
  std::lock_guard lock(mutex_);
  for (auto it = tools_.begin(); it != tools_.end();) {
    if (it->second.deadline <= now) {
      removed.push_back(it->first);
      it = tools_.erase(it);
    } else {
      ++it;
    }
  }
  return removed;
}

std::size_t Catalogue::size() const {
  std::lock_guard lock(mutex_);
  return tools_.size();
}

}  // namespace polaris::detail
