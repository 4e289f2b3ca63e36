#include "shared/ops/switch_operations.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <iterator>

#include "fakes/fake_services.hpp"
#include "shared/core/render.hpp"
#include "shared/core/verdict_history.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/status_operations.hpp"
#include "shared/ops/verdict_operations.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {
// Pools 1 and 2 (2 the newer), one server each, `live` routed: where most switch tests start.
void two_pools(FakeWorld& world, const std::string& live) {
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.make_live(live);
}

// Pools 1, 2 and 3 (3 the newest), one server each, `live` routed: where the rollback and hot
// standby tests start (a rollback from 3 goes back to 2; a deploy of 2, then 3, leaves 1 and 2 hot).
void three_pools(FakeWorld& world, const std::string& live) {
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.provider.add_pool("3", 1, 10);
  world.make_live(live);
}

// Pools 1 and 2, pool 2 made live by a deploy (history says so, and the balancer kept its
// membership); a minute later the balancer routes to pool 1: a reload that read an older file,
// or a change by hand.
void routes_to_1_a_minute_after_deploying_2(FakeWorld& world) {
  two_pools(world, "2");
  world.balancer.durable = world.balancer.members().value();
  world.state.events.push_back({.at = world.clock.wall_now(),
                                .action = HistoryAction::deploy,
                                .label = "2",
                                .from = "1",
                                .result = HistoryResult::succeeded,
                                .duration_ms = 10'000,
                                .by = "ops-a",
                                .detail = ""});
  world.clock.advance(std::chrono::seconds(60));
  world.balancer.state.clear();
  world.make_live("1");
}
}  // namespace

TEST_CASE("deploy takes the lock, records intent per step, switches, and records history", "[ops][deploy]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 2, 10);
  world.make_live("1");

  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE(result.ok());
  CHECK(world.balancer.calls == std::vector<std::string>{"add_standby 2:1,2:2", "persist 2:1,2:2", "admit 2:1,2:2",
                                                         "drain 1:1,1:2", "remove 1:1,1:2"});
  CHECK(world.state.lock_acquisitions == 1);
  CHECK_FALSE(world.state.lock.has_value());    // released
  CHECK_FALSE(world.state.intent.has_value());  // cleared after success
  // Written once before the balancer is touched, then before each of the 7 steps.
  REQUIRE(world.state.intents_written.size() == 8);
  CHECK(world.state.intents_written[0].target == "2");
  CHECK(world.state.intents_written[0].from == std::vector<std::string>{"1"});
  CHECK(world.state.intents_written[7].step == 6);
  CHECK(world.state.intents_written[7].by.job == "gocd web/7/deploy/1/switch");
  // The restart copy was written once, ahead of the runtime, with the end state.
  CHECK(world.balancer.persists == 1);
  REQUIRE(world.balancer.durable);
  CHECK(world.balancer.durable->size() == 2);
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events[0].action == HistoryAction::deploy);
  CHECK(world.state.events[0].from == "1");
  CHECK(world.state.events[0].result == HistoryResult::succeeded);
  CHECK(world.state.events[0].by == "ops-a");
  // The pool it replaced served well until then.
  CHECK(world.provider.pools[0].meta.verdict == LiveVerdict::good);
}

TEST_CASE("deploy refuses while another deploy holds the lock, and changes nothing", "[ops][deploy][lock]") {
  FakeWorld world;
  world.provider.add_pool("2", 1, 10);
  world.state.lock = LockHolder{"agent-2", 99, "jenkins-web-deploy-12", "deploy --label 1", world.clock.wall_now()};
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::refused);
  CHECK_THAT(result.error().message, Catch::Contains("agent-2"));
  CHECK_THAT(result.error().message, Catch::Contains("jenkins-web-deploy-12"));
  CHECK(world.balancer.calls.empty());
}

TEST_CASE("a stale lock is taken over only with --break-lock, and the takeover is reported", "[ops][lock]") {
  FakeWorld world;
  world.provider.add_pool("2", 1, 10);
  world.state.lock = LockHolder{"agent-1", 7, "", "deploy --label 1", world.clock.wall_now()};
  world.state.holder_gone = true;
  CHECK(ops::deploy(world.services, {"2", false, false, false}).error().kind == ErrorKind::refused);
  REQUIRE(ops::deploy(world.services, {"2", false, false, true}).ok());
  CHECK(world.reporter.saw("warning: took over the stale deploy lock of pid 7 on agent-1"));
}

TEST_CASE("an unhealthy pool is taken out again and the old one keeps serving", "[ops][deploy]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 2, 10);
  world.make_live("1");
  world.balancer.unhealthy_addresses = {"10.0.2.2:8080"};

  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK_THAT(result.error().message, Catch::Contains("1 still serves"));
  CHECK(world.balancer.calls == std::vector<std::string>{"add_standby 2:1,2:2", "remove 2:1,2:2"});
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(world.balancer.state.count("2:1") == 0);
  CHECK_FALSE(world.state.intent.has_value());
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events[0].result == HistoryResult::failed);
}

// A SIGTERM sent while the deploy was stopped (Ctrl-Z) is delivered on 'kill -CONT', often in
// the revert after its health timeout: the stop is recorded and says what finishes it.
TEST_CASE("a stop during the revert after a health timeout is recorded and names what finishes it",
          "[ops][deploy][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 2, 10);
  world.make_live("1");
  world.balancer.unhealthy_addresses = {"10.0.2.2:8080"};
  world.services.stop_requested = [&world] { return world.reporter.saw("taking pool 2 out again"); };
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::interrupted));
  CHECK_THAT(result.error().message, Catch::StartsWith("deploy of pool 2: "));
  CHECK_THAT(result.error().message,
             Catch::Contains("taking pool 2 out again after the health timeout stopped: asked to stop"));
  CHECK_THAT(result.error().message,
             Catch::EndsWith("'deploy-pipeline repair --revert' finishes it (pool 1 serves alone again)"));
  CHECK(world.state.intent.has_value());
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events[0].result == HistoryResult::interrupted);

  world.services.stop_requested = nullptr;
  REQUIRE(ops::repair(world.services, {.revert = true}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(world.balancer.state.count("2:1") == 0);
  CHECK_FALSE(world.state.intent.has_value());
}

TEST_CASE("an interrupted deploy keeps its intent and a re-run finishes it", "[ops][deploy][crash]") {
  FakeWorld world;
  two_pools(world, "1");
  // Draining the old pool fails for good (not a balancer that changed under us): the switch
  // stops there, with both pools admitted.
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};

  auto first = ops::deploy(world.services, {"2", false, false, false});
  world.balancer.after_call = nullptr;
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().kind == ErrorKind::failed);
  CHECK_THAT(first.error().message, Catch::Contains("stopped after step 4 of 7; 'deploy-pipeline deploy --label 2' "
                                                    "finishes it: "));
  REQUIRE(world.state.intent.has_value());
  CHECK(world.state.intent->step == 4);
  CHECK(world.balancer.admitted().size() == 2);  // both live: status reports it

  auto second = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE(second.ok());
  CHECK(world.reporter.saw("found an interrupted deploy to pool 2"));
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK_FALSE(world.state.intent.has_value());
}

TEST_CASE("dry run plans without the lock and changes nothing", "[ops][deploy]") {
  FakeWorld world;
  two_pools(world, "1");
  auto result = ops::deploy(world.services, {"2", false, true, false});
  REQUIRE(result.ok());
  CHECK(result->dry_run);
  CHECK(result->plan.steps.size() == 7);
  CHECK(world.balancer.calls.empty());
  CHECK(world.state.lock_acquisitions == 0);
  CHECK(world.state.events.empty());
}

TEST_CASE("deploying a powered-off pool powers it on and smoke-tests it first", "[ops][deploy][power]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10).power = PowerState::off;
  world.make_live("1");
  REQUIRE(ops::deploy(world.services, {"2", false, false, false}).ok());
  REQUIRE(world.provider.calls.size() >= 3);
  CHECK(world.provider.calls[0] == "update_metadata 2 smoke=pending verdict=unknown");  // until checked
  CHECK(world.provider.calls[1] == "set_power 2 on");
  CHECK(world.provider.calls[2] == "update_metadata 2 smoke=passed verdict=unknown");
  CHECK(world.http.batches.size() == 1);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

TEST_CASE("rollback marks the live pool bad and makes the previous good pool live", "[ops][rollback]") {
  FakeWorld world;
  three_pools(world, "3");
  auto result = ops::rollback(world.services, {std::nullopt, "checkout errors", false, false, false});
  REQUIRE(result.ok());
  CHECK(result->plan.target == "2");
  CHECK(world.provider.pools[2].meta.verdict == LiveVerdict::bad);
  CHECK(world.provider.pools[2].meta.verdict_reason == "checkout errors");
  // Who marked it and when are in its record too, as its history event will name them: a
  // rollback killed before that event is written leaves them there (review4 F4).
  CHECK(world.provider.pools[2].meta.verdict_by == "ops-a");
  CHECK(world.provider.pools[2].meta.verdict_at == world.clock.wall_now());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(world.state.events.back().action == HistoryAction::rollback);
  CHECK(world.state.events.back().detail == "checkout errors");
  // The pool rolled back to is not "good" by replacement: only deploys mark that.
  CHECK(world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
}

// A rebuild ranks by when it was built, not by the release it carries: rolling back to one says
// which release production goes back to (docs/safety.md, "Which pool a rollback goes to").
TEST_CASE("a rollback that chooses a rebuild names the release it carries", "[ops][rollback]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 40);
  world.provider.add_pool("2", 1, 30);
  world.provider.add_pool("3", 1, 20);
  world.provider.add_pool("1.r1", 1, 10).meta.rebuild_of = "1";
  world.provider.add_pool("4", 1, 5);
  world.make_live("4");
  auto result = ops::rollback(world.services, {.reason = "checkout errors", .dry_run = true});
  REQUIRE(result.ok());
  CHECK(result->plan.target == "1.r1");
  CHECK(
      world.reporter.saw("rolling back from pool 4 to pool 1.r1 (the newest known-good pool older than the live "
                         "one: release 1, rebuilt as 1.r1, no live verdict)"));
  // Named, it is still said.
  REQUIRE(ops::rollback(world.services, {.to = "1.r1", .reason = "checkout errors", .dry_run = true}).ok());
  CHECK(world.reporter.saw("rolling back from pool 4 to pool 1.r1 (release 1, rebuilt as 1.r1, no live verdict)"));
}

// The one-step way out of an incident must not depend on the record of the pool it leaves: an
// unreadable live pool cannot be marked bad, so the rollback warns once with the mark-bad to run
// later and goes ahead; its dry run warns the same.
TEST_CASE("a rollback away from an unreadable live pool goes ahead and names the mark-bad to run later",
          "[ops][rollback][unreadable]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_unreadable_pool("2", 1);
  world.make_live("2");
  const std::string later =
      "warning: pool 2 cannot be marked bad: its record is unreadable (pools/2/record: not valid JSON); once it is "
      "restored, run: deploy-pipeline mark-bad --label 2 --reason 'corrupt live'";

  auto dry = ops::rollback(world.services, {.to = "1", .reason = "corrupt live", .dry_run = true});
  REQUIRE(dry.ok());
  CHECK(world.reporter.saw(later));
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});

  world.reporter.lines.clear();
  auto real = ops::rollback(world.services, {.to = "1", .reason = "corrupt live"});
  REQUIRE(real.ok());
  CHECK(world.reporter.saw(later));
  CHECK(real->marked_bad.empty());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(world.state.events.back().action == HistoryAction::rollback);
  CHECK(world.state.events.back().result == HistoryResult::succeeded);
}

TEST_CASE("a rollback plans its switch from the look it chose the target by: one list, one balancer read",
          "[ops][rollback]") {
  FakeWorld world;
  world.config.retention_hot = 1;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  int lists_before_change = -1;
  int reads_before_change = -1;
  world.balancer.after_call = [&](fakes::FakeBalancer& balancer, const std::string& /*call*/) {
    if (lists_before_change >= 0) return;
    lists_before_change = world.provider.list_pools_calls;
    reads_before_change = balancer.member_reads;
  };
  REQUIRE(ops::rollback(world.services, {std::nullopt, "errors", false, false, false}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(lists_before_change == 1);
  CHECK(reads_before_change == 1);
  // The plan saw pool 2 marked bad, so it did not stay hot.
  CHECK(world.balancer.state.count("2:1") == 0);
}

TEST_CASE("a re-run of an interrupted rollback goes on to the same target", "[ops][rollback][crash]") {
  FakeWorld world;
  three_pools(world, "3");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::rollback(world.services, {std::nullopt, "bad", false, false, false}).ok());
  // Now 2 and 3 are both live; choosing afresh would be ambiguous. The intent decides.
  auto again = ops::rollback(world.services, {std::nullopt, "", false, false, false});
  REQUIRE(again.ok());
  CHECK(again->plan.target == "2");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

TEST_CASE("a rollback's dry run with an interrupted rollback pending shows the one a re-run finishes",
          "[ops][rollback][crash]") {
  FakeWorld world;
  three_pools(world, "3");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::rollback(world.services, {std::nullopt, "bad", false, false, false}).ok());
  const auto calls = world.balancer.calls.size();
  auto dry = ops::rollback(world.services, {.dry_run = true});
  REQUIRE(dry.ok());
  CHECK(dry->dry_run);
  CHECK(dry->plan.target == "2");  // not "more than one pool is live"
  CHECK(world.balancer.calls.size() == calls);
  CHECK(world.state.intent.has_value());
}

TEST_CASE("a rollback's dry run does not take a switch in progress for an interrupted one", "[ops][rollback]") {
  FakeWorld world;
  two_pools(world, "2");
  // Another command is rolling back to 1 right now: its intent is written, its lock held. The
  // real rollback would be refused (lock_busy), so the dry run is too, with the holder named.
  world.state.intent = Intent{.operation = Operation::rollback, .target = "1", .from = {"2"}, .reason = "r"};
  world.state.lock =
      LockHolder{.host = "other-agent", .pid = 4242, .job = "", .command = "rollback", .since = world.clock.wall_now()};
  auto dry = ops::rollback(world.services, {.dry_run = true});
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.error().kind == ErrorKind::refused);
  CHECK(dry.error().is(ErrorCode::lock_busy));
  CHECK_THAT(dry.error().message, Catch::Contains("a real 'rollback' would be refused"));
  CHECK_THAT(dry.error().message, Catch::Contains("held by pid 4242 on other-agent"));
  CHECK_FALSE(world.reporter.saw("found an interrupted"));
  CHECK_FALSE(world.reporter.saw("finishing the interrupted rollback"));
  CHECK(world.state.lock->host == "other-agent");
}

