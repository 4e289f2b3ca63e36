#include "shared/ops/executor.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>

#include "fakes/fake_balancer.hpp"
#include "fakes/fake_clock.hpp"
#include "fakes/recording_reporter.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {
struct ExecutorRig {
  FakeBalancer balancer;
  FakeClock clock;
  RecordingReporter reporter;
  ops::ExecutorOptions options;
  ops::SwitchOutcome run(const std::vector<Step>& steps) {
    ops::SwitchExecutor executor(balancer, clock, reporter, options);
    return executor.run(steps, {});
  }
};

std::vector<Step> switch_steps() {
  Member end_state;
  end_state.name = "2:1";
  end_state.address = "10.0.0.2:80";
  end_state.weight = 1;
  return {{StepKind::add_standby, {"2:1"}, {{"2:1", "10.0.0.2", 80, "1"}}},
          {StepKind::wait_healthy, {"2:1"}, {}},
          {StepKind::persist, {}, {}, {}, {end_state}},
          {StepKind::admit, {"2:1"}, {}},
          {StepKind::drain, {"1:1"}, {}, {"2:1"}},
          {StepKind::wait_drained, {"1:1"}, {}},
          {StepKind::remove, {"1:1"}, {}, {"2:1"}}};
}
}  // namespace

TEST_CASE("the executor applies steps in order and persists once, where the plan says", "[executor]") {
  ExecutorRig rig;
  rig.balancer.put_live("1:1", "10.0.0.1:80", 3);
  rig.balancer.polls_until_healthy = 4;
  rig.options.poll_interval = std::chrono::milliseconds(50);
  const auto outcome = rig.run(switch_steps());
  REQUIRE(outcome.status.ok());
  CHECK(outcome.steps_done == 7);
  CHECK(rig.balancer.calls ==
        std::vector<std::string>{"add_standby 2:1", "persist 2:1", "admit 2:1", "drain 1:1", "remove 1:1"});
  CHECK(rig.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(rig.balancer.persists == 1);
  CHECK(rig.clock.slept() >= std::chrono::milliseconds(3 * 50));  // waited for health, then the drain
}

TEST_CASE("the executor measures every step it ran, the failing one included", "[executor][notify]") {
  ExecutorRig rig;
  rig.balancer.put_live("1:1", "10.0.0.1:80");
  rig.balancer.polls_until_healthy = 4;
  rig.options.poll_interval = std::chrono::milliseconds(50);
  const auto steps = switch_steps();
  const auto outcome = rig.run(steps);
  REQUIRE(outcome.status.ok());
  REQUIRE(outcome.timings.size() == steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i)
    CHECK(outcome.timings[i].step == describe(steps[i], KeepingKind::written));
  // The health wait slept on the clock; the others took no time on it.
  CHECK(outcome.timings[1].duration_ms >= 150);
  CHECK(outcome.timings[0].duration_ms == 0);

  ExecutorRig failing;
  failing.balancer.put_live("1:1", "10.0.0.1:80");
  failing.balancer.fail_next["admit"] = Error{ErrorKind::unavailable, "socket closed"};
  const auto stopped = failing.run(steps);
  REQUIRE_FALSE(stopped.status.ok());
  REQUIRE(stopped.timings.size() == 4);  // three done, and the admit that failed
  CHECK(stopped.timings.back().step == describe(steps[3], KeepingKind::written));
}

// A persist step that writes nothing (a rollback at runtime only: the balancer's copy cannot be
// written) never says it keeps the membership, in its line or in the timings history records.
TEST_CASE("a persist step that keeps nothing says so, not that it keeps the membership", "[executor][durable]") {
  ExecutorRig kept;
  kept.balancer.put_live("1:1", "10.0.0.1:80");
  REQUIRE(kept.run(switch_steps()).status.ok());
  CHECK(kept.reporter.saw("keep the new membership for restarts (1 member)"));

  ExecutorRig runtime_only;
  runtime_only.balancer.put_live("1:1", "10.0.0.1:80");
  runtime_only.balancer.unpersistable = Error{ErrorKind::invalid, "balancer.config_file cannot be kept current"};
  runtime_only.balancer.allow_runtime_only();
  const auto outcome = runtime_only.run(switch_steps());
  REQUIRE(outcome.status.ok());
  CHECK(runtime_only.balancer.persists == 0);
  CHECK_FALSE(runtime_only.reporter.saw("keep the new membership"));
  const std::string words =
      "not keeping the new membership for restarts (1 member): a reload or restart of the balancer loses it";
  CHECK(runtime_only.reporter.saw(words));
  REQUIRE(outcome.timings.size() == 7);
  CHECK(outcome.timings[2].step == words);
}

TEST_CASE("a health timeout stops before anything old is drained", "[executor]") {
  ExecutorRig rig;
  rig.balancer.put_live("1:1", "10.0.0.1:80");
  rig.balancer.unhealthy_addresses = {"10.0.0.2:80"};
  rig.options.health_timeout = std::chrono::seconds(3);
  const auto outcome = rig.run(switch_steps());
  REQUIRE_FALSE(outcome.status.ok());
  CHECK(outcome.unhealthy);
  CHECK(outcome.steps_done == 1);
  CHECK(rig.balancer.calls == std::vector<std::string>{"add_standby 2:1"});
  CHECK_THAT(outcome.status.error().message, Catch::Contains("2:1 DOWN (check L7STS)"));
  CHECK(rig.clock.slept() >= std::chrono::seconds(3));
  CHECK(rig.balancer.admitted() == std::vector<std::string>{"1:1"});
}

namespace {

// The health wait of one new member that the fake balancer checks `checked_after` after the
// wait began (its check passes then, unless `checked_after` is empty), read with the balancer's
// first check due `first_check_after` later; `read_times` gets when each read came, in ms since
// the wait began.
struct FirstCheckRig {
  ExecutorRig rig;
  std::vector<long long> read_times;
  ops::SwitchOutcome wait(std::chrono::milliseconds first_check_after,
                          std::optional<std::chrono::milliseconds> checked_after) {
    rig.balancer.capabilities_.first_check_after = first_check_after;
    rig.balancer.polls_until_healthy = 1000000;
    rig.options.health_timeout = std::chrono::seconds(1);
    const auto begun = rig.clock.now();
    rig.balancer.before_read = [this, begun, checked_after](FakeBalancer& balancer) {
      const long long at = util::elapsed_ms(begun, rig.clock.now());
      read_times.push_back(at);
      auto& member = balancer.state["2:1"];
      if (checked_after && at >= checked_after->count()) {
        member.up = true;
        member.check = CheckState::passed;
      }
    };
    return rig.run(
        {{StepKind::add_standby, {"2:1"}, {{"2:1", "10.0.0.2", 80, "1"}}}, {StepKind::wait_healthy, {"2:1"}, {}}});
  }
  // The pauses between consecutive reads that began in [from, to) ms.
  std::vector<long long> gaps(long long from, long long to) const {
    std::vector<long long> found;
    for (std::size_t i = 1; i < read_times.size(); ++i) {
      if (read_times[i - 1] >= from && read_times[i - 1] < to) found.push_back(read_times[i] - read_times[i - 1]);
    }
    return found;
  }
};

bool all_equal(const std::vector<long long>& values, long long expected) {
  return !values.empty() && std::all_of(values.begin(), values.end(), [&](long long v) { return v == expected; });
}

}  // namespace

TEST_CASE("the health wait reads often around the balancer's first check and notices it within a few ms",
          "[executor]") {
  FirstCheckRig checked;
  const auto outcome = checked.wait(std::chrono::milliseconds(100), std::chrono::milliseconds(101));
  REQUIRE(outcome.status.ok());
  // Every 10 ms until 10 ms before the check is due, then every 2 ms: found at 102 ms, where
  // reading every 10 ms would have found it at 110.
  CHECK(all_equal(checked.gaps(0, 90), 10));
  CHECK(all_equal(checked.gaps(90, 102), 2));
  CHECK(checked.read_times.back() == 102);
  CHECK(checked.read_times.size() == 16);

  // A check that does not pass: fast reads only in the window around the first check, then
  // every 10 ms again until the timeout.
  FirstCheckRig failing;
  const auto timed_out = failing.wait(std::chrono::milliseconds(100), std::nullopt);
  REQUIRE_FALSE(timed_out.status.ok());
  CHECK(timed_out.unhealthy);
  CHECK(all_equal(failing.gaps(0, 90), 10));
  CHECK(all_equal(failing.gaps(90, 140), 2));
  CHECK(all_equal(failing.gaps(140, 1000), 10));

  // A balancer that names no first check (Hetzner): every 10 ms throughout, as before.
  FirstCheckRig unknown;
  REQUIRE(unknown.wait(std::chrono::milliseconds(0), std::chrono::milliseconds(101)).status.ok());
  CHECK(all_equal(unknown.gaps(0, 1000), 10));
  CHECK(unknown.read_times.back() == 110);
}

TEST_CASE("a drain that times out is reported with what is still connected", "[executor]") {
  ExecutorRig rig;
  rig.balancer.put_live("1:1", "10.0.0.1:80", 5);
  rig.balancer.stuck_connections["1:1"] = 2;
  rig.options.drain_timeout = std::chrono::seconds(1);
  rig.options.removal_grace = std::chrono::seconds(1);
  const auto outcome = rig.run(switch_steps());
  REQUIRE(outcome.status.ok());
  CHECK(rig.reporter.saw("warning: drain timed out after 1.00 s"));
  CHECK(rig.reporter.saw("1:1 (2 connections)"));
  CHECK(outcome.left_in_maintenance == std::vector<std::string>{"1:1"});
  CHECK(rig.balancer.state.at("1:1").admin == AdminState::maint);
}

TEST_CASE("a balancer error stops the switch where it happened", "[executor]") {
  ExecutorRig rig;
  rig.balancer.put_live("1:1", "10.0.0.1:80");
  rig.balancer.fail_next["admit"] = Error{ErrorKind::unavailable, "socket closed"};
  const auto outcome = rig.run(switch_steps());
  REQUIRE_FALSE(outcome.status.ok());
  CHECK_FALSE(outcome.unhealthy);
  CHECK(outcome.steps_done == 3);
  CHECK(outcome.status.error().kind == ErrorKind::unavailable);
  CHECK(rig.balancer.admitted() == std::vector<std::string>{"1:1"});
}

TEST_CASE("the step callback runs before each step and can stop the switch", "[executor]") {
  ExecutorRig rig;
  std::vector<std::size_t> seen;
  ops::SwitchExecutor executor(rig.balancer, rig.clock, rig.reporter, rig.options);
  const auto outcome = executor.run(switch_steps(), [&](std::size_t index, const Step&) -> Status {
    seen.push_back(index);
    if (index == 2) return Error{ErrorKind::failed, "cannot write the intent"};
    return {};
  });
  CHECK(seen == std::vector<std::size_t>{0, 1, 2});
  CHECK(outcome.steps_done == 2);
  CHECK(rig.balancer.calls == std::vector<std::string>{"add_standby 2:1"});
}

TEST_CASE("nothing old is drained when the new members lost their admission meanwhile", "[executor]") {
  ExecutorRig rig;
  rig.balancer.put_live("1:1", "10.0.0.1:80");
  // A reload from a file written before the admit: the new member is back on standby.
  rig.balancer.after_call = [](FakeBalancer& balancer, const std::string& call) {
    if (call == "admit 2:1") balancer.state["2:1"].weight = 0;
  };
  const auto outcome = rig.run(switch_steps());
  REQUIRE_FALSE(outcome.status.ok());
  CHECK(outcome.balancer_changed);
  // The drain was asked for and refused by the guard: 1:1 still serves.
  CHECK(rig.balancer.calls == std::vector<std::string>{"add_standby 2:1", "persist 2:1", "admit 2:1", "drain 1:1"});
  CHECK(rig.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(rig.balancer.state.at("1:1").admin == AdminState::ready);
}
