// mcp/import.cpp - an MCP server's tools registered as polaris tools.
#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "common/log.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"

namespace polaris::mcp {

// Thread safety: registration state guarded by mutex_; refresh() runs one at a time
// (refresh_mutex_). list_changed is handled on a worker thread of ours, never on the transport's.
class Import::Impl : public std::enable_shared_from_this<Import::Impl> {
 public:
  Impl(Connection& connection, ImportOptions options)
      : connection_(connection),
        options_(std::move(options)),
        log_(polaris::detail::logger_or_default(options_.client.logger)) {}

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void start() {
    client_ = std::make_shared<Client>(options_.client);
    std::weak_ptr<Impl> weak = weak_from_this();
    client_->on_notification([weak](const std::string& method, const Json&) {
      if (method != "notifications/tools/list_changed") return;
      if (auto self = weak.lock()) self->request_refresh();
    });
    if (!options_.only.empty()) require_only_tools(client_->list_tools());
    worker_ = std::thread([this] { refresh_loop(); });
    refresh();
  }

  // An `only` name the server does not have is a typo, not "import nothing and keep running".
  // Checked once, at start: a tool that disappears later is the server's business.
  void require_only_tools(const std::vector<Json>& listed) const {
    std::vector<std::string> names;
    for (const auto& tool : listed) names.push_back(tool.value("name", ""));
    for (const auto& wanted : options_.only) {
      if (std::find(names.begin(), names.end(), wanted) != names.end()) continue;
      std::string there;
      for (const auto& name : names) there += (there.empty() ? "" : ", ") + name;
      throw Error(Errc::invalid_argument, "the MCP server has no tool " + wanted + " (its tools: " +
                                              (there.empty() ? "none" : there) + ")");
    }
  }

  void refresh() {
    std::lock_guard serial(refresh_mutex_);
    const auto listed = client_->list_tools();
    std::map<std::string, Json> wanted;  // polaris name -> MCP tool
    for (const auto& tool : listed) {
      const auto mcp_name = tool["name"].get<std::string>();
      if (!options_.only.empty() &&
          std::find(options_.only.begin(), options_.only.end(), mcp_name) == options_.only.end()) {
        continue;
      }
      const auto name = polaris_tool_name(options_.prefix, mcp_name);
      if (wanted.count(name) != 0) {
        log_->warn("mcp import: tools {} and {} map to the same polaris name {}; keeping the first",
                   wanted[name]["name"].get<std::string>(), mcp_name, name);
        continue;
      }
      wanted[name] = tool;
    }
    std::map<std::string, Json> current;
    {
      std::lock_guard lock(mutex_);
      current = registered_;
    }
    for (const auto& [name, tool] : current) {
      auto it = wanted.find(name);
      if (it != wanted.end() && it->second == tool) continue;  // unchanged
      try {
        connection_.unregister_tool(name);
      } catch (const Error& error) {
        log_->warn("mcp import: unregister {}: {}", name, error.what());
      }
      std::lock_guard lock(mutex_);
      registered_.erase(name);
    }
    for (const auto& [name, tool] : wanted) {
      {
        std::lock_guard lock(mutex_);
        if (registered_.count(name) != 0) continue;
      }
      connection_.register_tool(make_tool(name, tool));
      std::lock_guard lock(mutex_);
      registered_[name] = tool;
    }
  }

