// Test support: which polaris error an action ends with.
#pragma once

#include <gtest/gtest.h>

#include <functional>

#include "polaris/error.hpp"

namespace polaris::test {

/// The code of the polaris::Error `action` throws; a test failure (and Errc::internal) when it
/// throws none.
inline Errc code_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& error) {
    return error.code();
  }
  ADD_FAILURE() << "no polaris::Error was thrown";
  return Errc::internal;
}

}  // namespace polaris::test
