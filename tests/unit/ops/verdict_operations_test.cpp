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

// A plain freeze over a freeze of everything silently allowed rollbacks again and replaced its
// reason: a freeze may only widen the one in place; anything else is refused, changing nothing.
TEST_CASE("a freeze never narrows or replaces the freeze in place; it may widen it", "[ops][freeze]") {
  FakeWorld world;
  REQUIRE(ops::freeze(world.services, {.reason = "DB migration, nothing moves", .all = true}).ok());
  const Freeze first = *world.state.freeze;
  const auto events = world.state.events.size();

  const auto narrower = ops::freeze(world.services, {.reason = "code freeze", .all = false});
  REQUIRE_FALSE(narrower.ok());
  CHECK(narrower.error().kind == ErrorKind::refused);
  CHECK_THAT(narrower.error().message,
             Catch::StartsWith("already frozen: deploys, rollbacks and repairs are frozen since ") &&
                 Catch::Contains(": DB migration, nothing moves; nothing was changed (a freeze without --all would "
                                 "allow rollbacks and repairs again). 'deploy-pipeline unfreeze' lifts it"));
  const auto same = ops::freeze(world.services, {.reason = "again", .all = true});
  REQUIRE_FALSE(same.ok());
  CHECK(same.error().kind == ErrorKind::refused);
  CHECK(world.state.freeze->reason == first.reason);
  CHECK(world.state.freeze->all);
  CHECK(world.state.events.size() == events);

  // Deploys only, widened to everything: the record says so, naming the freeze it widened.
  REQUIRE(ops::unfreeze(world.services).ok());
  REQUIRE(ops::freeze(world.services, {.reason = "code freeze", .all = false}).ok());
  REQUIRE(ops::freeze(world.services, {.reason = "incident 42", .all = true}).ok());
  CHECK(world.state.freeze->all);
  CHECK(world.state.freeze->reason == "incident 42");
  CHECK_THAT(world.state.events.back().detail,
             Catch::StartsWith("all: incident 42 (widened from deploys only, frozen since ") &&
                 Catch::EndsWith(" by ops-a: code freeze)"));
}

// mark-good on a pool whose smoke test failed said "marked good" and nothing else, while deploy
// still refused it: the warning says what the mark does not lift, and the way on.
TEST_CASE("mark-good of a pool whose smoke test did not pass warns that it is still refused", "[ops][verdict]") {
  FakeWorld world;
  world.provider.add_pool("5", 1, 30, SmokeVerdict::failed);
  REQUIRE(ops::set_verdict(world.services, {.label = "5", .verdict = LiveVerdict::good, .reason = ""}).ok());
  CHECK(world.provider.pools[0].meta.verdict == LiveVerdict::good);
  CHECK(
      world.reporter.saw("warning: pool 5 is marked good, but its smoke verdict is 'failed': a deploy or rollback "
                         "to it is still refused without --force; 'create-pipeline smoke-test --label 5' tests it "
                         "again"));
  world.provider.add_pool("6", 1, 20);
  world.reporter.lines.clear();
  REQUIRE(ops::set_verdict(world.services, {.label = "6", .verdict = LiveVerdict::good, .reason = ""}).ok());
  CHECK_FALSE(world.reporter.saw("warning:"));
}

// mark-good of a pool whose create was interrupted made its never-finished release a known-good
// rollback target: it is refused, naming why and the way on, and nothing changes.
TEST_CASE("mark-good of a pool whose creation did not finish is refused, changing nothing", "[ops][verdict]") {
  FakeWorld world;
  Pool& pool = world.provider.add_pool("7", 2, 10, SmokeVerdict::pending);
  pool.complete = false;
  pool.meta.revision = "abc123";
  world.provider.calls.clear();

  const auto marked = ops::set_verdict(world.services, {.label = "7", .verdict = LiveVerdict::good, .reason = ""});
  REQUIRE_FALSE(marked.ok());
  CHECK(marked.error().kind == ErrorKind::refused);
  CHECK(marked.error().message ==
        "pool 7 was not created completely (its create was interrupted), so it cannot be marked good; nothing was "
        "changed: re-run 'create-pipeline create --label 7 --revision abc123' first, or 'create-pipeline delete "
        "--label 7' removes it");
  CHECK(world.provider.pools[0].meta.verdict == LiveVerdict::unknown);
  CHECK(world.provider.calls.empty());
  CHECK(world.state.events.empty());

  // A bad mark stays possible: it only takes a pool out of use.
  REQUIRE(ops::set_verdict(world.services, {.label = "7", .verdict = LiveVerdict::bad, .reason = "half built"}).ok());
  // A cold pool is not cut short: its archive stands for a pool that was whole.
  Pool& cold = world.provider.add_pool("3", 1, 50);
  cold.complete = false;
  cold.archive = Archive{.id = "img-3", .ready = true, .size_gb = 1, .servers = 1, .created_at = {}};
  cold.servers.clear();
  CHECK(ops::set_verdict(world.services, {.label = "3", .verdict = LiveVerdict::good, .reason = ""}).ok());
}

// mark-good took no reason, though mark-bad's is kept and shown: the reason given is recorded
// with the verdict (after who marked it) and in history; without one, who marked it as before.
TEST_CASE("mark-good records the reason given with the verdict and in history", "[ops][verdict]") {
  FakeWorld world;
  world.provider.add_pool("4", 1, 40);
  world.provider.add_pool("5", 1, 30);
  REQUIRE(ops::set_verdict(world.services,
                           {.label = "4", .verdict = LiveVerdict::good, .reason = "served the sale without errors"})
              .ok());
  CHECK(find_pool(world.provider.pools, "4")->meta.verdict_reason ==
        "marked good by ops-a: served the sale without errors");
  REQUIRE_FALSE(world.state.events.empty());
  CHECK(world.state.events.back().action == HistoryAction::mark_good);
  CHECK(world.state.events.back().detail == "marked good by ops-a: served the sale without errors");
  CHECK(world.reporter.saw("pool 4 is marked good: served the sale without errors"));

  REQUIRE(ops::set_verdict(world.services, {.label = "5", .verdict = LiveVerdict::good, .reason = ""}).ok());
  CHECK(find_pool(world.provider.pools, "5")->meta.verdict_reason == "marked good by ops-a");
}
