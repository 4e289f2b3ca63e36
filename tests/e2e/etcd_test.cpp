// Shared state in etcd: CI agents on separate working directories (no shared files) that
// deploy one service behind one HAProxy coordinate through a real etcd. One deploy at a time,
// a killed holder's lock frees itself within the lease TTL, a stopped leader is survived or
// stopped cleanly, and etcd out of reach changes nothing (exit 4).

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <latch>
#include <set>
#include <thread>

#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

constexpr int kLeaseTtlS = 2;
const std::string kLockKey = "/phoenix/web/lock";

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

// The environment of a GoCD job: the deploy lock names it.
std::vector<std::string> gocd_job(int counter) {
  return {"GO_SERVER_URL=https://gocd.example/go",
          "GO_PIPELINE_NAME=web-deploy",
          "GO_PIPELINE_COUNTER=" + std::to_string(counter),
          "GO_STAGE_NAME=switch",
          "GO_STAGE_COUNTER=1",
          "GO_JOB_NAME=deploy",
          "GO_TRIGGER_USER=sre1"};
}

std::string job_name(int counter) { return "web-deploy/" + std::to_string(counter) + "/switch/1/deploy"; }

// One CI agent: a working directory of its own (config, local pools, state directory), the
// shared HAProxy and the shared etcd.
struct Agent {
  Agent(const fs::path& root, const std::string& name, const Haproxy& haproxy, const std::string& state,
        int check_interval_ms = 100)
      : directory(root / name) {
    fs::create_directories(directory);
    ServiceOptions options;
    options.pool_size = 2;
    options.check_interval_ms = check_interval_ms;
    options.state = state;
    config = write_service_config(directory, haproxy, options).string();
  }

  ToolResult run(const std::string& tool, std::vector<std::string> arguments,
                 const std::vector<std::string>& environment = {}) const {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool(tool, arguments, environment);
  }
  void create(const std::string& label) const {
    const auto created = run("create-pipeline", {"run", "--label", label});
    INFO(created.err);
    REQUIRE(created.exit_code == 0);
  }

  fs::path directory;
  std::string config;
};

// Which releases HAProxy routes to, from a few requests through its frontend.
std::set<std::string> serving(const Haproxy& haproxy) {
  std::set<std::string> releases;
  for (int i = 0; i < 8; ++i) {
    const auto [status, body] = http_get(haproxy.url());
    if (status == 200) releases.insert(std::string(util::trim(body)));
  }
  return releases;
}

bool in_backend(const Haproxy& haproxy, const std::string& label) {
  return haproxy.command("show servers state web").find(" " + label + ":") != std::string::npos;
}

}  // namespace

TEST_CASE("two agents deploy at the same instant: exactly one proceeds, the other exits 3 naming the holder",
          "[e2e][etcd]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  Etcd etcd(dir.path());
  const std::string state = etcd_state_json({etcd.endpoint()}, kLeaseTtlS, 500);
  // Checks every 500 ms keep the winner's switch running well past the loser's attempt.
  const Agent first(dir.path(), "agent-1", haproxy, state, 500);
  const Agent second(dir.path(), "agent-2", haproxy, state, 500);
  first.create("a1");
  second.create("b1");

  ToolResult results[2];
  std::latch start(3);
  std::thread one([&] {
    start.arrive_and_wait();
    results[0] = first.run("deploy-pipeline", {"deploy", "--label", "a1"}, gocd_job(7));
  });
  std::thread two([&] {
    start.arrive_and_wait();
    results[1] = second.run("deploy-pipeline", {"deploy", "--label", "b1"}, gocd_job(8));
  });
  start.arrive_and_wait();
  one.join();
  two.join();
  INFO("agent-1: " << results[0].err << "\nagent-2: " << results[1].err);
  REQUIRE(((results[0].exit_code == 0) != (results[1].exit_code == 0)));
  const int winner = results[0].exit_code == 0 ? 0 : 1;
  const ToolResult& refused = results[1 - winner];
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("another deploy holds the lock: pid "));
  CHECK_THAT(refused.err, Catch::Contains(" on " + this_host() + " (job " + job_name(winner == 0 ? 7 : 8) + ")"));
  CHECK_THAT(refused.err, Catch::Contains(winner == 0 ? "running 'deploy --label a1'" : "running 'deploy --label b1'"));

  // The refused deploy changed nothing: only the winner's pool is in HAProxy and serves.
  const std::string won = winner == 0 ? "a1" : "b1";
  const std::string lost = winner == 0 ? "b1" : "a1";
  CHECK(serving(haproxy) == std::set<std::string>{won});
  CHECK_FALSE(in_backend(haproxy, lost));
  CHECK_FALSE(etcd.has_key(kLockKey));  // released when the winner finished
}

