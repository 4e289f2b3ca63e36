#include "shared/ops/watch_operations.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>

#include "fakes/fake_services.hpp"
#include "shared/ops/switch_operations.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {

// Pool 1 live, pool 2 smoke-tested; every read of the balancer adds `per_read` requests to
// each member of pool 2, `failing` of them answered with 5xx.
struct WatchRig {
  FakeWorld world;
  long long per_read = 10;
  long long failing = 0;

  WatchRig() {
    world.provider.add_pool("1", 2, 30);
    world.provider.add_pool("2", 2, 20);
    world.make_live("1");
    world.config.watch.thresholds = test_watch_thresholds();
    world.balancer.before_read = [this](FakeBalancer& balancer) { balancer.add_traffic("2", per_read, failing); };
  }
};

}  // namespace

TEST_CASE("a clean watch keeps the new pool and only then marks the replaced one good", "[ops][watch]") {
  WatchRig rig;
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(10)});
  REQUIRE(result.ok());
  REQUIRE(result->watched_ms);
  CHECK(*result->watched_ms >= 10000);
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[0].meta.verdict == LiveVerdict::good);
  CHECK(rig.world.reporter.saw("watch 10 s: "));
  CHECK_FALSE(rig.world.state.lock.has_value());
}

TEST_CASE("a breach switches back to the replaced pool, marks the new one bad and fails", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;  // 40 % of pool 2's requests fail
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK_THAT(result.error().message, Catch::Contains("pool 2 breached its watch after"));
  CHECK_THAT(result.error().message, Catch::Contains("5xx ratio 0.40"));
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::bad);
  CHECK_THAT(rig.world.provider.pools[1].meta.verdict_reason, Catch::StartsWith("automatic: 5xx ratio 0.40"));
  CHECK(rig.world.provider.pools[0].meta.verdict == LiveVerdict::unknown);  // not judged good
  REQUIRE(rig.world.state.events.size() == 3);
  CHECK(rig.world.state.events[0].action == HistoryAction::deploy);
  CHECK(rig.world.state.events[1].action == HistoryAction::breach);
  CHECK(rig.world.state.events[2].action == HistoryAction::auto_rollback);
  CHECK(rig.world.state.events[2].label == "1");
  // Detected within the window once enough requests arrived, not at the end of the 30 s.
  CHECK(rig.world.clock.slept() < std::chrono::seconds(10));
}

TEST_CASE("SIGINT or SIGTERM during the watch stops watching and switches nothing", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;
  int polls = 0;
  rig.world.services.stop_requested = [&polls] { return ++polls > 5; };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::interrupted));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
  CHECK_FALSE(rig.world.state.lock.has_value());
}

