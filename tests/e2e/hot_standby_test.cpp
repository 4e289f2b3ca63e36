// Hot standby (retention.hot): the pool a switch replaces stays in HAProxy on standby (weight
// 0, checks on, routed nothing, kept in the managed block), so switching back is one batch of
// weight changes; a standby member that is down makes that switch wait for checks instead.
// Smart delete takes a hot pool out of the balancer first; retention by verdict keeps the
// known-good pools.

#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "shared/balancers/haproxy_config_file.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "support/harness.hpp"
#include "support/service_rig.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// Three servers a pool, retention.hot 1; each test makes its pools.
struct HotRig : ServiceRig {
  explicit HotRig(int keep_good = 0) : ServiceRig({.pool_size = 3, .hot = 1, .keep_good = keep_good}) {}
};

// The one standby pool of a status document, as (label, members up).
std::pair<std::string, int> standby_of(const util::Json& status) {
  const cJSON* standby = cJSON_GetObjectItem(status.get(), "standby");
  if (cJSON_GetArraySize(standby) != 1) return {"", 0};
  const cJSON* pool = cJSON_GetArrayItem(standby, 0);
  return {cJSON_GetObjectItem(pool, "pool")->valuestring,
          static_cast<int>(cJSON_GetObjectItem(pool, "up")->valuedouble)};
}

}  // namespace

TEST_CASE("the replaced pool stays hot: checked, routed nothing, kept across a reload; back in one batch",
          "[e2e][hot]") {
  HotRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});

  auto status = rig.status_json();
  CHECK(standby_of(status) == std::make_pair(std::string("1"), 3));
  const auto plain = rig.run("deploy-pipeline", {"status"});
  CHECK(plain.exit_code == 0);
  CHECK_THAT(plain.out, Catch::Contains("standby  pool 1, 3/3 UP (L7OK)"));
  const auto list = rig.run("create-pipeline", {"list"});
  CHECK_THAT(list.out, Catch::Contains("hot"));

  // Under load, the standby pool takes no request at all.
  {
    Prober prober(rig.dir.path(), rig.haproxy.url());
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    const auto probe = prober.finish();
    CHECK(probe.requests > 100);
    CHECK(probe.failed == 0);
    CHECK(probe.count.count("1") == 0);
  }

  // The managed block keeps it on standby: after a reload it is still there, weight 0.
  const auto managed = haproxy::managed_servers(*util::read_file(rig.haproxy.config_file()), "web").value();
  REQUIRE(managed.size() == 6);
  rig.haproxy.reload();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // a few check intervals
  status = rig.status_json();
  CHECK(standby_of(status) == std::make_pair(std::string("1"), 3));
  CHECK(http_get(rig.haproxy.url()).second == "2\n");

  // Rolling back to the hot pool waits for no check: one batch, then 2 goes on standby.
  Prober prober(rig.dir.path(), rig.haproxy.url());
  const auto rolled_back = rig.run("deploy-pipeline", {"rollback", "--reason", "hot test"});
  INFO(rolled_back.err);
  REQUIRE(rolled_back.exit_code == 0);
  CHECK(rolled_back.err.find("wait until the balancer reports") == std::string::npos);
  CHECK_THAT(rolled_back.err, Catch::Contains("route traffic to 3 members: 1:1, 1:2, 1:3"));
  const auto probe = prober.finish();
  CHECK(probe.failed == 0);
  // 2 was marked bad by the rollback, so it is no rollback target and does not stay hot.
  status = rig.status_json();
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(status.get(), "standby")) == 0);
}

// retention.hot lowered to 0 after a switch left pool 1 hot: a switch or repair removes it,
// and status says so instead of showing it as a hot standby with no problem.
TEST_CASE("with retention.hot 0 a pool left on standby is a problem status names, and repair removes it",
          "[e2e][hot]") {
  HotRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});
  REQUIRE(rig.run("deploy-pipeline", {"status"}).exit_code == 0);
  auto text = util::read_file(rig.config).value();
  const auto at = text.find(R"("hot": 1)");
  REQUIRE(at != std::string::npos);
  text.replace(at, 8, R"("hot": 0)");
  REQUIRE(util::write_file_atomic(rig.config, text).ok());

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("member 1:1 is left in standby (retention.hot 0 keeps no pool there); the "
                                         "next deploy or 'deploy-pipeline repair' cleans it up"));
  rig.ok("deploy-pipeline", {"repair"});
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(rig.status_json().get(), "standby")) == 0);
  const auto after = rig.run("deploy-pipeline", {"status"});
  INFO(after.out);
  CHECK(after.exit_code == 0);
  CHECK(rig.live() == "2\n");
}

