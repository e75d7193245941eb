// mcp/stdio_transport.cpp - an MCP server launched as a child, spoken to over its stdin/stdout.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <future>
#include <mutex>
#include <optional>
#include <thread>

#include "common/line_buffer.hpp"
#include "common/log.hpp"
#include "common/untrusted_json.hpp"
#include "mcp/client_transport.hpp"
#include "mcp/write_all.hpp"
#include "polaris/error.hpp"
#include "process/child_process.hpp"

extern char** environ;  // NOLINT: POSIX

namespace polaris::mcp::detail {
namespace {

/// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  [[nodiscard]] int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

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
    std::vector<std::string> argv = address_.command;
    argv[0] = polaris::detail::find_executable(address_.command[0]);
    if (argv[0].empty()) {
      throw Error(Errc::connection_failed,
                  "mcp: cannot find the program '" + address_.command[0] + "'");
    }
    std::vector<std::string> env;
    for (char** entry = environ; *entry != nullptr; ++entry) env.emplace_back(*entry);
    env.insert(env.end(), address_.env.begin(), address_.env.end());
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);

    std::promise<std::pair<int, int>> started;  // pid, stdin fd
    auto started_future = started.get_future();
    // fork() happens on the reader thread: PR_SET_PDEATHSIG fires when the forking thread ends,
    // and this thread lives exactly as long as the child is supervised (see ChildProcess).
    reader_ = std::thread([this, argv = std::move(argv), env = std::move(env),
                           started = std::move(started)]() mutable {
      std::array<int, 2> in{}, out{}, err{};
      if (::pipe2(in.data(), O_CLOEXEC) != 0) {
        started.set_value({-1, -1});
        return;
      }
      if (::pipe2(out.data(), O_CLOEXEC) != 0) {
        ::close(in[0]);
        ::close(in[1]);
        started.set_value({-1, -1});
        return;
      }
      if (::pipe2(err.data(), O_CLOEXEC) != 0) {
        for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
        started.set_value({-1, -1});
        return;
      }
      auto argv_c = c_strings(argv);
      auto env_c = c_strings(env);
      const pid_t parent = ::getpid();
      const pid_t child = ::fork();
      if (child == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(in[0], STDIN_FILENO);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(err[1], STDERR_FILENO);
        ::execve(argv_c[0], argv_c.data(), env_c.data());
        ::_exit(127);
      }
      ::close(in[0]);
      ::close(out[1]);
      ::close(err[1]);
      if (child < 0) {
        for (int fd : {in[1], out[0], err[0]}) ::close(fd);
        started.set_value({-1, -1});
        return;
      }
      Fd out_fd(out[0]);
      Fd err_fd(err[0]);
      started.set_value({child, in[1]});
      std::thread stderr_reader([this, fd = err_fd.get()] { read_stderr(fd); });
      std::optional<Error> failure = read_stdout(out_fd.get());
      // A server that broke the protocol this way cannot be read on: end it (it is unreaped, so
      // the pid is still ours) rather than leave it blocked on a full pipe until close().
      if (failure) {
        {
          std::lock_guard lock(mutex_);
          failure_ = failure;  // what a send() failing on the dead pipe reports
        }
        ::kill(child, SIGKILL);
      }
      out_fd.reset();
      siginfo_t info{};
      while (::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) < 0 &&
             errno == EINTR) {
      }
      int status = 0;
      {
        std::lock_guard lock(mutex_);
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        exited_ = true;
      }
      exited_cv_.notify_all();
      stderr_reader.join();
      if (!failure) {
        std::string why = address_.command[0];
        if (WIFEXITED(status))
          why += " exited with status " + std::to_string(WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
          why += " was killed by signal " + std::to_string(WTERMSIG(status));
        failure.emplace(Errc::connection_lost, why);
      }
      if (on_closed_) on_closed_(*failure);
    });
    const auto [pid, stdin_fd] = started_future.get();
    if (pid < 0) {
      reader_.join();
      throw Error(Errc::connection_failed, "mcp: cannot start " + address_.command[0]);
    }
    std::lock_guard lock(mutex_);
    pid_ = pid;
    stdin_ = Fd(stdin_fd);
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
    // write_mutex_: then the signals below end the child, and the writer with EPIPE.
    if (write_mutex_.try_lock()) {
      {
        std::lock_guard lock(mutex_);
        stdin_.reset();
      }
      write_mutex_.unlock();
    }
    {
      std::unique_lock lock(mutex_);
      if (pid_ > 0 &&
          !exited_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return exited_; })) {
        ::kill(pid_, SIGTERM);
        if (!exited_cv_.wait_for(lock, std::chrono::seconds(2), [this] { return exited_; })) {
          ::kill(pid_, SIGKILL);
        }
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
      on_message_(message);
    } catch (const std::exception& error) {
      log_->warn("mcp: handling a message failed: {}", error.what());
    }
  }

  // Logs the server's stderr. Lines are only logged, so an overlong one is dropped and reading
  // goes on (draining the pipe keeps the server from blocking on it).
  void read_stderr(int fd) {
    polaris::detail::LineBuffer lines(kMaxStderrLine);
    std::array<char, 4096> buffer{};
    for (;;) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      try {
        lines.append(
            std::string_view(buffer.data(), static_cast<std::size_t>(n)),
            [this](std::string_view line) { log_->debug("[{}] {}", address_.command[0], line); });
      } catch (const Error& error) {
        log_->debug("[{}] stderr: {}, dropped", address_.command[0], error.what());
      }
    }
  }

  static constexpr std::size_t kMaxStderrLine = std::size_t{64} * 1024;

  ServerAddress address_;
  Logger log_;
  std::size_t max_line_;
  OnMessage on_message_;
  OnClosed on_closed_;
  std::mutex write_mutex_;  // one line at a time on stdin
  mutable std::mutex mutex_;
  std::condition_variable exited_cv_;
  int pid_ = -1;
  bool exited_ = false;
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
