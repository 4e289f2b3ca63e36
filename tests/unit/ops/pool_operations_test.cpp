#include "shared/ops/pool_operations.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "fakes/fake_services.hpp"
#include "shared/core/render.hpp"
#include "shared/ops/status_operations.hpp"
#include "shared/ops/switch_operations.hpp"
#include "shared/util/json.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

TEST_CASE("create records the CI revision and trigger user on the pool", "[ops][create]") {
  FakeWorld world;
  auto created = ops::create_pool(world.services, {.label = "42"});
  REQUIRE(created.ok());
  CHECK_FALSE(created->already_existed);
  CHECK(world.provider.calls == std::vector<std::string>{"create_pool 42 2"});
  CHECK(created->pool.meta.revision == "abc123");
  CHECK(created->pool.meta.triggered_by == "ops-a");
  CHECK(created->pool.meta.smoke == SmokeVerdict::pending);
}

TEST_CASE("creating an existing pool of the same revision changes nothing: pools are immutable", "[ops][create]") {
  FakeWorld world;
  world.provider.add_pool("42", 3, 5).meta.revision = "abc123";
  auto created = ops::create_pool(world.services, {.label = "42", .size = 5});
  REQUIRE(created.ok());
  CHECK(created->already_existed);
  CHECK(created->pool.servers.size() == 3);
  CHECK(world.provider.calls.empty());
  // The size asked for is not dropped silently: the pool keeps its own, and a warning says so.
  CHECK(
      world.reporter.saw("warning: pool 42 has 3 servers, not the 5 asked for: pools are immutable, so it is kept "
                         "as it is; a pool of another size needs a new label"));
  world.reporter.lines.clear();
  REQUIRE(ops::create_pool(world.services, {.label = "42", .size = 3}).ok());
  CHECK_FALSE(world.reporter.saw("warning:"));
}

TEST_CASE("a label that exists with another revision, or none recorded, is refused untouched", "[ops][create]") {
  FakeWorld world;
  world.provider.add_pool("7", 2, 5).meta.revision = "0ld0ld";
  auto refused = ops::create_pool(world.services, {.label = "7"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::Contains("pool 7 exists with revision 0ld0ld"));
  CHECK_THAT(refused.error().message, Catch::Contains("this run builds revision abc123"));
  CHECK(world.provider.calls.empty());

  world.provider.add_pool("8", 2, 5);  // made by hand, no revision recorded
  auto unknown = ops::create_pool(world.services, {.label = "8"});
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message, Catch::Contains("exists with no recorded revision"));
  CHECK_THAT(unknown.error().message, Catch::Contains("'create-pipeline smoke-test --label 8' tests it again"));
  CHECK_THAT(unknown.error().message, Catch::Contains("'create-pipeline delete --label 8', then this command"));
  Pool& unfinished = world.provider.add_pool("10", 2, 5);  // interrupted by hand: no revision, not complete
  unfinished.complete = false;
  auto stuck = ops::create_pool(world.services, {.label = "10"});
  REQUIRE_FALSE(stuck.ok());
  CHECK_THAT(stuck.error().message, Catch::Contains("nothing was changed. 'create-pipeline delete --label 10', then"));
  CHECK_THAT(stuck.error().message, Catch::Contains("then this command with --revision builds it anew"));
  CHECK(world.provider.calls.empty());

  // --revision states it by hand; the same revision resumes an interrupted creation.
  Pool& half = world.provider.add_pool("9", 2, 5);
  half.meta.revision = "f00";
  half.complete = false;
  auto resumed = ops::create_pool(world.services, {.label = "9", .revision = "f00"});
  REQUIRE(resumed.ok());
  CHECK(world.provider.calls == std::vector<std::string>{"create_pool 9 2"});
}

TEST_CASE("rebuild creates the same release and revision on fresh servers, labelled L.rN", "[ops][rebuild]") {
  FakeWorld world;
  Pool& original = world.provider.add_pool("41", 3, 60);
  original.meta.revision = "4141";
  world.provider.add_pool("41.r1", 3, 30).meta.revision = "4141";
  CHECK(ops::next_rebuild_label("41", world.provider.pools) == "41.r2");
  CHECK(ops::next_rebuild_label("41.r1", world.provider.pools) == "41.r2");
  CHECK(ops::next_rebuild_label("7", world.provider.pools) == "7.r1");

  auto rebuilt = ops::rebuild_pool(world.services, {.from = "41"});
  REQUIRE(rebuilt.ok());
  CHECK(rebuilt->pool.label() == "41.r2");
  CHECK(rebuilt->pool.meta.revision == "4141");  // the release's, not this run's (abc123)
  CHECK(rebuilt->pool.meta.rebuild_of == "41");
  CHECK(rebuilt->pool.servers.size() == 3);
  CHECK(world.balancer.calls.empty());
  CHECK(ops::rebuild_pool(world.services, {.from = "40"}).error().kind == ErrorKind::invalid);
}

