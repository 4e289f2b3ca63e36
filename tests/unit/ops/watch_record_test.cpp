#include "shared/ops/watch_record.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/status_operations.hpp"
#include "shared/ops/switch_operations.hpp"
#include "shared/ops/tier_operations.hpp"
#include "shared/util/strings.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {

// Pools 0 (oldest), 1 and 2 (newest); 1 is live. Every read of the balancer adds traffic to
// pool 2's members, `failing` of every ten answered with 5xx, and clean traffic to pool 1's (a
// watch passes only a pool that served watch.min_requests requests).
struct WatchRecordRig {
  FakeWorld world;
  long long failing = 0;

  WatchRecordRig() {
    world.provider.add_pool("0", 2, 40);
    world.provider.add_pool("1", 2, 30);
    world.provider.add_pool("2", 2, 20);
    world.make_live("1");
    world.config.watch.thresholds = test_watch_thresholds();
    world.balancer.before_read = [this](FakeBalancer& balancer) {
      balancer.add_traffic("1", 10, 0);
      balancer.add_traffic("2", 10, failing);
    };
  }

  // The record of a watch another agent runs: pool `watched` until `seconds` from now, falling
  // back to `fallback`.
  WatchRecord running_elsewhere(const std::string& watched, const std::string& fallback, int seconds) const {
    return {.watched = watched,
            .fallback = fallback,
            .by = {.host = "agent-2",
                   .pid = 999,
                   .job = "gocd web-deploy/8/deploy/1/switch",
                   .command = "deploy --label 2 --watch 60s",
                   .since = world.clock.wall_now()},
            .until = world.clock.wall_now() + std::chrono::seconds(seconds)};
  }

  bool exists(const std::string& label) const {
    for (const auto& pool : world.provider.pools) {
      if (pool.label() == label) return true;
    }
    return false;
  }
};

}  // namespace

TEST_CASE("a watched deploy records its watch before it gives up the lock, and removes it when the watch ends",
          "[ops][watch][watch-record]") {
  WatchRecordRig rig;
  std::optional<WatchRecord> seen;
  rig.world.clock.on_sleep = [&] {
    if (!seen) seen = rig.world.state.watch;
  };
  const auto started = rig.world.clock.wall_now();
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(10)});
  REQUIRE(result.ok());
  REQUIRE(seen.has_value());
  CHECK(seen->watched == "2");
  CHECK(seen->fallback == std::optional<std::string>("1"));
  CHECK(seen->by.host == "agent-1");
  CHECK(seen->by.pid == 4242);
  CHECK(seen->by.command == "deploy --label 2 --watch 10s");
  CHECK(seen->until == started + std::chrono::seconds(10));
  REQUIRE(rig.world.state.lock_held_at_watch_write.size() == 1);
  CHECK(rig.world.state.lock_held_at_watch_write.front());  // no command could slip in between
  CHECK_FALSE(rig.world.state.watch.has_value());           // a clean window removed it
}

// The record is written under the switch's lock: one whose lock another agent took over as the
// switch ended writes none (the new holder's commands would take this watch for theirs to respect).
TEST_CASE("a watched deploy that lost its lock as the switch ended records no watch", "[ops][watch][watch-record]") {
  WatchRecordRig rig;
  bool taken_over = false;
  rig.world.services.before_switch_step = [&](std::size_t step) {
    if (step < 7 || taken_over) return;  // 7: after the last of the deploy's 7 steps
    taken_over = true;
    rig.world.state.lock =
        LockHolder{.host = "agent-2", .pid = 99, .job = "", .command = "repair --break-lock", .since = {}};
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(10)});
  REQUIRE(taken_over);
  CHECK(rig.world.state.watches_written.empty());
  CHECK(rig.world.reporter.saw("the watch of pool 2 is not recorded"));
  CHECK(rig.world.state.lock->pid == 99);  // the new holder's lock is left alone
}

// The lock is asked right before the record is written, after the watch's fallback was chosen
// (for a rollback a look at the pools and the balancer: seconds on a cloud).
TEST_CASE("a watched rollback that lost its lock while choosing its fallback records no watch",
          "[ops][watch][watch-record]") {
  WatchRecordRig rig;
  const auto dry = ops::rollback(rig.world.services, {.reason = "bad", .dry_run = true});
  REQUIRE(dry.ok());
  const std::size_t steps = dry->plan.steps.size();
  bool switch_ended = false;
  bool taken_over = false;
  rig.world.services.before_switch_step = [&](std::size_t step) { switch_ended = switch_ended || step == steps; };
  rig.world.balancer.before_read = [&](FakeBalancer& /*balancer*/) {
    if (!switch_ended || taken_over) return;
    taken_over = true;  // the watch's fallback is being chosen: another agent takes the lock over
    rig.world.state.lock =
        LockHolder{.host = "agent-2", .pid = 99, .job = "", .command = "repair --break-lock", .since = {}};
  };
  (void)ops::rollback(rig.world.services, {.reason = "bad", .watch = std::chrono::seconds(10)});
  REQUIRE(taken_over);
  CHECK(rig.world.state.watches_written.empty());
  CHECK(rig.world.reporter.saw("is not recorded"));
}