// A dry run predicts the real run: where the real one is refused because a stale holder keeps
// the deploy lock, so is the dry run (exit 3, lock_stale, what to do), and it never touches the lock.
TEST_CASE("a dry run with a stale lock is refused as the real run is, and leaves the lock alone",
          "[ops][rollback][deploy][lock]") {
  FakeWorld world;
  two_pools(world, "2");
  const LockHolder stale{
      .host = "agent-7", .pid = 4242, .job = "", .command = "deploy --label 0", .since = world.clock.wall_now()};
  world.state.lock = stale;
  world.state.holder_gone = true;
  const auto real = ops::rollback(world.services, {});
  REQUIRE_FALSE(real.ok());
  for (const auto& dry :
       {ops::rollback(world.services, {.dry_run = true}), ops::deploy(world.services, {.label = "1", .dry_run = true}),
        ops::repair(world.services, {.dry_run = true})}) {
    REQUIRE_FALSE(dry.ok());
    CHECK(dry.error().kind == real.error().kind);
    CHECK(dry.error().is(ErrorCode::lock_stale));
    CHECK_THAT(dry.error().message, Catch::Contains("would be refused: the deploy lock of service web is stale"));
    CHECK_THAT(dry.error().message, Catch::Contains("held by pid 4242 on agent-7"));
    CHECK_THAT(dry.error().message, Catch::Contains("checked that its holder is gone, run it with --break-lock"));
  }
  // With --break-lock the dry run shows the plan the real run would carry out, and says it
  // would take the lock over; the lock stays the stale holder's.
  auto broken = ops::rollback(world.services, {.dry_run = true, .break_lock = true});
  REQUIRE(broken.ok());
  CHECK(broken->plan.target == "1");
  CHECK(world.reporter.saw("would take over the stale deploy lock"));
  REQUIRE(world.state.lock.has_value());
  CHECK(world.state.lock->pid == 4242);
  CHECK(world.state.lock_acquisitions == 0);
  CHECK(world.balancer.calls.empty());
}

// A deploy or rollback that names a pool that does not exist fails before it takes over a stale
// lock (exit 2, as under the lock), so the lock stays the stale holder's for 'status' to show.
TEST_CASE("deploy and rollback --to of a pool that does not exist leave a stale lock alone",
          "[ops][deploy][rollback][lock]") {
  FakeWorld world;
  two_pools(world, "2");
  world.state.lock = LockHolder{.host = "agent-7", .pid = 4242, .job = "", .command = "rollback", .since = {}};
  world.state.holder_gone = true;
  for (const auto& refused : {ops::deploy(world.services, {.label = "99", .break_lock = true}),
                              ops::rollback(world.services, {.to = "99", .break_lock = true})}) {
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK_THAT(refused.error().message, Catch::StartsWith("there is no pool '99' for service web"));
  }
  CHECK(world.state.lock->host == "agent-7");
  CHECK(world.state.lock_acquisitions == 0);
  CHECK(world.balancer.calls.empty());
  // A pool that exists: the lock is taken over as asked.
  REQUIRE(ops::rollback(world.services, {.to = "1", .break_lock = true}).ok());
  CHECK(world.reporter.saw("took over the stale deploy lock of pid 4242 on agent-7"));
}

TEST_CASE("a dry run while a freeze holds is refused as the real run is", "[ops][deploy][freeze]") {
  FakeWorld world;
  two_pools(world, "1");
  world.state.freeze = Freeze{.reason = "release freeze", .all = false, .by = "ops-a", .job = "", .since = {}};
  const auto real = ops::deploy(world.services, {.label = "2"});
  const auto dry = ops::deploy(world.services, {.label = "2", .dry_run = true});
  REQUIRE_FALSE(real.ok());
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.error().kind == ErrorKind::refused);
  // Worded as the lock's dry-run refusal is: the command as the operator ran it, quoted.
  CHECK(dry.error().message == "a real 'deploy --label 2' would be refused: " + real.error().message);
  // A freeze of deploys leaves rollbacks allowed: their dry run plans.
  CHECK(ops::rollback(world.services, {.to = "2", .dry_run = true}).ok());
  world.state.freeze->all = true;
  const auto rollback = ops::rollback(world.services, {.to = "2", .dry_run = true});
  REQUIRE_FALSE(rollback.ok());
  CHECK(rollback.error().kind == ErrorKind::refused);
  CHECK_THAT(rollback.error().message, Catch::StartsWith("a real 'rollback --to 2' would be refused: deploys, "
                                                         "rollbacks and repairs are frozen"));
  const auto repair = ops::repair(world.services, {.dry_run = true, .revert = true});
  REQUIRE_FALSE(repair.ok());
  CHECK_THAT(repair.error().message, Catch::StartsWith("a real 'repair --revert' would be refused: "));
}

TEST_CASE("repair keeps the pool the last switch made live and removes the others", "[ops][repair]") {
  FakeWorld world;
  two_pools(world, "1");
  world.make_live("2");  // someone enabled pool 2 by hand
  world.state.events.push_back({.at = world.clock.wall_now(),
                                .action = HistoryAction::deploy,
                                .label = "1",
                                .from = "",
                                .result = HistoryResult::succeeded,
                                .duration_ms = 10,
                                .by = "ops-a",
                                .detail = ""});
  auto result = ops::repair(world.services, {false, false});
  REQUIRE(result.ok());
  CHECK(result->plan.target == "1");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
}

TEST_CASE("status reports mixed state and interrupted operations", "[ops][status]") {
  FakeWorld world;
  two_pools(world, "1");
  world.make_live("2");
  world.balancer.put_live("9:1", "10.9.9.9:80");
  Intent intent;
  intent.operation = Operation::deploy;
  intent.target = "2";
  intent.steps = 6;
  intent.step = 3;
  intent.by = LockHolder{"agent-1", 1, "", "deploy 2", world.clock.wall_now()};
  world.state.intent = intent;
  auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK(report->live.size() == 3);
  const auto joined = [&] {
    std::string all;
    for (const auto& problem : report->problems) all += problem + "\n";
    return all;
  }();
  CHECK_THAT(joined, Catch::Contains("was interrupted at step 4 of 6"));
  CHECK_THAT(joined, Catch::Contains("3 pools are live at once"));
  CHECK_THAT(joined, Catch::Contains("belongs to pool 9, which no longer exists"));
}

TEST_CASE("a deploy plans again when a reload undid its steps, and still ends consistent", "[ops][deploy][reload]") {
  FakeWorld world;
  two_pools(world, "1");
  bool reloaded = false;
  world.balancer.after_call = [&](FakeBalancer& balancer, const std::string& call) {
    if (call == "admit 2:1" && !reloaded) {
      reloaded = true;
      balancer.state.erase("2:1");  // the reload lost the new member entirely
    }
  };
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE(result.ok());
  CHECK(world.reporter.saw("planning again"));
  // The drain was refused by its guard, then the plan started again from the balancer's state.
  CHECK(world.balancer.calls == std::vector<std::string>{"add_standby 2:1", "persist 2:1", "admit 2:1", "drain 1:1",
                                                         "add_standby 2:1", "persist 2:1", "admit 2:1", "drain 1:1",
                                                         "remove 1:1"});
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK_FALSE(world.state.intent.has_value());
}

