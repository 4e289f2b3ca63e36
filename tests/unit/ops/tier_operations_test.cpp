#include "shared/ops/tier_operations.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/status_operations.hpp"
#include "shared/ops/switch_operations.hpp"
#include "shared/util/strings.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {

// Pool `label` kept cold: only its archive of `servers` servers is left.
Pool& add_cold(FakeProvider& provider, const std::string& label, int servers, int age_minutes) {
  Pool& pool = provider.add_pool(label, 0, age_minutes);
  pool.archive = Archive{.id = "image-" + label, .ready = true, .size_gb = 0.8, .servers = servers};
  pool.power = PowerState::off;
  return pool;
}

const Pool& pool_of(const FakeWorld& world, const std::string& label) {
  return *find_pool(world.provider.pools, label);
}

std::size_t position(const std::vector<std::string>& lines, const std::string& text) {
  const auto found = std::find_if(lines.begin(), lines.end(),
                                  [&](const std::string& line) { return line.find(text) != std::string::npos; });
  return static_cast<std::size_t>(found - lines.begin());
}

bool has_event(const FakeWorld& world, HistoryAction action, HistoryResult result) {
  return std::any_of(world.state.events.begin(), world.state.events.end(),
                     [&](const HistoryEvent& event) { return event.action == action && event.result == result; });
}

}  // namespace

TEST_CASE("archive makes the image first, then drops the servers; the pool stays listed, cold, with its verdicts",
          "[ops][tiers][archive]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20).meta.revision = "r1";
  world.provider.add_pool("2", 2, 10);
  world.make_live("2");

  const auto archived = ops::archive_pool(world.services, {.label = "1"});
  REQUIRE(archived.ok());
  CHECK(world.provider.calls == std::vector<std::string>{"archive_pool 1", "drop_servers 1"});
  CHECK(archived->servers_deleted == 2);
  CHECK(world.state.lock_acquisitions == 1);
  const Pool& cold = pool_of(world, "1");
  CHECK(cold.tier() == Tier::cold);
  CHECK(cold.meta.smoke == SmokeVerdict::passed);
  CHECK(cold.meta.revision == "r1");
  CHECK(has_event(world, HistoryAction::archive, HistoryResult::succeeded));

  const auto listing = ops::list_pools(world.services);
  REQUIRE(listing.ok());
  CHECK_THAT(render_pools_table(*listing), Catch::Contains("cold"));

  // Again: already cold, nothing to do.
  world.provider.calls.clear();
  const auto again = ops::archive_pool(world.services, {.label = "1"});
  REQUIRE(again.ok());
  CHECK(again->already_cold);
  CHECK(world.provider.calls.empty());
}

TEST_CASE("archive refuses a pool in the balancer, a hot one, and one that is no rollback target; nothing changes",
          "[ops][tiers][archive]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 40);
  world.provider.add_pool("2", 1, 30, SmokeVerdict::failed);
  world.provider.add_pool("3", 1, 20).meta.verdict = LiveVerdict::bad;
  world.provider.add_pool("4", 1, 10);
  world.make_live("4");
  world.balancer.put_live("1:1", pool_of(world, "1").servers[0].address());
  world.balancer.state["1:1"].weight = 0;  // on standby: hot

  for (const char* label : {"4", "1", "2", "3"}) {
    INFO("pool " << label);
    const auto refused = ops::archive_pool(world.services, {.label = label});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::refused);
  }
  CHECK_THAT(ops::archive_pool(world.services, {.label = "1"}).error().message, Catch::Contains("hot"));
  CHECK_THAT(ops::archive_pool(world.services, {.label = "2"}).error().message,
             Catch::Contains("only a known-good pool is archived"));
  CHECK(world.provider.calls.empty());
  CHECK(world.balancer.calls.empty());
}

