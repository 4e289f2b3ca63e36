// deploy-pipeline status where the state is unusual: a balancer that does not answer (status
// still says what it can read without it, exit 4), a switch interrupted next to a hot standby
// pool (only the members the switch added are left-overs), and a switch whose process is
// stopped (Ctrl-Z: stopped, not running).

#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

ToolResult run_with(const std::string& config, const std::string& tool, std::vector<std::string> arguments,
                    const std::vector<std::string>& environment = {}) {
  arguments.insert(arguments.end(), {"--config", config});
  return run_tool(tool, arguments, environment);
}

// A service of 2-server pools keeping one hot: pools 1 and 2 made, 2 live, 1 on hot standby.
// Returns its configuration file.
std::string two_live_one_hot(const TempDir& dir, const Haproxy& haproxy) {
  ServiceOptions options;
  options.pool_size = 2;
  options.hot = 1;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  create_pools_1_and_2(config, ThenDeploy::each_in_turn);
  return config;
}

}  // namespace

TEST_CASE("HAProxy does not answer: status prints what it reads without it, names the balancer, exits 4",
          "[e2e][status][external]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 2;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  create_pools_1_and_2(config, ThenDeploy::each_in_turn);
  REQUIRE(run_with(config, "deploy-pipeline", {"freeze", "--reason", "incident 42"}).exit_code == 0);

  SECTION("frozen (SIGSTOP): the runtime API does not answer in time") {
    haproxy.pause();
    const auto status = run_with(config, "deploy-pipeline", {"status"});
    haproxy.resume();
    INFO(status.out << status.err);
    CHECK(status.exit_code == 4);
    CHECK_THAT(status.out, Catch::Contains("live     unknown (balancer: unavailable)"));
    CHECK_THAT(status.out, Catch::Contains("  - balancer: unavailable (HAProxy's runtime API"));
    CHECK_THAT(status.out, Catch::Contains("deploys are frozen since"));
    CHECK_THAT(status.out, Catch::Contains("incident 42"));
    CHECK_THAT(status.out, Catch::Contains("the last deploy in history"));
    CHECK_THAT(status.out, Catch::Contains("made pool 2 live"));
    CHECK_THAT(status.out, Catch::Contains("pool 1: running, smoke passed"));
    CHECK_THAT(status.out, Catch::Contains("pool 2: running, smoke passed"));
    CHECK_THAT(status.out, !Catch::Contains("no pool is live"));
    CHECK_THAT(status.err, Catch::Contains("the balancer is unavailable"));
  }
  SECTION("stopped: --output json is a document with balancer_error") {
    haproxy.stop();
    const auto status = run_with(config, "deploy-pipeline", {"status", "--output", "json"});
    INFO(status.out << status.err);
    CHECK(status.exit_code == 4);
    const auto document = parse_output(status.out);
    const cJSON* error = cJSON_GetObjectItem(document.get(), "balancer_error");
    REQUIRE(cJSON_IsString(error));
    CHECK_THAT(std::string(error->valuestring), Catch::Contains("is HAProxy running?"));
    const cJSON* problems = cJSON_GetObjectItem(document.get(), "problems");
    REQUIRE(cJSON_GetArraySize(problems) >= 1);
    CHECK_THAT(std::string(cJSON_GetArrayItem(problems, 0)->valuestring), Catch::StartsWith("balancer: unavailable ("));
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(document.get(), "freeze")));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "live")) == 0);
    haproxy.start();
  }
  SECTION("balancer.socket is a regular file: a configuration error, still a JSON document for monitoring") {
    haproxy.stop();
    fs::remove(haproxy.socket());
    REQUIRE(util::write_file_atomic(haproxy.socket(), "not a socket\n").ok());
    const auto status = run_with(config, "deploy-pipeline", {"status", "--output", "json"});
    fs::remove(haproxy.socket());
    haproxy.start();
    INFO(status.out << status.err);
    CHECK(status.exit_code == 2);
    const auto document = parse_output(status.out);
    const cJSON* error = cJSON_GetObjectItem(document.get(), "balancer_error");
    REQUIRE(cJSON_IsString(error));
    CHECK_THAT(std::string(error->valuestring), Catch::Contains("is a regular file, not a socket"));
    CHECK(cJSON_IsObject(cJSON_GetObjectItem(document.get(), "freeze")));
    CHECK_THAT(status.err, Catch::Contains("is a regular file, not a socket"));
  }
}