TEST_CASE("a standby member that is down is a problem, and the switch to its pool waits for checks", "[e2e][hot]") {
  HotRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});
  const pid_t frozen = rig.pids("1").front();
  REQUIRE(::kill(frozen, SIGSTOP) == 0);
  // Its checks time out; within a few intervals HAProxy reports it down.
  ToolResult status;
  for (int i = 0; i < 100; ++i) {
    status = rig.run("deploy-pipeline", {"status"});
    if (status.out.find("standby member 1:1 DOWN") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("standby member 1:1 DOWN"));
  CHECK_THAT(status.out, Catch::Contains("standby  pool 1, 2/3 UP"));

  // The rollback takes the path through health checks: it waits, and once the server answers
  // again it completes.
  ToolResult rolled_back;
  std::thread rollback([&] { rolled_back = rig.run("deploy-pipeline", {"rollback", "--to", "1"}); });
  const auto intent = rig.dir.path() / "state" / "web" / "intent-progress.json";  // the step in progress
  bool waiting = false;
  for (int i = 0; i < 400 && !waiting; ++i) {
    const auto text = util::read_file(intent);
    waiting = text && text->find("wait until the balancer reports") != std::string::npos;
    if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(frozen, SIGCONT);
  rollback.join();
  CHECK(waiting);
  INFO(rolled_back.err);
  CHECK(rolled_back.exit_code == 0);
  CHECK_THAT(rolled_back.err, Catch::Contains("wait until the balancer reports 3 members healthy"));
  CHECK(http_get(rig.haproxy.url()).second == "1\n");
}

TEST_CASE("smart delete takes an idle hot pool out of the balancer first; a busy one is refused", "[e2e][hot]") {
  HotRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});
  const auto pids = rig.pids("1");
  // --force: pool 1 is the last rollback target (verdicts_test.cpp has that refusal).
  const auto deleted = rig.run("create-pipeline", {"delete", "--label", "1", "--force"});
  INFO(deleted.err);
  REQUIRE(deleted.exit_code == 0);
  CHECK_THAT(deleted.err, Catch::Contains("taking pool 1 off standby"));
  CHECK(rig.haproxy.command("show servers state web").find(" 1:1 ") == std::string::npos);
  CHECK(haproxy::managed_servers(*util::read_file(rig.haproxy.config_file()), "web").value().size() == 3);
  for (const pid_t pid : pids) CHECK_FALSE(util::is_running(util::ProcessIdentity{pid, 0}));
  CHECK(http_get(rig.haproxy.url()).second == "2\n");
  // The live pool is still refused.
  const auto refused = rig.run("create-pipeline", {"delete", "--label", "2"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("pool 2 is in the balancer"));
}

TEST_CASE("retention by verdict: prune after failed and bad builds keeps the known-good pools; delete needs --force",
          "[e2e][retention]") {
  HotRig rig(2);
  // 1 and 2 good; 3 fails its smoke test (its servers answer 500 on /); 4 live, then 5 bad.
  create_pools_1_and_2(rig.config, ThenDeploy::nothing);
  ServiceOptions failing;
  failing.pool_size = 1;
  failing.extra_arguments = {"--fail-after", "0"};
  failing.file_name = "failing.json";
  const auto failing_config = write_service_config(rig.dir.path(), rig.haproxy, failing).string();
  CHECK(run_tool("create-pipeline", {"run", "--label", "3", "--config", failing_config}).exit_code == 1);
  for (const char* label : {"4", "5"}) rig.ok("create-pipeline", {"run", "--label", label});
  rig.ok("deploy-pipeline", {"deploy", "--label", "4"});
  rig.ok("deploy-pipeline", {"deploy", "--label", "5"});
  rig.ok("deploy-pipeline", {"rollback", "--reason", "checkout errors"});  // 5 is bad, 4 live again

  const auto dry = rig.run("create-pipeline", {"prune", "--keep", "1", "--dry-run"});
  INFO(dry.out);
  REQUIRE(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("5     would delete  marked bad: checkout errors"));
  CHECK_THAT(dry.out, Catch::Contains("4     keep          live"));
  CHECK_THAT(dry.out, Catch::Contains("3     would delete  smoke test failed"));
  CHECK_THAT(dry.out, Catch::Contains("2     keep          known good, kept place 1 of retention.keep 1"));
  CHECK_THAT(dry.out, Catch::Contains("1     keep          known-good rollback target (retention.keep_good 2)"));

  // Deleting one of the last two known-good pools is refused; --force does it.
  const auto refused = rig.run("create-pipeline", {"delete", "--label", "1"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("retention.keep_good is 2"));
  CHECK(rig.run("create-pipeline", {"delete", "--label", "1", "--force"}).exit_code == 0);
}