TEST_CASE("a server that joins the balancer while the image is made stops the archive before any server goes",
          "[ops][tiers][archive]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  world.provider.on_image_ready = [&] {
    world.balancer.put_live("1:1", pool_of(world, "1").servers[0].address());  // by hand, meanwhile
  };
  const auto refused = ops::archive_pool(world.services, {.label = "1"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK(pool_of(world, "1").servers.size() == 2);
  CHECK(std::count(world.provider.calls.begin(), world.provider.calls.end(), "drop_servers 1") == 0);
  CHECK(has_event(world, HistoryAction::archive, HistoryResult::refused));
}

TEST_CASE("a snapshot that fails, or servers that cannot be deleted, leave the pool whole or re-runnable",
          "[ops][tiers][archive][faults]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.fail_next["archive_pool"] = Error{ErrorKind::unavailable, "create_image: 503"};
  const auto failed = ops::archive_pool(world.services, {.label = "1"});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::unavailable);
  CHECK(pool_of(world, "1").servers.size() == 2);
  CHECK_FALSE(pool_of(world, "1").archive.has_value());
  CHECK(has_event(world, HistoryAction::archive, HistoryResult::failed));

  world.provider.fail_next["archive_destroy"] = Error{ErrorKind::unavailable, "DELETE /servers: 503"};
  CHECK_FALSE(ops::archive_pool(world.services, {.label = "1"}).ok());
  CHECK(pool_of(world, "1").servers.size() == 2);  // the image exists; the servers still run
  REQUIRE(ops::archive_pool(world.services, {.label = "1"}).ok());
  CHECK(pool_of(world, "1").tier() == Tier::cold);
}

// A stop (SIGHUP, SIGTERM) during an archive, which holds the deploy lock and may wait minutes
// for its image: it ends at the last safe point, once the image is ready and before any server
// goes, recorded as interrupted, with the lock released; the re-run it names finishes it.
TEST_CASE("a stop asked for while archiving ends it before any server goes and releases the lock",
          "[ops][tiers][archive][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("2");
  bool stop = false;
  world.services.stop_requested = [&stop] { return stop; };
  world.provider.on_image_ready = [&stop] { stop = true; };
  const auto stopped = ops::archive_pool(world.services, {.label = "1"});
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_THAT(stopped.error().message, Catch::StartsWith("stopped by "));
  CHECK_THAT(stopped.error().message, Catch::Contains("before any server of pool 1 was deleted"));
  CHECK_THAT(stopped.error().message, Catch::EndsWith("'create-pipeline archive --label 1' finishes it"));
  CHECK(pool_of(world, "1").servers.size() == 2);
  CHECK(std::count(world.provider.calls.begin(), world.provider.calls.end(), "drop_servers 1") == 0);
  CHECK(has_event(world, HistoryAction::archive, HistoryResult::interrupted));
  CHECK_FALSE(world.state.lock.has_value());

  // Asked for before the archive begins: nothing is touched.
  world.provider.calls.clear();
  world.provider.on_image_ready = nullptr;
  const auto before = ops::archive_pool(world.services, {.label = "1"});
  REQUIRE_FALSE(before.ok());
  CHECK_THAT(before.error().message, Catch::Contains("before archiving pool 1: nothing was changed"));
  CHECK(world.provider.calls.empty());
  CHECK_FALSE(world.state.lock.has_value());

  stop = false;
  REQUIRE(ops::archive_pool(world.services, {.label = "1"}).ok());
  CHECK(pool_of(world, "1").tier() == Tier::cold);
}

TEST_CASE("archive of a pool that does not exist leaves a stale lock alone", "[ops][tiers][archive][lock]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.make_live("1");
  world.state.lock = LockHolder{.host = "agent-7", .pid = 4242, .job = "", .command = "rollback", .since = {}};
  world.state.holder_gone = true;
  const auto refused = ops::archive_pool(world.services, {.label = "99", .break_lock = true});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK_THAT(refused.error().message, Catch::StartsWith("there is no pool '99' for service web"));
  CHECK(world.state.lock->host == "agent-7");
  CHECK(world.state.lock_acquisitions == 0);
}

TEST_CASE("archive needs a provider with a cold tier", "[ops][tiers][archive]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.tier_support.cold = false;
  const auto refused = ops::archive_pool(world.services, {.label = "1"});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK_THAT(refused.error().message, Catch::Contains("has no cold tier"));
  CHECK(world.provider.calls.empty());
}