TEST_CASE("--expect-live refuses and changes nothing unless that pool is the live one", "[ops][rollback]") {
  WatchRig rig;
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());
  auto stale = ops::rollback(rig.world.services, {.reason = "alert about 1", .expect_live = "1"});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().kind == ErrorKind::refused);
  CHECK_THAT(stale.error().message, Catch::Contains("pool 1 is not the live pool (live: 2)"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
  auto current = ops::rollback(rig.world.services, {.reason = "alert about 2", .expect_live = "2"});
  REQUIRE(current.ok());
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
}

namespace {

// Someone else's command holding the deploy lock (a prune on another agent).
LockHolder other_holder(const FakeWorld& world) {
  return {.host = "other-agent", .pid = 4242, .job = "", .command = "prune", .since = world.clock.wall_now()};
}

}  // namespace

TEST_CASE("a breach after a rollback never switches back to the pool the rollback marked bad", "[ops][watch]") {
  WatchRig rig;
  rig.world.provider.add_pool("0", 2, 40);  // older, known-good
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());
  // 2 is live; a person rolls back to 1 with a watch, and 1 turns bad during it.
  rig.world.balancer.before_read = [&rig](FakeBalancer& balancer) { balancer.add_traffic("1", 10, 5); };
  auto result = ops::rollback(rig.world.services, {.reason = "2 is broken", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 0 automatically"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"0:1", "0:2"});
  const auto verdict = [&rig](const std::string& label) {
    for (const auto& pool : rig.world.provider.pools) {
      if (pool.label() == label) return pool.meta.verdict;
    }
    return LiveVerdict::unknown;
  };
  CHECK(verdict("2") == LiveVerdict::bad);  // marked by the person's rollback, and left so
  CHECK(verdict("1") == LiveVerdict::bad);  // marked by the watch
}

TEST_CASE("a breach with nowhere to go is still marked bad, recorded and fails", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;
  rig.world.balancer.state.clear();  // a first deploy: it replaces nothing
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("no single pool to switch back to"));
  CHECK_THAT(result.error().message, Catch::Contains("is still live"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::bad);
  REQUIRE(rig.world.state.events.size() == 2);
  CHECK(rig.world.state.events[1].action == HistoryAction::auto_rollback);
  CHECK(rig.world.state.events[1].result == HistoryResult::failed);
  CHECK(rig.world.state.events[1].from == "2");
}

// The automatic rollback passed over the replaced pool (marked bad) and found no other pool to go
// to: it went nowhere, so history records it with no target, not as a rollback to the pool it
// passed over.
TEST_CASE("a breach whose automatic rollback found no pool to go to is recorded with no target", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;
  rig.world.provider.pools[0].meta.verdict = LiveVerdict::bad;  // pool 1, which the deploy replaces
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::failed);  // the breach's failure: exit 1
  CHECK_THAT(result.error().message, Catch::Contains("is still live"));
  CHECK(rig.world.reporter.saw("pool 1 is marked bad"));  // passed over
  // Not announced as a switch back to the pool it then passed over.
  CHECK(rig.world.reporter.saw("answering the breach with an automatic rollback"));
  CHECK_FALSE(rig.world.reporter.saw("switching back to pool 1"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  REQUIRE_FALSE(rig.world.state.events.empty());
  const HistoryEvent& last = rig.world.state.events.back();
  CHECK(last.action == HistoryAction::auto_rollback);
  CHECK(last.result == HistoryResult::failed);
  CHECK(last.label.empty());
  CHECK(last.from == "2");
  REQUIRE_FALSE(rig.world.notifier.sent.empty());
  CHECK(rig.world.notifier.sent.back().to.empty());
}

TEST_CASE("the automatic rollback waits for a deploy lock another command holds", "[ops][watch][lock]") {
  WatchRig rig;
  rig.failing = 4;
  bool taken = false;
  int sleeps_while_held = 0;
  rig.world.balancer.before_read = [&](FakeBalancer& balancer) {
    if (!rig.world.state.lock && !taken) {  // the deploy has released it: a prune takes it
      rig.world.state.lock = other_holder(rig.world);
      taken = true;
    }
    balancer.add_traffic("2", 10, 4);
  };
  SECTION("released after a few seconds: the rollback happens") {
    rig.world.clock.on_sleep = [&] {
      if (rig.world.state.lock && rig.world.reporter.saw("waiting for the deploy lock") && ++sleeps_while_held > 5) {
        rig.world.state.lock.reset();
      }
    };
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
    CHECK(rig.world.reporter.saw("waiting for the deploy lock"));
    CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  }
  SECTION("stopped by a signal while waiting: ends as a stop, the breach still marked bad and recorded") {
    rig.world.services.stop_requested = [&] { return rig.world.reporter.saw("waiting for the deploy lock"); };
    const auto started = rig.world.clock.now();
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().is(ErrorCode::interrupted));
    CHECK_THAT(result.error().message, Catch::Contains("while waiting for the deploy lock"));
    CHECK(rig.world.clock.now() - started < std::chrono::seconds(60));  // the watch, not a 120 s wait
    CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
    CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::bad);
    REQUIRE_FALSE(rig.world.state.events.empty());
    CHECK(rig.world.state.events.back().action == HistoryAction::auto_rollback);
  }
  SECTION("held on: the pool is marked bad and the breach recorded, with exit 3") {
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::refused);
    CHECK_THAT(result.error().message, Catch::Contains("the automatic rollback did not happen"));
    CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
    CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::bad);
    REQUIRE_FALSE(rig.world.state.events.empty());
    CHECK(rig.world.state.events.back().action == HistoryAction::auto_rollback);
    CHECK(rig.world.state.events.back().result == HistoryResult::failed);
  }
}

