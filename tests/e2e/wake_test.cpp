// A wake cut short: a rollback to a powered-off pool killed once its servers were started
// (PHOENIX_TEST_KILL_AT_STEP=wake), and the servers it started gone too. Status names the
// interrupted wake, the command that finishes it and the live pool it already marked bad; the
// same rollback re-run resumes the wake (starts the servers, smoke-tests, switches); power-on
// starts recorded servers that do not run even though the record says "on".

#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "support/harness.hpp"
#include "support/service_rig.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct WakeRig : ServiceRig {
  // Pool 2 live, pool 1 (known-good, replaced by 2) powered off, then a rollback to 1 killed in
  // its wake, and pool 1's servers killed: pool 1's record says "on", none of its servers runs.
  WakeRig() : ServiceRig({.pool_size = 2}, ThenDeploy::each_in_turn) {
    ok("create-pipeline", {"power-off", "--label", "1"});
    const auto killed =
        run_tool("deploy-pipeline-test-hooks", {"rollback", "--to", "1", "--reason", "k", "--config", config},
                 {"PHOENIX_TEST_KILL_AT_STEP=wake"});
    INFO(killed.err);
    REQUIRE(killed.signal == SIGKILL);
    REQUIRE_THAT(killed.err, Catch::Contains("starting 2 servers of pool 1"));
    kill_running_servers("1");
  }

  // SIGKILL to every server of pool `label` that still runs, and waits until each is gone.
  void kill_running_servers(const std::string& label) const {
    for (const auto& server : servers(label)) {
      if (server.pid <= 0) continue;
      ::kill(server.pid, SIGKILL);
      const fs::path proc = "/proc/" + std::to_string(server.pid);
      for (int i = 0; i < 2000 && fs::exists(proc); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      REQUIRE_FALSE(fs::exists(proc));
    }
  }
};

}  // namespace

TEST_CASE("a rollback killed while waking its target: status names the wake, and the same rollback resumes it",
          "[e2e][wake][crash]") {
  WakeRig rig;
  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("was interrupted while waking pool 1, before any balancer change"));
  CHECK_THAT(status.out, Catch::Contains("'deploy-pipeline rollback --break-lock' finishes it"));
  CHECK_THAT(status.out, Catch::Contains("the live pool 2 was already marked bad by it (k)"));
  CHECK(http_get(rig.haproxy.url()).second == "2\n");  // nothing was switched

  // The rollback the operator ran, again: its pending verdict is its own wake's.
  const auto resumed = rig.run("deploy-pipeline", {"rollback", "--to", "1", "--reason", "k", "--break-lock"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK_THAT(resumed.err, Catch::Contains("resuming the interrupted wake of pool 1: 2 of its 2 servers do not run"));
  CHECK_THAT(resumed.err, Catch::Contains("starting 2 servers of pool 1"));
  CHECK_THAT(resumed.err, Catch::Contains("smoke test passed"));
  CHECK(http_get(rig.haproxy.url()).second == "1\n");
  const auto after = rig.run("deploy-pipeline", {"status"});
  INFO(after.out);
  CHECK_THAT(after.out, Catch::Contains("live     1\n"));
  CHECK_THAT(after.out, !Catch::Contains("interrupted"));
}

TEST_CASE("power-on starts the recorded servers that do not run, though the record says the pool is on",
          "[e2e][wake]") {
  WakeRig rig;
  const auto powered = rig.run("create-pipeline", {"power-on", "--label", "1"});
  INFO(powered.err);
  REQUIRE(powered.exit_code == 0);
  CHECK_THAT(powered.err, !Catch::Contains("already powered on"));
  CHECK_THAT(powered.err, Catch::Contains("pool 1 is powered on, but 2 of its 2 servers do not run: starting them"));
  // Its servers answer again: its smoke test passes.
  const auto smoke = rig.run("create-pipeline", {"smoke-test", "--label", "1"});
  INFO(smoke.err);
  CHECK(smoke.exit_code == 0);
  // Now that they run, a second power-on has nothing to start.
  const auto again = rig.run("create-pipeline", {"power-on", "--label", "1"});
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("pool 1 is already powered on"));
}