TEST_CASE("a balancer that fails a change once is re-observed and the switch goes on", "[ops][deploy]") {
  FakeWorld world;
  two_pools(world, "1");
  world.balancer.fail_next["drain"] = Error{ErrorKind::unavailable, "HAProxy closed the connection"};
  REQUIRE(ops::deploy(world.services, {"2", false, false, false}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

TEST_CASE("a balancer that keeps failing ends the switch after three attempts, intent kept", "[ops][deploy]") {
  FakeWorld world;
  two_pools(world, "1");
  world.balancer.fail_always["drain"] = Error{ErrorKind::unavailable, "closed"};
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::unavailable);
  CHECK_THAT(result.error().message,
             Catch::Contains("kept changing under it; 'deploy-pipeline deploy --label 2' finishes it: "));
  CHECK(world.state.intent.has_value());
  CHECK(world.balancer.admitted().size() == 2);  // both serve; status explains, a re-run finishes
}

TEST_CASE("status reports a running balancer that differs from what a restart would bring back", "[ops][status]") {
  FakeWorld world;
  world.provider.add_pool("0", 1, 40);  // older than both: a rollback target whichever is live
  two_pools(world, "2");
  world.balancer.durable = world.balancer.members().value();  // in step
  auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK(report->problems.empty());

  world.balancer.state.clear();
  world.make_live("1");  // a reload read an older file
  report = ops::status(world.services);
  REQUIRE(report->problems.size() == 1);
  CHECK_THAT(report->problems[0], Catch::Contains("routes to [1:1] but a restart would route to [2:1]"));

  // History says pool 2; the balancer routes to 1. Status says what differs; repair acts only
  // on what is certain (the balancer), so it keeps pool 1 and makes the restart copy match.
  world.state.events.push_back({.at = world.clock.wall_now(),
                                .action = HistoryAction::deploy,
                                .label = "2",
                                .from = "1",
                                .result = HistoryResult::succeeded,
                                .duration_ms = 10,
                                .by = "ops-a",
                                .detail = ""});
  report = ops::status(world.services);
  REQUIRE(report->problems.size() == 2);
  CHECK_THAT(report->problems[1], Catch::Contains("made pool 2 live, but the balancer routes to 1; history may be "
                                                  "missing the last switch"));
  CHECK_THAT(report->problems[1], Catch::Contains("'deploy-pipeline deploy --label 1' records pool 1 as live, "
                                                  "'deploy-pipeline deploy --label 2' goes back to pool 2"));
  REQUIRE(ops::repair(world.services, {.dry_run = false, .break_lock = false}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  REQUIRE(world.balancer.durable);
  CHECK(world.balancer.durable->size() == 1);
  CHECK(world.balancer.durable->front().name == "1:1");
}

// The same difference, once the process answering started after the last switch began: a
// reload that read the file before the switch's last write. Repair restores what the switch made
// live; a process up since before it keeps the change made by hand.
// Status names what repair will do, in both cases: it never announces one pool and repair makes
// another live.
TEST_CASE("repair restores the pool the last switch made live only when the balancer reloaded since",
          "[ops][repair][reload]") {
  for (const bool reloaded : {true, false}) {
    FakeWorld world;
    routes_to_1_a_minute_after_deploying_2(world);
    world.balancer.uptime_s = reloaded ? std::chrono::seconds(50) : std::chrono::seconds(75);
    INFO("reloaded: " << reloaded);
    const auto report = ops::status(world.services);
    REQUIRE(report.ok());
    INFO(util::join(report->problems, "\n"));
    REQUIRE_FALSE(report->problems.empty());
    // Reloaded: the restart's line says what repair restores; history's difference is no other way on.
    const bool history_way = std::any_of(report->problems.begin(), report->problems.end(), [](const std::string& line) {
      return line.find("records pool 1 as live") != std::string::npos;
    });
    CHECK(history_way == !reloaded);
    CHECK_THAT(report->problems[0], Catch::Contains("routes to [1:1] but a restart would route to [2:1]"));
    if (reloaded) {
      CHECK_THAT(report->problems[0],
                 Catch::EndsWith("(the balancer reloaded after the last deploy, at " +
                                 util::format_iso8601(world.clock.wall_now() - std::chrono::seconds(60)) +
                                 ", with an older membership); run 'deploy-pipeline repair' to make pool 2 the only "
                                 "live pool again, as the last deploy left it"));
    } else {
      CHECK_THAT(report->problems[0], Catch::EndsWith("run 'deploy-pipeline repair' to keep the running membership"));
    }
    REQUIRE(ops::repair(world.services, {.dry_run = false, .break_lock = false}).ok());
    CHECK(world.balancer.admitted() == std::vector<std::string>{reloaded ? "2:1" : "1:1"});
  }
}

// A stale haproxy.cfg put back (a restore, configuration management) and reloaded: the file and
// the running balancer both route to pool 1 after the last deploy made pool 2 live. Status blamed
// a missing history record; it names the reload since that deploy, and both ways out.
TEST_CASE("status after a reload of an older configuration names the reload, not a missing history record",
          "[ops][status][reload]") {
  // Reloaded since, routing to the pool that deploy replaced; not reloaded; reloaded, but routing to
  // a pool that deploy did not replace (history may be missing a later switch).
  for (const auto& [reloaded, replaced] : {std::pair(true, "1"), std::pair(false, "1"), std::pair(true, "3")}) {
    const bool blamed = reloaded && std::string(replaced) == "1";
    FakeWorld world;
    routes_to_1_a_minute_after_deploying_2(world);
    world.state.events.back().from = replaced;
    world.balancer.durable = world.balancer.members().value();  // the file put back holds pool 1 too
    world.balancer.uptime_s = reloaded ? std::chrono::seconds(50) : std::chrono::seconds(75);
    INFO("reloaded: " << reloaded << ", replaced: " << replaced);
    const auto report = ops::status(world.services);
    REQUIRE(report.ok());
    const std::string problems = util::join(report->problems, "\n");
    INFO(problems);
    const std::string made = "the last deploy in history (" +
                             util::format_iso8601(world.clock.wall_now() - std::chrono::seconds(60)) +
                             ") made pool 2 live, but the balancer ";
    if (blamed) {
      CHECK_THAT(problems, Catch::Contains(made + "reloaded since with a configuration that routes to 1 again, as "
                                                  "before that deploy (an older configuration file put back?); "
                                                  "'deploy-pipeline deploy --label 2' goes back to pool 2, or "
                                                  "'deploy-pipeline deploy --label 1' records pool 1 as live"));
      CHECK_THAT(problems, !Catch::Contains("history may be missing"));
    } else {
      CHECK_THAT(problems, Catch::Contains(made + "routes to 1; history may be missing the last switch"));
    }
    CHECK_THAT(problems, !Catch::Contains("a restart would route"));
  }
}

// retention.hot 0 asks for no pool on standby, and a switch or repair removes one left there:
// status said nothing of it, so it reports it, naming the command that removes it.
TEST_CASE("with retention.hot 0 status reports a pool left on standby, and repair removes it", "[ops][status][hot]") {
  FakeWorld world;
  world.config.retention_hot = 1;
  two_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {"2", false, false, false}).ok());
  REQUIRE(world.balancer.state.count("1:1") == 1);  // pool 1 stays hot
  const auto kept = ops::status(world.services);
  REQUIRE(kept.ok());
  CHECK(kept->problems.empty());

  world.config.retention_hot = 0;
  const auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK(report->problems ==
        std::vector<std::string>{"member 1:1 is left in standby (retention.hot 0 keeps no pool there); the next deploy "
                                 "or 'deploy-pipeline repair' cleans it up"});
  REQUIRE(ops::repair(world.services, {}).ok());
  CHECK(world.balancer.state.count("1:1") == 0);
  const auto after = ops::status(world.services);
  REQUIRE(after.ok());
  CHECK(after->problems.empty());
}

TEST_CASE("a lost history record never makes repair switch production back", "[ops][repair]") {
  FakeWorld world;
  three_pools(world, "1");
  world.provider.pools[0].meta.smoke = SmokeVerdict::passed;
  world.provider.pools[1].meta.smoke = SmokeVerdict::passed;
  world.provider.pools[2].meta.smoke = SmokeVerdict::passed;
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  // The record of the deploy of 3 is lost (disk full): the deploy itself says so.
  world.state.fail_next.emplace("append_history", Error{ErrorKind::failed, "no space left on device"});
  auto deployed = ops::deploy(world.services, {.label = "3"});
  REQUIRE(deployed.ok());
  REQUIRE(deployed->history_warning);
  CHECK_THAT(*deployed->history_warning, Catch::Contains("missing from history: no space left on device"));
  CHECK(world.state.last_switch()->value().label == "2");
  // Status notices the difference; repair keeps what the balancer routes to.
  auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK_THAT(report->problems.back(), Catch::Contains("made pool 2 live, but the balancer routes to 3"));
  REQUIRE(ops::repair(world.services, {}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"3:1"});
}

TEST_CASE("status stays useful when the intent or lock record cannot be read", "[ops][status]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("0", 1, 40);  // an older pool, a rollback target, so that is no problem here
  world.make_live("1");
  world.state.fail_always.emplace("read_intent",
                                  Error{ErrorKind::failed, "/state/web/intent.json: expected a JSON value at line 1"});
  world.state.fail_always.emplace("read_lock", Error{ErrorKind::failed, "/state/web/deploy.lock: empty"});
  const auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK(report->live == std::vector<std::string>{"1"});
  CHECK(report->members.size() == 1);
  REQUIRE(report->problems.size() == 2);
  CHECK_THAT(report->problems[0], Catch::Contains("cannot read the deploy lock: /state/web/deploy.lock: empty"));
  CHECK_THAT(report->problems[1], Catch::Contains("cannot read the intent record: /state/web/intent.json"));
}

// A store that does not answer (etcd out of reach) may hold records that are fine: status gives no
// advice meant for a record that cannot be read (take the lock over, repair, unfreeze), asks for
// no record after the first it did not answer (each would wait out the same timeouts), and says
// why in state_store_error (exit 4).
TEST_CASE("status asks a store that did not answer nothing more, and gives no advice for its records",
          "[ops][status]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("0", 1, 40);
  world.make_live("1");
  world.state.fail_always.emplace("read_lock", Error{ErrorKind::unavailable, "etcd is unavailable at 127.0.0.1:1"});
  const auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK(report->live == std::vector<std::string>{"1"});
  REQUIRE(report->state_store_error.has_value());
  CHECK(*report->state_store_error == "etcd is unavailable at 127.0.0.1:1");
  REQUIRE(report->problems.size() == 5);
  CHECK(report->problems[0] ==
        "cannot read the deploy lock: etcd is unavailable at 127.0.0.1:1; status reads it "
        "again once the state store answers");
  CHECK(report->problems[1] == "cannot read the intent record: not asked, since the state store did not answer");
  for (const auto& problem : report->problems) {
    CHECK_THAT(problem, !Catch::Contains("--break-lock") && !Catch::Contains("repair") && !Catch::Contains("unfreeze"));
  }
}

TEST_CASE("a stop request ends a deploy at a safe point: intent kept, lock released, repair finishes or reverts",
          "[ops][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 30);
  world.provider.add_pool("2", 2, 20);
  world.provider.pools[1].meta.smoke = SmokeVerdict::passed;
  world.make_live("1");
  world.balancer.polls_until_healthy = 50;
  int polls = 0;
  world.services.stop_requested = [&polls] { return ++polls > 5; };  // while waiting for health
  auto stopped = ops::deploy(world.services, {.label = "2"});
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_THAT(stopped.error().message, Catch::Contains("after step 1 of 7"));
  CHECK_THAT(stopped.error().message, Catch::Contains("1 still serves and pool 2 is not routed to"));
  CHECK_THAT(stopped.error().message, Catch::Contains("'deploy-pipeline repair --revert' returns to pool 1"));
  CHECK(world.state.intent.has_value());
  CHECK_FALSE(world.state.lock.has_value());
  CHECK(world.state.events.back().result == HistoryResult::interrupted);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});

  world.services.stop_requested = nullptr;
  auto reverted = ops::repair(world.services, {.revert = true});
  REQUIRE(reverted.ok());
  CHECK(reverted->plan.target == "1");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(world.balancer.state.count("2:1") == 0);
  CHECK_FALSE(world.state.intent.has_value());

  auto nothing = ops::repair(world.services, {.revert = true});
  REQUIRE_FALSE(nothing.ok());
  CHECK(nothing.error().kind == ErrorKind::invalid);
}

TEST_CASE("repair finishes an interrupted deploy by default", "[ops][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.provider.pools[1].meta.smoke = SmokeVerdict::passed;
  world.make_live("1");
  world.balancer.polls_until_healthy = 50;
  int polls = 0;
  world.services.stop_requested = [&polls] { return ++polls > 3; };
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "2"}).ok());
  world.services.stop_requested = nullptr;
  auto finished = ops::repair(world.services, {});
  REQUIRE(finished.ok());
  CHECK(finished->plan.target == "2");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

TEST_CASE("a rollback's dry run shows the plan the rollback runs: the pool it marks bad does not stay hot",
          "[ops][rollback][dry-run]") {
  FakeWorld world;
  two_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  auto dry = ops::rollback(world.services, {.reason = "2 is broken", .dry_run = true});
  REQUIRE(dry.ok());
  CHECK(dry->plan.target == "1");
  CHECK(dry->plan.hot.empty());
  auto real = ops::rollback(world.services, {.reason = "2 is broken"});
  REQUIRE(real.ok());
  CHECK(real->plan.hot == dry->plan.hot);
  CHECK(real->plan.steps.size() == dry->plan.steps.size());
}

// A half-done switch names the command that finishes it: the same command where a re-run finds
// its intent and finishes it, 'deploy-pipeline repair' where a re-run would not (repair --revert
// run again would revert the revert).
TEST_CASE("a half-done rollback names 'deploy-pipeline rollback', which finishes it", "[ops][rollback][crash]") {
  FakeWorld world;
  two_pools(world, "2");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  auto first = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().kind == ErrorKind::failed);
  CHECK_THAT(first.error().message, Catch::Contains("; 'deploy-pipeline rollback' finishes it: "));
  REQUIRE(world.state.intent.has_value());
  REQUIRE(ops::rollback(world.services, {}).ok());
  CHECK(world.reporter.saw("finishing the interrupted rollback to pool 1"));
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
}

TEST_CASE("a half-done repair --revert names 'deploy-pipeline repair', which finishes it", "[ops][repair][crash]") {
  FakeWorld world;
  two_pools(world, "1");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "2"}).ok());  // 1 and 2 both live
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  auto reverted = ops::repair(world.services, {.revert = true});
  REQUIRE_FALSE(reverted.ok());
  CHECK(reverted.error().kind == ErrorKind::failed);
  CHECK_THAT(reverted.error().message, Catch::Contains("repair of pool 1 stopped after step"));
  CHECK_THAT(reverted.error().message, Catch::Contains("; 'deploy-pipeline repair' finishes it: "));
  REQUIRE(ops::repair(world.services, {}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK_FALSE(world.state.intent.has_value());
}

TEST_CASE("a half-done repair of an interrupted deploy names 'deploy-pipeline repair', not the deploy",
          "[ops][repair][crash]") {
  FakeWorld world;
  two_pools(world, "1");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "2"}).ok());
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  auto finishing = ops::repair(world.services, {});
  REQUIRE_FALSE(finishing.ok());
  // Nobody gave --force: repair finishes it (with the force a finish needs) without one.
  CHECK_THAT(finishing.error().message, Catch::Contains("; 'deploy-pipeline repair' finishes it: "));
  CHECK_THAT(finishing.error().message, !Catch::Contains("--force"));
  REQUIRE(ops::repair(world.services, {}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

TEST_CASE("a half-done watched deploy names the command with its watch", "[ops][deploy][watch][crash]") {
  FakeWorld world;
  two_pools(world, "1");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  auto watched = ops::deploy(world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(watched.ok());
  CHECK_THAT(watched.error().message,
             Catch::Contains("; 'deploy-pipeline deploy --label 2 --watch 30s' finishes it: "));
}

TEST_CASE("a switch that lost its deploy lock says to finish it once the lock is free", "[ops][deploy][lock]") {
  FakeWorld world;
  two_pools(world, "1");
  // Another command broke the lock and took it over after the first step.
  world.balancer.after_call = [&world](FakeBalancer& /*balancer*/, const std::string& call) {
    if (call.rfind("add_standby", 0) == 0)
      world.state.lock = LockHolder{.host = "agent-9", .pid = 77, .job = "", .command = "repair", .since = {}};
  };
  auto result = ops::deploy(world.services, {.label = "2"});
  world.balancer.after_call = nullptr;
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::lock_held));
  CHECK_THAT(result.error().message,
             Catch::Contains("'deploy-pipeline deploy --label 2' finishes it once the deploy lock is free"));
}

// F30: a switch that lost its lock during a step (another agent took it over and removed the
// members it was waiting for) plans again, but must write nothing more: no fresh intent record
// (status and repair would "finish" the abandoned switch, undoing the new holder's), no history.
TEST_CASE("a switch that lost its lock mid-step writes no intent and no history when it plans again",
          "[ops][deploy][lock]") {
  FakeWorld world;
  two_pools(world, "1");
  bool taken_over = false;
  world.balancer.before_read = [&](FakeBalancer& balancer) {
    // While deploy waits for pool 2's members: another agent takes the lock and removes them.
    if (taken_over || balancer.state.count(member_name("2", "1")) == 0) return;
    taken_over = true;
    world.state.lock = LockHolder{.host = "agent-2", .pid = 99, .job = "", .command = "deploy --label 1", .since = {}};
    balancer.state.erase(member_name("2", "1"));
  };
  const auto result = ops::deploy(world.services, {.label = "2"});
  REQUIRE(taken_over);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::refused);
  CHECK(result.error().is(ErrorCode::lock_held));
  CHECK_THAT(result.error().message, Catch::Contains("the deploy lock is no longer ours"));
  // One intent record, the first pass's (its progress writes aside); none after the lock was lost.
  const auto fresh = std::count_if(world.state.intents_written.begin(), world.state.intents_written.end(),
                                   [](const Intent& intent) { return intent.current.empty(); });
  CHECK(fresh == 1);
  CHECK(world.state.events.empty());
  CHECK(world.state.lock->pid == 99);  // the new holder's lock is left alone
}

// F34: the alert pipeline's retry (the same --expect-live, the same --to) after its rollback was
// killed half-way (pools 1 and 3 both live) finishes that rollback.
TEST_CASE("an alert's retry with --expect-live finishes its own interrupted rollback", "[ops][rollback][lock]") {
  FakeWorld world;
  three_pools(world, "1");
  world.make_live("3");
  world.state.intent = Intent{.operation = Operation::rollback,
                              .target = "1",
                              .from = {"3"},
                              .reason = "alert",
                              .by = {.host = "agent-1", .pid = 7, .job = "", .command = "rollback --to 1", .since = {}},
                              .steps = 6};
  world.state.lock = world.state.intent->by;
  world.state.holder_gone = true;

  // A stale alert (pool 2 was never what this rollback left) is refused before the takeover.
  const auto stale = ops::rollback(world.services, {.to = "1", .break_lock = true, .expect_live = "2"});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().kind == ErrorKind::refused);
  CHECK_THAT(stale.error().message, Catch::EndsWith("a stale alert rolls nothing back, nothing was changed"));
  CHECK(world.state.lock_acquisitions == 0);
  CHECK(world.state.lock->pid == 7);

  const auto retry = ops::rollback(world.services, {.to = "1", .break_lock = true, .expect_live = "3"});
  INFO((retry ? std::string() : retry.error().message));
  REQUIRE(retry.ok());
  CHECK(world.reporter.saw("finishing the interrupted rollback to pool 1"));
  CHECK_FALSE(world.state.intent.has_value());
  CHECK(world.balancer.state.count(member_name("3", "1")) == 0);
  CHECK(world.balancer.state.at(member_name("1", "1")).admitted());
}

