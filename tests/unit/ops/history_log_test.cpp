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
