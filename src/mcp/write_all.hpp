// mcp/write_all.hpp - writing a whole buffer to a pipe without dying of SIGPIPE.
//
// Internal. A write to a pipe whose reader is gone raises SIGPIPE, which kills the process by
// default; the library must not change the process-wide disposition, so the signal is blocked in
// the writing thread for the duration of the write and a pending one is consumed.
#pragma once

#include <string_view>

namespace polaris::mcp::detail {

/// Writes all of `data` to `fd` (retrying short writes and EINTR). False when the descriptor is
/// closed or broken (EPIPE included). Never raises SIGPIPE.
bool write_all(int fd, std::string_view data) noexcept;

}  // namespace polaris::mcp::detail
