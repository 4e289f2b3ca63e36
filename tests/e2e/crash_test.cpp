// Invariant 3: a kill -9 at any point leaves a state that status explains, and re-running
// the interrupted command completes it. Every step boundary of deploy and rollback is a crash
// point (PHOENIX_TEST_KILL_AT_STEP), plus kills at timed moments, all under load, with a
// watcher checking invariant 1 (never zero serving servers) the whole time.

#include <signal.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "shared/util/json.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct CrashRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;

  CrashRig() {
    ServiceOptions options;
    options.pool_size = 2;
    config = write_service_config(dir.path(), haproxy, options).string();
    // 3 is created first and never deployed: older than both, a plain rollback target that
    // stays known-good whichever pool a rollback marks bad (status reports none as a problem).
    for (const char* label : {"3", "1", "2"}) {
      REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
    }
    REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);
  }

  std::vector<std::string> command(const std::string& operation, const std::string& target) const {
    // --force: every rollback marks the pool it leaves bad, and the next switch goes back to it.
    if (operation == "deploy") return {"deploy", "--label", target, "--force", "--config", config};
    return {"rollback", "--to", target, "--force", "--reason", "crash test", "--config", config};
  }

  // Exactly one live pool, `target`, with all its members admitted and nothing else left. The
  // one problem status may report is that the live pool is marked bad (a rollback marked it
  // before this switch went back to it with --force).
  void require_consistent(const std::string& target) const {
    const auto status = run_tool("deploy-pipeline", {"status", "--output", "json", "--config", config});
    INFO(status.out << status.err);
    const auto document = parse_output(status.out);
    const cJSON* problems = cJSON_GetObjectItem(document.get(), "problems");
    const bool live_marked_bad =
        cJSON_GetArraySize(problems) == 1 && std::string(cJSON_GetArrayItem(problems, 0)->valuestring)
                                                     .rfind("the live pool " + target + " is marked bad", 0) == 0;
    CHECK(status.exit_code == (live_marked_bad ? 1 : 0));
    const cJSON* live = cJSON_GetObjectItem(document.get(), "live");
    REQUIRE(cJSON_GetArraySize(live) == 1);
    CHECK(std::string(cJSON_GetArrayItem(live, 0)->valuestring) == target);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "members")) == 2);
    CHECK(cJSON_GetArraySize(problems) == (live_marked_bad ? 1 : 0));
    CHECK(cJSON_GetObjectItem(document.get(), "interrupted") == nullptr);
  }
};

std::string other(const std::string& label) { return label == "1" ? "2" : "1"; }

}  // namespace

TEST_CASE("kill -9 at every step boundary of deploy and rollback, then re-run", "[e2e][crash]") {
  CrashRig rig;
  Prober prober(rig.dir.path(), rig.haproxy.url());
  ServingWatcher watcher(rig.haproxy);
  std::string live = "1";
  int crash_points = 0;
  for (const std::string operation : {"deploy", "rollback"}) {
    for (int step = 0; step < 7; ++step) {
      const std::string target = other(live);
      INFO(operation << " to " << target << ", killed before step " << step);
      const auto killed = run_tool("deploy-pipeline-test-hooks", rig.command(operation, target),
                                   {"PHOENIX_TEST_KILL_AT_STEP=" + std::to_string(step)});
      REQUIRE(killed.signal == SIGKILL);
      ++crash_points;

      const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
      CHECK(status.exit_code == 1);
      // The last step that may have started is the one before the kill.
      CHECK_THAT(status.out, Catch::Contains("was interrupted at step " + std::to_string(std::max(step, 1)) + " of 7"));
      CHECK_THAT(status.out, Catch::Contains("the deploy lock is stale"));

      // The lock of the killed run is stale: taking it over needs --break-lock.
      const auto refused = run_tool("deploy-pipeline", rig.command(operation, target));
      CHECK(refused.exit_code == 3);
      CHECK_THAT(refused.err, Catch::Contains("--break-lock"));

      auto rerun = rig.command(operation, target);
      rerun.push_back("--break-lock");
      const auto finished = run_tool("deploy-pipeline", rerun);
      INFO(finished.err);
      REQUIRE(finished.exit_code == 0);
      CHECK_THAT(finished.err, Catch::Contains("took over the stale deploy lock"));
      CHECK_THAT(finished.err, Catch::Contains("found an interrupted " + operation));
      rig.require_consistent(target);
      live = target;
    }
  }
  const auto probe = prober.finish();
  CHECK(crash_points == 14);
  CHECK(probe.failed == 0);
  CHECK(probe.requests > 1000);
  CHECK(watcher.samples() > 100);
  CHECK(watcher.finish() >= 1);
}

