// polaris/tool.hpp - what a tool is: declaration, handler, request context and result.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "polaris/schema.hpp"

namespace polaris {

/// The arguments of one call, as the handler sees them.
///
/// Accessors never throw: a missing argument, or one of the wrong type, yields the schema's default
/// when the parameter schema has one, else the zero value. Numbers arrive as JSON numbers, so
/// integer() accepts 3 and 3.0 (3.5 is truncated toward zero); boolean() also accepts the strings
/// "yes"/"no", "true"/"false", "1"/"0" and the numbers 1/0.
///
/// A Request refers to the call's JSON and is valid only while the handler runs.
/// Thread safety: const methods may be called from several threads at once.
class Request {
 public:
  struct Context;  ///< per-call state the library attaches (deadline, cancellation, progress)

  explicit Request(const Json& arguments, Schema schema = {}, const Context* context = nullptr);

  [[nodiscard]] bool has(std::string_view key) const;
  [[nodiscard]] std::int64_t integer(std::string_view key) const;
  [[nodiscard]] double number(std::string_view key) const;
  [[nodiscard]] std::string string(std::string_view key) const;
  [[nodiscard]] bool boolean(std::string_view key) const;
  [[nodiscard]] std::vector<std::int64_t> integers(std::string_view key) const;
  [[nodiscard]] std::vector<double> numbers(std::string_view key) const;
  [[nodiscard]] std::vector<std::string> strings(std::string_view key) const;
  [[nodiscard]] std::vector<bool> booleans(std::string_view key) const;
  /// A nested object argument; an empty context when missing.
  [[nodiscard]] Request object(std::string_view key) const;
  /// An array-of-objects argument; empty when missing.
  [[nodiscard]] std::vector<Request> objects(std::string_view key) const;
  /// The raw arguments object.
  [[nodiscard]] const Json& json() const noexcept { return *arguments_; }

  /// Time left before the caller's deadline (polaris callers send their timeout with each
  /// call); empty when the call carries no deadline (e.g. from a reference caller). May be
  /// negative once the deadline has passed.
  [[nodiscard]] std::optional<std::chrono::milliseconds> remaining() const;
  /// True once the caller's deadline has passed or the agent is closing: long handlers should
  /// check it and give up early.
  [[nodiscard]] bool cancelled() const;
  /// The names of the LLM agents this call has passed through, the first caller's first
  /// (Polaris-Chain header); empty for a call made directly by a program. See on_behalf_of()
  /// in polaris/connection.hpp to pass it on.
  [[nodiscard]] const std::vector<std::string>& chain() const;
  /// Reports progress to the caller when it asked for progress (e.g. an MCP client through
  /// `polaris mcp serve`); does nothing otherwise. Never throws.
  void progress(double done, std::optional<double> total = std::nullopt,
                std::string_view message = {}) const;
  /// Sends a log message to the caller when it asked for progress (relayed as an MCP log
  /// notification by `polaris mcp serve`); does nothing otherwise. `level` is a syslog-style
  /// name ("debug", "info", "warning", "error", ...). Never throws.
  void log(std::string_view level, const Json& data, std::string_view logger = {}) const;

 private:
  [[nodiscard]] const Json* find(std::string_view key) const;
  [[nodiscard]] const Json* fallback(std::string_view key) const;
  [[nodiscard]] Schema property_schema(std::string_view key) const;

  const Json* arguments_;
  Schema schema_;
  const Context* context_;
};

/// A handler's failure, made by polaris::error(): return it (it converts to a failed Result) or
/// throw it (it is an Error with Errc::tool_failed); either way the message becomes the `_error`
/// reply. Throwing needs no return-type annotation on a lambda that returns a value elsewhere.
class ToolFailure : public Error {
 public:
  explicit ToolFailure(const std::string& message) : Error(Errc::tool_failed, message) {}
};

/// What a handler returns: a JSON object, or an error message that becomes the `_error` reply.
///   return {{"result", 3}};            // success
///   return polaris::error("bad input"); // failure (or: throw polaris::error("bad input");)
class Result {
 public:
  Result(Json value);                     // NOLINT(google-explicit-constructor)
  Result(Json::initializer_list_t init);  // NOLINT(google-explicit-constructor)
  Result(const ToolFailure& failure)      // NOLINT(google-explicit-constructor)
      : error_(failure.what()) {}