TEST_CASE("a breach keeps the record in force until the automatic rollback, then removes it",
          "[ops][watch][watch-record]") {
  WatchRecordRig rig;
  rig.failing = 4;
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
  // Rewritten at the breach to last while the rollback may wait for the deploy lock.
  REQUIRE(rig.world.state.watches_written.size() == 2);
  CHECK(rig.world.state.watches_written[1].until >
        rig.world.state.watches_written[0].until - std::chrono::seconds(30) + std::chrono::seconds(120));
  CHECK_FALSE(rig.world.state.watch.has_value());
}

TEST_CASE("SIGINT during the watch, or a later watch's record: each watch removes only its own",
          "[ops][watch][watch-record]") {
  WatchRecordRig rig;
  int polls = 0;
  rig.world.services.stop_requested = [&polls] { return ++polls > 5; };
  auto stopped = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_FALSE(rig.world.state.watch.has_value());

  // Another agent's watch replaced this one's meanwhile: ending this watch leaves it.
  rig.world.services.stop_requested = nullptr;
  rig.world.clock.on_sleep = [&] { rig.world.state.watch = rig.running_elsewhere("1", "0", 60); };
  REQUIRE(ops::rollback(rig.world.services, {.to = "1", .watch = std::chrono::seconds(5)}).ok());
  REQUIRE(rig.world.state.watch.has_value());
  CHECK(rig.world.state.watch->by.host == "agent-2");
}

TEST_CASE("a rollback's watch records the next older known-good pool as its fallback", "[ops][watch][watch-record]") {
  WatchRecordRig rig;
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());
  REQUIRE(ops::rollback(rig.world.services, {.reason = "2 is broken", .watch = std::chrono::seconds(5)}).ok());
  REQUIRE(rig.world.state.watches_written.size() == 1);
  CHECK(rig.world.state.watches_written[0].watched == "1");
  CHECK(rig.world.state.watches_written[0].fallback == std::optional<std::string>("0"));
  CHECK(rig.world.state.watches_written[0].by.command == "rollback --watch 5s");
}

TEST_CASE("delete, archive and power-off refuse a running watch's pools, --force included", "[ops][watch-record]") {
  WatchRecordRig rig;
  rig.world.state.watch = rig.running_elsewhere("1", "0", 60);

  const auto refused = ops::delete_pool(rig.world.services, {.label = "0", .force = true});
  REQUIRE_FALSE(refused.ok());
  INFO(refused.error().message);
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::Contains("pool 0 is the fallback of a running watch"));
  CHECK_THAT(refused.error().message, Catch::Contains("pid 999 on agent-2 (job gocd web-deploy/8/deploy/1/switch)"));
  CHECK_THAT(refused.error().message, Catch::Contains("watches pool 1 until "));
  CHECK_THAT(refused.error().message, Catch::Contains("wait for the watch to end, or stop it"));
  CHECK(refused.error().message.find('\n') == std::string::npos);
  CHECK(rig.exists("0"));
  CHECK_FALSE(ops::delete_pool(rig.world.services, {.label = "0", .dry_run = true}).ok());
  CHECK(rig.world.state.events.back().result == HistoryResult::refused);

  const auto archive = ops::archive_pool(rig.world.services, {.label = "0"});
  REQUIRE_FALSE(archive.ok());
  CHECK(archive.error().kind == ErrorKind::refused);
  const auto off = ops::set_pool_power(rig.world.services, "0", PowerState::off);
  REQUIRE_FALSE(off.ok());
  CHECK_THAT(off.error().message, Catch::Contains("then power it off again"));
  CHECK(rig.world.provider.calls.empty());

  // Another pool is not the watch's business.
  REQUIRE(ops::delete_pool(rig.world.services, {.label = "2"}).ok());
  CHECK_FALSE(rig.exists("2"));
}

