// Small pure pieces: reading the server's asynchronous permission errors, and the program logger.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "polaris/error.hpp"
#include "polaris/logging.hpp"
#include "transport/nats_error.hpp"

namespace polaris {
namespace {

TEST(DeniedPublishSubject, ReadsTheSubjectOfAPublishViolation) {
  EXPECT_EQ(detail::denied_publish_subject(
                R"(Permissions Violation for Publish to "polaris:user-func:secret")"),
            "polaris:user-func:secret");
  // nats.c may keep the single quotes of the -ERR line.
  EXPECT_EQ(detail::denied_publish_subject(R"('Permissions Violation for Publish to "a.b.c"')"),
            "a.b.c");
}

TEST(DeniedPublishSubject, IgnoresOtherErrors) {
  EXPECT_EQ(detail::denied_publish_subject(R"(Permissions Violation for Subscription to "x")"),
            std::nullopt);
  EXPECT_EQ(detail::denied_publish_subject("Slow Consumer"), std::nullopt);
  EXPECT_EQ(detail::denied_publish_subject(R"(Permissions Violation for Publish to "")"),
            std::nullopt);
  EXPECT_EQ(detail::denied_publish_subject(R"(Permissions Violation for Publish to "unterminated)"),
            std::nullopt);
  EXPECT_EQ(detail::errc_from_nats(NATS_NOT_PERMITTED), Errc::permission_denied);
  EXPECT_EQ(to_string(Errc::permission_denied), "permission_denied");
}

TEST(ProgramLogger, EnvironmentOverridesDefaultsAndBadValuesAreRefused) {
  ::setenv("POLARIS_LOG_LEVEL", "debug", 1);  // NOLINT(concurrency-mt-unsafe): test thread only
  ::setenv("POLARIS_LOG_FORMAT", "", 1);      // NOLINT(concurrency-mt-unsafe)
  const LogSettings settings = log_settings_from_env({.level = "warn", .format = "text"});
  ::unsetenv("POLARIS_LOG_LEVEL");   // NOLINT(concurrency-mt-unsafe)
  ::unsetenv("POLARIS_LOG_FORMAT");  // NOLINT(concurrency-mt-unsafe)
  EXPECT_EQ(settings.level, "debug");
  EXPECT_EQ(settings.format, "text");  // empty means unset

  const auto previous = spdlog::default_logger();
  const Logger logger = install_program_logger("unit", {.level = "error", .format = "json"});
  EXPECT_EQ(spdlog::default_logger(), logger);
  EXPECT_EQ(logger->name(), "unit");
  EXPECT_EQ(logger->level(), spdlog::level::err);
  spdlog::set_default_logger(previous);

  try {
    install_program_logger("unit", {.level = "loud"});
    ADD_FAILURE() << "an unknown level was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), Errc::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("'loud'"), std::string::npos) << error.what();
  }
  EXPECT_THROW(install_program_logger("unit", {.format = "xml"}), Error);
  EXPECT_EQ(spdlog::default_logger(), previous);  // a refused setting changes nothing
}

}  // namespace
}  // namespace polaris
