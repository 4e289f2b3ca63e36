#pragma once

#include <functional>
// A clock that moves only when someone sleeps: retry, backoff and wait logic run instantly
// and deterministically in tests.

#include "shared/util/clock.hpp"

namespace phoenix::fakes {

class FakeClock final : public util::Clock {
 public:
  Steady::time_point now() const override { return steady_; }
  Wall::time_point wall_now() const override { return wall_; }
  void sleep_for(std::chrono::milliseconds duration) override {
    steady_ += duration;
    wall_ += duration;
    slept_ += duration;
    if (on_sleep) on_sleep();
  }
  // Runs after every sleep: tests use it to change the world while the code waits.
  std::function<void()> on_sleep;
  void advance(std::chrono::milliseconds duration) { sleep_for(duration); }
  std::chrono::milliseconds slept() const { return slept_; }

 private:
  Steady::time_point steady_{std::chrono::hours(1000)};
  Wall::time_point wall_{std::chrono::seconds(1795000000)};  // 2026-11-18
  std::chrono::milliseconds slept_{0};
};

}  // namespace phoenix::fakes
