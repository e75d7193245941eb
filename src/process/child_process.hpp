// Internal: a supervised child process whose output is kept and whose life is tied to ours.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace polaris::detail {

/// An owned file descriptor, closed on destruction. Move-only. Thread safety: none.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
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
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  /// Closes the descriptor (if any).
  void reset() noexcept;

 private:
  int fd_ = -1;
};

struct ChildProcessOptions {
  std::vector<std::string> argv;  ///< argv[0] is an absolute path or a name looked up in PATH
  /// Extra environment variables ("NAME=value"), added to ours (or alone, see inherit_env).
  std::vector<std::string> extra_env;
  /// false: the child's environment is extra_env alone, nothing of ours (a child that must not
  /// see our credentials, e.g. an MCP server).
  bool inherit_env = true;
  /// Called with each line the child writes to stdout or stderr (stderr only with pipe_stdout),
  /// on the supervisor thread.
  std::function<void(const std::string&)> on_line;
  /// How many of the last output lines to keep for error messages.
  std::size_t kept_lines = 40;
  /// Connect the child's stdin to a pipe whose write end take_stdin() hands out (else /dev/null).
  bool pipe_stdin = false;
  /// Give the child's stdout a pipe of its own whose read end take_stdout() hands out, for a
  /// protocol spoken over it; only stderr is then supervised (else stdout and stderr are merged
  /// into the supervised output).
  bool pipe_stdout = false;
};

/// A child process started with fork+exec from a dedicated supervisor thread. The supervisor
/// reads the child's output (stdout and stderr merged, or only stderr when stdout is piped to the
/// owner) and reaps it. The child is created with
/// PR_SET_PDEATHSIG=SIGKILL, which fires when the thread that forked it exits: because that
/// thread lives exactly as long as the child is supervised, the child dies with us even when we
/// are killed with SIGKILL, yet survives threads of ours that come and go.
///
/// Thread safety: all methods may be called from any thread.
class ChildProcess {
 public:
  /// @throws Error(Errc::process) when the program cannot be found or started.
  explicit ChildProcess(ChildProcessOptions options);
  /// Stops the child (see stop()), never throws.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] int pid() const noexcept { return pid_; }
  [[nodiscard]] bool running() const;
  /// The exit status as a shell shows it (128+N for signal N); empty while running.
  [[nodiscard]] std::optional<int> exit_status() const;
  /// Waits up to `timeout` for the child to exit; true when it has.
  bool wait_for_exit(std::chrono::milliseconds timeout) const;
  /// A file descriptor that becomes readable (hangs up) when the child has exited, for poll().
  [[nodiscard]] int exit_fd() const noexcept { return exit_read_.get(); }
  /// The write end of the child's stdin (ChildProcessOptions::pipe_stdin), handed out once; an
  /// invalid Fd without pipe_stdin or on a second call. Closing it gives the child end of input.
  [[nodiscard]] Fd take_stdin();
  /// The read end of the child's stdout (ChildProcessOptions::pipe_stdout), handed out once; an
  /// invalid Fd without pipe_stdout or on a second call. It reads end of file once the child
  /// (and any child of its that inherited it) is gone.
  [[nodiscard]] Fd take_stdout();
  /// The last output lines, oldest first.
  [[nodiscard]] std::vector<std::string> last_lines() const;
  /// One line: how the child ended ("x exited with status 1"), or that it is still running.
  [[nodiscard]] std::string describe_status() const;
  /// describe_status() with the child's last output lines.
  [[nodiscard]] std::string describe_exit() const;

  /// Sends `signal` to the child (no-op once it exited).
  void signal(int signal_number) const;
  /// Sends SIGTERM, waits up to `grace`, then SIGKILL; waits for the supervisor to finish.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  void supervise_output(int fd);
  /// Waits for the child to exit, records its status and closes exit_write_.
  void reap(int child);
  void keep_line(const std::string& line);
  [[nodiscard]] std::string describe_status_locked() const;

  /// The longest output line kept; the rest of a longer one is dropped, so that a child writing
  /// without a newline cannot make the supervisor buffer without end.
  static constexpr std::size_t kMaxOutputLine = std::size_t{64} * 1024;

  ChildProcessOptions options_;
  int pid_ = -1;
  Fd exit_read_;   // reads end of file once the child exited (exit_fd())
  Fd exit_write_;  // the supervisor's end: closed when the child exited
  mutable std::mutex mutex_;
  mutable std::condition_variable exited_cv_;
  std::optional<int> exit_status_;
  std::deque<std::string> lines_;
  std::string start_error_;
  Fd stdin_;   // guarded by mutex_; until take_stdin()
  Fd stdout_;  // guarded by mutex_; until take_stdout()
  std::thread supervisor_;
};

/// Resolves a program name through PATH (and /usr/sbin, where Debian puts nats-server).
/// @returns the absolute path, or empty when not found.
std::string find_executable(const std::string& name);

/// A private temporary directory (mode 0700), removed with its contents on destruction.
class TempDir {
 public:
  /// @throws Error(Errc::process) when the directory cannot be created.
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

}  // namespace polaris::detail
