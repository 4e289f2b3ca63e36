#include "shared/ops/verdict_operations.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/util/time_format.hpp"

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
  CHECK(world.state.events.back().detail == "all: " + world.state.freeze->reason);
}

// Widening a freeze kept only the new reason: status no longer said why it was frozen in the
// first place. The record keeps both, and who froze first since when.
TEST_CASE("a freeze widened to --all keeps the reason of the freeze it widened", "[ops][freeze]") {
  FakeWorld world;
  REQUIRE(ops::freeze(world.services, {.reason = "code freeze", .all = false}).ok());
  const Freeze first = *world.state.freeze;
  world.clock.advance(std::chrono::minutes(5));
  REQUIRE(ops::freeze(world.services, {.reason = "incident 42", .all = true}).ok());
  CHECK(world.state.freeze->all);
  CHECK(world.state.freeze->since == world.clock.wall_now());
  CHECK(world.state.freeze->reason ==
        "incident 42; widening: code freeze (by ops-a since " + util::format_iso8601(first.since) + ")");
  CHECK(world.reporter.saw("deploys, rollbacks and repairs are frozen since " +
                           util::format_iso8601(world.clock.wall_now()) +
                           " by ops-a (job gocd web/7/deploy/1/switch): incident 42; widening: code freeze (by "
                           "ops-a since " +
                           util::format_iso8601(first.since) + ")"));
  CHECK(world.state.events.back().detail == "all: " + world.state.freeze->reason);
}

// Two freezes at once both read "not frozen" and both wrote: a plain freeze could replace a
// freeze of everything written between its read and its write. The write is conditional: the
// plain freeze reads again, finds the freeze of everything, and is refused as any freeze over it.
TEST_CASE("a freeze whose record changed between its read and its write judges the new record", "[ops][freeze]") {
  FakeWorld world;
  const Freeze all{.reason = "DB migration", .all = true, .by = "ops-b", .job = "", .since = world.clock.wall_now()};
  world.state.before_freeze_replaced = [&] { world.state.freeze = all; };

  const auto plain = ops::freeze(world.services, {.reason = "code freeze", .all = false});
  REQUIRE_FALSE(plain.ok());
  CHECK(plain.error().kind == ErrorKind::refused);
  CHECK(exit_code_for(plain.error().kind) == 3);
  CHECK_THAT(plain.error().message,
             Catch::StartsWith("already frozen: deploys, rollbacks and repairs are frozen since ") &&
                 Catch::Contains(" by ops-b: DB migration; nothing was changed"));
  CHECK(world.state.freeze == all);
  CHECK(world.state.freeze_replacements == 1);
  CHECK(world.state.events.empty());
}

// The same race for a freeze that widens: it reads again and widens the record now in place.
TEST_CASE("a widening freeze whose record changed meanwhile widens the record now in place", "[ops][freeze]") {
  FakeWorld world;
  const Freeze later{.reason = "release", .all = false, .by = "ops-b", .job = "", .since = world.clock.wall_now()};
  world.state.before_freeze_replaced = [&] { world.state.freeze = later; };

  REQUIRE(ops::freeze(world.services, {.reason = "incident 42", .all = true}).ok());
  CHECK(world.state.freeze->all);
  CHECK_THAT(world.state.freeze->reason, Catch::StartsWith("incident 42; widening: release (by ops-b since "));
  CHECK(world.state.freeze_replacements == 2);
}

// An unfreeze lifts the freeze in place when it writes, and says which.
TEST_CASE("an unfreeze whose record changed meanwhile lifts the record now in place", "[ops][freeze]") {
  FakeWorld world;
  REQUIRE(ops::freeze(world.services, {.reason = "code freeze", .all = false}).ok());
  const Freeze wider{.reason = "incident", .all = true, .by = "ops-b", .job = "", .since = world.clock.wall_now()};
  world.state.before_freeze_replaced = [&] { world.state.freeze = wider; };

  const auto lifted = ops::unfreeze(world.services);
  REQUIRE(lifted.ok());
  CHECK(lifted->lifted == wider);
  CHECK_FALSE(world.state.freeze.has_value());
  CHECK(world.state.events.back().detail == "lifted: incident");
}

namespace {

// Another command writes the freeze record before each of the freeze's writes; `also` runs then too.
void keep_changing(FakeWorld& world, std::function<void()> also) {
  world.state.before_freeze_replaced = [&world, also] {
    world.state.freeze = Freeze{.reason = "r" + std::to_string(world.state.freeze_replacements),
                                .all = false,
                                .by = "ops-b",
                                .job = "",
                                .since = world.clock.wall_now()};
    also();
    keep_changing(world, also);
  };
}

}  // namespace

