#include "process/child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <future>

#include "common/line_buffer.hpp"
#include "polaris/error.hpp"

extern char** environ;  // NOLINT: POSIX

namespace polaris::detail {
namespace {

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

bool make_pipe(Fd& read_end, Fd& write_end) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) return false;
  read_end = Fd(fds[0]);
  write_end = Fd(fds[1]);
  return true;
}

// The pipes between us and a child: its merged output, and its stdin and stdout when piped.
struct ChildPipes {
  Fd output_read, output_write, stdin_read, stdin_write, stdout_read, stdout_write;
  bool open(bool pipe_stdin, bool pipe_stdout) {
    return make_pipe(output_read, output_write) &&
           (!pipe_stdin || make_pipe(stdin_read, stdin_write)) &&
           (!pipe_stdout || make_pipe(stdout_read, stdout_write));
  }
};

// Starts the program with the child's ends of `pipes` as its stdin, stdout and stderr, and closes
// those ends here (or the pipes never report end of file). The child's pid, or -1.
pid_t fork_exec(std::vector<std::string>& argv, std::vector<std::string>& env, ChildPipes& pipes) {
  auto argv_c = c_strings(argv);
  auto env_c = c_strings(env);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  if (child == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // we were already gone
    ::dup2(pipes.stdout_write.valid() ? pipes.stdout_write.get() : pipes.output_write.get(),
           STDOUT_FILENO);
    ::dup2(pipes.output_write.get(), STDERR_FILENO);
    const int input =
        pipes.stdin_read.valid() ? pipes.stdin_read.get() : ::open("/dev/null", O_RDONLY);
    if (input >= 0) ::dup2(input, STDIN_FILENO);
    ::execve(argv_c[0], argv_c.data(), env_c.data());
    ::_exit(127);
  }
  pipes.output_write.reset();
  pipes.stdin_read.reset();
  pipes.stdout_write.reset();
  return child;
}

int shell_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

void Fd::reset() noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

ChildProcess::ChildProcess(ChildProcessOptions options) : options_(std::move(options)) {
  if (options_.argv.empty()) throw Error(Errc::invalid_argument, "no program to start");
  std::vector<std::string> argv = options_.argv;
  argv[0] = find_executable(options_.argv[0]);
  if (argv[0].empty()) {
    throw Error(Errc::process, "cannot find the program '" + options_.argv[0] + "'");
  }
  std::vector<std::string> env;
  if (options_.inherit_env) {
    for (char** entry = environ; *entry != nullptr; ++entry) env.emplace_back(*entry);
  }
  env.insert(env.end(), options_.extra_env.begin(), options_.extra_env.end());

  if (!make_pipe(exit_read_, exit_write_)) {
    throw Error(Errc::process, "cannot create a pipe for " + options_.argv[0]);
  }

  // The parent's ends of the child's stdin and stdout pipes travel back with the pid.
  struct Started {
    pid_t pid = -1;
    Fd stdin_write;
    Fd stdout_read;
  };
  std::promise<Started> started;
  auto started_future = started.get_future();
  supervisor_ = std::thread([this, argv = std::move(argv), env = std::move(env),
                             started = std::move(started)]() mutable {
    // fork() must happen on this thread: see the class comment on PR_SET_PDEATHSIG.
    ChildPipes pipes;
    const pid_t child =
        pipes.open(options_.pipe_stdin, options_.pipe_stdout) ? fork_exec(argv, env, pipes) : -1;
    if (child < 0) {
      started.set_value({});
      return;
    }
    started.set_value({child, std::move(pipes.stdin_write), std::move(pipes.stdout_read)});
    supervise_output(pipes.output_read.get());
    pipes.output_read.reset();
    reap(child);
  });
  Started result = started_future.get();
  pid_ = result.pid;
  if (pid_ < 0) {
    supervisor_.join();
    throw Error(Errc::process, "cannot start " + options_.argv[0]);
  }
  std::lock_guard lock(mutex_);
  stdin_ = std::move(result.stdin_write);
  stdout_ = std::move(result.stdout_read);
}

