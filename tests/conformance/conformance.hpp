#pragma once
// What the conformance suites share: asserting that a Result succeeded (with its message when
// it did not), and waiting, with a bound, for what real systems do in their own time.

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

// Fails the test case with the expression and the error's message when `expr` is an error.
#define REQUIRE_OK(expr)                                                                              \
  do {                                                                                                \
    const auto& conformance_result_ = (expr);                                                         \
    if (!conformance_result_.ok()) FAIL(#expr << " failed: " << conformance_result_.error().message); \
  } while (false)

namespace phoenix::conformance {

// Asks `done` every 20 ms until it says yes or `limit` has passed; returns its last answer.
template <class Done>
bool eventually(Done done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// A wall time with the millisecond precision every store keeps (records, labels).
inline std::chrono::system_clock::time_point wall_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(time);
}

}  // namespace phoenix::conformance
