// polaris/typed.hpp - typed tools: the handler takes a described struct and returns one.
//
//   struct Sum { double result; };
//   POLARIS_DESCRIBE(Sum, (result, "the result"));
//   conn.register_tool("calculator", "simple calculator", [](const Calc& c) {
//     if (c.operation == Op::divide && c.b == 0) throw polaris::error("divide by zero");
//     return Sum{c.a + c.b};
//   });
//   const Sum sum = client.call<Sum>("calculator", Calc{Op::add, 1, 2});
//
// The parameter schema is schema_of<Args>(), the response schema schema_of<Result>() when the
// handler returns a described struct. A handler may take (const Args&), (const Args&, const
// Request&) (for the deadline, cancellation and progress) or nothing, and return a described
// struct, a Json object, a polaris::Result or void (an empty object). It fails by throwing
// (polaris::error(...) or anything else) or by returning a failed Result. See describe.hpp for
// what a struct may hold. This header also defines Connection's typed register_tool, call and
// call_async (declared in connection.hpp) and the typed generate_json<T>(); polaris/polaris.hpp
// includes it.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "polaris/connection.hpp"
#include "polaris/describe.hpp"
#include "polaris/error.hpp"
#include "polaris/json.hpp"
#include "polaris/llm.hpp"
#include "polaris/tool.hpp"

namespace polaris {
namespace detail::typed {

template <class T>
Json arguments_json(const T& arguments) {
  if constexpr (std::is_same_v<T, Json>) {
    return arguments;
  } else {
    static_assert(describe::DescribedStruct<T>,
                  "polaris: call arguments must be a Json object or a described struct");
    return polaris::to_json(arguments);
  }
}

/// A reply (or a model's answer) as R; a mismatch is the peer's fault: Errc::protocol.
template <class R>
R reply_as(const Json& reply, std::string_view from) {
  if constexpr (std::is_same_v<R, Json>) {
    return reply;
  } else {
    try {
      return polaris::from_json<R>(reply);
    } catch (const Error& error) {
      throw Error(Errc::protocol,
                  std::string(from) + " does not match the expected type: " + error.what());
    }
  }
}

template <class R>
Result to_result(R&& value) {
  using T = std::remove_cvref_t<R>;
  if constexpr (std::is_same_v<T, Result> || std::is_same_v<T, Json> ||
                std::is_same_v<T, ToolFailure>) {
    return Result(std::forward<R>(value));
  } else {
    static_assert(describe::DescribedStruct<T>,
                  "polaris: a typed handler returns a described struct, a Json object, a "
                  "polaris::Result or nothing");
    return Result(polaris::to_json(value));
  }
}

template <class F, class R, class... Args>
Tool make_tool(std::string name, std::string description, F handler,
               std::function<R(Args...)>* /*signature*/) {
  static_assert(
      sizeof...(Args) <= 2,
      "polaris: a typed handler takes (), (const Args&) or (const Args&, const Request&)");
  Tool tool;
  tool.name = std::move(name);
  tool.description = std::move(description);
  using Out = std::remove_cvref_t<R>;
  if constexpr (describe::DescribedStruct<Out>) tool.response = schema_of<Out>();
  const auto finish = [](auto&& call) -> Result {
    if constexpr (std::is_void_v<R>) {
      call();
      return Json::object();
    } else {
      return to_result(call());
    }
  };
  if constexpr (sizeof...(Args) == 0) {
    tool.parameters = Object{};
    tool.handler = [handler = std::move(handler), finish](const Request&) {
      return finish([&]() -> decltype(auto) { return handler(); });
    };
  } else {
    using In = std::remove_cvref_t<std::tuple_element_t<0, std::tuple<Args...>>>;
    static_assert(describe::DescribedStruct<In>,
                  "polaris: a typed handler's argument must be a described struct (a handler "
                  "taking const polaris::Request& is registered as a polaris::Tool)");
    tool.parameters = schema_of<In>();
    tool.handler = [handler = std::move(handler), finish](const Request& request) {
      const In arguments = polaris::from_json<In>(request.json());
      if constexpr (sizeof...(Args) == 1) {
        return finish([&]() -> decltype(auto) { return handler(arguments); });
      } else {
        return finish([&]() -> decltype(auto) { return handler(arguments, request); });
      }
    };
  }
  return tool;
}

}  // namespace detail::typed

/// A typed tool (see the top of this file); set Tool's other fields (replicable, timeout, ...)
/// on the result before registering it. `handler` must be copyable and not a generic lambda.
template <class F>
Tool make_tool(std::string name, std::string description, F handler) {
  using Signature = decltype(std::function{handler});
  return detail::typed::make_tool(std::move(name), std::move(description), std::move(handler),
                                  static_cast<Signature*>(nullptr));
}

/// The pending reply of Connection::call_async<R>: a std::future<Json> whose get() parses.
template <class R>
class TypedFuture {
 public:
  TypedFuture(std::future<Json> reply, std::string tool)
      : reply_(std::move(reply)), tool_(std::move(tool)) {}

  /// The reply as R. @throws what call<R>() throws.
  R get() { return detail::typed::reply_as<R>(reply_.get(), "the reply of " + tool_); }
  [[nodiscard]] bool valid() const noexcept { return reply_.valid(); }
  void wait() const { reply_.wait(); }
  template <class Rep, class Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& timeout) const {
    return reply_.wait_for(timeout);
  }
  template <class Clock, class Duration>
  std::future_status wait_until(const std::chrono::time_point<Clock, Duration>& deadline) const {
    return reply_.wait_until(deadline);
  }

 private:
  std::future<Json> reply_;
  std::string tool_;
};

template <class F>
void Connection::register_tool(std::string name, std::string description, F handler) {
  register_tool(make_tool(std::move(name), std::move(description), std::move(handler)));
}

template <class R, class A>
R Connection::call(std::string_view name, const A& arguments, const CallOptions& options) {
  return detail::typed::reply_as<R>(call(name, detail::typed::arguments_json(arguments), options),
                                    "the reply of " + std::string(name));
}

template <class R>
R Connection::call(std::string_view name) {
  return call<R>(name, Json::object());
}

template <class R, class A>
TypedFuture<R> Connection::call_async(std::string_view name, const A& arguments,
                                      const CallOptions& options) {
  return TypedFuture<R>(call_async(name, detail::typed::arguments_json(arguments), options),
                        std::string(name));
}

/// Typed generate_json: the output schema is schema_of<T>() (a described struct) and each answer
/// is parsed as T. The function may be called from several threads at once.
/// @throws (from the function) Error(Errc::protocol) when the answer does not match T.
template <class T>
std::function<T(std::string_view prompt)> generate_json(SessionOptions options = {}) {
  options.response_schema = schema_of<T>();
  return [untyped = generate_json(std::move(options))](std::string_view prompt) {
    return detail::typed::reply_as<T>(untyped(prompt), "the model's answer");
  };
}

}  // namespace polaris