TEST_CASE("rebuild of a release marked bad or that failed its smoke test needs --force, and says so",
          "[ops][rebuild]") {
  FakeWorld world;
  Pool& bad = world.provider.add_pool("42", 2, 60);
  bad.meta.verdict = LiveVerdict::bad;
  bad.meta.verdict_reason = "checkout errors";
  world.provider.add_pool("43", 2, 50, SmokeVerdict::failed);

  const auto refused = ops::rebuild_pool(world.services, {.from = "42"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::StartsWith("pool 42 is marked bad (checkout errors): "));
  CHECK_THAT(refused.error().message, Catch::Contains("--force"));
  CHECK(find_pool(world.provider.pools, "42.r1") == nullptr);
  CHECK_THAT(ops::rebuild_pool(world.services, {.from = "43"}).error().message,
             Catch::StartsWith("pool 43 failed its smoke test: "));

  auto forced = ops::rebuild_pool(world.services, {.from = "42", .force = true});
  REQUIRE(forced.ok());
  CHECK(forced->pool.meta.rebuild_of == "42");
  CHECK(forced->pool.meta.rebuild_source == RebuildSource::marked_bad);
  // A rebuild of that rebuild carries the mark along (and is refused without --force).
  const auto again = ops::rebuild_pool(world.services, {.from = forced->pool.label()});
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message, Catch::Contains("is a rebuild of pool 42 (marked bad)"));
}

TEST_CASE("smoke-test records the verdict on the pool", "[ops][smoke]") {
  FakeWorld world;
  world.provider.add_pool("42", 2, 5, SmokeVerdict::pending);
  auto report = ops::smoke_test(world.services, "42");
  REQUIRE(report.ok());
  CHECK(report->passed());
  CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::passed);

  world.http_handler = [](const HttpRequest&) -> Result<HttpResponse> { return http_answer(500, "boom"); };
  report = ops::smoke_test(world.services, "42");
  REQUIRE(report.ok());
  CHECK_FALSE(report->passed());
  CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::failed);
  CHECK(ops::smoke_test(world.services, "nope").error().kind == ErrorKind::invalid);
}

// SIGINT, SIGTERM or SIGHUP during a smoke test (a cancelled CI job): no further round of checks,
// and no verdict recorded from checks cut short, not even from checks that all passed.
TEST_CASE("a stop asked for during the smoke test ends the checks and records no verdict", "[ops][smoke][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("42", 2, 5, SmokeVerdict::pending);
  world.http_handler = [](const HttpRequest&) -> Result<HttpResponse> { return http_answer(503, "starting"); };
  world.services.stop_requested = [&world] { return !world.http.batches.empty(); };
  auto stopped = ops::smoke_test(world.services, "42");
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_THAT(stopped.error().message, Catch::StartsWith("stopped by "));
  CHECK_THAT(stopped.error().message,
             Catch::EndsWith("during the smoke test of pool 42 (2 of 2 checked, 0 passing); its smoke verdict "
                             "stays 'pending'"));
  CHECK(world.http.batches.size() == 1);  // no retry after the stop
  CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::pending);

  world.http_handler = nullptr;  // every check passes now
  stopped = ops::smoke_test(world.services, "42");
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::pending);  // never "passed"
}

// The stop's line says how far the checks got: only checks answered count as checked, and only
// those whose answer passed as passing; a check still retrying is not passing, and one no round
// sent (a stop before the first round) is neither.
TEST_CASE("a smoke test stopped part-way counts only answered checks, and as passing only those that passed",
          "[ops][smoke][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("42", 3, 5, SmokeVerdict::pending);
  const std::string failing = world.provider.pools[0].servers[1].address();
  world.http_handler = [failing](const HttpRequest& request) -> Result<HttpResponse> {
    if (request.url.find(failing) != std::string::npos) return http_answer(503, "starting");
    return http_answer(200, "ok");
  };
  world.services.stop_requested = [&world] { return !world.http.batches.empty(); };
  auto stopped = ops::smoke_test(world.services, "42");
  REQUIRE_FALSE(stopped.ok());
  CHECK_THAT(stopped.error().message, Catch::Contains("(3 of 3 checked, 2 passing)"));

  // Asked for before the smoke test sends anything: no check goes out, none counts as passing.
  world.http.batches.clear();
  world.services.stop_requested = [] { return true; };
  stopped = ops::smoke_test(world.services, "42");
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_THAT(stopped.error().message, Catch::Contains("(0 of 3 checked, 0 passing)"));
  CHECK(world.http.batches.empty());
  CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::pending);
}