TEST_CASE("an interrupted deploy next to the hot standby: only the members it added are called left in standby",
          "[e2e][status][hot][crash]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = two_live_one_hot(dir, haproxy);
  REQUIRE(run_with(config, "create-pipeline", {"run", "--label", "3"}).exit_code == 0);
  const auto before = run_with(config, "deploy-pipeline", {"status"});
  INFO(before.out);
  REQUIRE_THAT(before.out, Catch::Contains("standby  pool 1, 2/2 UP"));

  // Steps: 0 add pool 3 on standby, 1 wait for its checks, 2 persist, ...: killed before 2.
  const auto killed =
      run_with(config, "deploy-pipeline-test-hooks", {"deploy", "--label", "3"}, {"PHOENIX_TEST_KILL_AT_STEP=2"});
  REQUIRE(killed.signal == SIGKILL);
  const auto status = run_with(config, "deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("a deploy to pool 3 started"));
  CHECK_THAT(status.out, Catch::Contains("member 3:1 is left in standby"));
  CHECK_THAT(status.out, !Catch::Contains("member 1:1 is left in standby"));
  CHECK_THAT(status.out, !Catch::Contains("member 1:2 is left in standby"));
  CHECK_THAT(status.out, Catch::Contains("standby  pool 1, 2/2 UP"));
  CHECK_THAT(status.out, !Catch::Contains("standby  pool 3"));
}

// A tester's finding: with the deploy holding the lock stopped (Ctrl-Z, SIGSTOP: /proc state T),
// status reported the stopped holder as a problem and still noted its switch as "running".
TEST_CASE("a switch whose process is stopped is noted as stopped, not running", "[e2e][status][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.health_timeout_s = 30;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  const auto state = dir.path() / "state" / "web";
  // Pool 2 answers no check while its servers are frozen: the deploy waits in its health step.
  REQUIRE(signal_pool_servers(state, "2", SIGSTOP));
  ToolResult deployed;
  std::thread deploy([&] { deployed = run_with(config, "deploy-pipeline", {"deploy", "--label", "2"}); });
  // However the test ends: the deploy goes on and pool 2 answers, so the deploy ends by itself.
  struct LetGo {
    fs::path state;
    std::thread& deploy;
    ~LetGo() {
      signal_pool_servers(state, "2", SIGCONT);
      if (const pid_t holder = deploy_lock_holder(state); holder > 0) ::kill(holder, SIGCONT);
      if (deploy.joinable()) deploy.join();
    }
  } let_go{state, deploy};

  const bool waiting = eventually(
      [&] {
        const auto progress = util::read_file(state / "intent-progress.json");
        return progress && progress->find("\"step\":\t1") != std::string::npos;
      },
      std::chrono::seconds(20));
  REQUIRE(waiting);
  const pid_t holder = deploy_lock_holder(state);
  REQUIRE(holder > 0);
  const auto running = run_with(config, "deploy-pipeline", {"status"});
  INFO("running: " << running.out);
  CHECK_THAT(running.out, Catch::Contains("a deploy to pool 2 is running (pid " + std::to_string(holder)));
  CHECK_THAT(running.out, Catch::Contains(", running 'deploy --label 2'\n"));

  REQUIRE(::kill(holder, SIGSTOP) == 0);
  REQUIRE(eventually([&] { return is_stopped(holder); }));
  const auto stopped = run_with(config, "deploy-pipeline", {"status"});
  INFO("stopped: " << stopped.out << stopped.err);
  CHECK(stopped.exit_code == 1);
  CHECK_THAT(stopped.out,
             Catch::Contains("note     a deploy to pool 2 is stopped, not running (pid " + std::to_string(holder)));
  CHECK_THAT(stopped.out, Catch::Contains("SIGSTOP/Ctrl-Z: see the deploy lock holder's problem), at step 2 of "));
  CHECK_THAT(stopped.out, !Catch::Contains("is running"));
  // The lock line too (it said "running 'deploy --label 2'").
  CHECK_THAT(stopped.out, Catch::Contains("lock     held by pid " + std::to_string(holder)));
  CHECK_THAT(stopped.out, Catch::Contains(", stopped (SIGSTOP/Ctrl-Z) in 'deploy --label 2'\n"));
  CHECK_THAT(stopped.out, !Catch::Contains("running '"));
  CHECK_THAT(stopped.out, Catch::Contains("the deploy lock holder pid " + std::to_string(holder) + " is stopped"));

  // Going on again, it is running again, and the deploy finishes.
  REQUIRE(::kill(holder, SIGCONT) == 0);
  REQUIRE(eventually([&] { return !is_stopped(holder); }));
  const auto again = run_with(config, "deploy-pipeline", {"status"});
  INFO("again: " << again.out);
  CHECK_THAT(again.out, Catch::Contains("a deploy to pool 2 is running (pid "));
  signal_pool_servers(state, "2", SIGCONT);
  deploy.join();
  INFO(deployed.err);
  CHECK(deployed.exit_code == 0);
}

// The live pool's servers dead and its record gone with the provider (deleted behind Phoenix's
// back), pool 1 UP on hot standby: status named a fixed release as the way back and a plain
// rollback said "name the pool to roll back to with --to L", though 'rollback --to 1' switches at
// once. Both name it now, and it works.
TEST_CASE("an outage of a live pool that no longer exists: status and rollback name the hot standby",
          "[e2e][status][hot][rollback]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = two_live_one_hot(dir, haproxy);
  const auto state = dir.path() / "state" / "web";
  REQUIRE(signal_pool_servers(state, "2", SIGKILL));
  std::filesystem::remove_all(state / "pools" / "2");
  const auto down = [&] {
    return run_with(config, "deploy-pipeline", {"status"}).out.find("no live member is up") != std::string::npos;
  };
  REQUIRE(eventually(down, std::chrono::seconds(20)));

  const auto status = run_with(config, "deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK_THAT(status.out, Catch::Contains("the fastest way back: 'deploy-pipeline rollback --to 1' (pool 1 is on hot "
                                         "standby, 2/2 UP)"));
  const auto plain = run_with(config, "deploy-pipeline", {"rollback"});
  INFO(plain.err);
  CHECK(plain.exit_code == 3);
  CHECK_THAT(plain.err, Catch::Contains("the live pool 2 no longer exists with the provider, so no pool counts as "
                                        "older; name the pool to roll back to with --to: pool 1 (hot standby) is "
                                        "known-good: 'deploy-pipeline rollback --to 1'"));
  const auto back = run_with(config, "deploy-pipeline", {"rollback", "--to", "1"});
  INFO(back.err);
  CHECK(back.exit_code == 0);
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});
}