// A refusal that comes after the stale lock was taken over does not claim nothing changed.
TEST_CASE("an --expect-live refusal after a lock takeover names the takeover", "[ops][rollback][lock]") {
  FakeWorld world;
  two_pools(world, "2");
  world.state.lock = LockHolder{.host = "agent-1", .pid = 7, .job = "", .command = "deploy --label 2", .since = {}};
  world.state.holder_gone = true;
  // Between the look before the lock and the one under it, pool 1 went live (by hand).
  world.state.on_acquired = [&] {
    world.balancer.state.clear();
    world.make_live("1");
  };
  const auto refused = ops::rollback(world.services, {.break_lock = true, .expect_live = "2"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(
      refused.error().message,
      Catch::EndsWith("nothing was switched; the stale deploy lock it took over (pid 7 on agent-1) is released"));
}

// review2 F23: a deploy of a pool marked bad went ahead silently, while 'rollback --to' refused it.
TEST_CASE("a deploy of a pool marked bad is refused before anything changes, naming the mark",
          "[ops][deploy][verdicts]") {
  FakeWorld world;
  two_pools(world, "1");
  REQUIRE(ops::set_verdict(world.services,
                           {.label = "2", .verdict = LiveVerdict::bad, .reason = "5xx ratio 0.10 over 3.00 s"})
              .ok());
  const auto marked_at = util::format_iso8601(world.state.events.back().at);
  for (const bool dry_run : {false, true}) {
    world.balancer.calls.clear();
    auto refused = ops::deploy(world.services, {.label = "2", .dry_run = dry_run});
    REQUIRE_FALSE(refused.ok());
    INFO(refused.error().message);
    CHECK(refused.error().kind == ErrorKind::refused);
    CHECK(refused.error().message == "pool 2 is marked bad by " + world.services.identity.user + " (job " +
                                         world.services.identity.job + ") at " + marked_at +
                                         ": 5xx ratio 0.10 over 3.00 s; deploy it anyway with --force, or clear the "
                                         "mark first with 'deploy-pipeline mark-good --label 2'");
    CHECK(world.balancer.calls.empty());
  }
  CHECK_FALSE(world.state.lock.has_value());
  REQUIRE(ops::deploy(world.services, {.label = "2", .force = true}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

// A refused delete was in history and a refused rollback was not: nobody could tell afterwards
// that a rollback was tried in the incident, nor why it did not happen. Recorded as refused, as
// the delete is, and nothing else changes (no verdict, no balancer change); a dry run records
// nothing.
TEST_CASE("a rollback refused under the lock is recorded in history as refused, and changes nothing else",
          "[ops][rollback][history]") {
  FakeWorld world;
  two_pools(world, "2");
  world.provider.pools[0].meta.verdict = LiveVerdict::bad;
  world.provider.pools[0].meta.verdict_reason = "leaks memory";
  const auto admitted = world.balancer.admitted();

  const auto dry = ops::rollback(world.services, {.to = "1", .reason = "errors", .dry_run = true});
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.error().kind == ErrorKind::refused);
  CHECK(world.state.events.empty());

  const auto refused = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  REQUIRE(world.state.events.size() == 1);
  const HistoryEvent& event = world.state.events[0];
  CHECK(event.action == HistoryAction::rollback);
  CHECK(event.result == HistoryResult::refused);
  CHECK(event.label == "1");
  CHECK(event.from == "2");
  CHECK(event.by == "ops-a");
  CHECK(event.job == "gocd web/7/deploy/1/switch");
  // The operator's reason is kept, before why the rollback was refused.
  CHECK(event.detail == "errors; " + refused.error().message);
  CHECK_THAT(event.detail, Catch::Contains("pool 1 is marked bad"));
  CHECK_THAT(event.detail, Catch::Contains("leaks memory; roll back to another pool"));
  CHECK(world.notifier.events() == std::vector<std::string>{"rollback.failure"});
  // Neither run announced a rollback that did not happen.
  CHECK_FALSE(world.reporter.saw("rolling back from"));
  // Nothing else: the live pool keeps its verdict, the balancer was not changed, the lock is free.
  CHECK(world.provider.pools[1].meta.verdict != LiveVerdict::bad);
  CHECK(world.balancer.admitted() == admitted);
  CHECK(world.balancer.calls.empty());
  CHECK_FALSE(world.state.lock.has_value());
  CHECK_FALSE(world.state.intent.has_value());
  // No switch succeeded: a plain rollback's hints and status's last switch are unchanged.
  CHECK_FALSE(world.state.last_switch().value().has_value());
}

TEST_CASE("a plain rollback with no pool to go to is recorded as refused, naming none", "[ops][rollback][history]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30, SmokeVerdict::failed);
  world.provider.add_pool("2", 1, 20);
  world.make_live("2");
  // Refused (exit 3), as history records it; the dry run says the same.
  const auto dry = ops::rollback(world.services, {.reason = "errors", .dry_run = true});
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.error().kind == ErrorKind::refused);
  const auto refused = ops::rollback(world.services, {.reason = "errors"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK(refused.error().is(ErrorCode::no_candidate));
  CHECK_THAT(refused.error().message, Catch::Contains("no pool older than the live pool 2"));
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events[0].action == HistoryAction::rollback);
  CHECK(world.state.events[0].result == HistoryResult::refused);
  CHECK(world.state.events[0].label.empty());
  CHECK(world.state.events[0].from == "2");
  CHECK(world.state.events[0].detail == "errors; " + refused.error().message);
  CHECK(world.provider.pools[1].meta.verdict != LiveVerdict::bad);
  CHECK(world.balancer.calls.empty());

  // A pool named that does not exist is a usage error (exit 2), and a lock another command holds
  // refuses before the rollback holds it: neither is a rollback refused under the lock.
  world.state.events.clear();
  CHECK(ops::rollback(world.services, {.to = "9"}).error().kind == ErrorKind::invalid);
  world.state.lock = LockHolder{"agent-2", 99, "", "deploy --label 1", world.clock.wall_now()};
  CHECK(ops::rollback(world.services, {.to = "1", .force = true}).error().kind == ErrorKind::refused);
  CHECK(world.state.events.empty());
}

// review2 F16: a rollback away from a pool marked bad replaced its measured reason with its own.
TEST_CASE("a rollback away from a pool marked bad keeps its first reason; the new one goes to history",
          "[ops][rollback][verdicts]") {
  FakeWorld world;
  two_pools(world, "2");
  world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  world.provider.pools[1].meta.verdict_reason = "automatic: 5xx ratio 0.10";
  REQUIRE(ops::rollback(world.services, {.reason = "after the page"}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(world.provider.pools[1].meta.verdict == LiveVerdict::bad);
  CHECK(world.provider.pools[1].meta.verdict_reason == "automatic: 5xx ratio 0.10");
  REQUIRE_FALSE(world.state.events.empty());
  CHECK(world.state.events.back().action == HistoryAction::rollback);
  CHECK(world.state.events.back().detail == "after the page");
}

// A balancer changed by hand after every last step (no reload, no success recorded): the end
// state never holds, and the way on is the re-run that finishes the switch, as before.
TEST_CASE("a switch whose end state is undone by hand every time names the re-run, not repair",
          "[ops][deploy][reload]") {
  FakeWorld world;
  two_pools(world, "1");
  world.balancer.after_call = [&world](FakeBalancer& balancer, const std::string& call) {
    if (call.rfind("remove ", 0) != 0) return;
    balancer.state.clear();
    world.make_live("1");
  };
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message,
             Catch::Contains("kept changing under it; 'deploy-pipeline deploy --label 2' finishes it"));
  CHECK_THAT(result.error().message, !Catch::Contains("repair"));
  // Never recorded as done: recorded as interrupted, once.
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events.back().result == HistoryResult::interrupted);
}

// A reload that comes up with the older membership once each switch was recorded: the last look
// sees another process routing elsewhere and applies the switch again; after three passes the
// way on is repair. History records the deploy once as done, then that it gave up: its success
// alone would hide that the balancer routes to the older pool.
TEST_CASE("a reload with an older membership after every recorded end is applied again, then names repair",
          "[ops][deploy][reload]") {
  FakeWorld world;
  two_pools(world, "1");
  bool removed = false;
  int process = 1;
  world.balancer.after_call = [&removed](FakeBalancer&, const std::string& call) {
    if (call.rfind("remove ", 0) == 0) removed = true;
  };
  world.services.before_switch_step = [&](std::size_t) {
    if (!removed) return;  // the hook after the last step: the switch is recorded
    removed = false;
    world.balancer.instance_id = std::to_string(++process);
    world.balancer.state.clear();
    world.make_live("1");
  };
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK(process == 4);  // three passes, each undone
  CHECK(world.reporter.saw("reloaded as the switch ended and routes to 1, not pool 2"));
  CHECK_THAT(result.error().message, Catch::Contains("kept changing under it; 'deploy-pipeline repair' finishes it"));
  REQUIRE(world.state.events.size() == 2);
  CHECK(world.state.events[0].label == "2");
  CHECK(world.state.events[0].result == HistoryResult::succeeded);
  CHECK(world.state.events[1].label == "2");
  CHECK(world.state.events[1].result == HistoryResult::interrupted);
  CHECK(world.state.events[1].detail == result.error().message);
  CHECK(world.notifier.events() == std::vector<std::string>{"deploy.start", "deploy.success", "deploy.failure"});
}

// The last look after the switch was recorded cannot reach the balancer: the command fails
// (exit 4) saying the switch was made and recorded, so nobody re-runs it to finish anything.
TEST_CASE("a balancer that does not answer the last look fails the switch saying it was recorded",
          "[ops][deploy][reload]") {
  FakeWorld world;
  two_pools(world, "1");
  bool removed = false;
  world.balancer.after_call = [&removed](FakeBalancer&, const std::string& call) {
    if (call.rfind("remove ", 0) == 0) removed = true;
  };
  world.services.before_switch_step = [&](std::size_t) {
    if (removed) world.balancer.fail_next["instance"] = Error{ErrorKind::unavailable, "connection refused"};
  };
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::unavailable);
  CHECK_THAT(result.error().message, Catch::Contains("pool 2 was made live and recorded, but the balancer did not "
                                                     "answer the last look"));
  CHECK_THAT(result.error().message, Catch::Contains("connection refused"));
  CHECK_FALSE(world.state.intent.has_value());
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

// B7: the switch was recorded as done in its first pass (then a reload brought the old
// membership back); the later passes planned again because a step found the balancer changed,
// which records nothing. The way on after the last pass is repair, as the job knows, not a re-run.
// History has the give-up after the success: the switch is left half done (its intent stays),
// which the success alone would hide.
TEST_CASE("a switch recorded as done in an earlier pass names repair when its last pass ends otherwise",
          "[ops][deploy][reload]") {
  FakeWorld world;
  two_pools(world, "1");
  bool removed = false;
  bool recorded = false;
  world.balancer.after_call = [&](FakeBalancer& balancer, const std::string& call) {
    if (call.rfind("remove ", 0) == 0) removed = true;
    if (recorded && call == "admit 2:1") balancer.state.erase("2:1");  // the drain's guard then refuses
  };
  world.services.before_switch_step = [&](std::size_t) {
    if (!removed || recorded) return;  // the hook after the first pass's last step: recorded
    recorded = true;
    world.balancer.instance_id = "2";
    world.balancer.state.clear();
    world.make_live("1");
  };
  auto result = ops::deploy(world.services, {"2", false, false, false});
  REQUIRE_FALSE(result.ok());
  CHECK(recorded);
  CHECK_THAT(result.error().message, Catch::Contains("kept changing under it; 'deploy-pipeline repair' finishes it"));
  CHECK(world.state.intent.has_value());
  REQUIRE(world.state.events.size() == 2);
  CHECK(world.state.events[0].result == HistoryResult::succeeded);
  CHECK(world.state.events[1].result == HistoryResult::interrupted);
  CHECK(world.state.events[1].label == "2");
  CHECK(world.state.events[1].from == "1");
}

// review3 R1: a re-run of an interrupted rollback (or repair) kept its target although it was
// marked bad since, making it live without --force. Refused, nothing changed, the dry run too.
TEST_CASE("finishing an interrupted rollback whose target was marked bad since is refused without --force",
          "[ops][rollback][crash][verdicts]") {
  FakeWorld world;
  three_pools(world, "3");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::rollback(world.services, {.reason = "errors"}).ok());
  REQUIRE(world.state.intent.has_value());
  REQUIRE(world.state.intent->target == "2");
  world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  world.provider.pools[1].meta.verdict_reason = "2 has the bug too";
  const auto calls = world.balancer.calls.size();

  for (const bool dry_run : {true, false}) {
    const auto again = ops::rollback(world.services, {.reason = "errors", .dry_run = dry_run});
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == ErrorKind::refused);
    CHECK_THAT(again.error().message, Catch::Contains("the interrupted rollback to pool 2 is not finished: pool 2 is "
                                                      "marked bad"));
    CHECK_THAT(again.error().message, Catch::Contains("2 has the bug too"));
    CHECK_THAT(again.error().message, Catch::Contains("'deploy-pipeline rollback --to 1' rolls back to pool 1"));
  }
  const auto repaired = ops::repair(world.services, {});
  REQUIRE_FALSE(repaired.ok());
  CHECK(repaired.error().kind == ErrorKind::refused);
  CHECK_THAT(repaired.error().message, Catch::Contains("'deploy-pipeline repair --force' finishes it anyway"));
  CHECK(world.balancer.calls.size() == calls);
  CHECK(world.state.intent.has_value());

  REQUIRE(ops::repair(world.services, {.force = true}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

// review3 R3: repair --revert of a deploy interrupted before it routed to its pool kept that
// abandoned pool hot and took the real hot standby out of the balancer.
TEST_CASE("repair --revert of an interrupted deploy removes its pool and keeps the hot standby before it",
          "[ops][repair][hot]") {
  FakeWorld world;
  world.config.retention_hot = 1;
  three_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());  // 1 stays hot
  REQUIRE(world.balancer.state.count("1:1") == 1);
  world.balancer.fail_next["admit"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "3"}).ok());
  REQUIRE(world.state.intent.has_value());
  REQUIRE(world.balancer.state.count("3:1") == 1);

  const auto reverted = ops::repair(world.services, {.revert = true});
  REQUIRE(reverted.ok());
  CHECK(reverted->plan.hot == std::vector<std::string>{"1"});
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(world.balancer.state.count("1:1") == 1);  // still hot
  CHECK(world.balancer.state.count("3:1") == 0);
  CHECK_FALSE(world.state.intent.has_value());
}

// A re-run that finishes a switch whose drain was done before it stopped saw only its target
// live, so history recorded that it replaced nothing, and a plain rollback from an older pool
// then had no pool to go to (status now judges by the same rule). It replaces what the
// interrupted switch replaced.
TEST_CASE("finishing an interrupted switch records the pools it replaced, so a plain rollback goes back to them",
          "[ops][deploy][crash][rollback]") {
  FakeWorld world;
  two_pools(world, "2");
  world.balancer.fail_next["remove"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "1"}).ok());  // 2 drained, not removed
  REQUIRE(world.state.intent.has_value());
  const auto finished = ops::deploy(world.services, {.label = "1"});
  REQUIRE(finished.ok());
  CHECK(finished->plan.from == std::vector<std::string>{"2"});
  REQUIRE_FALSE(world.state.events.empty());
  CHECK(world.state.events.back().result == HistoryResult::succeeded);
  CHECK(world.state.events.back().from == "2");
  const auto back = ops::rollback(world.services, {.dry_run = true});
  REQUIRE(back.ok());
  CHECK(back->plan.target == "2");
}