// A record that keeps changing: the freeze gives up after a bounded number of attempts,
// changing nothing, rather than trying for ever.
TEST_CASE("a freeze gives up when the record keeps changing under it", "[ops][freeze]") {
  FakeWorld world;
  keep_changing(world, [] {});

  const auto widened = ops::freeze(world.services, {.reason = "incident", .all = true});
  REQUIRE_FALSE(widened.ok());
  CHECK(widened.error().is(ErrorCode::changed_concurrently));
  CHECK(exit_code_for(widened.error().kind) == 3);
  CHECK(widened.error().message ==
        "the freeze record kept changing while this command ran (10 attempts, each finding another command's "
        "write); nothing was changed. 'deploy-pipeline status' shows the record as it is now; run this again");
  // It waited between attempts (a guard another writer holds is released meanwhile), for a bounded time.
  CHECK(world.clock.slept() > std::chrono::milliseconds(0));
  CHECK(world.clock.slept() <= std::chrono::seconds(10));
  CHECK(world.state.freeze_replacements == 10);
  CHECK_FALSE(world.state.freeze->all);
  CHECK(world.state.events.empty());
}

// A freeze guard held by a stuck process made freeze and unfreeze give up saying the record
// "kept changing ... each finding another command's write": nobody wrote. Giving up names the
// guard and its holder and says what to do, with a code of its own (guard_busy).
TEST_CASE("a freeze or unfreeze whose guard stays held names the guard and its holder", "[ops][freeze]") {
  FakeWorld world;
  world.state.freeze_guard_holder = "pid 412 (flock) on this host";
  const auto frozen = ops::freeze(world.services, {.reason = "incident", .all = false});
  world.state.freeze = Freeze{.reason = "code freeze", .all = false, .by = "ops-b", .job = "", .since = {}};
  const auto unfrozen = ops::unfreeze(world.services);
  REQUIRE_FALSE(frozen.ok());
  REQUIRE_FALSE(unfrozen.ok());
  for (const Error& given_up : {frozen.error(), unfrozen.error()}) {
    CHECK(given_up.is(ErrorCode::guard_busy));
    CHECK(exit_code_for(given_up.kind) == 3);
    CHECK(given_up.message ==
          "the freeze guard (fake freeze guard) is held by pid 412 (flock) on this host (10 of 10 attempts found it "
          "held); nothing was changed. Wait for that process to end, or stop it if it is stuck, then run this again");
  }
  CHECK(world.clock.slept() <= std::chrono::seconds(10));
  CHECK(world.state.events.empty());

  // The guard released, the unfreeze goes through.
  world.state.freeze_guard_holder.reset();
  REQUIRE(ops::unfreeze(world.services).ok());
  CHECK_FALSE(world.state.freeze.has_value());
}

// Both causes across the attempts: giving up says how many found which.
TEST_CASE("a freeze that met both a held guard and other writes says how many attempts found each", "[ops][freeze]") {
  FakeWorld world;
  // From the seventh attempt on, the guard is held.
  keep_changing(world, [&] {
    if (world.state.freeze_replacements == 7) world.state.freeze_guard_holder = "pid 9 on host-b";
  });

  const auto given_up = ops::freeze(world.services, {.reason = "incident", .all = true});
  REQUIRE_FALSE(given_up.ok());
  CHECK(given_up.error().is(ErrorCode::guard_busy));
  CHECK_THAT(given_up.error().message,
             Catch::StartsWith("the freeze guard (fake freeze guard) is held by pid 9 on host-b (4 of 10 attempts "
                               "found it held, and 6 found the record changed by another command); nothing was "
                               "changed. Wait for that process to end"));
}