TEST_CASE("kill -9 at timed moments during switches, then re-run", "[e2e][crash]") {
  CrashRig rig;
  Prober prober(rig.dir.path(), rig.haproxy.url());
  ServingWatcher watcher(rig.haproxy);
  std::mt19937 random(20261126);
  std::string live = "1";
  for (int round = 0; round < 8; ++round) {
    const std::string target = other(live);
    const std::string operation = round % 2 == 0 ? "deploy" : "rollback";
    // Start the switch, kill it after a random delay (it may also finish first).
    std::vector<std::string> argv = {(binary_directory() / "deploy-pipeline").string()};
    for (const auto& argument : rig.command(operation, target)) argv.push_back(argument);
    argv.push_back("--break-lock");
    auto started = util::spawn_detached({argv, rig.dir.path(), rig.dir.path() / "timed.log"});
    REQUIRE(started.ok());
    const int delay_ms = std::uniform_int_distribution<int>(5, 180)(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(started->pid, SIGKILL);
    for (int i = 0; i < 200 && util::is_running(*started); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));

    auto rerun = rig.command(operation, target);
    rerun.push_back("--break-lock");
    const auto finished = run_tool("deploy-pipeline", rerun);
    INFO("round " << round << " killed after " << delay_ms << " ms: " << finished.err);
    REQUIRE(finished.exit_code == 0);
    rig.require_consistent(target);
    live = target;
  }
  const auto probe = prober.finish();
  CHECK(probe.failed == 0);
  CHECK(watcher.finish() >= 1);
}

TEST_CASE("the shipped deploy-pipeline has no crash hook: PHOENIX_TEST_KILL_AT_STEP does nothing", "[e2e][crash]") {
  CrashRig rig;
  const auto deployed = run_tool("deploy-pipeline", rig.command("deploy", "2"), {"PHOENIX_TEST_KILL_AT_STEP=0"});
  INFO(deployed.err);
  CHECK(deployed.signal == 0);
  CHECK(deployed.exit_code == 0);
  rig.require_consistent("2");
}

// The dry run of the command that finishes an interrupted rollback says what is live: both
// pools at once after the target was admitted, the target alone once the old pool drains; never
// "nothing is live" while a pool serves.
TEST_CASE("after a rollback killed half-way, the dry run's plan says which pools are live", "[e2e][crash][dry-run]") {
  CrashRig rig;
  REQUIRE(run_tool("deploy-pipeline", rig.command("deploy", "2")).exit_code == 0);
  // Rollback to 1: add 1, wait for its checks, persist, route to 1, drain 2, ... Killed before
  // the drain: 1 and 2 both serve.
  auto rollback = rig.command("rollback", "1");
  REQUIRE(run_tool("deploy-pipeline-test-hooks", rollback, {"PHOENIX_TEST_KILL_AT_STEP=4"}).signal == SIGKILL);
  rollback.push_back("--break-lock");  // the killed run's lock is stale
  auto dry = rollback;
  dry.push_back("--dry-run");
  const auto both = run_tool("deploy-pipeline", dry);
  INFO(both.out << both.err);
  CHECK(both.exit_code == 0);
  CHECK_THAT(both.out, Catch::StartsWith("plan: make pool 1 live (live now: 1, 2; replacing 2)\n"));

  // The re-run killed again after its drain (persist, drain): 1 alone serves, 2 drains.
  REQUIRE(run_tool("deploy-pipeline-test-hooks", rollback, {"PHOENIX_TEST_KILL_AT_STEP=2"}).signal == SIGKILL);
  const auto drained = run_tool("deploy-pipeline", dry);
  INFO(drained.out << drained.err);
  CHECK(drained.exit_code == 0);
  // It still replaces 2, as the interrupted rollback did (history and a later plain rollback
  // name it as the pool replaced), though 2 no longer takes new traffic.
  CHECK_THAT(drained.out, Catch::StartsWith("plan: make pool 1 live (live now: 1; replacing 2)\n"));
  CHECK_THAT(drained.out, Catch::Contains("remove 2 members from the balancer: 2:1, 2:2"));

  REQUIRE(run_tool("deploy-pipeline", rollback).exit_code == 0);
  rig.require_consistent("1");
}

