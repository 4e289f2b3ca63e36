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
    // 3 is never deployed: a rollback target that stays known-good when a rollback marks 2 bad.
    for (const char* label : {"1", "2", "3"}) {
      REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
    }
    REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);
  }

  std::vector<std::string> command(const std::string& operation, const std::string& target) const {
    if (operation == "deploy") return {"deploy", "--label", target, "--config", config};
    // --force: every rollback marks the pool it leaves bad, and the next one goes back to it.
    return {"rollback", "--to", target, "--force", "--reason", "crash test", "--config", config};
  }

  // Exactly one live pool, `target`, with all its members admitted and nothing else left.
  void require_consistent(const std::string& target) const {
    const auto status = run_tool("deploy-pipeline", {"status", "--output", "json", "--config", config});
    INFO(status.out << status.err);
    CHECK(status.exit_code == 0);
    const auto document = parse_output(status.out);
    const cJSON* live = cJSON_GetObjectItem(document.get(), "live");
    REQUIRE(cJSON_GetArraySize(live) == 1);
    CHECK(std::string(cJSON_GetArrayItem(live, 0)->valuestring) == target);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "members")) == 2);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "problems")) == 0);
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
  CHECK_THAT(drained.out, Catch::StartsWith("plan: make pool 1 live (live now: 1)\n"));
  CHECK_THAT(drained.out, Catch::Contains("remove 2 members from the balancer: 2:1, 2:2"));

  REQUIRE(run_tool("deploy-pipeline", rollback).exit_code == 0);
  rig.require_consistent("1");
}