TEST_CASE(
    "deploying a cold pool restores it, smoke-tests it, then switches; the expected wake time comes first and "
    "the measured one is recorded",
    "[ops][tiers][wake]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 30);
  add_cold(world.provider, "2", 2, 20);
  add_cold(world.provider, "3", 1, 40).meta.last_wake = WakeRecord{Tier::cold, 30000, world.clock.wall_now()};
  world.make_live("1");

  const auto deployed = ops::deploy(world.services, {.label = "2"});
  REQUIRE(deployed.ok());
  REQUIRE(world.provider.calls.size() >= 4);
  CHECK(world.provider.calls[0] == "update_metadata 2 smoke=pending verdict=unknown");  // not checked yet
  CHECK(world.provider.calls[1] == "restore_pool 2");
  CHECK(world.provider.calls[2] == "update_metadata 2 smoke=passed verdict=unknown");  // the smoke test
  CHECK(world.http.batches.size() == 1);  // both restored servers, checked at once
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  const auto& lines = world.reporter.lines;
  CHECK(position(lines, "expected wake time from cold: about 30.00 s (pool 3") <
        position(lines, "pool 2 woke from cold in"));
  CHECK(position(lines, "pool 2 woke from cold in") < lines.size());
  const Pool& woken = pool_of(world, "2");
  REQUIRE(woken.meta.last_wake.has_value());
  CHECK(woken.meta.last_wake->from == Tier::cold);
  CHECK(has_event(world, HistoryAction::wake, HistoryResult::succeeded));
  CHECK(has_event(world, HistoryAction::deploy, HistoryResult::succeeded));
}

TEST_CASE("rollback to a cold pool wakes it first; the live pool is marked bad", "[ops][tiers][wake][rollback]") {
  FakeWorld world;
  add_cold(world.provider, "1", 2, 30);
  world.provider.add_pool("2", 2, 20);
  world.make_live("2");

  const auto dry = ops::rollback(world.services, {.dry_run = true});
  REQUIRE(dry.ok());
  REQUIRE(dry->plan.wake.has_value());
  CHECK(*dry->plan.wake == Tier::cold);
  CHECK(world.provider.calls.empty());

  const auto rolled_back = ops::rollback(world.services, {.reason = "checkout errors"});
  REQUIRE(rolled_back.ok());
  CHECK(rolled_back->plan.target == "1");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(pool_of(world, "2").meta.verdict == LiveVerdict::bad);
  CHECK(pool_of(world, "1").tier() == Tier::running);
}

TEST_CASE("a restore that fails, or a woken pool that fails its smoke test, switches nothing",
          "[ops][tiers][wake][faults]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  add_cold(world.provider, "2", 2, 20);
  world.make_live("1");
  world.provider.fail_next["restore_pool"] = Error{ErrorKind::unavailable, "POST /servers: 503"};
  const auto failed = ops::deploy(world.services, {.label = "2"});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().kind == ErrorKind::unavailable);
  CHECK_THAT(failed.error().message, Catch::Contains("nothing was switched"));
  CHECK(world.balancer.calls.empty());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});

  world.http_handler = [](const HttpRequest&) -> Result<HttpResponse> { return http_answer(500, "broken\n"); };
  const auto unhealthy = ops::deploy(world.services, {.label = "2"});
  REQUIRE_FALSE(unhealthy.ok());
  CHECK(unhealthy.error().kind == ErrorKind::failed);
  CHECK_THAT(unhealthy.error().message, Catch::Contains("failed its smoke test after waking it from cold"));
  CHECK(world.balancer.calls.empty());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK_FALSE(has_event(world, HistoryAction::wake, HistoryResult::succeeded));
}

