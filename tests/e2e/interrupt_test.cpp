// Ctrl-C, a cancelled CI job or a lost terminal or agent session during a switch: the command
// stops at its next safe point, keeps the intent record, releases the lock, exits 130 (SIGINT),
// 143 (SIGTERM) or 129 (SIGHUP) and says what state the service is in and which command
// finishes or reverts it.

#include <signal.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// The pid in the deploy lock once the switch waits on step `step` (0-based), or 0. The step is
// in the switch's progress record, beside its intent.
long holder_at_step(const fs::path& state, int step) {
  for (int i = 0; i < 2000; ++i) {
    const auto intent = util::read_file(state / "intent-progress.json");
    const auto lock = util::read_file(state / "deploy.lock");
    if (intent && lock) {
      const auto intent_json = util::parse_json(*intent, "intent");
      const auto lock_json = util::parse_json(*lock, "lock");
      if (intent_json && lock_json && util::json_number(intent_json->get(), "step").value_or(-1) == step) {
        return static_cast<long>(util::json_number(lock_json->get(), "pid").value_or(0));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return 0;
}

// The servers `haproxy` reports UP and routes new traffic to (ready, with a weight).
std::set<std::string> up_and_routed(const Haproxy& haproxy) {
  // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ...
  std::set<std::string> servers;
  for (const auto& line : util::split_lines(haproxy.command("show servers state web"))) {
    const auto fields = util::split(line, ' ');
    if (fields.size() < 8 || fields[1] != "web") continue;
    if (fields[5] == "2" && fields[6] == "0" && fields[7] != "0") servers.insert(fields[3]);
  }
  return servers;
}

void stop_deploy_while_waiting(int signal, const std::string& signal_name, int expected_exit) {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 2;
  options.check_interval_ms = 4000;  // the new pool waits about that long for its first check
  options.health_timeout_s = 20;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  const auto state = dir.path() / "state" / "web";
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  Prober prober(dir.path(), haproxy.url());

  ToolResult stopped;
  std::thread deploy([&] { stopped = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config}); });
  const long pid = holder_at_step(state, 1);  // step 1: waiting for the new members' checks
  REQUIRE(pid > 0);
  const auto serving = up_and_routed(haproxy);
  REQUIRE(serving.size() == 2);  // pool 1's servers
  const auto signalled = std::chrono::steady_clock::now();
  ::kill(static_cast<pid_t>(pid), signal);
  deploy.join();
  const auto took = std::chrono::steady_clock::now() - signalled;
  INFO(stopped.err);
  CHECK(stopped.exit_code == expected_exit);
  // It stopped at the next safe point of the health wait, before the first check could pass.
  CHECK(took < std::chrono::milliseconds(options.check_interval_ms));
  CHECK_THAT(stopped.err, Catch::Contains("stopped by " + signal_name));
  CHECK_THAT(stopped.err, Catch::Contains("1 still serves and pool 2 is not routed to"));
  CHECK_THAT(stopped.err, Catch::Contains("'deploy-pipeline repair --revert' returns to pool 1"));
  CHECK_FALSE(std::filesystem::exists(state / "deploy.lock"));
  CHECK(std::filesystem::exists(state / "intent.json"));
  // No server that was UP and routed to before the signal was lost by the stop.
  const auto after = up_and_routed(haproxy);
  for (const auto& server : serving) CHECK(after.count(server) == 1);

  // The next emergency command needs no --break-lock; status explains; --revert goes back.
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("was interrupted at step 2 of 7"));
  const auto reverted = run_tool("deploy-pipeline", {"repair", "--revert", "--config", config});
  INFO(reverted.err);
  CHECK(reverted.exit_code == 0);
  CHECK(http_get(haproxy.url()).second == "1\n");
  // Back where it started: pool 1 live, nothing interrupted. Pool 2, newer and never live, is no
  // pool a plain rollback goes to, which status reports as before the deploy.
  const auto reverted_status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(reverted_status.out);
  CHECK_THAT(reverted_status.out, !Catch::Contains("interrupted"));
  CHECK_THAT(
      reverted_status.out,
      Catch::Contains("problems:\n  - a plain rollback has no pool to go to (no pool older than the live pool 1"));
  const std::string item = "\n  - ";
  std::size_t problems = 0;
  for (auto at = reverted_status.out.find(item); at != std::string::npos; at = reverted_status.out.find(item, at + 1)) {
    ++problems;
  }
  CHECK(problems == 1);
  CHECK(prober.finish().failed == 0);
}

}  // namespace

TEST_CASE("SIGTERM during a deploy: exit 143 at the next safe point, lock released, repair --revert goes back",
          "[e2e][interrupt]") {
  stop_deploy_while_waiting(SIGTERM, "SIGTERM", 143);
}

TEST_CASE("SIGINT during a deploy: exit 130, the same clean stop", "[e2e][interrupt]") {
  stop_deploy_while_waiting(SIGINT, "SIGINT", 130);
}

// The CI agent's ssh session or the operator's terminal goes away: SIGHUP, not a kill mid-step.
TEST_CASE("SIGHUP during a deploy: exit 129, the same clean stop", "[e2e][interrupt]") {
  stop_deploy_while_waiting(SIGHUP, "SIGHUP", 129);
}