// A stop (an ssh session that dropped: SIGHUP) during a delete: it ends before anything is
// destroyed, with the deploy lock released (never stale for the next deploy or rollback), and
// says how to finish. Asked for once the destroy has begun, the destroy and its record finish.
TEST_CASE("a stop asked for during delete ends it before the destroy and releases the lock",
          "[ops][delete][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  world.services.stop_requested = [&world] { return world.state.lock_acquisitions > 0; };
  const auto stopped = ops::delete_pool(world.services, {.label = "1", .force = true});
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_THAT(stopped.error().message, Catch::StartsWith("stopped by "));
  CHECK_THAT(stopped.error().message,
             Catch::EndsWith("before deleting pool 1: nothing was changed; 'create-pipeline delete --label 1 --force' "
                             "finishes it"));
  CHECK(world.provider.pools.size() == 2);
  CHECK(world.provider.calls.empty());
  CHECK(world.state.events.empty());
  CHECK_FALSE(world.state.lock.has_value());

  world.services.stop_requested = [&world] { return !world.provider.calls.empty(); };
  REQUIRE(ops::delete_pool(world.services, {.label = "1"}).ok());
  CHECK(world.provider.pools.size() == 1);
  REQUIRE(world.state.events.size() == 1);
  CHECK(world.state.events[0].result == HistoryResult::succeeded);
  CHECK_FALSE(world.state.lock.has_value());
}

TEST_CASE("smart delete reads the balancer under the lock right before destroying", "[ops][delete]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");

  auto refused = ops::delete_pool(world.services, {"2", false, false});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK(world.provider.pools.size() == 2);
  CHECK(world.state.events.back().result == HistoryResult::refused);

  const int reads_before = world.balancer.member_reads;
  REQUIRE(ops::delete_pool(world.services, {"1", false, false}).ok());
  CHECK(world.balancer.member_reads == reads_before + 1);
  CHECK(world.provider.calls.back() == "destroy_pool 1");
  CHECK(world.state.lock_acquisitions == 2);
  CHECK_FALSE(world.state.lock.has_value());
}

// After a rollback kept at runtime only, balancer.config_file still routes to the pool it left:
// delete destroyed it, and the next reload routed to servers that were gone (an outage).
TEST_CASE("smart delete refuses a pool the membership kept for restarts still routes to", "[ops][delete][durable]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("1");
  const Pool& left = world.provider.pools[1];
  Member kept{.name = member_name("2", left.servers[0].id), .address = left.servers[0].address()};
  kept.weight = 1;
  world.balancer.durable = std::vector<Member>{kept};

  const auto refused = ops::delete_pool(world.services, {"2", false, false});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message,
             Catch::StartsWith("pool 2 is what a reload or restart of the balancer routes to: the membership kept in "
                               "balancer.config_file has 2:") &&
                 Catch::EndsWith("run 'deploy-pipeline repair' to keep the running membership, then delete it"));
  CHECK(world.provider.pools.size() == 2);

  // Kept on standby there (weight 0), or kept no more, it goes.
  world.balancer.durable->front().weight = 0;
  REQUIRE(ops::delete_pool(world.services, {"2", false, false}).ok());
  CHECK(world.provider.calls.back() == "destroy_pool 2");
}

TEST_CASE("smart delete refuses while the deploy lock is held", "[ops][delete][lock]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.state.lock = LockHolder{"agent-9", 5, "", "deploy --label 2", world.clock.wall_now()};
  CHECK(ops::delete_pool(world.services, {"1", false, false}).error().kind == ErrorKind::refused);
  CHECK(world.provider.pools.size() == 1);
}

TEST_CASE("dry-run delete checks but destroys nothing", "[ops][delete]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  REQUIRE(ops::delete_pool(world.services, {"1", true, false}).ok());
  CHECK(world.provider.pools.size() == 1);
  CHECK(world.state.lock_acquisitions == 0);
}

TEST_CASE("prune deletes all but the newest N non-live pools", "[ops][prune]") {
  FakeWorld world;
  for (int i = 1; i <= 5; ++i) world.provider.add_pool(std::to_string(i), 1, 100 - i);
  world.make_live("3");
  auto result = ops::prune_pools(world.services, {.keep = 1});
  REQUIRE(result.ok());
  CHECK(result->deleted == std::vector<std::string>{"4", "2", "1"});
  CHECK(world.provider.pools.size() == 2);
  CHECK(world.state.events.size() == 3);
}