TEST_CASE("prune by tier powers off and archives before it deletes anything; a failed move deletes nothing",
          "[ops][tiers][prune]") {
  FakeWorld world;
  for (int i = 1; i <= 5; ++i) world.provider.add_pool(std::to_string(i), 1, 100 - i);  // 5 is newest
  world.make_live("5");
  const ops::PruneOptions options{.keep = 3, .tiers = TierCounts{.running = 1, .off = 1, .cold = 1}};

  SECTION("in order: down the tiers, then deletes") {
    const auto pruned = ops::prune_pools(world.services, options);
    REQUIRE(pruned.ok());
    CHECK(world.provider.calls ==
          std::vector<std::string>{"set_power 3 off", "archive_pool 2", "drop_servers 2", "destroy_pool 1"});
    CHECK(pruned->powered_off == std::vector<std::string>{"3"});
    CHECK(pruned->archived == std::vector<std::string>{"2"});
    CHECK(pruned->deleted == std::vector<std::string>{"1"});
    CHECK(pool_of(world, "4").tier() == Tier::running);
    CHECK(pool_of(world, "3").tier() == Tier::off);
    CHECK(pool_of(world, "2").tier() == Tier::cold);
  }
  SECTION("an archive that fails stops prune before any delete") {
    world.provider.fail_next["archive_pool"] = Error{ErrorKind::unavailable, "create_image: 503"};
    const auto pruned = ops::prune_pools(world.services, options);
    REQUIRE_FALSE(pruned.ok());
    CHECK(std::count(world.provider.calls.begin(), world.provider.calls.end(), "destroy_pool 1") == 0);
    CHECK(world.provider.pools.size() == 5);
  }
  SECTION("tiers the provider lacks are a configuration error, before anything") {
    world.provider.tier_support.cold = false;
    const auto refused = ops::prune_pools(world.services, options);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::invalid);
    CHECK_THAT(refused.error().message, Catch::Contains("retention.cold is 1"));
    CHECK(world.provider.calls.empty());
    CHECK(world.state.lock_acquisitions == 0);
  }
}

TEST_CASE("power-off says plainly when the provider bills a stopped server like a running one", "[ops][tiers][power]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  REQUIRE(ops::set_pool_power(world.services, "1", PowerState::off).ok());
  CHECK_FALSE(world.reporter.saw("billed"));
  world.provider.tier_support.off_is_billed = true;
  REQUIRE(ops::set_pool_power(world.services, "2", PowerState::off).ok());
  CHECK(world.reporter.saw("warning: fake provider bills a powered-off server like a running one"));
  CHECK(world.reporter.saw("create-pipeline archive --label 2"));

  // A pool marked bad is never archived (check_archivable): deleting it is what ends the bill.
  world.provider.add_pool("3", 1, 5).meta.verdict = LiveVerdict::bad;
  world.provider.tier_support.cold = true;
  REQUIRE(ops::set_pool_power(world.services, "3", PowerState::off).ok());
  CHECK_FALSE(world.reporter.saw("create-pipeline archive --label 3"));
  CHECK(
      world.reporter.saw("'create-pipeline delete --label 3' ends the bill (it is not known-good, so it is not "
                         "archived)"));
}

TEST_CASE("list carries the provider's tiers and prices; prices it cannot read are a warning, not a failure",
          "[ops][tiers][list]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20).server_type = "cx22";
  world.provider.price_sheet = PriceSheet{.currency = "EUR", .servers = {{"cx22", "", 3.79}}};
  auto listing = ops::list_pools(world.services);
  REQUIRE(listing.ok());
  REQUIRE(listing->prices.has_value());
  CHECK_THAT(render_pools_table(*listing), Catch::Contains("EUR 3.79"));

  world.provider.fail_next["prices"] = Error{ErrorKind::unavailable, "GET /pricing: 503"};
  listing = ops::list_pools(world.services);
  REQUIRE(listing.ok());
  CHECK(listing->prices_error.has_value());
  CHECK(world.reporter.saw("warning: cannot estimate what the pools cost"));
  CHECK_THAT(render_pools_table(*listing), Catch::Contains("costs unknown"));
}

