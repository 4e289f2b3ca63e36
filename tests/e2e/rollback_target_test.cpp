// Which pool a rollback goes to, against a real HAProxy and real server processes
// (docs/safety.md, "Which pool a rollback goes to"): a plain rollback goes back to the pool the
// last switch replaced, never to a pool whose servers are not all running; a named target with
// no server running is refused at once, before anything is marked; a watched deploy whose
// fallback's standby members are all DOWN does not wait for it but goes to the next pool; a
// release marked bad is rebuilt only with --force, and the rebuild says so.

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/json.hpp"
#include "support/harness.hpp"
#include "support/service_rig.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// Two servers a pool, pools made by each test; the health wait is 8 s, far above what a refusal
// at once takes.
struct TargetRig : ServiceRig {
  explicit TargetRig(int hot, const std::string& watch = "")
      : ServiceRig({.pool_size = 2, .health_timeout_s = 8, .watch = watch, .hot = hot}) {}
};

struct WatchedBreach {
  ToolResult deployed;
  std::chrono::steady_clock::duration answered{};  // from pool 3 turning bad to the deploy's end
};

// A watched deploy of pool 3 under load whose fallback, pool 2, has every server killed (HAProxy
// marks them DOWN) before pool 3 turns bad; returns once the deploy ended.
WatchedBreach breach_with_pool_2_dead(const TargetRig& rig) {
  Prober prober(rig.dir.path(), rig.haproxy.url());
  WatchedBreach breach;
  std::atomic<bool> done{false};
  auto deploy = rig.start_watched_deploy("3", "60s", breach.deployed, done);
  rig.kill_servers("2");
  // HAProxy marks them DOWN after two failed checks (inter 100 ms).
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const auto turned_bad = std::chrono::steady_clock::now();
  rig.turn_bad("3");
  deploy.join();
  breach.answered = std::chrono::steady_clock::now() - turned_bad;
  prober.finish();
  return breach;
}

}  // namespace

// F18: 73 was created before 71, then 71 was deployed and 73 deployed in its place: the pool the
// last switch replaced (71, hot, UP) is where a plain rollback goes, not the older 50.
TEST_CASE("plain rollback goes back to the pool the last switch replaced", "[e2e][rollback-target]") {
  TargetRig rig(1);
  for (const char* label : {"50", "73", "71"}) rig.create(label);
  rig.deploy("71");
  rig.deploy("73");
  REQUIRE(rig.live() == "73\n");

  const auto dry = rig.run("deploy-pipeline", {"rollback", "--dry-run"});
  INFO(dry.err);
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.err, Catch::Contains("rolling back from pool 73 to pool 71 (the pool the last switch replaced)"));

  const auto back = rig.run("deploy-pipeline", {"rollback", "--reason", "checkout errors"});
  INFO(back.err);
  CHECK(back.exit_code == 0);
  CHECK(rig.live() == "71\n");
  CHECK(rig.pool_field("73", "verdict") == "bad");
}

// F11: the newest older known-good pool (2) has no server running. A plain rollback passes it
// over (before: it waited the health timeout, failed, and chose it again on every re-run); a
// rollback --to it or a deploy of it is refused at once, exit 3, before the live pool is marked
// bad, naming the rebuild and the pool that can serve.
TEST_CASE("a pool with no server running is never waited for: skipped, or refused at once", "[e2e][rollback-target]") {
  TargetRig rig(0);
  for (const char* label : {"1", "2", "3"}) rig.create(label);
  rig.deploy("2");
  rig.deploy("3");
  rig.kill_servers("2");
  const auto list = rig.run("create-pipeline", {"list"});
  INFO(list.out);

  const auto started = std::chrono::steady_clock::now();
  const auto named = rig.run("deploy-pipeline", {"rollback", "--to", "2", "--reason", "x"});
  INFO(named.err);
  CHECK(named.exit_code == 3);
  CHECK_THAT(named.err, Catch::Contains("pool 2 has 0/2 servers running"));
  // The same pool restarted first (it keeps its place in the rollback order), a rebuild after.
  CHECK_THAT(named.err, Catch::Contains("'create-pipeline power-on --label 2' restarts its servers, then "
                                        "'create-pipeline smoke-test --label 2' checks them; or "
                                        "'create-pipeline rebuild --from 2'"));
  CHECK_THAT(named.err, Catch::Contains("'deploy-pipeline rollback --to 1'"));
  CHECK(rig.pool_field("3", "verdict") != "bad");  // nothing was marked

  const auto deploy = rig.run("deploy-pipeline", {"deploy", "--label", "2"});
  INFO(deploy.err);
  CHECK(deploy.exit_code == 3);
  CHECK_THAT(deploy.err, Catch::Contains("pool 2 has 0/2 servers running"));
  // Refused at once: far below the health timeout (8 s) for both.
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  CHECK(rig.live() == "3\n");

  const auto plain = rig.run("deploy-pipeline", {"rollback", "--reason", "checkout errors"});
  INFO(plain.err);
  CHECK(plain.exit_code == 0);
  CHECK(rig.live() == "1\n");
  CHECK(rig.pool_field("3", "verdict") == "bad");

  // The advised power-on restarts pool 2's servers unchecked: its smoke verdict is pending (a
  // switch to it is refused) until its smoke test passes.
  const auto powered = rig.run("create-pipeline", {"power-on", "--label", "2"});
  INFO(powered.err);
  CHECK(powered.exit_code == 0);
  CHECK(rig.pool_field("2", "smoke") == "pending");
  CHECK(rig.run("deploy-pipeline", {"rollback", "--to", "2", "--reason", "x", "--dry-run"}).exit_code == 3);
  CHECK(rig.run("create-pipeline", {"smoke-test", "--label", "2"}).exit_code == 0);
  CHECK(rig.pool_field("2", "smoke") == "passed");
}