// After a kill -9 the killed command's lock is stale: every command status names to finish the
// switch says --break-lock, and the one it names first does finish it.
TEST_CASE("after a rollback killed half-way, status names the finishing commands with --break-lock",
          "[e2e][crash][lock]") {
  CrashRig rig;
  REQUIRE(run_tool("deploy-pipeline", rig.command("deploy", "2")).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline-test-hooks", {"rollback", "--reason", "crash test", "--config", rig.config},
                   {"PHOENIX_TEST_KILL_AT_STEP=4"})
              .signal == SIGKILL);
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("the deploy lock is stale"));
  CHECK_THAT(status.out, Catch::Contains("re-run 'deploy-pipeline rollback --break-lock' or 'deploy-pipeline repair "
                                         "--break-lock' to finish it"));
  // Repair finishes the interrupted rollback: it keeps pool 1, not the newest live pool.
  CHECK_THAT(status.out, Catch::Contains("run 'deploy-pipeline repair --break-lock' (it keeps pool 1 live) or deploy "
                                         "one of them"));
  const auto finished =
      run_tool("deploy-pipeline", {"rollback", "--break-lock", "--reason", "crash test", "--config", rig.config});
  INFO(finished.err);
  REQUIRE(finished.exit_code == 0);
  CHECK_THAT(finished.err, Catch::Contains("finishing the interrupted rollback to pool 1"));
  rig.require_consistent("1");
}

// A deploy killed after adding its pool on standby: powering that pool off is refused with the
// commands that settle the interrupted deploy (not "delete it"), and once the lock is free again
// status names them without --break-lock.
TEST_CASE("after a deploy killed half-way, power-off of its pool names repair, not delete", "[e2e][crash][hot]") {
  CrashRig rig;
  REQUIRE(run_tool("deploy-pipeline-test-hooks", rig.command("deploy", "2"), {"PHOENIX_TEST_KILL_AT_STEP=1"}).signal ==
          SIGKILL);
  const auto stale = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(stale.out);
  CHECK_THAT(stale.out, Catch::Contains("re-run 'deploy-pipeline deploy --label 2 --break-lock' or 'deploy-pipeline "
                                        "repair --break-lock' to finish it"));

  const auto refused =
      run_tool("create-pipeline", {"power-off", "--label", "2", "--break-lock", "--config", rig.config});
  INFO(refused.err);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("pool 2 is on standby in the balancer for the deploy to pool 2 that was "
                                          "interrupted at step "));
  CHECK_THAT(refused.err, Catch::Contains("'deploy-pipeline repair --revert' undoes it (taking pool 2 out of the "
                                          "balancer) or 'deploy-pipeline repair' finishes it"));
  CHECK_THAT(refused.err, !Catch::Contains("Delete it"));

  // The power-off took the stale lock over and released it: nothing needs --break-lock now.
  const auto free = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(free.out);
  CHECK_THAT(free.out, Catch::Contains("re-run 'deploy-pipeline deploy --label 2' or 'deploy-pipeline repair' to "
                                       "finish it"));
  CHECK_THAT(free.out, !Catch::Contains("--break-lock"));
  REQUIRE(run_tool("deploy-pipeline", {"repair", "--revert", "--config", rig.config}).exit_code == 0);
  CHECK(run_tool("create-pipeline", {"power-off", "--label", "2", "--config", rig.config}).exit_code == 0);
  rig.require_consistent("1");
}
