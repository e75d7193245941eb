// mcp/server.cpp - the cluster as one MCP server: catalogue polling and stdio. The Streamable
// HTTP transport is mcp/http_server.cpp, the MCP methods themselves are in server_core.cpp.
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <mutex>

#include "client/timer.hpp"
#include "client/worker_pool.hpp"
#include "common/line_buffer.hpp"
#include "common/log.hpp"
#include "mcp/http_server.hpp"
#include "mcp/server_core.hpp"
#include "mcp/server_session.hpp"
#include "mcp/write_all.hpp"
#include "polaris/error.hpp"
#include "polaris/mcp.hpp"

namespace polaris::mcp {
namespace {

/// The largest stdio line accepted (as an HTTP body, see http_server.cpp).
constexpr std::size_t kMaxRequestBytes = std::size_t{16} * 1024 * 1024;

using detail::rpc_error;

}  // namespace

// Thread safety: stdio_emit_ and closing_ guarded by mutex_; the catalogue poll runs on timer_;
// stdio requests on a WorkerPool of serve_stdio's; HTTP requests on http_'s threads.
class Server::Impl {
 public:
  Impl(Connection& connection, ServerOptions options)
      : tools_(connection),
        options_(std::move(options)),
        log_(polaris::detail::logger_or_default(options_.logger)),
        dispatcher_(tools_, options_, log_),
        http_(dispatcher_, options_, log_) {
    if (options_.catalogue_poll.count() > 0) {
      timer_.schedule(Clock::now(), [this] { poll_catalogue(); });
    }
  }

  ~Impl() { close(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void close() noexcept {
    {
      std::lock_guard lock(mutex_);
      if (closing_) return;
      closing_ = true;
    }
    timer_.stop();
    http_.close();
  }

  [[nodiscard]] bool closing() const {
    std::lock_guard lock(mutex_);
    return closing_;
  }

  void serve_stdio(int in_fd, int out_fd);
  void listen(const std::string& host, int port) { http_.listen(host, port); }
  [[nodiscard]] int port() const { return http_.port(); }

 private:
  using Clock = polaris::detail::Timer::Clock;

  // Reads the catalogue every catalogue_poll and tells the clients when it changed. The timer is
  // this server's own, so that a slow list (it waits for the registry) delays nothing else.
  void poll_catalogue() {
    std::string signature;
    try {
      signature = dispatcher_.list_tools().dump();
    } catch (const std::exception& error) {
      log_->debug("mcp serve: reading the catalogue failed: {}", error.what());
      signature = last_catalogue_;
    }
    if (!first_poll_ && signature != last_catalogue_) broadcast_list_changed();
    first_poll_ = false;
    last_catalogue_ = std::move(signature);
    timer_.schedule(Clock::now() + options_.catalogue_poll, [this] { poll_catalogue(); });
  }

  void broadcast_list_changed() {
    const Json note = {{"jsonrpc", "2.0"}, {"method", "notifications/tools/list_changed"}};
    std::function<void(const Json&)> stdio;
    {
      std::lock_guard lock(mutex_);
      stdio = stdio_emit_;
    }
    if (stdio) stdio(note);
    for (const auto& session : http_.sessions().all()) session->notify(note);
  }

  void set_stdio_emit(std::function<void(const Json&)> emit) {
    std::lock_guard lock(mutex_);
    stdio_emit_ = std::move(emit);
  }

  detail::ConnectionToolSource tools_;
  ServerOptions options_;
  Logger log_;
  detail::Dispatcher dispatcher_;  // after options_ and log_, which it uses
  detail::HttpServer http_;
  mutable std::mutex mutex_;
  bool closing_ = false;
  std::function<void(const Json&)> stdio_emit_;
  // The catalogue poll's state, used on timer_'s thread only.
  std::string last_catalogue_;
  bool first_poll_ = true;
  polaris::detail::Timer timer_;  // last: stopped before what its job uses goes
};

void Server::Impl::serve_stdio(int in_fd, int out_fd) {
  auto session = std::make_shared<detail::Session>();
  auto write_mutex = std::make_shared<std::mutex>();
  auto emit = [out_fd, write_mutex](const Json& message) {
    const std::string line = message.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
    std::lock_guard lock(*write_mutex);
    (void)detail::write_all(out_fd, line);  // a client that went away ends the loop via stdin
  };
  set_stdio_emit(emit);
  // Requests run on a bounded pool (a job keeps the session alive); beyond its waiting room a
  // request is refused at once with a JSON-RPC error (Dispatcher::handle_message). The pool
  // is declared after `session`, so that it drains (waits for running requests) first.
  polaris::detail::WorkerPool workers(options_.max_parallel_requests, options_.max_queued_requests);
  const detail::Run run = [&workers, session](std::function<void()> work) {
    return workers.try_submit([session, work = std::move(work)] { work(); });
  };
  polaris::detail::LineBuffer lines(kMaxRequestBytes);
  std::array<char, 65536> buffer{};
  while (!closing()) {
    pollfd fd{in_fd, POLLIN, 0};
    const int ready = ::poll(&fd, 1, 200);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    if (ready == 0) continue;
    const ssize_t n = ::read(in_fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    try {
      lines.append(
          std::string_view(buffer.data(), static_cast<std::size_t>(n)),
          [&](std::string_view line) { dispatcher_.handle_line(line, *session, emit, run); });
    } catch (const Error& error) {
      // The rest of the line would read as garbage: there is no way back into the stream.
      log_->warn("mcp serve: stdin: {}; ending the session", error.what());
      emit(rpc_error(nullptr, -32600, std::string("request too large: ") + error.what()));
      break;
    }
  }
  set_stdio_emit(nullptr);
  workers.drain(std::chrono::hours(24));  // calls end by their call_timeout
}

Server::Server(Connection& connection, ServerOptions options)
    : impl_(std::make_shared<Impl>(connection, std::move(options))) {}
Server::~Server() {
  if (impl_) impl_->close();
}
void Server::serve_stdio(int in_fd, int out_fd) { impl_->serve_stdio(in_fd, out_fd); }
void Server::listen(const std::string& host, int port) { impl_->listen(host, port); }
int Server::port() const { return impl_->port(); }
void Server::close() { impl_->close(); }

}  // namespace polaris::mcp