// The lock is asked for before each durable write: the intent record, each step's progress,
// history, the intent cleared. A switch that wakes nothing does not ask a second time before its
// intent record (the wake's own check is for the waking intent it writes).
TEST_CASE("a switch that wakes nothing reads the lock once before its intent record", "[ops][deploy][lock]") {
  FakeWorld world;
  two_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  const auto steps = static_cast<int>(world.state.intents_written.size()) - 1;
  REQUIRE(steps > 0);
  // One before the intent record, one per step, one before history and one before the clear.
  CHECK(world.state.keep_lock_calls == 1 + steps + 2);
}

// F30: a switch that wakes its target writes the waking intent only while it holds the lock.
TEST_CASE("a switch whose lock was taken over before its wake wakes nothing and writes nothing",
          "[ops][deploy][lock][wake]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10).power = PowerState::off;
  world.make_live("1");
  world.state.on_acquired = [&] {
    world.state.lock = LockHolder{.host = "agent-9", .pid = 77, .job = "", .command = "repair", .since = {}};
  };
  const auto result = ops::deploy(world.services, {.label = "2"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::lock_held));
  CHECK_THAT(result.error().message, Catch::StartsWith("deploy of pool 2: the deploy lock is no longer ours"));
  CHECK(world.state.intents_written.empty());
  CHECK(world.provider.calls.empty());
  CHECK(world.state.events.empty());
}

