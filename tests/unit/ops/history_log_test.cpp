#include "shared/ops/history_log.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

// An event that names no pool (a rollback refused for want of a target, a freeze) read "this
// rollback of pool  (refused) is missing from history", with two spaces and no pool.
TEST_CASE("the warning for a history record that cannot be written names the pool only when there is one",
          "[ops][history]") {
  FakeWorld world;
  const Error full{ErrorKind::failed, "no space left on device"};
  world.state.fail_next.insert_or_assign("append_history", full);
  const auto none = ops::record_history(
      world.services, ops::new_event(world.services, HistoryAction::rollback, "", HistoryResult::refused));
  REQUIRE(none);
  CHECK(*none == "this rollback (refused) is missing from history: no space left on device");

  world.state.fail_next.insert_or_assign("append_history", full);
  const auto named = ops::record_history(
      world.services, ops::new_event(world.services, HistoryAction::deploy, "42", HistoryResult::succeeded));
  REQUIRE(named);
  CHECK(*named == "this deploy of pool 42 (succeeded) is missing from history: no space left on device");
  for (const auto& line : world.reporter.lines) CHECK(line.find("  ") == std::string::npos);
}

namespace {
// A deploy of pool 2 away from pool 1, interrupted: what never_served is asked about.
Intent interrupted_deploy_of_2(FakeWorld& world) {
  return Intent{.operation = Operation::deploy,
                .target = "2",
                .from = {"1"},
                .by = {.host = "agent-7", .pid = 4242},
                .started_at = world.clock.wall_now()};
}

HistoryEvent switch_event(HistoryAction action, const std::string& label, const std::string& from,
                          HistoryResult result) {
  return {.action = action, .label = label, .from = from, .result = result, .by = "ops-a"};
}
}  // namespace

TEST_CASE("never_served: the interrupted switch's target served when a successful switch made it live or replaced it",
          "[ops][history]") {
  FakeWorld world;
  const Intent interrupted = interrupted_deploy_of_2(world);
  CHECK(ops::never_served(world.services, interrupted));  // no history at all

  // Only ever the target of switches that did not succeed: never served.
  world.state.events.push_back(switch_event(HistoryAction::deploy, "2", "1", HistoryResult::interrupted));
  world.state.events.push_back(switch_event(HistoryAction::deploy, "2", "1", HistoryResult::failed));
  CHECK(ops::never_served(world.services, interrupted));

  // Replaced by a successful switch: it served until then.
  world.state.events.push_back(switch_event(HistoryAction::deploy, "3", "2", HistoryResult::succeeded));
  CHECK_FALSE(ops::never_served(world.services, interrupted));

  // Made live by a successful switch.
  world.state.events = {switch_event(HistoryAction::rollback, "2", "3", HistoryResult::succeeded)};
  CHECK_FALSE(ops::never_served(world.services, interrupted));
}

TEST_CASE("never_served: unreadable history counts as never served", "[ops][history]") {
  FakeWorld world;
  const Intent interrupted = interrupted_deploy_of_2(world);
  world.state.events.push_back(switch_event(HistoryAction::deploy, "2", "1", HistoryResult::succeeded));
  REQUIRE_FALSE(ops::never_served(world.services, interrupted));  // served, as readable history has it

  world.state.fail_always["read_history"] = Error{ErrorKind::unavailable, "history cannot be read"};
  CHECK(ops::never_served(world.services, interrupted));
  CHECK(world.state.history_reads == 2);  // one read each time it is asked
}