TEST_CASE("status counts a cold pool as the rollback target it is, and says a rollback wakes it",
          "[ops][tiers][status]") {
  FakeWorld world;
  add_cold(world.provider, "1", 2, 30);
  world.provider.add_pool("2", 2, 20);
  world.make_live("2");
  auto report = ops::status(world.services);
  REQUIRE(report.ok());
  CHECK(report->problems.empty());
  REQUIRE_FALSE(report->notes.empty());
  CHECK_THAT(report->notes.back(),
             Catch::Contains("the pool a plain rollback goes to is retained powered off or cold: 1 (cold)"));

  world.provider.pools[0].meta.verdict = LiveVerdict::bad;
  report = ops::status(world.services);
  REQUIRE(report.ok());
  REQUIRE(report->problems.size() == 1);
  CHECK_THAT(report->problems[0], Catch::Contains("no known-good pool to roll back to"));
}

TEST_CASE("a wake cut short leaves the pool's smoke verdict pending: only the same switch resumes it, smoke test first",
          "[ops][tiers][wake][faults]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  add_cold(world.provider, "2", 2, 20);
  world.make_live("1");
  // The servers come back, then the agent is lost before the smoke test (here: the provider
  // cannot be read right after the restore).
  world.provider.on_restored = [&world] {
    world.provider.fail_next["list_pools"] = Error{ErrorKind::unavailable, "lost"};
  };
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "2"}).ok());
  world.provider.on_restored = nullptr;
  CHECK(pool_of(world, "2").servers.size() == 2);
  CHECK(pool_of(world, "2").meta.smoke == SmokeVerdict::pending);
  // The intent record names the wake: no step of the switch ran.
  const auto intent = world.state.read_intent();
  REQUIRE(intent.ok());
  REQUIRE(intent->has_value());
  CHECK((*intent)->waking());
  CHECK((*intent)->target == "2");
  // Another switch to the unchecked pool is refused, and changes nothing.
  const auto other = ops::rollback(world.services, {.to = "2", .reason = "r"});
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().kind == ErrorKind::refused);
  CHECK_THAT(other.error().message, Catch::Contains("smoke verdict 'pending'"));
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  // The same deploy resumes the wake: the smoke test runs before anything is switched.
  const auto again = ops::deploy(world.services, {.label = "2"});
  REQUIRE(again.ok());
  CHECK_FALSE(world.http.batches.empty());
  CHECK(
      world.reporter.saw("resuming the interrupted wake of pool 2: 0 of its 2 servers do not run; starting them, "
                         "then its smoke test"));
  CHECK(pool_of(world, "2").meta.smoke == SmokeVerdict::passed);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
}

TEST_CASE("a stop asked for while a pool wakes ends the deploy before its smoke test; nothing is switched",
          "[ops][tiers][wake][interrupt]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  add_cold(world.provider, "2", 2, 20);
  world.make_live("1");
  bool stop = false;
  world.provider.on_restored = [&stop] { stop = true; };  // SIGTERM while the servers come back
  world.services.stop_requested = [&stop] { return stop; };
  const auto stopped = ops::deploy(world.services, {.label = "2"});
  world.provider.on_restored = nullptr;
  REQUIRE_FALSE(stopped.ok());
  CHECK(stopped.error().is(ErrorCode::interrupted));
  CHECK_THAT(stopped.error().message, Catch::Contains("while waking pool 2 (its servers were started)"));
  CHECK(world.http.batches.empty());  // no smoke test ran
  CHECK(pool_of(world, "2").meta.smoke == SmokeVerdict::pending);
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1"});
  CHECK(world.balancer.calls.empty());
}

