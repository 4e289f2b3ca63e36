#pragma once
// Time as an interface, so retry, backoff and health-wait logic runs instantly in tests.

#include <chrono>

namespace phoenix::util {

class Clock {
 public:
  using Steady = std::chrono::steady_clock;
  using Wall = std::chrono::system_clock;

  virtual ~Clock() = default;
  // Monotonic time for deadlines and durations.
  virtual Steady::time_point now() const = 0;
  // Calendar time for records (created-at, history).
  virtual Wall::time_point wall_now() const = 0;
  virtual void sleep_for(std::chrono::milliseconds duration) = 0;
};

class SystemClock final : public Clock {
 public:
  Steady::time_point now() const override { return Steady::now(); }
  Wall::time_point wall_now() const override { return Wall::now(); }
  void sleep_for(std::chrono::milliseconds duration) override;
};

// Milliseconds between two steady time points.
inline long long elapsed_ms(Clock::Steady::time_point from, Clock::Steady::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

}  // namespace phoenix::util