TEST_CASE("a watch shorter than two intervals is refused before anything changes", "[ops][watch]") {
  WatchRig rig;
  rig.world.config.watch.thresholds.window = std::chrono::seconds(1);  // the window allows 1 s
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(1)});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK_THAT(result.error().message, Catch::Contains("shorter than two watch intervals"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(rig.world.state.events.empty());
}

TEST_CASE("a watch stops when someone else switched away from the watched pool", "[ops][watch]") {
  WatchRig rig;
  int reads = 0;
  rig.world.balancer.before_read = [&](FakeBalancer& balancer) {
    if (!rig.world.state.lock && ++reads == 3) {  // a person's rollback, between two samples
      balancer.state.clear();
      rig.world.make_live("1");
    }
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("pool 2 is no longer live (live: 1)"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(rig.world.provider.pools[0].meta.verdict == LiveVerdict::unknown);  // not judged good
  CHECK(rig.world.clock.slept() < std::chrono::seconds(10));
}

TEST_CASE("a signal stops a watch whose samples take longer than its interval", "[ops][watch]") {
  WatchRig rig;
  int reads = 0;
  bool stop = false;
  rig.world.balancer.before_read = [&](FakeBalancer&) {
    if (rig.world.state.lock) return;
    rig.world.clock.advance(std::chrono::milliseconds(1500));  // a sample slower than the interval
    if (++reads == 3) stop = true;
  };
  rig.world.services.stop_requested = [&stop] { return stop; };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(600)});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::interrupted));
  CHECK(reads == 3);
}

TEST_CASE("--expect-live is judged before an interrupted rollback is finished", "[ops][rollback]") {
  WatchRig rig;
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());
  // A rollback to 1 killed halfway: both pools are live, its intent is pending.
  rig.world.make_live("1");
  rig.world.state.intent = Intent{.operation = Operation::rollback, .target = "1", .from = {"2"}, .reason = "r1"};
  auto stale = ops::rollback(rig.world.services, {.reason = "alert about 1", .expect_live = "1"});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().kind == ErrorKind::refused);
  CHECK_THAT(stale.error().message, Catch::Contains("(live: 1, 2)"));
  CHECK(rig.world.state.intent.has_value());
}

namespace {

const Pool& pool_named(const FakeWorld& world, const std::string& label) {
  return *find_pool(world.provider.pools, label);
}

int failed_auto_rollbacks(const FakeWorld& world) {
  return static_cast<int>(std::count_if(world.state.events.begin(), world.state.events.end(), [](const auto& event) {
    return event.action == HistoryAction::auto_rollback && event.result != HistoryResult::succeeded;
  }));
}

// After the breach, runs `then` before each read of the balancer (the rig's traffic goes on).
void after_breach(WatchRig& rig, std::function<void(FakeBalancer&)> then) {
  auto traffic = rig.world.balancer.before_read;
  rig.world.balancer.before_read = [&rig, traffic, then](FakeBalancer& balancer) {
    traffic(balancer);
    if (rig.world.reporter.saw("breached its watch")) then(balancer);
  };
}

}  // namespace