// SIGINT, SIGTERM or SIGHUP (an ssh session that dropped) during a prune: it stops between two
// pools, the one it was deleting deleted and recorded, the deploy lock released (never left
// stale for the next deploy or rollback to break), and it says how to finish.
TEST_CASE("a stop asked for during prune ends it between two pools and releases the lock", "[ops][prune]") {
  FakeWorld world;
  for (int i = 1; i <= 5; ++i) world.provider.add_pool(std::to_string(i), 1, 100 - i);
  world.make_live("3");
  world.services.stop_requested = [&world] { return !world.state.events.empty(); };
  auto result = ops::prune_pools(world.services, {.keep = 1});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::interrupted));
  CHECK_THAT(result.error().message, Catch::StartsWith("stopped by "));
  CHECK_THAT(result.error().message, Catch::Contains("after deleting pool 4; pools 2, 1 were not pruned"));
  CHECK_THAT(result.error().message, Catch::EndsWith("'create-pipeline prune --keep 1' finishes it"));
  CHECK(world.provider.pools.size() == 4);
  CHECK(world.state.events.size() == 1);
  CHECK_FALSE(world.state.lock.has_value());
}

TEST_CASE("power-off refuses a pool in the balancer", "[ops][power]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  CHECK(ops::set_pool_power(world.services, "2", PowerState::off).error().kind == ErrorKind::refused);
  REQUIRE(ops::set_pool_power(world.services, "1", PowerState::off).ok());
  CHECK(world.provider.pools[0].power == PowerState::off);
}

// A pool on standby because a switch to it was interrupted is for 'deploy-pipeline repair' to
// settle, not to delete; a pool kept hot by retention keeps the advice to delete it.
// Power-off holds the deploy lock too: a stop ends it before any server stops, lock released.
TEST_CASE("a stop asked for during power-off ends it before the servers stop and releases the lock",
          "[ops][power][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  world.services.stop_requested = [&world] { return world.state.lock_acquisitions > 0; };
  const auto stopped = ops::set_pool_power(world.services, "1", PowerState::off);
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_THAT(stopped.error().message,
             Catch::EndsWith("before powering off pool 1: nothing was changed; 'create-pipeline power-off --label 1' "
                             "finishes it"));
  CHECK(world.provider.calls.empty());
  CHECK(find_pool(world.provider.pools, "1")->power == PowerState::on);
  CHECK_FALSE(world.state.lock.has_value());
}

TEST_CASE("power-off of a pool on standby names repair when an interrupted switch left it there", "[ops][power][hot]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.provider.add_pool("3", 1, 10);
  world.make_live("1");
  for (const char* label : {"2", "3"}) {
    const Pool& pool = *find_pool(world.provider.pools, label);
    REQUIRE(
        world.balancer.add_standby({{member_name(label, "1"), pool.servers[0].host, pool.servers[0].port, "1"}}).ok());
  }
  world.state.intent = Intent{.operation = Operation::deploy,
                              .target = "3",
                              .from = {"1"},
                              .reason = "",
                              .by = {},
                              .started_at = {},
                              .step = 1,
                              .steps = 7,
                              .current = ""};
  const auto interrupted = ops::set_pool_power(world.services, "3", PowerState::off);
  REQUIRE_FALSE(interrupted.ok());
  CHECK(interrupted.error().kind == ErrorKind::refused);
  CHECK(interrupted.error().message ==
        "pool 3 is on standby in the balancer for the deploy to pool 3 that was interrupted at step 2 of 7; "
        "powering it off would leave the balancer checking servers that are down. 'deploy-pipeline repair --revert' "
        "undoes it (taking pool 3 out of the balancer) or 'deploy-pipeline repair' finishes it");
  const auto hot = ops::set_pool_power(world.services, "2", PowerState::off);
  REQUIRE_FALSE(hot.ok());
  CHECK_THAT(hot.error().message, Catch::Contains("(hot)"));
  CHECK_THAT(hot.error().message, Catch::EndsWith("Delete it, or deploy another pool with retention.hot 0"));
  // advice2: an interrupted rollback marked the pool it left bad, so its revert needs --force.
  world.provider.pools[0].meta.verdict = LiveVerdict::bad;
  world.provider.pools[0].meta.verdict_reason = "1 is broken";
  world.state.intent->operation = Operation::rollback;
  const auto rollback = ops::set_pool_power(world.services, "3", PowerState::off);
  REQUIRE_FALSE(rollback.ok());
  CHECK_THAT(rollback.error().message,
             Catch::EndsWith("'deploy-pipeline repair --revert --force' undoes it (taking pool 3 out of the balancer; "
                             "pool 1, which it returns to, is marked bad: 1 is broken) or 'deploy-pipeline repair' "
                             "finishes it"));
  CHECK(world.provider.calls.empty());
}

