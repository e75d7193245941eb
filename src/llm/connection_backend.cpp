// llm/connection_backend.cpp - tools of the cluster, through a Connection.
#include "llm/tool_backend.hpp"
#include "polaris/connection.hpp"

namespace polaris::llm {
namespace {

class ConnectionBackend final : public ToolBackend {
 public:
  explicit ConnectionBackend(Connection& conn) : conn_(conn) {}
  std::vector<ToolDeclaration> list() override { return conn_.list_tools(); }
  std::vector<std::string> local() override { return conn_.local_tools(); }
  Json call(const std::string& name, const Json& arguments,
            std::optional<std::chrono::milliseconds> timeout,
            const std::function<void(const Json&)>& on_message) override {
    return conn_.call(name, arguments, CallOptions{.timeout = timeout, .on_progress = on_message});
  }

 private:
  Connection& conn_;
};

}  // namespace

std::unique_ptr<ToolBackend> connection_backend(Connection& conn) {
  return std::make_unique<ConnectionBackend>(conn);
}

}  // namespace polaris::llm