TEST_CASE("a pool that cannot be marked bad does not keep the automatic rollback from switching back", "[ops][watch]") {
  WatchRig rig;
  rig.world.config.retention_hot = 1;
  rig.failing = 4;
  bool armed = false;
  after_breach(rig, [&](FakeBalancer& /*balancer*/) {
    if (armed) return;
    rig.world.provider.fail_next["update_metadata"] = Error{ErrorKind::unavailable, "provider API down"};
    armed = true;
  });
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
  CHECK(rig.world.reporter.saw("could not mark pool 2 bad (provider API down); switching back first"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  // Planned as the bad pool it is, though not marked yet: taken out, not kept hot.
  CHECK(rig.world.balancer.state.count("2:1") == 0);
  CHECK(rig.world.balancer.state.count("2:2") == 0);
  // Marked once the switch back was done.
  CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
  CHECK_THAT(result.error().message, Catch::Contains("and marked pool 2 bad"));
}

TEST_CASE("an automatic rollback that marked the breached pool bad costs no further provider read",
          "[ops][watch][provider-reads]") {
  WatchRig rig;
  rig.failing = 4;
  // The provider reads done when the automatic rollback's end is recorded (its switch is over).
  std::optional<int> reads_at_rollback_end;
  rig.world.notifier.on_notify = [&rig, &reads_at_rollback_end](const Notification& notification) {
    if (notification.action == HistoryAction::auto_rollback && notification.phase == NotificationPhase::end) {
      reads_at_rollback_end = rig.world.provider.list_pools_calls;
    }
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically in"));
  CHECK_THAT(result.error().message, Catch::EndsWith("and marked pool 2 bad"));
  CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
  CHECK_THAT(pool_named(rig.world, "2").meta.verdict_reason, Catch::StartsWith("automatic: 5xx ratio 0.40"));
  // The rollback marked pool 2 itself, once: nothing after it lists the pools again.
  REQUIRE(reads_at_rollback_end.has_value());
  CHECK(rig.world.provider.list_pools_calls == *reads_at_rollback_end);
  const auto marks = std::count_if(rig.world.provider.calls.begin(), rig.world.provider.calls.end(),
                                   [](const std::string& call) { return call.starts_with("update_metadata 2 "); });
  CHECK(marks == 1);
}

TEST_CASE("a breach is marked bad from the provider alone when the balancer cannot be read", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;
  // Gone once the automatic rollback holds the lock: its one look (the --expect-live check and
  // the plan) cannot read it.
  rig.world.state.on_acquired = [&rig] {
    if (!rig.world.reporter.saw("breached its watch")) return;
    rig.world.balancer.fail_always["members"] = Error{ErrorKind::unavailable, "stats socket: connection refused"};
  };
  SECTION("the pool is marked bad; the balancer is not claimed to show it live") {
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    CHECK(result.error().kind == ErrorKind::unavailable);
    CHECK_THAT(result.error().message, Catch::Contains("pool 2 breached its watch (5xx ratio"));
    CHECK_THAT(result.error().message, Catch::Contains("may still be live"));
    CHECK_THAT(result.error().message, !Catch::Contains("is still live"));
    CHECK_THAT(result.error().message,
               Catch::Contains("roll back with: deploy-pipeline rollback --to 1 --reason 'automatic: 5xx"));
    CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
    CHECK_THAT(pool_named(rig.world, "2").meta.verdict_reason, Catch::StartsWith("automatic: 5xx ratio"));
    CHECK(failed_auto_rollbacks(rig.world) == 1);
  }
  SECTION("a verdict the provider cannot record is said to be missing, with the command that records it") {
    rig.world.provider.fail_next["update_metadata"] = Error{ErrorKind::unavailable, "pool record: read-only"};
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    const std::string by_hand =
        "pool 2 is NOT marked bad (pool record: read-only); mark it with: "
        "deploy-pipeline mark-bad --label 2 --reason 'automatic: 5xx ratio";
    CHECK_THAT(result.error().message, Catch::Contains(by_hand));
    CHECK(rig.world.reporter.saw("warning: " + by_hand));
    CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::unknown);
  }
}

TEST_CASE("a breach answered meanwhile by someone else's rollback is neither a failure nor 'still live'",
          "[ops][watch][lock]") {
  WatchRig rig;
  rig.failing = 4;
  // The alert pipeline's rollback holds the lock from early in the watch ...
  auto traffic = rig.world.balancer.before_read;
  bool taken = false;
  rig.world.balancer.before_read = [&, traffic](FakeBalancer& balancer) {
    traffic(balancer);
    if (!rig.world.state.lock && !taken) {
      rig.world.state.lock = other_holder(rig.world);
      taken = true;
    }
  };
  // ... and makes pool 1 live while the automatic rollback waits for the lock.
  rig.world.clock.on_sleep = [&] {
    if (!rig.world.state.lock || !rig.world.reporter.saw("waiting for the deploy lock")) return;
    rig.world.balancer.state.clear();
    rig.world.make_live("1");
    rig.world.state.lock.reset();
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK_THAT(result.error().message,
             Catch::Matches("pool 2 breached its watch \\(5xx ratio .*\\); pool 1 is live already \\(switched by "
                            "someone else\\)"));
  CHECK_THAT(result.error().message, !Catch::Contains("still live"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
  CHECK(failed_auto_rollbacks(rig.world) == 0);
  CHECK(rig.world.notifier.events() == std::vector<std::string>{"deploy.start", "deploy.success"});
}

TEST_CASE("an automatic rollback that loses its lock mid-switch is not retried; repair is named, once",
          "[ops][watch][lock]") {
  WatchRig rig;
  rig.failing = 4;
  // Before step 5 of the automatic rollback (draining pool 2; both pools serve), another
  // agent breaks the lock.
  rig.world.services.before_switch_step = [&rig](std::size_t step) {
    if (step == 4 && rig.world.reporter.saw("breached its watch")) rig.world.state.lock = other_holder(rig.world);
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK_THAT(result.error().message, Catch::Contains("pool 2 breached its watch (5xx ratio"));
  CHECK_THAT(result.error().message,
             Catch::Contains("the automatic rollback stopped half-way: rollback of pool 1 stopped after step 4 of 7"));
  CHECK_THAT(result.error().message,
             Catch::Contains("the rollback to pool 1 is half done (at step 4 of 7): run 'deploy-pipeline repair' to "
                             "finish it; re-running this command does not"));
  CHECK_THAT(result.error().message, !Catch::Contains("still live"));
  CHECK_FALSE(rig.world.reporter.saw("waiting for the deploy lock"));
  CHECK(rig.world.clock.slept() < std::chrono::seconds(60));
  CHECK(rig.world.state.intent.has_value());
  CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
  // The half-done rollback, having lost its lock, writes nothing more (no history of its own);
  // the watch, which never holds the lock, records the unanswered breach once.
  CHECK(failed_auto_rollbacks(rig.world) == 1);
  CHECK(rig.world.state.events.back().result == HistoryResult::failed);
  CHECK_THAT(rig.world.state.events.back().detail, Catch::Contains("the rollback to pool 1 is half done"));
}

TEST_CASE("an automatic rollback never goes back to a replaced pool marked bad", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;
  auto traffic = rig.world.balancer.before_read;
  // Pool 1 is found bad during the watch (a person's mark-bad).
  rig.world.balancer.before_read = [&rig, traffic](FakeBalancer& balancer) {
    traffic(balancer);
    if (!rig.world.state.lock) rig.world.provider.pools[0].meta.verdict = LiveVerdict::bad;
  };
  SECTION("to the next older known-good pool instead") {
    rig.world.provider.add_pool("0", 2, 40);
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 0 automatically"));
    CHECK(rig.world.reporter.saw("pool 1 is marked bad"));
    CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"0:1", "0:2"});
    CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
  }
  SECTION("or nowhere, leaving the decision to a person") {
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    CHECK_THAT(result.error().message, Catch::Contains("and is still live: the automatic rollback did not happen"));
    CHECK_THAT(result.error().message,
               Catch::Contains("roll back with: deploy-pipeline rollback --to L --reason 'automatic: "));
    CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
    CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
    CHECK(failed_auto_rollbacks(rig.world) == 1);
  }
}

TEST_CASE("the automatic rollback to the replaced pool asks for no smoke verdict: it served until a moment ago",
          "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;
  rig.world.provider.add_pool("0", 2, 40);
  rig.world.provider.pools[0].meta.smoke = SmokeVerdict::pending;  // pool 1, live without a recorded smoke test
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
}

TEST_CASE("a watched re-run of a deploy that is live already goes back to the pool the deploy replaced",
          "[ops][watch]") {
  WatchRig rig;
  rig.world.provider.add_pool("0", 2, 40);
  rig.world.balancer.state.clear();
  rig.world.make_live("0");
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());  // 2 replaces 0
  rig.failing = 4;
  SECTION("as history has it") {
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 0 automatically"));
    CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"0:1", "0:2"});
  }
  SECTION("else to the rollback's own choice") {
    rig.world.state.events.clear();
    auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
    REQUIRE_FALSE(result.ok());
    INFO(result.error().message);
    CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
    CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  }
  CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
}

TEST_CASE("a watch without figures for its end, or with fewer than two, passes nothing", "[ops][watch]") {
  WatchRig rig;
  rig.world.config.watch.thresholds.window = std::chrono::seconds(2);  // watches of 2 and 4 s
  auto traffic = rig.world.balancer.before_read;
  const Error gone{ErrorKind::unavailable, "stats socket: connection refused"};
  std::chrono::seconds duration{0};
  bool failed_first = false;
  SECTION("the last samples unreadable") {
    duration = std::chrono::seconds(4);
    // Every readable sample of the watch is followed by an unreadable one: 1 and 3 read, 2 and 4 not.
    rig.world.balancer.before_read = [&](FakeBalancer& balancer) {
      traffic(balancer);
      if (rig.world.reporter.saw("watching pool 2")) balancer.fail_next["members"] = gone;
    };
  }
  SECTION("one readable sample") {
    duration = std::chrono::seconds(2);
    rig.world.clock.on_sleep = [&] {
      if (failed_first || !rig.world.reporter.saw("watching pool 2")) return;
      rig.world.balancer.fail_next["members"] = gone;  // the first sample
      failed_first = true;
    };
  }
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = duration});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::unavailable);
  CHECK_THAT(result.error().message, Catch::Contains("the watch ended without figures to judge pool 2 by"));
  CHECK_THAT(result.error().message, Catch::Contains("no verdict recorded"));
  CHECK(pool_named(rig.world, "1").meta.verdict == LiveVerdict::unknown);  // not judged good
  CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::unknown);
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
}

