// ChildProcess with piped stdin and stdout (how the MCP stdio transport runs a server), against
// real programs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <string>

#include "process/child_process.hpp"

namespace polaris::detail {
namespace {

// Reads `fd` to end of file.
std::string read_all(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

bool contains(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST(ChildProcessPipes, StdinAndStdoutArePipedAndStderrIsSupervised) {
  ChildProcess child(
      {.argv = {"sh", "-c", "echo to-stderr >&2; cat"}, .pipe_stdin = true, .pipe_stdout = true});
  Fd in = child.take_stdin();
  Fd out = child.take_stdout();
  ASSERT_TRUE(in.valid());
  ASSERT_TRUE(out.valid());
  EXPECT_FALSE(child.take_stdin().valid());  // handed out once
  EXPECT_FALSE(child.take_stdout().valid());
  const std::string text = "hello\nworld\n";
  ASSERT_EQ(::write(in.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  in.reset();  // end of input: cat exits
  EXPECT_EQ(read_all(out.get()), text);
  ASSERT_TRUE(child.wait_for_exit(std::chrono::seconds(10)));
  EXPECT_EQ(child.exit_status(), 0);
  EXPECT_EQ(child.describe_status(), "sh exited with status 0");
  // stderr reached the supervisor, stdout did not.
  EXPECT_EQ(child.last_lines(), std::vector<std::string>{"to-stderr"});
}

TEST(ChildProcessPipes, WithoutPipesOutputIsMergedAndStdinIsEmpty) {
  ChildProcess child({.argv = {"sh", "-c", "echo out; echo err >&2; cat; exit 3"}});
  EXPECT_FALSE(child.take_stdin().valid());
  EXPECT_FALSE(child.take_stdout().valid());
  ASSERT_TRUE(child.wait_for_exit(std::chrono::seconds(10)));  // cat reads /dev/null
  EXPECT_EQ(child.exit_status(), 3);
  EXPECT_EQ(child.last_lines(), (std::vector<std::string>{"out", "err"}));
  EXPECT_EQ(child.describe_exit(), "sh exited with status 3; its last output:\n  out\n  err");
}

TEST(ChildProcessPipes, AnEndlessOutputLineIsDroppedNotBuffered) {
  // 1 MiB without a newline, then a line: the supervisor keeps reading and keeps the line.
  ChildProcess child(
      {.argv = {"sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' x; echo; echo after"}});
  ASSERT_TRUE(child.wait_for_exit(std::chrono::seconds(10)));
  EXPECT_EQ(child.exit_status(), 0);
  const auto lines = child.last_lines();
  EXPECT_TRUE(contains(lines, "(an output line longer than 65536 bytes was dropped)"));
  EXPECT_TRUE(contains(lines, "after"));
  for (const auto& line : lines) EXPECT_LE(line.size(), std::size_t{65536});
}

TEST(ChildProcessPipes, StopEndsAChildThatIgnoresItsStdin) {
  ChildProcess child({.argv = {"sleep", "1000"}, .pipe_stdin = true, .pipe_stdout = true});
  Fd out = child.take_stdout();
  child.stop(std::chrono::seconds(5));
  EXPECT_EQ(child.exit_status(), 128 + SIGTERM);
  EXPECT_EQ(read_all(out.get()), "");  // the pipe ends with the child
}

}  // namespace
}  // namespace polaris::detail