TEST_CASE("power-off holds the deploy lock: refused while a switch holds it; power-on needs none",
          "[ops][power][lock]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  world.state.lock = LockHolder{"agent-9", 5, "", "deploy --label 1", world.clock.wall_now()};
  const auto off = ops::set_pool_power(world.services, "1", PowerState::off);
  REQUIRE_FALSE(off.ok());
  CHECK(off.error().kind == ErrorKind::refused);
  CHECK(world.provider.pools[0].power == PowerState::on);
  CHECK(world.provider.calls.empty());

  world.state.lock.reset();
  REQUIRE(ops::set_pool_power(world.services, "1", PowerState::off).ok());
  CHECK(world.state.lock_acquisitions == 1);
  CHECK_FALSE(world.state.lock.has_value());  // released again
  world.state.lock = LockHolder{"agent-9", 5, "", "deploy --label 2", world.clock.wall_now()};
  REQUIRE(ops::set_pool_power(world.services, "1", PowerState::on).ok());
  CHECK(world.provider.pools[0].power == PowerState::on);
}

// Servers restarted by hand were not checked: like a wake, power-on leaves the verdict pending
// until a smoke test passes; one that started nothing gives the verdict back.
TEST_CASE("power-on of a pool whose servers died leaves its smoke verdict pending until a smoke test",
          "[ops][power][smoke]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 2, 10);
  world.make_live("2");
  world.provider.pools[0].meta.smoke = SmokeVerdict::passed;
  for (auto& server : world.provider.pools[0].servers) server.state = ServerState::dead;
  REQUIRE(ops::set_pool_power(world.services, "1", PowerState::on).ok());
  CHECK(world.provider.pools[0].servers[0].state == ServerState::running);
  CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::pending);
  CHECK(world.reporter.saw("pool 1's smoke verdict is 'pending' until 'create-pipeline smoke-test --label 1' passes"));
  const auto refused = ops::deploy(world.services, {.label = "1"});
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("smoke verdict 'pending'"));

  SECTION("a power-on that started nothing gives the verdict back") {
    world.provider.pools[0].meta.smoke = SmokeVerdict::passed;
    for (auto& server : world.provider.pools[0].servers) server.state = ServerState::dead;
    world.provider.fail_next.emplace("set_power", Error{ErrorKind::unavailable, "the provider is down"});
    REQUIRE_FALSE(ops::set_pool_power(world.services, "1", PowerState::on).ok());
    CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::passed);
  }
  SECTION("a release whose smoke test failed stays failed") {
    world.provider.pools[0].meta.smoke = SmokeVerdict::failed;
    for (auto& server : world.provider.pools[0].servers) server.state = ServerState::dead;
    REQUIRE(ops::set_pool_power(world.services, "1", PowerState::on).ok());
    CHECK(world.provider.pools[0].servers[0].state == ServerState::running);
    CHECK(world.provider.pools[0].meta.smoke == SmokeVerdict::failed);
  }
}

// A command whose arguments name no pool fails before it changes anything: taking over a stale
// deploy lock is a change, so the pool is looked for first (and again under the lock).
TEST_CASE("power-off and delete of a pool that does not exist leave a stale lock alone, --break-lock or not",
          "[ops][power][delete][lock]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.make_live("1");
  const LockHolder stale{.host = "agent-7", .pid = 4242, .job = "", .command = "rollback", .since = {}};
  world.state.lock = stale;
  world.state.holder_gone = true;
  for (const auto& refused : {ops::set_pool_power(world.services, "99", PowerState::off, true),
                              ops::delete_pool(world.services, {.label = "99", .break_lock = true})}) {
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK_THAT(refused.error().message, Catch::StartsWith("there is no pool '99' for service web"));
  }
  REQUIRE(world.state.lock.has_value());
  CHECK(world.state.lock->host == "agent-7");
  CHECK(world.state.lock_acquisitions == 0);
  CHECK_FALSE(world.reporter.saw("took over"));
}

// A pool that goes between the look before the lock and the one under it is not deleted again.
TEST_CASE("delete looks for the pool again under the lock", "[ops][delete][lock]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  world.state.on_acquired = [&] { world.provider.pools.erase(world.provider.pools.begin()); };
  const auto deleted = ops::delete_pool(world.services, {.label = "1"});
  REQUIRE_FALSE(deleted.ok());
  CHECK(deleted.error().kind == ErrorKind::invalid);
  CHECK_THAT(deleted.error().message, Catch::StartsWith("there is no pool '1' for service web"));
  CHECK(world.provider.calls.empty());
  CHECK_FALSE(world.state.lock.has_value());  // released
}

