#include "shared/ops/verdict_operations.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

// A verdict lives in the pool's record: for an unreadable one, mark-bad says in one line which
// file is wrong and what to do, and records nothing.
TEST_CASE("mark-bad of an unreadable pool names its file and what to do", "[ops][verdict][unreadable]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_unreadable_pool("2", 1);
  world.make_live("2");

  const auto marked = ops::set_verdict(world.services, {.label = "2", .verdict = LiveVerdict::bad, .reason = "500s"});
  REQUIRE_FALSE(marked.ok());
  CHECK(marked.error().kind == ErrorKind::failed);
  CHECK(marked.error().message ==
        "pool 2 cannot be marked bad: its record is unreadable (pools/2/record: not valid JSON); nothing was changed. "
        "Restore that file, then run this again");
  CHECK(world.state.events.empty());
  CHECK(world.provider.calls.empty());

  // A readable pool is marked as before.
  REQUIRE(ops::set_verdict(world.services, {.label = "1", .verdict = LiveVerdict::bad, .reason = "500s"}).ok());
  CHECK(world.provider.pools[0].meta.verdict == LiveVerdict::bad);
  CHECK(world.provider.pools[0].meta.verdict_by == "ops-a");
  CHECK(world.provider.pools[0].meta.verdict_at == world.clock.wall_now());
}