// F14: a watched deploy of 3 replaced 2 (hot); 2's servers die, so its standby members are all
// DOWN when 3 breaches. The automatic rollback does not wait the health timeout for 2: it goes to
// pool 1, the next known-good pool that runs.
TEST_CASE("a watched deploy's fallback whose standby members are all DOWN is not waited for",
          "[e2e][rollback-target][watch]") {
  TargetRig rig(1, kTwoSecondWatch);
  for (const char* label : {"1", "2", "3"}) rig.create(label);
  rig.deploy("1");
  rig.deploy("2");
  const auto [deployed, answered] = breach_with_pool_2_dead(rig);
  INFO(deployed.err);
  CHECK(deployed.exit_code == 1);
  CHECK_THAT(deployed.err, Catch::Contains("pool 2 cannot take traffic back"));
  CHECK_THAT(deployed.err, Catch::Contains("rolled back to pool 1 automatically"));
  CHECK(rig.live() == "1\n");
  CHECK(rig.pool_field("3", "verdict") == "bad");
  // Well below breach detection (window 2 s) plus the health timeout (8 s) spent on pool 2.
  CHECK(answered < std::chrono::seconds(8));
}

// With nowhere else to go, the automatic rollback fails at once, and its advice never names the
// pool that cannot serve.
TEST_CASE("a watched deploy with no fallback that can serve fails at once, advising no dead pool",
          "[e2e][rollback-target][watch]") {
  TargetRig rig(1, kTwoSecondWatch);
  for (const char* label : {"2", "3"}) rig.create(label);
  rig.deploy("2");
  const auto [deployed, answered] = breach_with_pool_2_dead(rig);
  INFO(deployed.err);
  CHECK(deployed.exit_code == 1);
  CHECK_THAT(deployed.err, Catch::Contains("breached its watch"));
  CHECK_THAT(deployed.err, !Catch::Contains("rollback --to 2"));
  CHECK_THAT(deployed.err, !Catch::Contains("did not become healthy"));
  CHECK(answered < std::chrono::seconds(8));
}

// F1: a release marked bad is not rebuilt without --force (exit 3, the mark named, nothing
// created); with --force the rebuild records it, and a plain rollback never lands on it.
TEST_CASE("rebuild of a release marked bad needs --force and is recorded as such", "[e2e][rollback-target][rebuild]") {
  TargetRig rig(1);
  rig.create("42");
  rig.create("41");
  rig.deploy("41");
  rig.deploy("42");
  rig.ok("deploy-pipeline", {"rollback", "--to", "41", "--reason", "checkout errors"});

  const auto refused = rig.run("create-pipeline", {"rebuild", "--from", "42"});
  INFO(refused.err);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("pool 42 is marked bad (checkout errors)"));
  CHECK_THAT(refused.err, Catch::Contains("--force"));
  CHECK_FALSE(fs::exists(rig.dir.path() / "state" / "web" / "pools" / "42.r1"));

  rig.ok("create-pipeline", {"rebuild", "--from", "42", "--force"});
  const auto list = rig.run("create-pipeline", {"list"});
  CHECK_THAT(list.out, Catch::Contains("rebuild of 42 (marked bad)"));
  CHECK(rig.pool_field("42.r1", "rebuild_source") == "marked-bad");

  rig.ok("create-pipeline", {"rebuild", "--from", "41"});
  rig.deploy("41.r1");
  const auto dry = rig.run("deploy-pipeline", {"rollback", "--dry-run"});
  INFO(dry.err);
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.err, Catch::Contains("to pool 41 "));
  CHECK_THAT(dry.err, !Catch::Contains("to pool 42.r1"));
}

// F22: every server of the live pool dies (HAProxy answers 503) while the pool it replaced is on
// hot standby, UP: status leads with the outage and names the one-batch way back.
TEST_CASE("status leads with a total outage and names the UP hot standby", "[e2e][rollback-target][status]") {
  TargetRig rig(1);
  for (const char* label : {"1", "2"}) rig.create(label);
  rig.deploy("1");
  rig.deploy("2");
  rig.kill_servers("2");
  // HAProxy marks them DOWN after two failed checks (inter 100 ms).
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  const auto status = rig.run("deploy-pipeline", {"status", "--output", "json"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  const auto document = parse_output(status.out);
  const cJSON* first = cJSON_GetArrayItem(cJSON_GetObjectItem(document.get(), "problems"), 0);
  REQUIRE(cJSON_IsString(first));
  CHECK(std::string(first->valuestring) ==
        "no live member is up: the service is down; the fastest way back: 'deploy-pipeline rollback --to 1' (pool 1 "
        "is on hot standby, 2/2 UP)");

  rig.ok("deploy-pipeline", {"rollback", "--to", "1", "--reason", "dead"});
  CHECK(rig.live() == "1\n");
}