void ChildProcess::reap(int child) {
  // Wait without reaping first, then reap under the lock: signal() holds the same lock, so it can
  // never hit a recycled pid.
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT) < 0 &&
         errno == EINTR) {
  }
  {
    std::lock_guard lock(mutex_);
    int wait_status = 0;
    while (::waitpid(child, &wait_status, 0) < 0 && errno == EINTR) {
    }
    exit_status_ = shell_status(wait_status);
  }
  exited_cv_.notify_all();
  exit_write_.reset();  // wakes poll() on exit_fd()
}

void ChildProcess::supervise_output(int fd) {
  LineBuffer lines(kMaxOutputLine);
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t count = ::read(fd, buffer.data(), buffer.size());
    if (count < 0 && errno == EINTR) continue;
    if (count <= 0) break;
    try {
      lines.append(std::string_view(buffer.data(), static_cast<std::size_t>(count)),
                   [this](std::string_view line) { keep_line(std::string(line)); });
    } catch (const Error&) {
      // An overlong line: the buffer was emptied; its rest arrives as the next line. Reading on
      // keeps the child from blocking on a full pipe.
      keep_line("(an output line longer than " + std::to_string(kMaxOutputLine) +
                " bytes was dropped)");
    }
  }
  if (auto rest = lines.take_rest(); !rest.empty()) keep_line(rest);
}

void ChildProcess::keep_line(const std::string& line) {
  {
    std::lock_guard lock(mutex_);
    lines_.push_back(line);
    while (lines_.size() > options_.kept_lines) lines_.pop_front();
  }
  if (options_.on_line) {
    try {
      options_.on_line(line);
    } catch (...) {  // NOLINT(bugprone-empty-catch): a logging callback must not kill supervision
    }
  }
}

ChildProcess::~ChildProcess() {
  try {
    stop();
  } catch (...) {  // NOLINT(bugprone-empty-catch): destructors never throw
  }
  if (supervisor_.joinable()) supervisor_.join();
}

bool ChildProcess::running() const {
  std::lock_guard lock(mutex_);
  return !exit_status_.has_value();
}

std::optional<int> ChildProcess::exit_status() const {
  std::lock_guard lock(mutex_);
  return exit_status_;
}

bool ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return exited_cv_.wait_for(lock, timeout, [this] { return exit_status_.has_value(); });
}

std::vector<std::string> ChildProcess::last_lines() const {
  std::lock_guard lock(mutex_);
  return {lines_.begin(), lines_.end()};
}

Fd ChildProcess::take_stdin() {
  std::lock_guard lock(mutex_);
  return std::move(stdin_);
}

Fd ChildProcess::take_stdout() {
  std::lock_guard lock(mutex_);
  return std::move(stdout_);
}

std::string ChildProcess::describe_status() const {
  std::lock_guard lock(mutex_);
  return describe_status_locked();
}

std::string ChildProcess::describe_status_locked() const {
  std::string text = options_.argv[0];
  if (!exit_status_) {
    text += " is still running";
  } else if (*exit_status_ > 128) {
    text += " was killed by signal " + std::to_string(*exit_status_ - 128);
  } else {
    text += " exited with status " + std::to_string(*exit_status_);
  }
  return text;
}

std::string ChildProcess::describe_exit() const {
  std::lock_guard lock(mutex_);
  std::string text = describe_status_locked();
  if (!lines_.empty()) {
    text += "; its last output:";
    for (const auto& line : lines_) text += "\n  " + line;
  }
  return text;
}

void ChildProcess::signal(int signal_number) const {
  std::lock_guard lock(mutex_);
  // Holding the lock while the child is unreaped guarantees the pid is still ours.
  if (!exit_status_) ::kill(pid_, signal_number);
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  signal(SIGTERM);
  if (!wait_for_exit(grace)) {
    signal(SIGKILL);
    wait_for_exit(std::chrono::seconds(30));
  }
  if (supervisor_.joinable() && std::this_thread::get_id() != supervisor_.get_id()) {
    supervisor_.join();
  }
}

}  // namespace polaris::detail