TEST_CASE("list shows pools newest first and which is live", "[ops][list]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("1");
  auto listing = ops::list_pools(world.services);
  REQUIRE(listing.ok());
  CHECK(listing->pools[0].label() == "2");
  CHECK(listing->live == std::vector<std::string>{"1"});

  world.balancer.fail_next["members"] = Error{ErrorKind::unavailable, "no socket"};
  listing = ops::list_pools(world.services);
  REQUIRE(listing.ok());
  CHECK(listing->balancer_error == std::string("no socket"));
  CHECK(world.reporter.saw("warning: cannot tell which pool is live: no socket"));
}

// review4 F5: a deploy stopped before it routed to its new pool leaves that pool's members on
// standby; it never served, so list calls it no hot standby and says what it is. A hot standby
// that served, the target of such a deploy, stays hot.
TEST_CASE("list does not call an interrupted deploy's pool that never served hot", "[ops][list][hot][crash]") {
  FakeWorld world;
  world.config.retention_hot = 1;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.provider.add_pool("3", 1, 10);
  world.make_live("1");
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());  // 1 hot
  world.balancer.fail_next["admit"] = Error{ErrorKind::failed, "refused"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "3"}).ok());  // 3 added on standby, never routed
  REQUIRE(world.state.intent.has_value());

  auto listing = ops::list_pools(world.services);
  REQUIRE(listing.ok());
  CHECK(listing->hot == std::vector<std::string>{"1"});
  CHECK(listing->left_on_standby == std::string("3"));
  const auto table = render_pools_table(*listing);
  INFO(table);
  CHECK_THAT(table, Catch::Contains("pool 3 is left in standby by an interrupted deploy: it never served, so it is no "
                                    "hot standby, and a switch elsewhere removes it"));
  const auto json = util::parse_json(render_pools_json(*listing), "list");
  REQUIRE(json.ok());
  const cJSON* pools = cJSON_GetObjectItem(json->get(), "pools");
  const cJSON* newest = cJSON_GetArrayItem(pools, 0);
  CHECK(std::string(cJSON_GetObjectItem(newest, "label")->valuestring) == "3");
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(newest, "hot")));
  CHECK(std::string(cJSON_GetObjectItem(newest, "tier")->valuestring) == "member");

  // The same deploy stopped on its way to 1, the hot standby that served: 1 stays hot.
  world.state.intent->target = "1";
  listing = ops::list_pools(world.services);
  REQUIRE(listing.ok());
  CHECK_FALSE(listing->left_on_standby.has_value());
  CHECK(listing->hot.size() == 2);
}

// Prune never advises the delete that refuses: for an unreadable pool the balancer routes to,
// its reason names the pool to make live first.
TEST_CASE("prune's reason for an unreadable live pool names making another pool live, not delete",
          "[ops][prune][unreadable]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_unreadable_pool("2", 1);
  world.make_live("2");
  auto pruned = ops::prune_pools(world.services, {.keep = 5, .dry_run = true});
  REQUIRE(pruned.ok());
  const auto* kept = &pruned->decision.pools.back();
  REQUIRE(kept->label == "2");
  CHECK(kept->kept());
  CHECK(kept->why ==
        "its record cannot be read and the balancer routes to it: restore its record, or make another "
        "pool live first ('deploy-pipeline deploy --label 1')");
}

TEST_CASE("an unreadable pool is only ever deleted by label, and never while the balancer routes to it",
          "[ops][unreadable]") {
  FakeWorld world;
  for (int i = 1; i <= 3; ++i) world.provider.add_pool(std::to_string(i), 1, 100 - i);
  world.make_live("3");
  const auto address = world.provider.add_unreadable_pool("4", 2).servers[1].address();

  // Prune works by age and verdict, which an unreadable pool does not have: it stays.
  auto pruned = ops::prune_pools(world.services, {.keep = 0});
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted == std::vector<std::string>{"2", "1"});
  REQUIRE(pruned->decision.pools.size() == 4);
  CHECK(pruned->decision.pools.back().label == "4");
  CHECK(pruned->decision.pools.back().kept());
  CHECK_THAT(pruned->decision.pools.back().why, Catch::Contains("'create-pipeline delete --label 4'"));

  // Commands that need its record say why they cannot act, and what to do.
  const auto check_refused = [](const auto& result) {
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().kind == ErrorKind::failed);
    CHECK_THAT(result.error().message, Catch::Contains("pool 4 is unreadable"));
  };
  check_refused(ops::smoke_test(world.services, "4"));
  check_refused(ops::set_pool_power(world.services, "4", PowerState::off));
  check_refused(ops::create_pool(world.services, {"4", std::nullopt}));
  CHECK(world.provider.calls == std::vector<std::string>{"destroy_pool 2", "destroy_pool 1"});

  // Smart delete: refused while a member routes to one of its servers, even under another name.
  world.balancer.put_live("by-hand", address);
  auto refused = ops::delete_pool(world.services, {.label = "4"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::Contains("by-hand (" + address + ")"));
  world.balancer.state.erase("by-hand");
  REQUIRE(ops::delete_pool(world.services, {.label = "4"}).ok());
  CHECK(world.provider.calls.back() == "destroy_pool 4");
  CHECK(find_pool(world.provider.pools, "4") == nullptr);
}