// An alert's rollback (and every automatic one: a watch always passes --expect-live) judges the
// live pool on the same look it plans from, so it reads the pools and the balancer once.
TEST_CASE("a rollback with --expect-live judges and plans from one look", "[ops][rollback][watch]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  int lists_before_change = -1;
  int reads_before_change = -1;
  world.balancer.after_call = [&](fakes::FakeBalancer& balancer, const std::string& /*call*/) {
    if (lists_before_change >= 0) return;
    lists_before_change = world.provider.list_pools_calls;
    reads_before_change = balancer.member_reads;
  };
  REQUIRE(ops::rollback(world.services, {.reason = "errors", .expect_live = "2"}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(lists_before_change == 1);
  CHECK(reads_before_change == 1);
}

// F34's retry finishes the interrupted rollback from the look its --expect-live was judged on.
TEST_CASE("an alert's retry finishes its interrupted rollback from the look it judged", "[ops][rollback][crash]") {
  FakeWorld world;
  three_pools(world, "3");
  world.balancer.fail_next["drain"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::rollback(world.services, {.reason = "bad", .expect_live = "3"}).ok());
  const int lists_before = world.provider.list_pools_calls;
  const int reads_before = world.balancer.member_reads;
  int lists_before_change = -1;
  int reads_before_change = -1;
  world.balancer.after_call = [&](fakes::FakeBalancer& balancer, const std::string& /*call*/) {
    if (lists_before_change >= 0) return;
    lists_before_change = world.provider.list_pools_calls - lists_before;
    reads_before_change = balancer.member_reads - reads_before;
  };
  const auto again = ops::rollback(world.services, {.reason = "bad", .expect_live = "3"});
  REQUIRE(again.ok());
  CHECK(again->plan.target == "2");
  CHECK(lists_before_change == 1);
  CHECK(reads_before_change == 1);
}

// A named target is judged before the pool a refusal would name instead is chosen: that choice
// reads the last switch from history (a file read, an etcd round trip), which a deploy or a
// rollback --to that goes ahead never needs.
TEST_CASE("a named target reads the last switch only to word its refusal", "[ops][deploy][rollback][history]") {
  FakeWorld world;
  three_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  CHECK(world.state.last_switch_reads == 0);

  REQUIRE(ops::rollback(world.services, {.to = "1"}).ok());
  CHECK(world.state.last_switch_reads == 0);

  // Pool 3 has no server running: refused, naming the pool a plain rollback would choose.
  world.state.last_switch_reads = 0;
  world.provider.pools[2].servers[0].state = ServerState::dead;
  const auto refused = ops::deploy(world.services, {.label = "3"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::Contains("0/1 servers running"));
  CHECK(world.state.last_switch_reads == 1);
}

// Repair judges a reload by the uptime read with its look at the balancer (HAProxy: in the
// snapshot's own 'show info'), not by a read of its own afterwards.
TEST_CASE("repair judges a reload by the uptime its look read", "[ops][repair][reload]") {
  FakeWorld world;
  routes_to_1_a_minute_after_deploying_2(world);
  world.balancer.uptime_s = std::chrono::seconds(50);  // started after the switch began
  // Read after the look's uptime: an uptime read later than the look would see this one.
  world.balancer.before_read = [](fakes::FakeBalancer& balancer) { balancer.uptime_s = std::chrono::seconds(75); };
  REQUIRE(ops::repair(world.services, {.dry_run = false, .break_lock = false}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

// The last look after a reload that came back routing to the target: the new process's members
// are read, and nothing else (HAProxy: no second 'show info', no read of haproxy.cfg).
TEST_CASE("the last look after a reload reads the instance once and then the members", "[ops][deploy][reload]") {
  FakeWorld world;
  two_pools(world, "1");
  bool removed = false;
  int instance_reads_before_last_look = -1;
  int member_reads_before_last_look = -1;
  world.balancer.after_call = [&removed](FakeBalancer&, const std::string& call) {
    if (call.rfind("remove ", 0) == 0) removed = true;
  };
  world.services.before_switch_step = [&](std::size_t) {
    if (!removed || instance_reads_before_last_look >= 0) return;
    world.balancer.instance_id = "2";  // reloaded, with the switch's membership
    instance_reads_before_last_look = world.balancer.instance_reads;
    member_reads_before_last_look = world.balancer.member_reads;
  };
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(world.balancer.instance_reads - instance_reads_before_last_look == 1);
  CHECK(world.balancer.member_reads - member_reads_before_last_look == 1);
}

// review3 R6: a balancer whose durable copy cannot be written (HAProxy's config_file in a
// directory this user cannot write) refuses a deploy before its first change, but not a
// rollback, the way out of an incident: that goes ahead at runtime only, warned once.
TEST_CASE("a balancer that cannot keep its membership refuses a deploy but a rollback goes ahead, warned",
          "[ops][rollback][durable]") {
  FakeWorld world;
  three_pools(world, "2");
  world.balancer.durable = world.balancer.members().value();
  world.balancer.unpersistable = Error{ErrorKind::invalid,
                                       "balancer.config_file /etc/haproxy/haproxy.cfg cannot be "
                                       "kept current"};

  auto deploy = ops::deploy(world.services, {.label = "3"});
  REQUIRE_FALSE(deploy.ok());
  CHECK(deploy.error().kind == ErrorKind::invalid);
  CHECK_THAT(deploy.error().message, Catch::Contains("cannot be kept current"));
  CHECK(world.balancer.calls.empty());  // refused before its first change
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});

  auto rollback = ops::rollback(world.services, {.reason = "errors"});
  REQUIRE(rollback.ok());
  CHECK(rollback->plan.target == "1");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  // Kept at runtime only: nothing written, a restart would come back with pool 2.
  CHECK(world.balancer.persists == 0);
  REQUIRE(world.balancer.durable);
  REQUIRE(world.balancer.durable->size() == 1);
  CHECK(world.balancer.durable->front().name == "2:1");
  const auto warnings = std::count_if(world.reporter.lines.begin(), world.reporter.lines.end(),
                                      [](const std::string& line) { return line.rfind("warning: ", 0) == 0; });
  CHECK(warnings == 1);
  CHECK(
      world.reporter.saw("cannot be kept current; rolling back at runtime only: a HAProxy reload or restart undoes "
                         "this rollback"));
  CHECK(world.reporter.saw("then run 'deploy-pipeline repair' to keep it"));
  CHECK(world.state.events.back().action == HistoryAction::rollback);
  CHECK(world.state.events.back().result == HistoryResult::succeeded);
  // review5 F2: the result, the last line and the record (what the notification is built from)
  // say so too, not only the warning near the top.
  CHECK(rollback->runtime_only == std::vector<std::string>{"the balancer"});
  CHECK(world.reporter.saw("pool 1 is live at runtime only ("));
  // Its persist step kept nothing, and says so.
  CHECK_FALSE(world.reporter.saw("keep the new membership for restarts"));
  CHECK(world.reporter.saw("not keeping the new membership for restarts (1 member)"));
  CHECK_THAT(world.state.events.back().detail,
             Catch::EndsWith("; at runtime only in the balancer: a reload or restart of it routes to the membership "
                             "it keeps (pool 2) until 'deploy-pipeline repair' writes it"));
  CHECK(rollback->restart_pools == std::vector<std::string>{"2"});
  CHECK_THAT(world.notifier.sent.back().why, Catch::Contains("at runtime only"));
}

// After a rollback switched at runtime only (the balancer's config_file could not be written),
// status's mismatch line guessed "a reload during a switch, or a change by hand" and advised
// repair, which is refused until the file can be written: it names the rollback and the file,
// and says to make the directory writable first. Once it is, 'repair --dry-run' said "nothing to
// do" while repair rewrote the file: the dry run says what repair will write.
TEST_CASE("after a rollback at runtime only, status names why and repair's dry run says what repair writes",
          "[ops][rollback][repair][durable][status]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.make_live("2");
  world.balancer.durable = world.balancer.members().value();
  world.balancer.unpersistable = Error{ErrorKind::invalid, "balancer.config_file haproxy.cfg cannot be kept current"};
  REQUIRE(ops::rollback(world.services, {.reason = "errors"}).ok());
  REQUIRE(world.balancer.admitted() == std::vector<std::string>{"1:1"});

  const auto report = ops::status(world.services);
  REQUIRE(report.ok());
  const auto problems = util::join(report->problems, "\n");
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("the running balancer routes to [1:1] but a restart would route to [2:1] "
                                       "(balancer.config_file cannot be written, so a rollback switches at runtime "
                                       "only; the last switch was a rollback, at " +
                                       util::format_iso8601(world.state.events.back().at) +
                                       "); make the directory of balancer.config_file writable by this user, then run "
                                       "'deploy-pipeline repair' to keep the running membership"));
  CHECK_THAT(problems, !Catch::Contains("change by hand"));

  // The next command is another process: its balancer asks again, and the file is writable now.
  FakeBalancer next;
  next.state = world.balancer.state;
  next.durable = world.balancer.durable;
  world.services.balancers = {{world.config.balancer.name, &next}};
  // Writable now: the difference is still there, and the rollback while it was not is one cause.
  const auto writable = ops::status(world.services);
  REQUIRE(writable.ok());
  CHECK_THAT(util::join(writable->problems, "\n"),
             Catch::Contains("but a restart would route to [2:1] (a rollback while balancer.config_file could not be "
                             "written, a reload during a switch, or a change by hand?); run 'deploy-pipeline repair'"));

  const auto dry = ops::repair(world.services, {.dry_run = true});
  REQUIRE(dry.ok());
  REQUIRE(dry->plan.steps.empty());
  CHECK(dry->plan.restart_routes == std::optional<std::vector<std::string>>{{"2:1"}});
  CHECK(render_plan(dry->plan) ==
        "plan: make pool 1 live (live now: 1)\n  nothing to switch: it is already the only live pool\n  1. keep the "
        "running membership for restarts (a restart would route to 2:1 now)\n");
  CHECK(next.persists == 0);

  const auto repaired = ops::repair(world.services, {});
  REQUIRE(repaired.ok());
  CHECK(next.persists == 1);
  REQUIRE(next.durable);
  CHECK(routed_by_phoenix(*next.durable) == std::vector<std::string>{"1:1"});
  CHECK(world.reporter.saw("kept the running membership for restarts (a restart would have routed to 2:1)"));

  // Kept: the dry run has nothing to do again.
  const auto after = ops::repair(world.services, {.dry_run = true});
  REQUIRE(after.ok());
  CHECK_FALSE(after->plan.restart_routes);
  CHECK_THAT(render_plan(after->plan), Catch::EndsWith("nothing to do: it is already the only live pool\n"));
}

namespace {
// Pools 1 and 2, pool 2 live, and a balancer that cannot keep its membership (HAProxy's
// config_file in a directory this user cannot write).
void cannot_keep_membership(FakeWorld& world) {
  two_pools(world, "2");
  world.balancer.unpersistable = Error{ErrorKind::invalid,
                                       "balancer.config_file /etc/haproxy/haproxy.cfg cannot be "
                                       "kept current"};
}

long warnings_of(const FakeWorld& world) {
  return std::count_if(world.reporter.lines.begin(), world.reporter.lines.end(),
                       [](const std::string& line) { return line.rfind("warning: ", 0) == 0; });
}
}  // namespace

// A rollback that cannot keep its membership warns that it switches at runtime only when it does:
// not when it is refused (it switched nothing), and a dry run says what the real run would do.
TEST_CASE("only a rollback that switches says it rolls back at runtime only; a dry run says it would",
          "[ops][rollback][durable]") {
  SECTION("refused") {
    FakeWorld world;
    cannot_keep_membership(world);
    world.provider.pools[0].meta.verdict = LiveVerdict::bad;
    REQUIRE_FALSE(ops::rollback(world.services, {.to = "1", .reason = "errors"}).ok());
    CHECK(warnings_of(world) == 0);
    CHECK_FALSE(world.reporter.saw("at runtime only"));
  }
  SECTION("a dry run") {
    FakeWorld world;
    cannot_keep_membership(world);
    REQUIRE(ops::rollback(world.services, {.reason = "errors", .dry_run = true}).ok());
    CHECK(warnings_of(world) == 1);
    CHECK(
        world.reporter.saw("cannot be kept current; the real rollback would switch at runtime only: a HAProxy "
                           "reload or restart would undo it until the membership is written"));
    CHECK_FALSE(world.reporter.saw("rolling back at runtime only"));
  }
  SECTION("switched") {
    FakeWorld world;
    cannot_keep_membership(world);
    REQUIRE(ops::rollback(world.services, {.reason = "errors"}).ok());
    CHECK(warnings_of(world) == 1);
    CHECK(
        world.reporter.saw("cannot be kept current; rolling back at runtime only: a HAProxy reload or restart "
                           "undoes this rollback"));
  }
}

// The dry run of a rollback at runtime only planned "keep the new membership for restarts" while
// the real run said it kept nothing: both word the persist step by the balancer's keeping().
TEST_CASE("a rollback at runtime only: its dry run's persist step says what the real run says",
          "[ops][rollback][durable]") {
  FakeWorld world;
  cannot_keep_membership(world);
  const std::string words =
      "not keeping the new membership for restarts (1 member): a reload or restart of the balancer loses it";
  const auto dry = ops::rollback(world.services, {.reason = "errors", .dry_run = true});
  REQUIRE(dry.ok());
  CHECK(dry->plan.keeping == KeepingKind::runtime_only);
  const auto plan = render_plan(dry->plan);
  INFO(plan);
  CHECK_THAT(plan, Catch::Contains(". " + words + "\n"));
  CHECK_THAT(plan, !Catch::Contains("keep the new membership"));
  REQUIRE(ops::rollback(world.services, {.reason = "errors"}).ok());
  CHECK(world.reporter.saw("step: " + words));
}

namespace {
std::vector<std::string> warning_lines(const FakeWorld& world) {
  std::vector<std::string> warnings;
  std::copy_if(world.reporter.lines.begin(), world.reporter.lines.end(), std::back_inserter(warnings),
               [](const std::string& line) { return line.rfind("warning: ", 0) == 0; });
  return warnings;
}
}  // namespace

// A rollback whose target is already the only live pool, while the balancer cannot write its
// membership and would restart with another one, said "nothing to switch" and nothing else, while
// its dry run said it would keep the running membership. Both now say what is true: nothing is
// switched, the running membership is not kept for restarts, and what keeps it.
TEST_CASE("a rollback with nothing to switch that cannot keep the running membership says so, as its dry run does",
          "[ops][rollback][durable]") {
  FakeWorld world;
  cannot_keep_membership(world);
  world.balancer.durable = world.balancer.members().value();  // a restart routes to pool 2
  REQUIRE(ops::rollback(world.services, {.reason = "errors"}).ok());
  REQUIRE(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  // The next command is another process: its balancer cannot write the membership either.
  FakeBalancer next;
  next.state = world.balancer.state;
  next.durable = world.balancer.durable;
  next.unpersistable = world.balancer.unpersistable;
  world.services.balancers = {{world.config.balancer.name, &next}};

  world.reporter.lines.clear();
  const auto dry = ops::rollback(world.services, {.to = "1", .reason = "errors", .dry_run = true});
  REQUIRE(dry.ok());
  CHECK(render_plan(dry->plan) ==
        "plan: make pool 1 live (live now: 1)\n  nothing to switch: it is already the only live pool\n  1. not "
        "keeping the running membership for restarts: a reload or restart of the balancer routes to 2:1\n");
  const auto warned = warning_lines(world);
  CHECK(warned ==
        std::vector<std::string>{
            "warning: balancer.config_file /etc/haproxy/haproxy.cfg cannot be kept current; nothing to switch, and not "
            "keeping the running membership for restarts: a reload or restart of the balancer routes to 2:1 until it "
            "is written; fix balancer.config_file (make its directory writable, or point it at a writable one), then "
            "run 'deploy-pipeline repair' to keep it"});

  world.reporter.lines.clear();
  const auto real = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE(real.ok());
  CHECK(real->plan.steps.empty());
  CHECK(world.reporter.saw("step: pool 1 is the only live pool; nothing to switch"));
  CHECK(warning_lines(world) == warned);  // word for word what its dry run said
  CHECK(real->runtime_only == std::vector<std::string>{"the balancer"});
  CHECK(next.persists == 0);
  CHECK_FALSE(world.reporter.saw("kept the running membership"));

  // Where a restart comes back with what runs, there is nothing to warn of, in either run.
  next.durable = next.members().value();
  for (const bool dry_run : {true, false}) {
    world.reporter.lines.clear();
    const auto same = ops::rollback(world.services, {.to = "1", .reason = "errors", .dry_run = dry_run});
    REQUIRE(same.ok());
    CHECK(warning_lines(world).empty());
    CHECK(same->runtime_only.empty());
  }
}

// A rollback interrupted after it switched (its intent still there) is finished by a re-run with
// nothing to switch. Its history said "at runtime only" whenever the balancer could not write its
// file, even where the file already routes to what runs: only what a restart would not come back
// with is runtime only.
TEST_CASE("a re-run finishing an interrupted rollback says 'at runtime only' only where a restart would differ",
          "[ops][rollback][durable]") {
  for (const bool file_matches : {true, false}) {
    FakeWorld world;
    cannot_keep_membership(world);
    world.balancer.durable = world.balancer.members().value();  // a restart routes to pool 2
    REQUIRE(ops::rollback(world.services, {.reason = "errors"}).ok());
    REQUIRE_FALSE(world.state.intents_written.empty());
    world.state.intent = world.state.intents_written.back();  // as if killed before the intent went
    FakeBalancer next;  // the re-run is another process, its balancer as unwritable
    next.state = world.balancer.state;
    next.durable = file_matches ? world.balancer.members().value() : *world.balancer.durable;
    next.unpersistable = world.balancer.unpersistable;
    world.services.balancers = {{world.config.balancer.name, &next}};

    const auto before = world.state.events.size();
    const auto rerun = ops::rollback(world.services, {.to = "1", .reason = "errors"});
    REQUIRE(rerun.ok());
    REQUIRE(rerun->plan.steps.empty());
    CHECK_FALSE(world.state.intent.has_value());
    REQUIRE(world.state.events.size() == before + 1);  // the interrupted rollback, recorded as done
    const auto& recorded = world.state.events.back();
    CHECK(recorded.label == "1");
    CHECK(recorded.result == HistoryResult::succeeded);
    if (file_matches) {
      CHECK(recorded.detail == "errors");
      CHECK(rerun->runtime_only.empty());
    } else {
      CHECK_THAT(recorded.detail, Catch::StartsWith("errors; at runtime only in the balancer: "));
      CHECK(rerun->runtime_only == std::vector<std::string>{"the balancer"});
    }
  }
}

// A switch that gave up on a balancer that kept changing under it (three plans, each undone)
// stopped half-way and left its intent, but history had no line of it.
TEST_CASE("a switch that gives up on a balancer that keeps changing is recorded as interrupted", "[ops][deploy]") {
  FakeWorld world;
  two_pools(world, "2");
  world.balancer.fail_always["add_standby"] = Error{ErrorKind::unavailable, "HAProxy closed the connection"};
  const auto given_up = ops::deploy(world.services, {"1", false, false, false});
  REQUIRE_FALSE(given_up.ok());
  CHECK_THAT(given_up.error().message, Catch::Contains("the balancer kept changing under it"));
  REQUIRE_FALSE(world.state.events.empty());
  const auto& recorded = world.state.events.back();
  CHECK(recorded.label == "1");
  CHECK(recorded.from == "2");
  CHECK(recorded.result == HistoryResult::interrupted);
  CHECK_THAT(recorded.detail, Catch::Contains("the balancer kept changing under it"));
}

// A balancer that refuses a switch's first change as configured wrong (a backend whose algorithm
// takes no servers at runtime) changed nothing: the switch is not left "interrupted" for a re-run
// that cannot finish it before the configuration is fixed, and history has it as refused. The
// cause leads the error.
TEST_CASE("a switch whose first change is refused as misconfigured leaves no intent and says nothing changed",
          "[ops][deploy]") {
  FakeWorld world;
  two_pools(world, "2");
  const Error algorithm{ErrorKind::invalid, "HAProxy backend 'web' must use a dynamic algorithm"};
  world.balancer.fail_always["add_standby"] = algorithm;
  const auto refused = ops::deploy(world.services, {"1", false, false, false});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK(refused.error().message ==
        "deploy of pool 1: HAProxy backend 'web' must use a dynamic algorithm; the balancer was not changed (2 still "
        "serves); run the same command again once the configuration is fixed");
  CHECK_FALSE(world.state.intent.has_value());
  REQUIRE_FALSE(world.state.events.empty());
  // Refused, as a rollback refused the same way is: nothing changed (not "failed", which a
  // deploy whose pool was taken out again after a health timeout is).
  CHECK(world.state.events.back().action == HistoryAction::deploy);
  CHECK(world.state.events.back().result == HistoryResult::refused);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});

  // Re-running an interrupted switch: its intent holds what the earlier run did, and is put back
  // as it was, not replaced by the refused run's.
  const Intent earlier{.operation = Operation::deploy, .target = "1", .from = {"2"}, .step = 1, .steps = 4};
  world.state.intent = earlier;
  const auto rerun = ops::deploy(world.services, {"1", false, false, false});
  REQUIRE_FALSE(rerun.ok());
  CHECK(rerun.error().kind == ErrorKind::invalid);
  CHECK_THAT(rerun.error().message, Catch::Contains("the balancer was not changed (2 still serves)"));
  REQUIRE(world.state.intent.has_value());
  CHECK(world.state.intent->target == earlier.target);
  CHECK(world.state.intent->from == earlier.from);
  CHECK(world.state.intent->step == earlier.step);
  CHECK(world.state.intent->steps == earlier.steps);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
}

// The commands that finish an interrupted switch (repair, a re-run of an interrupted rollback) replace its intent with
// their own too: refused at their first change, they put it back as it was, so status still names the switch and a
// re-run finishes it.
TEST_CASE("repair and a re-run rollback refused at their first change put the interrupted switch's intent back",
          "[ops][repair][rollback]") {
  const Error algorithm{ErrorKind::invalid, "HAProxy backend 'web' must use a dynamic algorithm"};
  const auto check_put_back = [](FakeWorld& world, const Result<ops::SwitchResult>& refused, const Intent& earlier) {
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK_THAT(refused.error().message, Catch::Contains("the balancer was not changed (2 still serves)"));
    REQUIRE(world.state.intent.has_value());
    CHECK(world.state.intent->operation == earlier.operation);
    CHECK(world.state.intent->target == earlier.target);
    CHECK(world.state.intent->from == earlier.from);
    CHECK(world.state.intent->step == earlier.step);
    CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  };
  SECTION("repair finishing it") {
    FakeWorld world;
    three_pools(world, "2");
    const Intent earlier{.operation = Operation::deploy, .target = "3", .from = {"2"}, .step = 0, .steps = 7};
    world.state.intent = earlier;
    world.balancer.fail_always["add_standby"] = algorithm;
    check_put_back(world, ops::repair(world.services, {}), earlier);
  }
  SECTION("after a reload emptied the backend, the refusal says nothing is live") {
    FakeWorld world;
    three_pools(world, "2");
    world.balancer.state.clear();
    world.state.intent = Intent{.operation = Operation::deploy, .target = "3", .from = {"2"}, .step = 5, .steps = 7};
    world.balancer.fail_always["add_standby"] = algorithm;
    const auto refused = ops::repair(world.services, {});
    REQUIRE_FALSE(refused.ok());
    CHECK_THAT(refused.error().message, Catch::Contains("the balancer was not changed (nothing is live)"));
    CHECK(world.state.intent.has_value());
  }
  SECTION("a re-run of an interrupted rollback") {
    FakeWorld world;
    three_pools(world, "2");
    const Intent earlier{
        .operation = Operation::rollback, .target = "1", .from = {"2"}, .reason = "errors", .step = 0, .steps = 5};
    world.state.intent = earlier;
    world.balancer.fail_always["add_standby"] = algorithm;
    check_put_back(world, ops::rollback(world.services, {.reason = "errors"}), earlier);
  }
}

// The same for a rollback that finds an interrupted switch pending: the pool it marked bad gets
// its verdict back, and the interrupted switch's intent is put back, for the command that
// finishes it once the configuration is fixed.
TEST_CASE("a rollback refused at its first change while a switch is pending puts back the verdicts and the intent",
          "[ops][rollback][verdicts]") {
  FakeWorld world;
  three_pools(world, "3");
  const PoolMetadata before = world.provider.pools[2].meta;
  const Intent earlier{.operation = Operation::deploy, .target = "3", .from = {"2"}, .step = 6, .steps = 7};
  world.state.intent = earlier;
  world.balancer.fail_always["add_standby"] =
      Error{ErrorKind::invalid, "HAProxy backend 'web' must use a dynamic algorithm"};
  const auto refused = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK_THAT(refused.error().message, Catch::Contains("the balancer was not changed (3 still serves)"));
  CHECK(world.reporter.saw("pool 3 is no longer marked bad: the rollback changed nothing"));
  CHECK(world.provider.pools[2].meta.verdict == before.verdict);
  REQUIRE(world.state.intent.has_value());
  CHECK(world.state.intent->operation == Operation::deploy);
  CHECK(world.state.intent->target == "3");
  CHECK(world.state.intent->step == 6);
  REQUIRE_FALSE(world.state.events.empty());
  CHECK(world.state.events.back().result == HistoryResult::refused);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"3:1"});
}