TEST_CASE("SIGKILL of the holder mid-switch: its lock frees itself within the TTL, no --break-lock", "[e2e][etcd]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  Etcd etcd(dir.path());
  const std::string state = etcd_state_json({etcd.endpoint()}, kLeaseTtlS, 500);
  const Agent first(dir.path(), "agent-1", haproxy, state);
  const Agent second(dir.path(), "agent-2", haproxy, state);
  first.create("a1");
  second.create("b1");

  // Killed just before admitting the new members (step 2: after add and wait-healthy).
  const auto killed = run_tool("deploy-pipeline-test-hooks", {"deploy", "--label", "a1", "--config", first.config},
                               {"PHOENIX_TEST_KILL_AT_STEP=2"});
  REQUIRE(killed.signal == SIGKILL);
  const auto killed_at = killed.ended;
  REQUIRE(etcd.has_key(kLockKey));  // the dead holder's lease still runs

  // Agent 2 deploys as an operator would: re-running while refused, never breaking the lock.
  const auto deadline = killed_at + std::chrono::seconds(kLeaseTtlS + 1);
  ToolResult attempt;
  int refusals = 0;
  for (;;) {
    attempt = second.run("deploy-pipeline", {"deploy", "--label", "b1"});
    if (attempt.exit_code != 3) break;
    ++refusals;
    INFO(attempt.err);
    REQUIRE(attempt.started < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(attempt.err);
  REQUIRE(attempt.exit_code == 0);
  CHECK(refusals >= 1);  // the lock outlived its holder until the lease ran out
  const long long free_after =
      std::chrono::duration_cast<std::chrono::milliseconds>(attempt.started - killed_at).count();
  CHECK(attempt.started < deadline);
  std::printf("etcd: the killed holder's lock was free %lld ms after SIGKILL (lease TTL %d s, %d refused attempts)\n",
              free_after, kLeaseTtlS, refusals);
  CHECK_THAT(attempt.err, Catch::Contains("found an interrupted deploy to pool a1"));
  CHECK(serving(haproxy) == std::set<std::string>{"b1"});
  CHECK_FALSE(etcd.has_key(kLockKey));
}

TEST_CASE(
    "three etcd members, the leader stopped mid-deploy: the deploy completes or stops cleanly, a re-run "
    "converges",
    "[e2e][etcd]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  EtcdCluster cluster(dir.path());
  const std::size_t leader = cluster.leader();
  // The leader first: every call goes to it until it stops answering.
  std::vector<std::string> endpoints = {cluster.member(leader).endpoint()};
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (i != leader) endpoints.push_back(cluster.member(i).endpoint());
  }
  const Agent agent(dir.path(), "agent-1", haproxy, etcd_state_json(endpoints, 3, 1000), 300);
  agent.create("a1");
  agent.create("a2");
  REQUIRE(agent.run("deploy-pipeline", {"deploy", "--label", "a1"}).exit_code == 0);

  ToolResult during;
  std::thread deploy([&] { during = agent.run("deploy-pipeline", {"deploy", "--label", "a2"}); });
  for (int i = 0; i < 400 && !cluster.member(leader).has_key(kLockKey); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  cluster.member(leader).pause();
  deploy.join();
  INFO("during: " << during.err);
  CHECK(during.signal == 0);
  CHECK((during.exit_code == 0 || during.exit_code == 3 || during.exit_code == 4));
  std::printf("etcd: with the leader stopped mid-deploy, the deploy exited %d after %lld ms\n", during.exit_code,
              during.duration_ms());
  const std::size_t new_leader = cluster.leader();
  CHECK(new_leader != leader);

  // Re-run with the old leader still stopped; a lock left by a deploy that lost its lease
  // frees itself within the TTL.
  ToolResult again;
  for (int i = 0; i < 20; ++i) {
    again = agent.run("deploy-pipeline", {"deploy", "--label", "a2"});
    if (again.exit_code != 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  INFO("again: " << again.err);
  CHECK(again.exit_code == 0);
  CHECK(serving(haproxy) == std::set<std::string>{"a2"});
  const auto status = agent.run("deploy-pipeline", {"status", "--output", "json"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  const auto document = parse_output(status.out);
  CHECK(cJSON_GetObjectItem(document.get(), "interrupted") == nullptr);

  // Two of three members gone: no quorum. The one left cannot commit anything: exit 4.
  cluster.member(leader).resume();
  const std::size_t survivor = (leader + 1) % cluster.size();
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (i != survivor) cluster.member(i).stop();
  }
  const auto without_quorum = agent.run("deploy-pipeline", {"rollback", "--to", "a1", "--reason", "test"});
  INFO("without quorum: " << without_quorum.err);
  CHECK(without_quorum.exit_code == 4);
  CHECK_THAT(without_quorum.err, Catch::Contains("etcd is unavailable"));
  CHECK_THAT(without_quorum.err, Catch::Contains(cluster.member(survivor).endpoint()));
  CHECK(serving(haproxy) == std::set<std::string>{"a2"});
}

TEST_CASE("etcd unreachable or not answering: exit 4 naming the endpoints, nothing changed; status exits 4 too",
          "[e2e][etcd]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  Etcd etcd(dir.path());
  const std::string dead = "http://127.0.0.1:" + std::to_string(free_port());
  const Agent agent(dir.path(), "agent-1", haproxy, etcd_state_json({dead, etcd.endpoint()}, kLeaseTtlS, 400));
  agent.create("a1");
  agent.create("a2");
  REQUIRE(agent.run("deploy-pipeline", {"deploy", "--label", "a1"}).exit_code == 0);

  etcd.pause();  // the process holds its port and answers nothing
  for (const auto& arguments : std::vector<std::vector<std::string>>{{"deploy", "--label", "a2"},
                                                                     {"rollback", "--to", "a2", "--reason", "test"}}) {
    const auto refused = agent.run("deploy-pipeline", arguments);
    INFO(arguments[0] << ": " << refused.err);
    CHECK(refused.exit_code == 4);
    CHECK_THAT(refused.err, Catch::Contains("etcd is unavailable"));
    CHECK_THAT(refused.err, Catch::Contains(dead));
    CHECK_THAT(refused.err, Catch::Contains(etcd.endpoint()));
  }
  // Status still reports what the balancer says, each record it could not read as a problem,
  // and exits 4 as for a balancer that does not answer: an etcd outage is no service problem.
  const auto status = agent.run("deploy-pipeline", {"status", "--output", "json"});
  INFO("status: " << status.out << status.err);
  CHECK(status.exit_code == 4);
  CHECK_THAT(status.err, Catch::Contains("the state store is unavailable (") && Catch::Contains(dead));
  CHECK_THAT(status.out, Catch::Contains("\"state_store_error\"") && Catch::Contains("\"live\""));
  // The store's records may be fine: no advice meant for a record that cannot be read (take the
  // lock over, unfreeze, repair), and no record asked for after the first the store did not answer.
  CHECK_THAT(status.out, Catch::Contains("cannot read the deploy lock: ") &&
                             Catch::Contains("; status reads it again once the state store answers"));
  CHECK_THAT(status.out, Catch::Contains("cannot read the freeze record: not asked, since the state store did not "
                                         "answer"));
  CHECK_THAT(status.out,
             !Catch::Contains("--break-lock") && !Catch::Contains("unfreeze") && !Catch::Contains("replaces it"));
  CHECK(serving(haproxy) == std::set<std::string>{"a1"});
  CHECK_FALSE(in_backend(haproxy, "a2"));
  etcd.resume();
  CHECK_FALSE(etcd.has_key(kLockKey));
  CHECK_FALSE(etcd.has_key("/phoenix/web/intent"));
}
