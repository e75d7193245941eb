// The remote-log example's tail: bounded, and never leaves its folder.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tail.hpp"

namespace {
namespace fs = std::filesystem;

class TailLog : public testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("polaris-tail-" + std::to_string(::getpid()));
    fs::create_directories(base_ / "logs" / "sub");
    std::ofstream app(base_ / "logs" / "app.log");
    for (int i = 1; i <= 10; ++i) app << "line " << i << '\n';
    std::ofstream(base_ / "secret.txt") << "secret\n";
    fs::create_symlink(base_ / "secret.txt", base_ / "logs" / "link.log");
  }
  void TearDown() override { fs::remove_all(base_); }
  fs::path base_;
};

TEST_F(TailLog, ReturnsTheLastLines) {
  const auto tail = remote_log::tail_lines(base_ / "logs", "app.log", 3);
  EXPECT_EQ(tail.lines, (std::vector<std::string>{"line 8", "line 9", "line 10"}));
  EXPECT_FALSE(tail.truncated);
}

TEST_F(TailLog, BoundsLinesAndBytes) {
  EXPECT_EQ(remote_log::tail_lines(base_ / "logs", "app.log", 100, {.max_lines = 2}).lines.size(),
            2u);
  // A 20-byte window holds "line 9\nline 10\n" plus part of "line 8", which is dropped.
  const auto tail = remote_log::tail_lines(base_ / "logs", "app.log", 100, {.max_bytes = 20});
  EXPECT_EQ(tail.lines, (std::vector<std::string>{"line 9", "line 10"}));
  EXPECT_TRUE(tail.truncated);
}

TEST_F(TailLog, RefusesToLeaveTheFolder) {
  const auto root = base_ / "logs";
  for (const std::string& name :
       std::vector<std::string>{"../secret.txt", "sub/../../secret.txt", "link.log",
                                (base_ / "secret.txt").string(), "sub", "missing.log", ""}) {
    EXPECT_THROW(remote_log::tail_lines(root, name, 5), std::runtime_error) << name;
  }
}

}  // namespace
