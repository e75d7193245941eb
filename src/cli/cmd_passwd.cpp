// `polaris passwd`: read a password and print its bcrypt hash for a registry config file.
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <string>

#include "cli/common.hpp"
#include "polaris/error.hpp"
#include "polaris/security.hpp"

namespace polaris::cli {
namespace {

// Turns terminal echo off for its lifetime, so the password is not shown as it is typed.
class NoEcho {
 public:
  explicit NoEcho(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~NoEcho() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  }
  NoEcho(const NoEcho&) = delete;
  NoEcho& operator=(const NoEcho&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

std::string read_line(const char* prompt, bool terminal) {
  if (terminal) std::cerr << prompt << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) line.clear();
  if (terminal) std::cerr << '\n';
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string read_password() {
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  if (!terminal) return read_line("", false);
  const NoEcho quiet(STDIN_FILENO);
  std::string password = read_line("Password: ", true);
  if (password != read_line("Again: ", true)) {
    throw Error(Errc::invalid_argument, "the two passwords differ");
  }
  return password;
}

}  // namespace

void add_passwd_command(CLI::App& app, int& exit_code) {
  CLI::App* command = app.add_subcommand(
      "passwd",
      "Read a password on standard input (asked twice, not echoed, on a terminal) and print its "
      "bcrypt hash, for password_hash in a registry config file (docs/SECURITY.md)");
  command->callback([&exit_code] {
    try {
      const std::string password = read_password();
      if (password.empty()) throw Error(Errc::invalid_argument, "the password is empty");
      std::cout << hash_password(password) << '\n';
    } catch (const std::exception& error) {
      print_error(error.what());
      exit_code = exit_code_for(error) == kUsage ? kUsage : kFailure;
    }
  });
}

}  // namespace polaris::cli
