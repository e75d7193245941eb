#include "mcp/write_all.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <ctime>

namespace polaris::mcp::detail {

bool write_all(int fd, std::string_view data) noexcept {
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigset_t previous;
  const bool masked = pthread_sigmask(SIG_BLOCK, &pipe_only, &previous) == 0;
  sigset_t pending;
  sigemptyset(&pending);
  const bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
  bool ok = true;
  std::size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      if (errno == EPIPE && masked && !was_pending) {
        const timespec zero{};
        while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
        }
      }
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (masked) pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return ok;
}

}  // namespace polaris::mcp::detail
