#pragma once
// Applies a switch plan through the Balancer: one step at a time, waiting where the plan says
// to wait; the plan's persist step keeps the membership durable.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "shared/core/balancer.hpp"
#include "shared/core/planner.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::ops {

struct ExecutorOptions {
  std::chrono::milliseconds health_timeout{30000};
  std::chrono::milliseconds drain_timeout{30000};
  // How often the balancer is read while waiting: a switch completes within one interval of
  // the balancer knowing, and a read is one small round trip. Around the moment a balancer's
  // first check of new members is due (BalancerCapabilities::first_check_after), the wait for
  // health reads every `first_check_poll` instead, never more often than a read takes.
  std::chrono::milliseconds poll_interval{10};
  std::chrono::milliseconds first_check_poll{2};
  // After the drain deadline, how long removal keeps retrying members that still hold
  // connections before leaving them in maintenance with a warning.
  std::chrono::milliseconds removal_grace{5000};
  // Polled before each step and while waiting: true ends the run at that safe point with an
  // ErrorCode::interrupted error (SIGINT, SIGTERM or SIGHUP; see util/interrupt.hpp).
  std::function<bool()> stop_requested;
  // In front of every message ("balancer haproxy-2: ") when the service has several balancers.
  std::string message_prefix;
};

struct SwitchOutcome {
  Status status;
  bool unhealthy = false;         // the target did not become healthy in time: revert it
  bool balancer_changed = false;  // earlier steps were undone under us (a reload): plan again
  std::size_t steps_done = 0;
  std::vector<std::string> left_in_maintenance;
  // Each step that ran and how long it took, the one that failed included.
  std::vector<StepTiming> timings;
};

class SwitchExecutor {
 public:
  using StepCallback = std::function<Status(std::size_t index, const Step& step)>;

  SwitchExecutor(Balancer& balancer, util::Clock& clock, util::Reporter& reporter, ExecutorOptions options);

  // Runs `steps` in order; `before_step` is called before each one (to record progress).
  SwitchOutcome run(const std::vector<Step>& steps, const StepCallback& before_step);

 private:
  Status wait_healthy(const Step& step, SwitchOutcome& outcome);
  // How long the wait for health pauses after a read that took `read_took`, `elapsed` after it
  // began.
  std::chrono::milliseconds health_pause(std::chrono::milliseconds elapsed, std::chrono::milliseconds read_took) const;
  Status wait_drained(const Step& step);
  // A guarded change that did not apply: the balancer changed under the switch.
  static Status guarded(const char* what, const Result<GuardedChange>& change);
  Status remove(const Step& step, SwitchOutcome& outcome);
  // The interrupted error when a stop was requested, else ok.
  Status check_stop(const char* where) const;

  Balancer& balancer_;
  util::Clock& clock_;
  util::Reporter& reporter_;
  ExecutorOptions options_;
};

}  // namespace phoenix::ops