  [[nodiscard]] std::vector<std::string> tools() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, tool] : registered_) names.push_back(name);
    return names;
  }

  [[nodiscard]] bool alive() const { return client_ && client_->alive(); }

  void close() noexcept {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
    std::map<std::string, Json> current;
    {
      std::lock_guard lock(mutex_);
      current.swap(registered_);
    }
    for (const auto& [name, tool] : current) {
      try {
        connection_.unregister_tool(name);
      } catch (const std::exception& error) {
        log_->debug("mcp import: unregister {}: {}", name, error.what());
      }
    }
    if (client_) client_->close();
  }

 private:
  Tool make_tool(const std::string& name, const Json& tool) {
    const std::string mcp_name = tool["name"].get<std::string>();
    std::string description = tool.value("description", Json()).is_string()
                                  ? tool["description"].get<std::string>()
                                  : std::string();
    if (description.empty() && tool.contains("title") && tool["title"].is_string()) {
      description = tool["title"].get<std::string>();
    }
    Schema parameters;
    const Json input = tool.value("inputSchema", Json::object());
    try {
      Json wire = json_schema_to_wire(input);
      if (!wire.contains("type")) wire["type"] = "OBJECT";
      parameters = Schema::from_json(wire);
    } catch (const std::exception& error) {
      log_->warn("mcp import: tool {}: its input schema cannot be converted ({}); declaring none",
                 mcp_name, error.what());
    }
    std::weak_ptr<Client> weak_client = client_;
    const auto timeout = options_.call_timeout;
    return Tool{
        .name = name,
        .description = description,
        .parameters = parameters,
        .response = {},
        .handler = [weak_client, mcp_name, timeout](const Request& request) -> Result {
          auto client = weak_client.lock();
          if (!client) return error("the MCP server of this tool is gone");
          Json arguments = request.json();
          arguments.erase("_meta");  // polaris conventions, not the MCP tool's arguments
          // No longer than the polaris caller waits: past that, nobody reads the answer, and the
          // MCP request is cancelled instead of running on.
          auto wait = timeout;
          if (const auto left = request.remaining()) {
            wait = std::min(timeout, std::max(*left, std::chrono::milliseconds(1)));
          }
          // The MCP server's progress and log messages go on to the polaris caller (when it
          // asked for progress).
          const auto on_progress = [&request](const Json& progress) {
            const Json done = progress.value("progress", Json());
            if (!done.is_number()) return;
            const Json total = progress.value("total", Json());
            const Json message = progress.value("message", Json());
            request.progress(
                done.get<double>(),
                total.is_number() ? std::optional<double>(total.get<double>()) : std::nullopt,
                message.is_string() ? message.get_ref<const std::string&>() : std::string_view());
          };
          const auto on_log = [&request](const Json& log) {
            const Json level = log.value("level", Json());
            const Json logger = log.value("logger", Json());
            request.log(
                level.is_string() ? level.get_ref<const std::string&>() : "info",
                log.value("data", Json()),
                logger.is_string() ? logger.get_ref<const std::string&>() : std::string_view());
          };
          Json result;
          try {
            result = client->call_tool(mcp_name, arguments, wait, on_progress, on_log);
          } catch (const Error& failure) {
            if (failure.code() != Errc::timeout) throw;
            return error("the MCP tool " + mcp_name + " did not answer within " +
                         std::to_string(wait.count()) + " ms");
          }
          if (result.value("isError", false)) {
            std::string message;
            for (const auto& block : result.value("content", Json::array())) {
              if (block.is_object() && block.value("type", "") == "text" &&
                  block.value("text", Json()).is_string()) {
                message += (message.empty() ? "" : "\n") + block["text"].get<std::string>();
              }
            }
            return error(message.empty() ? "the MCP tool " + mcp_name + " failed" : message);
          }
          return reply_from_call_result(result);
        },
        .on_error = {},
        // Callers that set no timeout of their own wait as long as the MCP call may take.
        .timeout = timeout,
        .declaration_extra = input.is_object() ? Json{{kJsonSchemaField, input}} : Json::object(),
    };
  }

  void request_refresh() {
    {
      std::lock_guard lock(mutex_);
      refresh_wanted_ = true;
    }
    wake_.notify_all();
  }

  void refresh_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return closed_ || refresh_wanted_; });
      if (closed_) return;
      refresh_wanted_ = false;
      lock.unlock();
      try {
        refresh();
        log_->info("mcp import: tools re-registered after list_changed");
      } catch (const std::exception& error) {
        log_->warn("mcp import: re-listing tools failed: {}", error.what());
      }
      lock.lock();
    }
  }

  Connection& connection_;
  ImportOptions options_;
  Logger log_;
  std::shared_ptr<Client> client_;
  std::mutex refresh_mutex_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Json> registered_;
  bool refresh_wanted_ = false;
  bool closed_ = false;
  std::thread worker_;
};

Import::Import(Connection& connection, ImportOptions options)
    : impl_(std::make_shared<Impl>(connection, std::move(options))) {
  impl_->start();
}
Import::~Import() {
  if (impl_) impl_->close();
}
Import::Import(Import&&) noexcept = default;
Import& Import::operator=(Import&&) noexcept = default;
std::vector<std::string> Import::tools() const { return impl_->tools(); }
void Import::refresh() { impl_->refresh(); }
bool Import::alive() const { return impl_->alive(); }
void Import::close() { impl_->close(); }

}  // namespace polaris::mcp
