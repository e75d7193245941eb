// Waiting for SIGINT/SIGTERM with the self-pipe pattern: the handler only write()s the signal
// number (async-signal-safe); waiters poll the read end. Signal dispositions are process-wide by
// nature, so the pipe is process-wide too and created once.
#include "common/shutdown_signal.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <vector>

#include "polaris/error.hpp"
#include "polaris/shutdown.hpp"

namespace polaris {
namespace detail {
namespace {

struct SignalPipe {
  int read_fd = -1;
  int write_fd = -1;
};

// Written once under std::call_once before any handler is installed; read-only afterwards.
SignalPipe& signal_pipe() {
  static SignalPipe pipe_fds;
  static std::once_flag once;
  std::call_once(once, [] {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Error(Errc::internal, "cannot create the signal pipe");
    }
    pipe_fds.read_fd = fds[0];
    pipe_fds.write_fd = fds[1];
    struct sigaction action {};
    action.sa_handler = [](int signal_number) {
      const int saved_errno = errno;
      const auto byte = static_cast<unsigned char>(signal_number);
      // Several waiters may each consume one byte: write a few so each sees the shutdown.
      for (int i = 0; i < 8; ++i) {
        (void)!::write(signal_pipe().write_fd, &byte, 1);
      }
      errno = saved_errno;
    };
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
  });
  return pipe_fds;
}

}  // namespace

int wait_for_signal_or(int other_fd) {
  std::size_t index = 0;
  return wait_for_signal_or(std::span<const int>(&other_fd, 1), index);
}

int wait_for_signal_or(std::span<const int> other_fds, std::size_t& ready_index) {
  const int read_fd = signal_pipe().read_fd;
  std::vector<pollfd> fds{pollfd{read_fd, POLLIN, 0}};
  // A negative descriptor is ignored by poll(), which keeps the indexes simple.
  for (const int fd : other_fds) fds.push_back(pollfd{fd, POLLIN, 0});
  for (;;) {
    const int ready = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw Error(Errc::internal, "poll failed while waiting for a signal");
    }
    for (std::size_t i = 1; i < fds.size(); ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        ready_index = i - 1;
        return 0;
      }
    }
    if ((fds[0].revents & POLLIN) != 0) {
      unsigned char byte = 0;
      if (::read(read_fd, &byte, 1) == 1) return byte;
    }
  }
}

namespace {

// SIGHUP has its own pipe: the shutdown pipe carries several bytes per signal (one per waiter),
// which would turn one SIGHUP into several reloads.
SignalPipe& hangup_pipe() {
  static SignalPipe pipe_fds;
  static std::once_flag once;
  std::call_once(once, [] {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC | O_NONBLOCK) != 0) {
      throw Error(Errc::internal, "cannot create the SIGHUP pipe");
    }
    pipe_fds.read_fd = fds[0];
    pipe_fds.write_fd = fds[1];
    struct sigaction action {};
    action.sa_handler = [](int) {
      const int saved_errno = errno;
      const unsigned char byte = 1;
      (void)!::write(hangup_pipe().write_fd, &byte, 1);
      errno = saved_errno;
    };
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGHUP, &action, nullptr);
  });
  return pipe_fds;
}

}  // namespace

int hangup_fd() { return hangup_pipe().read_fd; }

bool take_hangup() {
  bool any = false;
  std::array<unsigned char, 64> bytes{};
  while (::read(hangup_pipe().read_fd, bytes.data(), bytes.size()) > 0) any = true;
  return any;
}

}  // namespace detail

int wait_for_shutdown() { return detail::wait_for_signal_or(-1); }

}  // namespace polaris
