// mcp/stdio_transport.cpp - an MCP server launched as a child, spoken to over its stdin/stdout.
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/line_buffer.hpp"
#include "common/log.hpp"
#include "common/untrusted_json.hpp"
#include "mcp/client_transport.hpp"
#include "mcp/stdio_env.hpp"
#include "mcp/write_all.hpp"
#include "polaris/error.hpp"
#include "process/child_process.hpp"

namespace polaris::mcp::detail {
namespace {

using polaris::detail::ChildProcess;
using polaris::detail::Fd;

// The server runs as a ChildProcess (tied to our lifetime, stderr logged, reaped by its
// supervisor) with its stdin and stdout piped to us.
// Thread safety: send() and close() may be called from any thread; the reader thread calls the
// callbacks.
class StdioTransport final : public ClientTransport {
 public:
  StdioTransport(ServerAddress address, TransportSettings settings)
      : address_(std::move(address)),
        log_(std::move(settings.log)),
        max_line_(settings.max_message_size) {}
  ~StdioTransport() override { close(); }
  StdioTransport(const StdioTransport&) = delete;
  StdioTransport& operator=(const StdioTransport&) = delete;

  void start(OnMessage on_message, OnClosed on_closed) override {
    if (address_.command.empty()) throw Error(Errc::invalid_argument, "mcp: no command to start");
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
    // Our allow-listed variables and what the caller names: never our credentials.
    auto env = stdio_server_environment(address_.env);
    try {
      child_ = std::make_unique<ChildProcess>(polaris::detail::ChildProcessOptions{
          .argv = address_.command,
          .extra_env = std::move(env),
          .inherit_env = false,
          .on_line = [log = log_, name = address_.command[0]](
                         const std::string& line) { log->debug("[{}] {}", name, line); },
          .pipe_stdin = true,
          .pipe_stdout = true});
    } catch (const Error& error) {
      throw Error(Errc::connection_failed, std::string("mcp: ") + error.what());
    }
    {
      std::lock_guard lock(mutex_);
      stdin_ = child_->take_stdin();
    }
    reader_ = std::thread([this, out = child_->take_stdout()]() mutable {
      std::optional<Error> failure = read_stdout(out.get());
      // A server that broke the protocol this way cannot be read on: end it rather than leave
      // it blocked on a full pipe until close().
      if (failure) {
        {
          std::lock_guard lock(mutex_);
          failure_ = failure;  // what a send() failing on the dead pipe reports
        }
        child_->signal(SIGKILL);
      }
      out.reset();
      // Its stdout may end before it does; close() ends it at the latest.
      while (!child_->wait_for_exit(std::chrono::hours(1))) {
      }
      if (!failure) failure.emplace(Errc::connection_lost, child_->describe_status());
      if (on_closed_) on_closed_(*failure);
    });
  }

  void send(const Json& message, const std::function<bool()>& /*cancelled*/) override {
    std::string line = message.dump(-1, ' ', false, Json::error_handler_t::replace);
    line += '\n';
    std::lock_guard lock(write_mutex_);
    int fd = -1;
    {
      std::lock_guard state(mutex_);
      if (!closed_) fd = stdin_.get();
    }
    if (fd < 0) throw Error(Errc::connection_lost, "mcp: the stdio server is not running");
    if (!write_all(fd, line)) {
      std::lock_guard state(mutex_);
      if (failure_) throw Error(failure_->code(), std::string("mcp: ") + failure_->what());
      throw Error(Errc::connection_lost, "mcp: cannot write to the stdio server");
    }
  }

  void close() noexcept override {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
    }
    // EOF on its stdin asks a well-behaved server to exit. A writer stuck on a full pipe holds
    // write_mutex_: then stopping the child ends the writer with EPIPE.
    if (write_mutex_.try_lock()) {
      {
        std::lock_guard lock(mutex_);
        stdin_.reset();
      }
      write_mutex_.unlock();
    }
    if (child_ && !child_->wait_for_exit(std::chrono::seconds(2))) {
      try {
        child_->stop(std::chrono::seconds(2));  // SIGTERM, then SIGKILL
      } catch (const std::exception& error) {
        log_->warn("mcp: stopping {}: {}", address_.command[0], error.what());
      }
    }
    if (reader_.joinable() && reader_.get_id() != std::this_thread::get_id()) reader_.join();
    std::lock_guard writer(write_mutex_);
    std::lock_guard lock(mutex_);
    stdin_.reset();
  }

 private:
  // Reads messages until end of output; returns the error that ended reading early.
  std::optional<Error> read_stdout(int fd) {
    polaris::detail::LineBuffer lines(max_line_);
    std::array<char, 65536> buffer{};
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      try {
        lines.append(std::string_view(buffer.data(), static_cast<std::size_t>(n)),
                     [this](std::string_view line) { on_line(line); });
      } catch (const Error& error) {
        log_->warn("mcp: {}: {}", address_.command[0], error.what());
        return Error(error.code(), address_.command[0] + ": stdout: " + error.what() +
                                       " (ClientOptions::max_message_size)");
      }
    }
  }

  void on_line(std::string_view line) {
    if (line.empty()) return;
    Json message = polaris::detail::parse_untrusted_json(line);
    if (message.is_discarded()) {
      log_->debug("mcp stdio server wrote a non-JSON line: {}", line.substr(0, 200));
      return;
    }
    try {
      on_message_(message, Json());  // one pipe: no message says which request it serves
    } catch (const std::exception& error) {
      log_->warn("mcp: handling a message failed: {}", error.what());
    }
  }

  ServerAddress address_;
  Logger log_;
  std::size_t max_line_;
  OnMessage on_message_;
  OnClosed on_closed_;
  std::unique_ptr<ChildProcess> child_;  // set by start(), before the reader thread exists
  std::mutex write_mutex_;               // one line at a time on stdin
  mutable std::mutex mutex_;
  bool closed_ = false;
  std::optional<Error> failure_;  // why reading stopped early (the server broke a limit)
  Fd stdin_;
  std::thread reader_;
};

}  // namespace

std::unique_ptr<ClientTransport> make_stdio_transport(const ServerAddress& address,
                                                      TransportSettings settings) {
  return std::make_unique<StdioTransport>(address, std::move(settings));
}

}  // namespace polaris::mcp::detail
