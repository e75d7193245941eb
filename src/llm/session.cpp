// llm/session.cpp - the loop: ask the model, run its function calls in parallel, feed results back.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <set>

#include "llm/session_impl.hpp"

namespace polaris {

Session::Impl::Impl(SessionOptions options, std::unique_ptr<llm::ToolBackend> tools)
    : resolved_(llm::resolve(std::move(options))),
      logger_(resolved_.options.logger ? resolved_.options.logger : spdlog::default_logger()),
      tools_(std::move(tools)) {
  auto flag = cancelled_;
  model_ = llm::make_provider(resolved_, [flag] { return flag->load(); });
}

std::vector<llm::ToolSpec> Session::Impl::current_tools() {
  const auto& o = resolved_.options;
  // Tools and JSON output are not combined (the reference's rule; Gemini rejects the mix).
  if (!tools_ || o.json_output) return {};
  std::set<std::string> own;
  if (!o.use_own_tools) {
    for (auto& name : tools_->local()) own.insert(std::move(name));
  }
  const std::set<std::string> allowed(o.allowed_tools.begin(), o.allowed_tools.end());
  std::vector<llm::ToolSpec> specs;
  for (auto& tool : tools_->list()) {  // read every turn: tools come and go
    if (own.count(tool.name) != 0) continue;
    if (!allowed.empty() && allowed.count(tool.name) == 0) continue;
    specs.push_back(
        {std::move(tool.name), std::move(tool.description), std::move(tool.parameters)});
  }
  return specs;
}

FunctionCallEvent Session::Impl::start_call(const llm::FunctionCall& call) {
  const auto& o = resolved_.options;
  FunctionCallEvent event;
  event.name = call.name;
  event.arguments = call.arguments;
  for (const auto& [key, value] : o.default_arguments.items()) {
    if (!event.arguments.contains(key)) event.arguments[key] = value;
  }
  if (o.on_function_call) o.on_function_call(event);
  return event;
}

llm::FunctionResult Session::Impl::run_call(const llm::FunctionCall& call,
                                            FunctionCallEvent event) {
  const auto& o = resolved_.options;
  const auto start = std::chrono::steady_clock::now();
  llm::FunctionResult result;
  if (!call.invalid_arguments.empty()) {
    event.error = "invalid arguments: " + call.invalid_arguments;
  } else if (!tools_) {
    event.error = "no tools in this session";
  } else {
    try {
      std::function<void(const Json&)> on_message;
      if (o.on_call_message) {
        on_message = [&o, &call](const Json& message) { o.on_call_message(call.name, message); };
      }
      event.result = tools_->call(call.name, event.arguments, o.call_timeout, on_message);
      event.ok = true;
    } catch (const std::exception& e) {
      // The model sees the failure as this call's result and can react; other calls' results
      // are kept.
      event.error = e.what();
    }
  }
  event.finished = true;
  event.duration = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  logger_->debug("llm: function {} {} in {} ms", call.name,
                 event.ok ? "ok" : "failed: " + event.error, event.duration.count());
  result.response = event.ok ? event.result : Json{{"error", event.error}};
  result.failed = !event.ok;
  if (o.on_function_call) o.on_function_call(event);
  return result;
}

std::vector<llm::FunctionResult> Session::Impl::run_calls(
    const std::vector<llm::FunctionCall>& calls) {
  // Announced in the model's order, whatever order they then finish in.
  std::vector<FunctionCallEvent> started;
  started.reserve(calls.size());
  for (const auto& call : calls) started.push_back(start_call(call));
  if (calls.size() == 1) return {run_call(calls[0], std::move(started[0]))};
  // One thread per call: handlers of different tools must run at the same time, whatever the
  // connection's own call scheduling is.
  std::vector<std::future<llm::FunctionResult>> running;
  running.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    running.push_back(std::async(std::launch::async, [this, &call = calls[i], &event = started[i]] {
      return run_call(call, std::move(event));
    }));
  }
  std::vector<llm::FunctionResult> results;
  results.reserve(calls.size());
  for (auto& f : running) results.push_back(f.get());  // the model's order
  return results;
}

void Session::Impl::send_text(std::string_view prompt,
                              const std::function<bool(std::string_view)>& on_text) {
  const std::size_t mark = model_->history_size();
  try {
    model_->add_user_text(prompt);
    for (int turn = 0; turn < resolved_.options.max_turns; ++turn) {
      const llm::Turn result = model_->run_turn(current_tools(), on_text);
      if (result.stopped) {
        model_->truncate_history(mark);  // a half answer would confuse the next send
        return;
      }
      if (result.calls.empty()) return;
      const auto results = run_calls(result.calls);
      model_->add_function_results(result.calls, results);
      if (cancelled_->load()) {
        model_->truncate_history(mark);
        return;
      }
    }
  } catch (...) {
    model_->truncate_history(mark);  // the next send continues from the last good exchange
    throw;
  }
  model_->truncate_history(mark);
  throw Error(Errc::protocol, "the model was still calling functions after " +
                                  std::to_string(resolved_.options.max_turns) + " turns");
}

Session make_session(SessionOptions options, std::unique_ptr<llm::ToolBackend> tools) {
  return Session(std::make_unique<Session::Impl>(std::move(options), std::move(tools)));
}

Session::Session(Connection& conn, SessionOptions options)
    : impl_(std::make_unique<Impl>(std::move(options), llm::connection_backend(conn))) {}
Session::Session(SessionOptions options)
    : impl_(std::make_unique<Impl>(std::move(options), nullptr)) {}
Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

void Session::send_text(std::string_view prompt,
                        const std::function<bool(std::string_view)>& on_text) {
  impl_->reset_cancel();
  impl_->send_text(prompt, on_text);
}

std::string Session::ask(std::string_view prompt) {
  std::string answer;
  impl_->reset_cancel();
  impl_->send_text(prompt, [&](std::string_view text) {
    answer += text;
    return true;
  });
  return answer;
}

TextStream Session::send(std::string prompt) { return TextStream(*this, std::move(prompt)); }

Usage Session::usage() const { return impl_->usage(); }
Provider Session::provider() const { return impl_->provider(); }
const std::string& Session::model() const { return impl_->model(); }

}  // namespace polaris