// A delete that stopped part-way was never finished by prune (it keeps unreadable pools): a
// half-deleted pool the balancer does not route to was deleted already, so prune finishes it;
// one the balancer routes to stays, with the way out.
TEST_CASE("prune finishes the delete of a half-deleted pool, unless the balancer routes to it",
          "[ops][prune][unreadable]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.make_live("2");
  const auto half_deleted = [&](const std::string& label) -> Pool& {
    Pool& pool = world.provider.add_unreadable_pool(label, 1);
    pool.deleting = true;
    pool.unreadable = "a delete of it stopped part-way and left pools/.deleting-" + label + "-42 (1 file)";
    return pool;
  };
  half_deleted("0");
  world.make_live("0");  // routed to: it stays
  half_deleted("5");

  auto dry = ops::prune_pools(world.services, {.keep = 5, .dry_run = true});
  REQUIRE(dry.ok());
  std::map<std::string, PruneVerdict> why;
  for (const auto& verdict : dry->decision.pools) why[verdict.label] = verdict;
  CHECK(why["5"].action == PruneAction::remove);
  CHECK(why["5"].why == "half deleted: a delete of it stopped part-way, prune finishes it");
  CHECK(why["0"].kept());
  CHECK(why["0"].why ==
        "half deleted and the balancer routes to it: make another pool live first ('deploy-pipeline deploy --label "
        "1')");
  CHECK(dry->decision.remove == std::vector<std::string>{"5"});
  CHECK(world.provider.calls.empty());

  auto pruned = ops::prune_pools(world.services, {.keep = 5});
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted == std::vector<std::string>{"5"});
  CHECK(world.provider.calls == std::vector<std::string>{"destroy_pool 5"});
  CHECK(world.reporter.saw("finishing the delete of pool 5"));
  CHECK(find_pool(world.provider.pools, "0") != nullptr);
}

// A rebuild gets fresh servers: --label naming the pool it rebuilds, or another existing pool,
// would report that pool's servers as the rebuild. Only an earlier rebuild of it is finished.
TEST_CASE("rebuild refuses a --label that is its own pool or an existing pool that is not its rebuild",
          "[ops][rebuild]") {
  FakeWorld world;
  world.provider.add_pool("2", 2, 60).meta.revision = "2222";
  world.provider.add_pool("3", 2, 50).meta.revision = "2222";
  Pool& earlier = world.provider.add_pool("2.r5", 2, 40);
  earlier.meta.revision = "2222";
  earlier.meta.rebuild_of = "2";

  const auto itself = ops::rebuild_pool(world.services, {.from = "2", .label = "2"});
  REQUIRE_FALSE(itself.ok());
  CHECK(itself.error().kind == ErrorKind::invalid);
  CHECK_THAT(itself.error().message, Catch::StartsWith("the rebuild's --label 2 is the pool it rebuilds"));
  CHECK_THAT(itself.error().message, Catch::Contains("'create-pipeline rebuild --from 2' picks the next free L.rN"));
  const auto other = ops::rebuild_pool(world.services, {.from = "2", .label = "3"});
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == ErrorKind::invalid);
  CHECK_THAT(other.error().message,
             Catch::StartsWith("the rebuild's --label 3 names an existing pool (no rebuild recorded), not a rebuild "
                               "of pool 2"));
  CHECK(world.provider.calls.empty());

  const auto again = ops::rebuild_pool(world.services, {.from = "2", .label = "2.r5"});
  REQUIRE(again.ok());
  CHECK(again->already_existed);
}

// The balancer stops answering after prune destroyed one pool: the error names what was
// destroyed and how to finish, and history records the failure as failed (not refused, which
// is a safety rule's answer).
TEST_CASE("a prune that fails part-way says what it deleted, how to finish, and records a failure", "[ops][prune]") {
  FakeWorld world;
  for (int i = 1; i <= 5; ++i) world.provider.add_pool(std::to_string(i), 1, 100 - i);
  world.make_live("3");
  world.balancer.before_read = [](FakeBalancer& self) {
    if (self.member_reads == 2) self.fail_always["members"] = Error{ErrorKind::unavailable, "connection refused"};
  };
  const auto result = ops::prune_pools(world.services, {.keep = 1});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::unavailable);
  CHECK_THAT(result.error().message,
             Catch::Contains("connection refused; prune stopped after deleting pool 4: "
                             "once that is fixed, 'create-pipeline prune --keep 1' finishes it"));
  CHECK(world.provider.pools.size() == 4);
  REQUIRE(world.state.events.size() == 2);
  CHECK(world.state.events[0].result == HistoryResult::succeeded);
  CHECK(world.state.events[1].label == "2");
  CHECK(world.state.events[1].result == HistoryResult::failed);
}