TEST_CASE("a stale deploy lock is not waited for; the breach names the rollback to run, with --break-lock",
          "[ops][watch][lock]") {
  WatchRig rig;
  rig.failing = 4;
  auto traffic = rig.world.balancer.before_read;
  rig.world.balancer.before_read = [&rig, traffic](FakeBalancer& balancer) {
    traffic(balancer);
    if (!rig.world.state.lock) {  // a command that died holding the lock, on this host
      rig.world.state.lock = other_holder(rig.world);
      rig.world.state.holder_gone = true;
    }
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::refused);
  CHECK_THAT(result.error().message, Catch::Contains("and is still live: the automatic rollback did not happen"));
  CHECK_THAT(result.error().message,
             Catch::Matches(".*roll back with: deploy-pipeline rollback --to 1 --reason 'automatic: 5xx ratio "
                            "[^']*' --break-lock(;.*)?"));
  CHECK_FALSE(rig.world.reporter.saw("waiting for the deploy lock"));
  CHECK(rig.world.clock.slept() < std::chrono::seconds(60));
  CHECK(pool_named(rig.world, "2").meta.verdict == LiveVerdict::bad);
  CHECK(failed_auto_rollbacks(rig.world) == 1);
}

// review2 F26: a watch of a pool nobody sent traffic to "passed" and judged the replaced pool good.
TEST_CASE("a watch that never saw watch.min_requests requests records no verdict", "[ops][watch][verdicts]") {
  WatchRig rig;
  rig.per_read = 0;  // no traffic at all
  SECTION("none") {}
  SECTION("some, fewer than min_requests in all") {
    rig.world.balancer.before_read = [&](FakeBalancer& balancer) {
      if (balancer.member_reads < 6) balancer.add_traffic("2", 1, 0);
    };
  }
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(10)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK(result.error().kind == ErrorKind::unavailable);  // as a watch without figures: exit 4
  CHECK_THAT(result.error().message, Catch::Contains("no verdict recorded: the watch ended without figures to judge "
                                                     "pool 2 by: it saw "));
  CHECK_THAT(
      result.error().message,
      Catch::Contains("in all, fewer than watch.min_requests (20); a watch judges only a pool clients use: watch "
                      "while they send traffic, or lower watch.min_requests"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[0].meta.verdict == LiveVerdict::unknown);
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
}

TEST_CASE("a watch shorter than the watch window is refused before anything changes", "[ops][watch][verdicts]") {
  WatchRig rig;  // window 5 s, interval 1 s
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(4)});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK_THAT(result.error().message,
             Catch::StartsWith("--watch 4s is shorter than the watch window (watch.window_s 5)"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(rig.world.state.events.empty());
}

// review2 F17: the breach existed only on the watching process's stderr until the automatic
// rollback recorded it.
TEST_CASE("a breach is in history before its automatic rollback starts", "[ops][watch][verdicts]") {
  WatchRig rig;
  rig.failing = 4;
  std::optional<std::size_t> events_at_rollback;
  rig.world.state.on_acquired = [&] {
    if (rig.world.reporter.saw("breached its watch")) events_at_rollback = rig.world.state.events.size();
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  REQUIRE(events_at_rollback);
  REQUIRE(*events_at_rollback == 2);
  const HistoryEvent& breach = rig.world.state.events[1];
  CHECK(breach.action == HistoryAction::breach);
  CHECK(breach.label == "2");
  CHECK(breach.from == "1");
  CHECK_THAT(breach.detail, Catch::StartsWith("5xx ratio 0.40"));
}

// review2 F16: one failed automatic rollback was recorded twice.
TEST_CASE("an automatic rollback whose target does not become healthy is recorded once", "[ops][watch][verdicts]") {
  WatchRig rig;
  rig.failing = 4;
  rig.world.state.on_acquired = [&] {  // pool 1's servers stop answering once pool 2 breached
    if (!rig.world.reporter.saw("breached its watch")) return;
    for (const auto& server : rig.world.provider.pools[0].servers) {
      rig.world.balancer.unhealthy_addresses.insert(server.address());
    }
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK_THAT(result.error().message, Catch::Contains("did not become healthy"));
  std::vector<HistoryAction> actions;
  for (const auto& event : rig.world.state.events) actions.push_back(event.action);
  CHECK(actions ==
        std::vector<HistoryAction>{HistoryAction::deploy, HistoryAction::breach, HistoryAction::auto_rollback});
}

// review3 R6: the balancer's durable copy became unwritable during the watch (config management
// reset the directory of HAProxy's config_file): the automatic rollback still goes ahead, at
// runtime only, warned once.
TEST_CASE("a breach rolls back at runtime only when the membership can no longer be kept", "[ops][watch][durable]") {
  WatchRig rig;
  rig.failing = 4;
  // From the watch's first read on: the deploy was recorded by then.
  rig.world.balancer.before_read = [&rig, traffic = rig.world.balancer.before_read](FakeBalancer& balancer) {
    traffic(balancer);
    if (!rig.world.state.events.empty() && !balancer.unpersistable) {
      balancer.unpersistable = Error{ErrorKind::invalid, "balancer.config_file haproxy.cfg cannot be kept current"};
    }
  };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  REQUIRE(rig.world.state.events.size() == 3);
  CHECK(rig.world.state.events[2].action == HistoryAction::auto_rollback);
  CHECK(rig.world.state.events[2].result == HistoryResult::succeeded);
  CHECK(rig.world.reporter.saw("cannot be kept current; rolling back at runtime only"));
  // The deploy's membership is the one a restart comes back with until repair writes it.
  CHECK(rig.world.balancer.persists == 1);
  REQUIRE(rig.world.balancer.durable);
  CHECK(rig.world.balancer.durable->front().name == "2:1");
}

// A rollback --watch at runtime only whose pool breaches: the automatic rollback switches at
// runtime only too, and warns as the first did (the reason was per-command state the first
// rollback used up, so the automatic one said nothing); its failure says so as well.
TEST_CASE("a watched rollback at runtime only: its automatic rollback warns too", "[ops][watch][durable]") {
  WatchRig rig;
  rig.world.provider.add_pool("0", 2, 40);  // older, known-good
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());
  rig.world.balancer.unpersistable =
      Error{ErrorKind::invalid, "balancer.config_file haproxy.cfg cannot be kept current"};
  rig.world.balancer.before_read = [](FakeBalancer& balancer) { balancer.add_traffic("1", 10, 5); };
  auto result = ops::rollback(rig.world.services, {.reason = "2 is broken", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  INFO(result.error().message);
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 0 automatically"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"0:1", "0:2"});
  const auto warned =
      std::count_if(rig.world.reporter.lines.begin(), rig.world.reporter.lines.end(), [](const std::string& line) {
        return line.rfind(
                   "warning: balancer.config_file haproxy.cfg cannot be kept current; rolling back at runtime "
                   "only",
                   0) == 0;
      });
  CHECK(warned == 2);  // the rollback's, and the automatic one's
  CHECK_THAT(result.error().message,
             Catch::EndsWith("; at runtime only in the balancer: a reload or restart of it routes to the membership "
                             "it keeps (pool 2) until 'deploy-pipeline repair' writes it"));
}

// A dry run given --watch printed the plan and nothing of the watch: it says what the watch
// would hold the pool to and where a breach would go, and watches nothing.
TEST_CASE("a dry run with --watch says what the watch would do, and watches nothing", "[ops][watch]") {
  WatchRig rig;
  auto result = ops::deploy(rig.world.services, {.label = "2", .dry_run = true, .watch = std::chrono::seconds(30)});
  REQUIRE(result.ok());
  REQUIRE(result->watch_preview);
  CHECK(*result->watch_preview == "then watch pool 2 for 30 s (" + ops::watch_terms(rig.world.config.watch.thresholds) +
                                      "); on a breach, roll back to pool 1 and mark pool 2 bad");
  CHECK_FALSE(result->watched_ms);
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});

  // A deploy that replaces no pool has nothing to switch back to.
  FakeWorld empty;
  empty.provider.add_pool("2", 1, 20);
  result = ops::deploy(empty.services, {.label = "2", .dry_run = true, .watch = std::chrono::seconds(30)});
  REQUIRE(result.ok());
  REQUIRE(result->watch_preview);
  CHECK_THAT(*result->watch_preview,
             Catch::EndsWith("on a breach, no switch back (no single pool to switch back to): report the breach "
                             "and mark pool 2 bad"));

  result = ops::rollback(rig.world.services, {.dry_run = true, .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());  // nothing older than pool 1 to roll back to
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());
  result = ops::rollback(rig.world.services, {.dry_run = true, .watch = std::chrono::seconds(30)});
  REQUIRE(result.ok());
  REQUIRE(result->watch_preview);
  CHECK_THAT(*result->watch_preview,
             Catch::EndsWith("on a breach, roll back to the pool a plain rollback chooses then and mark pool 1 bad"));
  CHECK(ops::deploy(rig.world.services, {.label = "2", .dry_run = true}).value().watch_preview == std::nullopt);

  // The pool it replaces is marked bad: the automatic rollback would pass it over.
  WatchRig marked;
  marked.world.provider.pools[0].meta.verdict = LiveVerdict::bad;
  result = ops::deploy(marked.world.services, {.label = "2", .dry_run = true, .watch = std::chrono::seconds(30)});
  REQUIRE(result.ok());
  REQUIRE(result->watch_preview);
  CHECK_THAT(*result->watch_preview,
             Catch::EndsWith("on a breach, roll back to the pool a plain rollback chooses then (not pool 1, which it "
                             "replaced: marked bad) and mark pool 2 bad"));
}