// A freeze record that could not be read had no way out: unfreeze read first and failed. unfreeze
// clears it and says so (in history too); a freeze over it is refused, naming the way out.
TEST_CASE("unfreeze clears a freeze record that cannot be read; a freeze over it is refused", "[ops][freeze]") {
  FakeWorld world;
  world.state.freeze_unreadable = "freeze.json in /srv/state/web: invalid JSON at offset 0";

  const auto refused = ops::freeze(world.services, {.reason = "incident", .all = true});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().is(ErrorCode::unreadable_record));
  CHECK(exit_code_for(refused.error().kind) == 2);
  CHECK(refused.error().message ==
        "the freeze record cannot be read (freeze.json in /srv/state/web: invalid JSON at offset 0); nothing was "
        "changed. 'deploy-pipeline unfreeze' clears it, then freeze again if needed");
  CHECK(world.state.freeze_unreadable.has_value());
  CHECK(world.state.events.empty());

  const auto cleared = ops::unfreeze(world.services);
  REQUIRE(cleared.ok());
  CHECK_FALSE(cleared->lifted.has_value());
  CHECK(cleared->unreadable == "freeze.json in /srv/state/web: invalid JSON at offset 0");
  CHECK_FALSE(world.state.freeze_unreadable.has_value());
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events.back().action == HistoryAction::unfreeze);
  CHECK(world.state.events.back().detail ==
        "cleared a freeze record that could not be read: freeze.json in /srv/state/web: invalid JSON at offset 0");
  REQUIRE(ops::freeze(world.services, {.reason = "incident", .all = true}).ok());
}

// A record garbled between the read and the write was written meanwhile, as any change: read
// again, it is judged as a record that cannot be read.
TEST_CASE("a freeze record garbled between the read and the write is read again", "[ops][freeze]") {
  FakeWorld world;
  world.state.before_freeze_replaced = [&] { world.state.freeze_unreadable = "freeze.json: invalid JSON"; };
  const auto refused = ops::freeze(world.services, {.reason = "incident", .all = false});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().is(ErrorCode::unreadable_record));
  CHECK_THAT(refused.error().message,
             Catch::StartsWith("the freeze record cannot be read (freeze.json: invalid JSON)"));
  CHECK(world.state.freeze_replacements == 1);
  // unfreeze, the same way, clears it.
  world.state.freeze = Freeze{.reason = "code freeze", .all = false, .by = "ops-b", .job = "", .since = {}};
  world.state.freeze_unreadable.reset();
  world.state.before_freeze_replaced = [&] { world.state.freeze_unreadable = "freeze.json: invalid JSON"; };
  const auto cleared = ops::unfreeze(world.services);
  REQUIRE(cleared.ok());
  CHECK(cleared->unreadable == "freeze.json: invalid JSON");
  CHECK_FALSE(world.state.freeze_unreadable.has_value());
}

// A freeze made while a deploy ran exited 0 silently, and the deploy went live anyway: the
// freeze warns, naming the running command and what to do.
TEST_CASE("a freeze made while another command holds the deploy lock warns that it does not stop it", "[ops][freeze]") {
  FakeWorld world;
  world.state.lock = LockHolder{.host = "agent-2",
                                .pid = 4321,
                                .job = "",
                                .command = "deploy --label 42",
                                .since = world.clock.wall_now(),
                                .start_ticks = 0};
  REQUIRE(ops::freeze(world.services, {.reason = "incident", .all = false}).ok());
  CHECK(world.state.freeze.has_value());
  CHECK(world.reporter.saw(
      "warning: a command already running is not stopped by this freeze: " + world.state.lock->describe() +
      " (it holds the deploy lock) and will finish. Wait for it to end ('deploy-pipeline "
      "status' shows it), then 'deploy-pipeline rollback' if what it made live must not stay"));

  // A stale holder (its process is gone) runs nothing: no warning.
  REQUIRE(ops::unfreeze(world.services).ok());
  world.reporter.lines.clear();
  world.state.holder_gone = true;
  REQUIRE(ops::freeze(world.services, {.reason = "incident", .all = false}).ok());
  CHECK_FALSE(world.reporter.saw("warning:"));
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

// A deploy, rollback or repair met a freeze record that cannot be read with the bare read error:
// it now says it is the freeze record, that the command was refused for it, and the way out.
TEST_CASE("a switch refused for an unreadable freeze record names it and the way out", "[ops][freeze]") {
  FakeWorld world;
  world.state.freeze_unreadable = "/srv/state/web/freeze.json:1:1: invalid JSON (unexpected 'g')";
  for (const auto operation : {Operation::deploy, Operation::rollback, Operation::repair}) {
    const auto refused = ops::check_not_frozen(world.services, operation);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK(refused.error().message ==
          "the freeze record cannot be read (/srv/state/web/freeze.json:1:1: invalid JSON (unexpected 'g')), so "
          "whether '" +
              std::string(to_string(operation)) +
              "' is frozen is not known; nothing was changed. 'deploy-pipeline unfreeze' clears it (ask whoever froze "
              "first), then run this again");
  }
}