  static Result failure(std::string message);

  [[nodiscard]] bool ok() const noexcept { return !error_.has_value(); }
  /// The success value (null for a failure).
  [[nodiscard]] const Json& value() const noexcept { return value_; }
  /// The failure message ("" for a success).
  [[nodiscard]] const std::string& error_message() const;

 private:
  Result() = default;
  Json value_;
  std::optional<std::string> error_;
};

/// A handler's failure carrying `message`: `return polaris::error(...)` or `throw
/// polaris::error(...)`.
inline ToolFailure error(const std::string& message) { return ToolFailure(message); }

using Handler = std::function<Result(const Request&)>;
/// Called after a call failed (handler returned an error or threw), with the tool name and message.
using ErrorHandler = std::function<void(const std::string& tool, const std::string& message)>;

/// A tool: its declaration and the code that serves it.
struct Tool {
  /// Must match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$ (what Gemini, OpenAI and NATS subjects accept).
  std::string name{};
  std::string description{};
  Schema parameters{};
  Schema response{};
  Handler handler{};
  ErrorHandler on_error{};  ///< optional
  /// How many calls of this tool may run at once on this agent (0 means 1). As many again may
  /// wait for a free thread; a call beyond that is refused at once with Errc::busy instead of
  /// waiting behind slow calls.
  std::size_t concurrency = 8;
  /// Several agents may serve this name at once; each call runs on one of them (NATS queue
  /// group). Every replica must declare the same schema. A polaris registry refuses a second
  /// agent for a name that is not replicable.
  bool replicable = false;
  /// A call may safely run twice: a call whose agent died mid-call is retried on another
  /// replica instead of failing with Errc::outcome_unknown.
  bool idempotent = false;
  /// The tool's own call timeout, used by polaris callers that set no CallOptions::timeout
  /// (e.g. an LLM-backed tool that needs more than the default 5 s). 0: none declared.
  std::chrono::milliseconds timeout{0};
  /// Extra fields for the tool's declaration beside name, description, parameters and response
  /// (e.g. "parametersJsonSchema", the original JSON Schema of an imported MCP tool). Must be a
  /// JSON object; the four standard fields cannot be overridden.
  Json declaration_extra = Json::object();
};

/// True when `name` is a valid tool name.
[[nodiscard]] bool is_valid_tool_name(std::string_view name) noexcept;

/// The declaration field `polaris` (docs/PROTOCOL.md, "High availability"): what polaris agents
/// declare beside the reference's fields. Never sent to an LLM provider.
struct ToolPolarisInfo {
  /// The owning agent's id: set in the declarations an agent registers; a polaris registry lists
  /// the field without it (see replicas).
  std::string agent{};
  bool replicable = false;
  bool idempotent = false;
  std::chrono::milliseconds timeout{0};  ///< 0: none declared
  std::size_t replicas = 0;              ///< in lists: how many agents serve the name; 0: unknown

  /// The wire object ({"agent", "replicable", "idempotent", "timeout_ms", "replicas"}; agent
  /// and replicas only when set).
  [[nodiscard]] Json to_json() const;
  /// Lenient: fields of the wrong type read as their defaults.
  static ToolPolarisInfo from_json(const Json& json);
};

/// A tool as the catalogue describes it (what `list_tools` returns).
struct ToolDeclaration {
  std::string name{};
  std::string description{};
  Json parameters{};  ///< wire schema, null when absent
  Json response{};    ///< wire schema, null when absent
  /// Declaration fields this version does not model, kept so that forwarding loses nothing.
  Json extra = Json::object();
  /// The `polaris` field; empty for a tool of a reference agent (or one listed by a Go
  /// registry, which drops the field).
  std::optional<ToolPolarisInfo> polaris{};

  /// The wire FunctionDeclaration (empty fields omitted).
  [[nodiscard]] Json to_json() const;
  /// @throws Error(Errc::protocol) when `json` is not a declaration with a string name.
  static ToolDeclaration from_json(const Json& json);
};

}  // namespace polaris