TEST_CASE("a stale watch record blocks nothing: its end long past, or its holder dead on this host",
          "[ops][watch-record]") {
  WatchRecordRig rig;
  // Ended 10 s ago: still within the margin, so still in force.
  rig.world.state.watch = rig.running_elsewhere("1", "0", -10);
  CHECK_FALSE(ops::delete_pool(rig.world.services, {.label = "0", .dry_run = true}).ok());
  rig.world.state.watch = rig.running_elsewhere("1", "0", -31);
  CHECK(ops::delete_pool(rig.world.services, {.label = "0", .dry_run = true}).ok());
  CHECK(rig.world.reporter.saw("detail: ignoring a stale watch record"));

  // On this host, a holder that runs keeps it in force; a dead one does not.
  WatchRecord here = rig.running_elsewhere("1", "0", 60);
  here.by.host = "agent-1";
  here.by.pid = ::getpid();
  rig.world.state.watch = here;
  CHECK_FALSE(ops::delete_pool(rig.world.services, {.label = "0", .dry_run = true}).ok());
  here.by.pid = 0x7ffffff0;  // no such process
  rig.world.state.watch = here;
  rig.world.reporter.lines.clear();
  REQUIRE(ops::delete_pool(rig.world.services, {.label = "0"}).ok());
  CHECK(rig.world.reporter.saw("is no longer running"));
  CHECK_FALSE(rig.exists("0"));
}

TEST_CASE("prune keeps a running watch's pools and says why", "[ops][prune][watch-record]") {
  WatchRecordRig rig;
  rig.world.state.watch = rig.running_elsewhere("1", "0", 60);
  const auto dry = ops::prune_pools(rig.world.services, {.keep = 0, .dry_run = true});
  REQUIRE(dry.ok());
  bool said = false;
  for (const auto& verdict : dry->decision.pools) {
    if (verdict.label == "0") {
      CHECK(verdict.action == PruneAction::keep);
      CHECK_THAT(verdict.why, Catch::StartsWith("fallback of a running watch until "));
      CHECK_THAT(verdict.why, Catch::EndsWith(" UTC"));
      said = true;
    }
  }
  CHECK(said);
  const auto pruned = ops::prune_pools(rig.world.services, {.keep = 0});
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted == std::vector<std::string>{"2"});
  CHECK(rig.exists("0"));
}

TEST_CASE("status shows a running watch, and says a stale record is ignored", "[ops][status][watch-record]") {
  WatchRecordRig rig;
  rig.world.state.watch = rig.running_elsewhere("1", "0", 60);
  auto report = ops::status(rig.world.services);
  REQUIRE(report.ok());
  REQUIRE(report->watch.has_value());
  CHECK(describe_watch_line(*report->watch) ==
        "pool 1 until " + clock_time_utc(rig.world.state.watch->until) +
            ", falls back to pool 0, by pid 999 on agent-2 (job gocd web-deploy/8/deploy/1/switch)");
  rig.world.state.watch = rig.running_elsewhere("1", "0", -60);
  report = ops::status(rig.world.services);
  REQUIRE(report.ok());
  CHECK_FALSE(report->watch.has_value());
  bool noted = false;
  for (const auto& note : report->notes) noted = noted || note.find("no longer runs is ignored") != std::string::npos;
  CHECK(noted);
}

// A watch record that cannot be read (a corrupt file) protects pools nobody can name: prune,
// delete, archive and power-off stop with one line that names the record and says what to do,
// the same words status gives, and change nothing.
TEST_CASE("an unreadable watch record stops prune, delete, archive and power-off with what to do",
          "[ops][watch-record]") {
  WatchRecordRig rig;
  rig.world.state.fail_always["read_watch"] =
      Error{ErrorKind::invalid, "/state/web/watch.json:1:1: invalid JSON", ErrorCode::none};
  const auto error_of = [](const auto& outcome) {
    REQUIRE_FALSE(outcome.ok());
    return outcome.error();
  };
  const std::vector<std::pair<std::string, Error>> errors{
      {"prune --dry-run", error_of(ops::prune_pools(rig.world.services, {.keep = 0, .dry_run = true}))},
      {"prune", error_of(ops::prune_pools(rig.world.services, {.keep = 0}))},
      {"delete", error_of(ops::delete_pool(rig.world.services, {.label = "0"}))},
      {"archive", error_of(ops::archive_pool(rig.world.services, {.label = "0"}))},
      {"power-off", error_of(ops::set_pool_power(rig.world.services, "0", PowerState::off))}};
  for (const auto& [command, error] : errors) {
    INFO(command << ": " << error.message);
    CHECK(error.kind == ErrorKind::invalid);
    CHECK_THAT(
        error.message,
        Catch::StartsWith("cannot read the record of a running watch (/state/web/watch.json:1:1: invalid JSON)"));
    CHECK_THAT(error.message, Catch::Contains(ops::unreadable_watch_record_remedy()));
    CHECK(error.message.find('\n') == std::string::npos);
  }
  CHECK(rig.exists("0"));
  CHECK(rig.world.provider.calls.empty());
  const auto status = ops::status(rig.world.services);
  REQUIRE(status.ok());
  CHECK_THAT(util::join(status->problems, "\n"), Catch::Contains(ops::unreadable_watch_record_remedy()));
}