// A rollback marks the pool it leaves bad before it switches (a switch cut short after its first
// change leaves it marked for repair). One whose first change the balancer refuses as configured
// wrong changed nothing: the verdict it gave is taken back, exactly as it was, and history has it as
// refused, which marks nothing (verdict_history). A pool marked bad before keeps its mark.
TEST_CASE("a rollback whose first change the balancer refuses as misconfigured leaves every verdict as it was",
          "[ops][rollback][verdicts]") {
  FakeWorld world;
  three_pools(world, "3");
  world.provider.pools[2].meta.verdict = LiveVerdict::good;
  world.provider.pools[2].meta.verdict_reason = "served until pool 4 replaced it";
  world.provider.pools[2].meta.verdict_by = "ops-b";
  world.provider.pools[2].meta.verdict_at = world.clock.wall_now() - std::chrono::hours(1);
  const PoolMetadata before = world.provider.pools[2].meta;
  world.balancer.fail_always["add_standby"] =
      Error{ErrorKind::invalid, "HAProxy backend 'web' must use a dynamic algorithm"};
  const auto refused = ops::rollback(world.services, {.to = "2", .reason = "errors"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK(refused.error().message ==
        "rollback of pool 2: HAProxy backend 'web' must use a dynamic algorithm; the balancer was not changed (3 "
        "still serves); run the same command again once the configuration is fixed");
  CHECK(world.reporter.saw("marked pool 3 bad: errors"));
  CHECK(world.reporter.saw("pool 3 is no longer marked bad: the rollback changed nothing"));
  const auto& after = world.provider.pools[2].meta;
  CHECK(after.verdict == before.verdict);
  CHECK(after.verdict_reason == before.verdict_reason);
  CHECK(after.verdict_by == before.verdict_by);
  CHECK(after.verdict_at == before.verdict_at);
  CHECK_FALSE(world.state.intent.has_value());
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events[0].action == HistoryAction::rollback);
  CHECK(world.state.events[0].result == HistoryResult::refused);
  CHECK_FALSE(bad_mark_of(world.state.events, "3").has_value());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"3:1"});

  // A pool marked bad before this rollback keeps its mark and its reason.
  world.provider.pools[2].meta.verdict = LiveVerdict::bad;
  world.provider.pools[2].meta.verdict_reason = "automatic: 5xx ratio 0.10";
  REQUIRE_FALSE(ops::rollback(world.services, {.to = "2", .reason = "again"}).ok());
  CHECK(world.provider.pools[2].meta.verdict == LiveVerdict::bad);
  CHECK(world.provider.pools[2].meta.verdict_reason == "automatic: 5xx ratio 0.10");
}

// A rollback to a hot standby keeps the new membership for restarts before it admits the pool. When
// the balancer refuses that admission as configured wrong, the running balancer did not change:
// the membership kept for restarts is taken back to the one running, so a reload does not make the
// refused rollback, and the rollback changes nothing, as above.
TEST_CASE("a rollback to a hot standby refused at its admission takes back the membership kept for restarts",
          "[ops][rollback][verdicts][hot]") {
  FakeWorld world;
  world.config.retention_hot = 1;
  two_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {"2", false, false, false}).ok());  // pool 1 stays on standby
  REQUIRE(world.balancer.durable.has_value());
  REQUIRE(routed_by_phoenix(*world.balancer.durable) == std::vector<std::string>{"2:1"});
  const auto events = world.state.events.size();
  world.balancer.calls.clear();
  world.balancer.fail_always["admit"] = Error{ErrorKind::invalid, "HAProxy backend 'web' must use a dynamic algorithm"};
  const auto refused = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK_THAT(refused.error().message, Catch::Contains("the balancer was not changed (2 still serves)"));
  CHECK(world.balancer.calls == std::vector<std::string>{"persist 1:1", "admit 1:1", "persist 1:1,2:1"});
  CHECK(routed_by_phoenix(*world.balancer.durable) == std::vector<std::string>{"2:1"});
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
  CHECK_FALSE(world.state.intent.has_value());
  REQUIRE(world.state.events.size() == events + 1);
  CHECK(world.state.events.back().result == HistoryResult::refused);
}

// The same when the standby member's latest check has not passed yet: the rollback waits for its
// health before it keeps the membership and is refused at the admission; a wait changes nothing
// either (under load in the end-to-end test, the rollback took this path and was left half done).
TEST_CASE("a rollback that waited for its target's health and was refused at its admission changed nothing",
          "[ops][rollback][verdicts][hot]") {
  FakeWorld world;
  world.config.retention_hot = 1;
  two_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {"2", false, false, false}).ok());  // pool 1 stays on standby
  int reads = 0;
  world.balancer.before_read = [&reads](FakeBalancer& balancer) {
    if (++reads == 1) balancer.unhealthy_addresses.insert(balancer.state["1:1"].address);
    if (reads == 2) balancer.unhealthy_addresses.clear();
  };
  world.balancer.calls.clear();
  world.balancer.fail_always["admit"] = Error{ErrorKind::invalid, "HAProxy backend 'web' must use a dynamic algorithm"};
  const auto refused = ops::rollback(world.services, {.to = "1", .reason = "errors", .force = true});
  REQUIRE_FALSE(refused.ok());
  INFO(refused.error().message);
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK(world.reporter.saw("wait until the balancer reports 1 member healthy: 1:1"));
  CHECK_THAT(refused.error().message, Catch::Contains("the balancer was not changed (2 still serves)"));
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(routed_by_phoenix(*world.balancer.durable) == std::vector<std::string>{"2:1"});
  CHECK(world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
  CHECK_FALSE(world.state.intent.has_value());
}

// A balancer whose look says it cannot take a switch's changes (HAProxy: a backend whose algorithm
// takes no servers at runtime) refuses the rollback and its dry run before anything is marked,
// written or recorded.
TEST_CASE("a rollback whose look the balancer refuses as misconfigured marks and records nothing",
          "[ops][rollback][verdicts]") {
  FakeWorld world;
  three_pools(world, "3");
  const Error algorithm{ErrorKind::invalid, "HAProxy backend 'web' uses the static algorithm static-rr"};
  for (const bool dry_run : {true, false}) {
    INFO(dry_run);
    world.balancer.fail_next["snapshot"] = algorithm;
    const auto refused = ops::rollback(world.services, {.to = "2", .reason = "errors", .dry_run = dry_run});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK(refused.error().message == algorithm.message);
  }
  CHECK(world.provider.pools[2].meta.verdict == LiveVerdict::unknown);
  CHECK(world.provider.calls.empty());
  CHECK(world.state.events.empty());
  CHECK(world.state.intents_written.empty());
  CHECK(world.balancer.calls.empty());
}