TEST_CASE("a wake that fails before any server runs puts the smoke verdict back: the pool stays a rollback target",
          "[ops][tiers][wake][faults]") {
  FakeWorld world;
  world.provider.add_pool("2", 2, 20);
  world.make_live("2");
  SECTION("a cold pool whose restore failed") {
    add_cold(world.provider, "1", 2, 30);
    world.provider.fail_next["restore_pool"] = Error{ErrorKind::unavailable, "POST /servers: 503"};
  }
  SECTION("a powered-off pool that could not be powered on") {
    Pool& off = world.provider.add_pool("1", 2, 30);
    off.power = PowerState::off;
    for (auto& server : off.servers) server.state = ServerState::stopped;
    world.provider.fail_next["set_power"] = Error{ErrorKind::unavailable, "POST /actions/poweron: 503"};
  }
  const auto failed = ops::rollback(world.services, {.reason = "checkout errors"});
  REQUIRE_FALSE(failed.ok());
  CHECK_THAT(failed.error().message, Catch::Contains("nothing was switched"));
  CHECK(pool_of(world, "1").meta.smoke == SmokeVerdict::passed);
  CHECK(world.reporter.saw("no server of pool 1 was started: its smoke verdict is 'passed' again"));
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  // The provider is back: the same rollback finds the same target and goes through.
  const auto again = ops::rollback(world.services, {.reason = "checkout errors"});
  REQUIRE(again.ok());
  CHECK(again->plan.target == "1");
  CHECK(world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
}

TEST_CASE(
    "a switch wakes a pool kept off or cold, and a running one only when it resumes an interrupted wake that left "
    "it readable with its smoke verdict pending",
    "[tiers][wake]") {
  FakeProvider provider;
  Pool& running = provider.add_pool("1", 2, 10);
  running.meta.smoke = SmokeVerdict::pending;
  CHECK(ops::needs_wake(running, true));
  CHECK_FALSE(ops::needs_wake(running, false));
  running.meta.smoke = SmokeVerdict::passed;
  CHECK_FALSE(ops::needs_wake(running, true));
  running.meta.smoke = SmokeVerdict::pending;
  running.unreadable = "pool.json: not valid JSON";
  CHECK_FALSE(ops::needs_wake(running, true));

  Pool& off = provider.add_pool("2", 2, 20);
  off.power = PowerState::off;
  CHECK(ops::needs_wake(off, false));
  CHECK(ops::needs_wake(add_cold(provider, "3", 2, 30), false));
}

// The provider's tiers are known only once it is wired, after the file was read; the refusal
// still names the file and the line of the key to change, as a configuration error does.
TEST_CASE("retention tiers the provider lacks are refused at the line of their key", "[ops][tiers][config]") {
  FakeWorld world;
  world.provider.tier_support = {.off = false, .off_is_billed = false, .cold = false};
  world.config.file = "/srv/web.json";
  world.config.text = "{\n\"retention\": {\"running\": 1,\n\"off\": 1,\n\"cold\": 1}\n}\n";
  const auto off = ops::check_tiers_available(world.services, TierCounts{.running = 1, .off = 1, .cold = 0});
  REQUIRE_FALSE(off.ok());
  CHECK(off.error().kind == ErrorKind::invalid);
  CHECK(off.error().message == "/srv/web.json:3: retention.off is 1, but " + world.provider.describe() +
                                   " cannot power pools off; set retention.off to 0");
  const auto cold = ops::check_tiers_available(world.services, TierCounts{.running = 1, .off = 0, .cold = 1});
  REQUIRE_FALSE(cold.ok());
  CHECK(cold.error().message == "/srv/web.json:4: retention.cold is 1, but " + world.provider.describe() +
                                    " has no cold tier (it cannot archive pools); set retention.cold to 0");
}

// Only prune needs the tiers, so no other command stops for one the provider lacks (a rollback
// in an incident does not wait for a retention setting); status reports it as a problem.
TEST_CASE("status reports a retention tier the provider lacks; other commands go on", "[ops][tiers][status]") {
  FakeWorld world;
  world.provider.tier_support.cold = false;
  world.provider.add_pool("1", 1, 10);
  REQUIRE(ops::deploy(world.services, {"1", false, false, false}).ok());
  auto report = ops::status(world.services);
  REQUIRE(report.ok());
  const auto before = report->problems.size();

  world.config.retention_tiers = TierCounts{.running = 1, .off = 0, .cold = 1};
  report = ops::status(world.services);
  REQUIRE(report.ok());
  INFO(util::join(report->problems, " / "));
  REQUIRE(report->problems.size() == before + 1);
  CHECK_THAT(report->problems.back(), Catch::StartsWith("retention.cold is 1, but " + world.provider.describe()) &&
                                          Catch::EndsWith("('create-pipeline prune' refuses to run until then)"));
  CHECK(ops::list_pools(world.services).ok());
}