// Resuming an interrupted creation of a pool powered off would start servers under an "off"
// record: refused before anything starts.
TEST_CASE("create refuses to resume an interrupted creation of a pool that is powered off", "[ops][create]") {
  FakeWorld world;
  Pool& half = world.provider.add_pool("18", 2, 5);
  half.meta.revision = "r18";
  half.complete = false;
  half.power = PowerState::off;
  const auto refused = ops::create_pool(world.services, {.label = "18", .revision = "r18"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK_THAT(refused.error().message,
             Catch::StartsWith("pool 18 was not created completely and is powered off, so its creation cannot resume; "
                               "nothing was started. 'create-pipeline power-on --label 18', then"));
  CHECK(world.provider.calls.empty());
}

// A rebuild takes no --revision: refused at a label an earlier rebuild of a pool without a
// revision holds, the way on names the rebuild, not --revision nor a label for another commit.
TEST_CASE("a refused rebuild names the commands a rebuild takes", "[ops][rebuild]") {
  FakeWorld world;
  world.provider.add_pool("5", 2, 60);  // made by hand: no revision recorded
  world.provider.add_pool("5.r1", 2, 50).meta.rebuild_of = "5";
  const auto refused = ops::rebuild_pool(world.services, {.from = "5", .label = "5.r1"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::Contains("this run builds no revision (pool 5 records none)"));
  CHECK_THAT(refused.error().message,
             Catch::EndsWith("'create-pipeline smoke-test --label 5.r1' tests it again as it is; 'create-pipeline "
                             "delete --label 5.r1', then the rebuild again builds it anew"));
  CHECK_THAT(refused.error().message, !Catch::Contains("--revision"));
}

// A creation that failed says how to finish the pool it left: the same command again (a
// rebuild with the label it chose), or delete. A pool that records no revision refuses every
// re-run (check_same_revision), so "the same command again" was advice the re-run refused: it is
// deleted and created again, by a run given --revision.
TEST_CASE("a failed creation names the command that finishes it", "[ops][create][rebuild]") {
  FakeWorld world;
  world.provider.fail_next["create_pool"] = Error{ErrorKind::failed, "server 1 of pool 17 exited right after starting"};
  const auto failed = ops::create_pool(world.services, {.label = "17", .revision = "r17"});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message ==
        "creating pool 17: server 1 of pool 17 exited right after starting. Once that is fixed, the same command "
        "again finishes pool 17, or 'create-pipeline delete --label 17' removes it");
  world.provider.add_pool("4", 2, 60).meta.revision = "4444";
  world.provider.fail_next["create_pool"] = Error{ErrorKind::failed, "no capacity"};
  CHECK_THAT(ops::rebuild_pool(world.services, {.from = "4"}).error().message,
             Catch::Contains("Once that is fixed, the rebuild again with --label 4.r1 finishes pool 4.r1"));
}

TEST_CASE("a failed creation without a revision names delete and a run with --revision, which the rule allows",
          "[ops][create][rebuild]") {
  FakeWorld world;
  world.services.identity.revision = "";  // no GIT_COMMIT, no GO_REVISION
  world.provider.fail_next["create_pool"] = Error{ErrorKind::failed, "server 1 of pool 17 exited right after starting"};
  const auto failed = ops::create_pool(world.services, {.label = "17"});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message ==
        "creating pool 17: server 1 of pool 17 exited right after starting. Once that is fixed, 'create-pipeline "
        "delete --label 17', then the same command with --revision, builds pool 17 anew (it records no revision, so "
        "a re-run alone is refused)");
  // What it says holds: the pool it left refuses the same command again, and is created anew
  // once deleted.
  Pool& left = world.provider.add_pool("17", 2, 0);
  left.complete = false;
  const auto again = ops::create_pool(world.services, {.label = "17"});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind == ErrorKind::refused);
  world.provider.pools.pop_back();
  CHECK(ops::create_pool(world.services, {.label = "17", .revision = "r17"}).ok());

  world.provider.add_pool("5", 2, 60);  // made by hand: no revision recorded
  world.provider.fail_next["create_pool"] = Error{ErrorKind::failed, "no capacity"};
  CHECK_THAT(ops::rebuild_pool(world.services, {.from = "5"}).error().message,
             Catch::EndsWith("Once that is fixed, 'create-pipeline delete --label 5.r1', then the rebuild again with "
                             "--label 5.r1, builds pool 5.r1 anew (it records no revision, so a re-run alone is "
                             "refused)"));
}