// Every rollback that switches at runtime only warns: a second one in the same process too (the
// reason was per-command state the first one used up).
TEST_CASE("a second rollback at runtime only in the same process warns again", "[ops][rollback][durable]") {
  FakeWorld world;
  three_pools(world, "3");
  world.balancer.unpersistable = Error{ErrorKind::invalid, "balancer.config_file haproxy.cfg cannot be kept current"};
  REQUIRE(ops::rollback(world.services, {.to = "2", .reason = "errors"}).ok());
  REQUIRE(warning_lines(world).size() == 1);
  world.reporter.lines.clear();
  const auto again = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE(again.ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(warning_lines(world) ==
        std::vector<std::string>{"warning: balancer.config_file haproxy.cfg cannot be kept current; rolling back at "
                                 "runtime only: a HAProxy reload or restart undoes this rollback until the membership "
                                 "is written; fix balancer.config_file (make its directory writable, or point it at a "
                                 "writable one), then run 'deploy-pipeline repair' to keep it ('deploy-pipeline "
                                 "status' reports it until then)"});
  CHECK(again->runtime_only == std::vector<std::string>{"the balancer"});
}

namespace {
// Pools 1, 2 and 3 (3 the newest), one server each, 3 live; a rollback to 2 that stopped after
// it drained 3 (its remove failed): only 2 is routed, and 3, which it left, is marked bad.
void rollback_stopped_after_drain(FakeWorld& world) {
  three_pools(world, "3");
  world.balancer.fail_next["remove"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::rollback(world.services, {.reason = "3 is broken"}).ok());
  REQUIRE(world.state.intent.has_value());
  REQUIRE(world.state.intent->target == "2");
  REQUIRE(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  REQUIRE(world.provider.pools[2].meta.verdict == LiveVerdict::bad);
}
}  // namespace

// advice2 #1: the refusal of an interrupted rollback whose target was marked bad since, stopped
// after its drain, offered 'repair --revert' back to pool 3, the pool the rollback fled and
// marked bad, although pool 1 was known-good: with 3 drained, nothing but the target was live
// for the rollback's choice. It chooses from the pool the rollback left.
TEST_CASE("an interrupted rollback past its drain whose target was marked bad names the pool a rollback chooses",
          "[ops][rollback][crash][verdicts]") {
  FakeWorld world;
  rollback_stopped_after_drain(world);
  world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  world.provider.pools[1].meta.verdict_reason = "2 has the bug too";
  const auto calls = world.balancer.calls.size();
  for (const bool dry_run : {true, false}) {
    const auto again = ops::rollback(world.services, {.reason = "errors", .dry_run = dry_run});
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == ErrorKind::refused);
    CHECK_THAT(again.error().message, Catch::Contains("the interrupted rollback to pool 2 is not finished"));
    CHECK_THAT(again.error().message,
               Catch::EndsWith("; 'deploy-pipeline rollback --to 1' rolls back to pool 1 instead"));
    CHECK_THAT(again.error().message, !Catch::Contains("repair --revert"));
  }
  CHECK(world.balancer.calls.size() == calls);
  // The way it names works.
  REQUIRE(ops::rollback(world.services, {.to = "1", .reason = "errors"}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
}

// With no known-good pool to go to, the revert is the only way on left: named with --force and
// the mark of the pool it returns to, never as the fix.
TEST_CASE("with no pool to roll back to instead, the refusal names the revert with --force and its pool's mark",
          "[ops][rollback][crash][verdicts]") {
  FakeWorld world;
  rollback_stopped_after_drain(world);
  world.provider.pools[0].meta.verdict = LiveVerdict::bad;  // 1 too
  world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  const auto again = ops::rollback(world.services, {.reason = "errors"});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::refused);
  CHECK_THAT(again.error().message,
             Catch::Contains("finishes it anyway; no known-good pool can take over instead; 'deploy-pipeline repair "
                             "--revert --force' would return to pool 3, live before it, which is marked bad by ops-a"));
  CHECK_THAT(again.error().message, Catch::EndsWith(": 3 is broken"));
}

// advice2 #1: repair --revert to a pool marked bad is refused without --force (exit 3, nothing
// changed; its dry run too), as 'rollback --to' of it is, naming the way on instead.
TEST_CASE("repair --revert to a pool marked bad is refused without --force, as rollback --to is",
          "[ops][repair][crash][verdicts]") {
  FakeWorld world;
  rollback_stopped_after_drain(world);
  const auto calls = world.balancer.calls.size();
  for (const bool dry_run : {true, false}) {
    const auto reverted = ops::repair(world.services, {.dry_run = dry_run, .revert = true});
    REQUIRE_FALSE(reverted.ok());
    CHECK(reverted.error().kind == ErrorKind::refused);
    CHECK_THAT(reverted.error().message,
               Catch::StartsWith("'repair --revert' would return to pool 3, live before the interrupted rollback to "
                                 "pool 2, but pool 3 is marked bad by ops-a"));
    CHECK_THAT(reverted.error().message,
               Catch::EndsWith(": 3 is broken; nothing was changed. 'deploy-pipeline repair' finishes the rollback to "
                               "pool 2 instead, or 'deploy-pipeline repair --revert --force' returns to it anyway"));
  }
  // Its target marked bad too: the pool a plain rollback would choose is the way on.
  world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  const auto both = ops::repair(world.services, {.revert = true});
  REQUIRE_FALSE(both.ok());
  CHECK(both.error().kind == ErrorKind::refused);
  CHECK_THAT(both.error().message, Catch::Contains("'deploy-pipeline rollback --to 1' rolls back to pool 1 instead, "
                                                   "or 'deploy-pipeline repair --revert --force' returns to it "
                                                   "anyway"));
  CHECK(world.balancer.calls.size() == calls);
  CHECK(world.state.intent.has_value());

  REQUIRE(ops::repair(world.services, {.revert = true, .force = true}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"3:1"});
  CHECK_FALSE(world.state.intent.has_value());
}

namespace {
// The rollback of rollback_stopped_after_drain as a kill -9 leaves it: its lock behind, stale.
void leave_stale_lock(FakeWorld& world) {
  world.state.lock =
      LockHolder{.host = "agent-7", .pid = 4242, .job = "", .command = "rollback", .since = world.clock.wall_now()};
  world.state.holder_gone = true;
}
}  // namespace

// review4 F2: a dry run takes no lock, so while the lock is stale the commands its refusal of an
// interrupted switch names are refused too ("the deploy lock is stale") unless they carry
// --break-lock, as status names them. A real run that is refused releases the lock it took over:
// its advice needs no --break-lock.
TEST_CASE("while the lock is stale, a dry run's refusal of an interrupted switch names its commands with --break-lock",
          "[ops][repair][rollback][crash][lock]") {
  FakeWorld world;
  rollback_stopped_after_drain(world);
  leave_stale_lock(world);
  const auto calls = world.balancer.calls.size();
  const int acquisitions = world.state.lock_acquisitions;

  const auto revert = ops::repair(world.services, {.dry_run = true, .break_lock = true, .revert = true});
  REQUIRE_FALSE(revert.ok());
  CHECK(revert.error().kind == ErrorKind::refused);
  CHECK_THAT(revert.error().message,
             Catch::EndsWith("; nothing was changed. 'deploy-pipeline repair --break-lock' finishes the rollback to "
                             "pool 2 instead, or 'deploy-pipeline repair --revert --force --break-lock' returns to it "
                             "anyway"));

  world.provider.pools[1].meta.verdict = LiveVerdict::bad;  // its target too
  for (const auto& again : {ops::rollback(world.services, {.reason = "errors", .dry_run = true, .break_lock = true}),
                            ops::repair(world.services, {.dry_run = true, .break_lock = true})}) {
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().kind == ErrorKind::refused);
    CHECK_THAT(again.error().message,
               Catch::Contains("'deploy-pipeline rollback --to 2 --force --break-lock' or 'deploy-pipeline repair "
                               "--force --break-lock' finishes it anyway; 'deploy-pipeline rollback --to 1 "
                               "--break-lock' rolls back to pool 1 instead"));
  }
  const auto both = ops::repair(world.services, {.dry_run = true, .break_lock = true, .revert = true});
  REQUIRE_FALSE(both.ok());
  CHECK_THAT(both.error().message,
             Catch::EndsWith("'deploy-pipeline rollback --to 1 --break-lock' rolls back to pool 1 instead, or "
                             "'deploy-pipeline repair --revert --force --break-lock' returns to it anyway"));
  // A record that cannot be read is stale too.
  world.state.lock_record_unreadable = true;
  const auto unreadable = ops::rollback(world.services, {.reason = "errors", .dry_run = true, .break_lock = true});
  REQUIRE_FALSE(unreadable.ok());
  CHECK_THAT(unreadable.error().message, Catch::Contains("'deploy-pipeline rollback --to 1 --break-lock' rolls back"));
  world.state.lock_record_unreadable = false;
  CHECK(world.state.lock_acquisitions == acquisitions);
  CHECK(world.state.lock->pid == 4242);
  CHECK(world.balancer.calls.size() == calls);

  // The real run takes the lock over, is refused and releases it: its advice has no --break-lock.
  const auto real = ops::rollback(world.services, {.reason = "errors", .break_lock = true});
  REQUIRE_FALSE(real.ok());
  CHECK(real.error().kind == ErrorKind::refused);
  CHECK_THAT(real.error().message, Catch::Contains("'deploy-pipeline rollback --to 1' rolls back to pool 1 instead"));
  CHECK_THAT(real.error().message, !Catch::Contains("--break-lock"));
  CHECK_FALSE(world.state.lock.has_value());
  // With the lock free, --break-lock on a dry run adds nothing to the commands it names.
  const auto unlocked = ops::repair(world.services, {.dry_run = true, .break_lock = true, .revert = true});
  REQUIRE_FALSE(unlocked.ok());
  CHECK_THAT(unlocked.error().message, !Catch::Contains("--break-lock"));
  // The way the dry run named, pasted while the lock was still stale, works.
  leave_stale_lock(world);
  REQUIRE(ops::rollback(world.services, {.to = "1", .reason = "errors", .break_lock = true}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
}

// With no one pool to return to, the refusal of a revert names repair and a deploy: with
// --break-lock after a dry run past a stale lock, without after the real run.
TEST_CASE("while the lock is stale, a dry run's revert with no one pool to return to names --break-lock",
          "[ops][repair][crash][lock]") {
  FakeWorld world;
  three_pools(world, "1");
  world.state.intent = Intent{.operation = Operation::deploy,
                              .target = "2",
                              .from = {"1", "3"},
                              .by = {.host = "agent-7", .pid = 4242},
                              .started_at = world.clock.wall_now(),
                              .steps = 4};
  leave_stale_lock(world);
  const auto dry = ops::repair(world.services, {.dry_run = true, .break_lock = true, .revert = true});
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.error().kind == ErrorKind::invalid);
  CHECK_THAT(dry.error().message,
             Catch::EndsWith("so there is no one pool to return to; 'deploy-pipeline repair --break-lock' finishes "
                             "it, or deploy the pool you want with 'deploy-pipeline deploy --label L --break-lock'"));
  const auto real = ops::repair(world.services, {.break_lock = true, .revert = true});
  REQUIRE_FALSE(real.ok());
  CHECK_THAT(real.error().message, !Catch::Contains("--break-lock"));
  CHECK_FALSE(world.state.lock.has_value());
}

// The same for a deploy's re-run: its dry run names the re-run, repair and the revert with
// --break-lock while the lock is stale.
TEST_CASE("while the lock is stale, a deploy dry run's refusal of its interrupted re-run names --break-lock",
          "[ops][deploy][crash][lock]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("1");
  world.balancer.fail_next["remove"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "2"}).ok());
  REQUIRE(world.state.intent.has_value());
  world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  leave_stale_lock(world);
  const auto dry = ops::deploy(world.services, {.label = "2", .dry_run = true, .break_lock = true});
  REQUIRE_FALSE(dry.ok());
  CHECK(dry.error().kind == ErrorKind::refused);
  CHECK_THAT(dry.error().message,
             Catch::EndsWith("'deploy-pipeline deploy --label 2 --force --break-lock' or 'deploy-pipeline repair "
                             "--force --break-lock' finishes it anyway; 'deploy-pipeline repair --revert --break-lock' "
                             "returns to pool 1, live before it instead"));
  CHECK(world.state.lock->pid == 4242);
}

// A switch stopped half-way names the revert as repair --revert will take it: with --force where
// the pool it returns to is marked bad (a rollback marks the pool it leaves before it switches).
TEST_CASE("a rollback stopped half-way names repair --revert with --force back to the pool it marked bad",
          "[ops][rollback][crash][verdicts]") {
  FakeWorld world;
  two_pools(world, "2");
  world.services.stop_requested = [&] { return world.balancer.admitted().size() == 2; };
  const auto stopped = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE_FALSE(stopped.ok());
  INFO(stopped.error().message);
  // Who marked it and when, from the pool's record: the rollback's history event is not written yet.
  CHECK_THAT(
      stopped.error().message,
      Catch::Contains("'deploy-pipeline repair --revert --force' returns to pool 2, which is marked bad by ops-a "
                      "at 2026-11-18T11:06:40Z: errors"));
}

// advice2 #2: a rollback after a deploy killed before it routed to its pool kept that deploy's
// members on standby as the hot standby, a pool that never served. A switch that abandons an
// interrupted one takes its target's members out, as repair --revert does.
TEST_CASE("a rollback after an interrupted deploy takes the deploy's members out instead of keeping them hot",
          "[ops][rollback][hot][crash]") {
  FakeWorld world;
  world.config.retention_hot = 1;
  three_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());  // 1 stays hot
  world.balancer.fail_next["admit"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "3"}).ok());  // 3 added on standby only
  REQUIRE(world.state.intent.has_value());
  REQUIRE(world.balancer.state.count("3:1") == 1);

  const auto dry = ops::rollback(world.services, {.reason = "2 is broken", .dry_run = true});
  REQUIRE(dry.ok());
  CHECK(dry->plan.hot.empty());
  const auto back = ops::rollback(world.services, {.reason = "2 is broken"});
  REQUIRE(back.ok());
  CHECK(back->plan.target == "1");
  CHECK(back->plan.hot.empty());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(world.balancer.state.count("3:1") == 0);
  CHECK(world.balancer.state.count("2:1") == 0);  // marked bad: never hot
  CHECK_FALSE(world.state.intent.has_value());
}

// The same for a deploy of another pool with room for two hot pools: the pool it replaced stays
// hot, the interrupted deploy's pool does not.
TEST_CASE("a deploy of another pool after an interrupted deploy keeps only pools that served hot",
          "[ops][deploy][hot][crash]") {
  FakeWorld world;
  world.config.retention_hot = 2;
  world.provider.add_pool("1", 1, 40);
  world.provider.add_pool("2", 1, 30);
  world.provider.add_pool("3", 1, 20);
  world.provider.add_pool("4", 1, 10);
  world.make_live("1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());  // 1 hot
  world.balancer.fail_next["admit"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "3"}).ok());
  REQUIRE(world.balancer.state.count("3:1") == 1);

  const auto deployed = ops::deploy(world.services, {.label = "4"});
  REQUIRE(deployed.ok());
  CHECK(deployed->plan.hot == std::vector<std::string>{"1", "2"});
  CHECK(world.balancer.state.count("3:1") == 0);
}

// review4 F1: a pool that served (history has a successful switch to it or from it) is a hot
// standby like any other when the switch that abandons an interrupted one to it plans: here the
// older hot standby, the target of a deploy stopped before it routed, stays on standby.
TEST_CASE("a rollback after an interrupted deploy to a hot standby that served keeps that standby hot",
          "[ops][rollback][hot][crash]") {
  FakeWorld world;
  world.config.retention_hot = 2;
  three_pools(world, "1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());  // 1 hot
  REQUIRE(ops::deploy(world.services, {.label = "3"}).ok());  // 1 and 2 hot
  world.balancer.fail_next["admit"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "1"}).ok());  // back to 1, stopped before it routed
  REQUIRE(world.state.intent.has_value());

  const auto dry = ops::rollback(world.services, {.reason = "3 is broken", .dry_run = true});
  REQUIRE(dry.ok());
  CHECK(dry->plan.hot == std::vector<std::string>{"1"});
  const auto back = ops::rollback(world.services, {.reason = "3 is broken"});
  REQUIRE(back.ok());
  CHECK(back->plan.target == "2");
  CHECK(back->plan.hot == std::vector<std::string>{"1"});
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(world.balancer.state.count("1:1") == 1);  // still on standby
  CHECK(world.balancer.state.count("3:1") == 0);  // marked bad: never hot
}

// The same for a rollback: the pool it returns to is the one the rollback marked bad, so the
// revert it names carries --force and says so.
TEST_CASE("a stop during a rollback's revert after a health timeout names repair --revert with --force",
          "[ops][rollback][interrupt][verdicts]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 2, 10);
  world.make_live("2");
  world.balancer.unhealthy_addresses = {"10.0.1.2:8080"};
  world.services.stop_requested = [&world] { return world.reporter.saw("taking pool 1 out again"); };
  const auto result = ops::rollback(world.services, {.to = "1", .reason = "errors"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::interrupted));
  CHECK_THAT(result.error().message,
             Catch::EndsWith("'deploy-pipeline repair --revert --force' finishes it (pool 2 serves alone again; it is "
                             "marked bad by ops-a at 2026-11-18T11:06:40Z: errors)"));
  world.services.stop_requested = nullptr;
  REQUIRE_FALSE(ops::repair(world.services, {.revert = true}).ok());
  REQUIRE(ops::repair(world.services, {.revert = true, .force = true}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
}

// R14: 'rollback --to' a pool marked bad said "pool 2 is marked bad (reason)", without who marked
// it and when, which the deploy of the same pool names.
TEST_CASE("rollback --to a pool marked bad is refused naming who marked it and when", "[ops][rollback][verdicts]") {
  FakeWorld world;
  two_pools(world, "1");
  REQUIRE(ops::set_verdict(world.services, {.label = "2", .verdict = LiveVerdict::bad, .reason = "leaks memory"}).ok());
  const auto marked_at = util::format_iso8601(world.state.events.back().at);
  world.balancer.calls.clear();
  const auto refused = ops::rollback(world.services, {.to = "2"});
  REQUIRE_FALSE(refused.ok());
  INFO(refused.error().message);
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK(refused.error().message == "pool 2 is marked bad by " + world.services.identity.user + " (job " +
                                       world.services.identity.job + ") at " + marked_at +
                                       ": leaks memory; roll back to another pool, or to this one anyway with "
                                       "--force, or clear the mark first with 'deploy-pipeline mark-good --label 2'");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
}
