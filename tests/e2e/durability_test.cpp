// Invariant 5: a reload or restart of HAProxy keeps the live pool, because the live members
// are also kept in the managed block of haproxy.cfg.

#include <signal.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>

#include "shared/balancers/haproxy_config_file.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

TEST_CASE("after a deploy, a full HAProxy restart still serves the live release", "[e2e][durable]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::each_in_turn);
  const auto managed = haproxy::managed_servers(*util::read_file(haproxy.config_file()), "web").value();
  REQUIRE(managed.size() == 3);
  CHECK_THAT(managed[0], Catch::StartsWith("server 2:1 127."));
  CHECK_THAT(managed[0], Catch::EndsWith("weight 1"));

  haproxy.restart();
  for (int i = 0; i < 5; ++i) CHECK(http_get(haproxy.url()).second == "2\n");
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("live     2\n"));

  // The next switch works on servers HAProxy loaded from its file, and keeps the file right.
  Prober prober(dir.path(), haproxy.url());
  REQUIRE(run_tool("deploy-pipeline", {"rollback", "--config", config}).exit_code == 0);
  CHECK(prober.finish().failed == 0);
  haproxy.reload();
  CHECK(http_get(haproxy.url()).second == "1\n");
  CHECK(haproxy::managed_servers(*util::read_file(haproxy.config_file()), "web").value().size() == 3);
}

namespace {

// The step the switch in `state` has begun last (0-based, from its progress record), or -1.
int step_begun(const fs::path& state) {
  const auto text = util::read_file(state / "intent-progress.json");
  const auto json = text ? util::parse_json(*text, "intent") : Result<util::Json>(text.error());
  return json ? static_cast<int>(util::json_number(json->get(), "step").value_or(-1)) : -1;
}

}  // namespace

// Each reload lands at a point the test holds the deploy at, not at a moment it hopes for:
// 1. in the health wait: pool 2's servers are frozen, so their checks cannot pass and the
//    deploy cannot leave the wait; the test reloads once the progress record says the wait
//    began, and thaws them only once the new HAProxy answers.
// 2. once pool 2 is routed to: the deploy stops itself (SIGSTOP) before its drain step, after
//    admit; the test reloads and lets it go on (SIGCONT) only once the new HAProxy answers.
TEST_CASE("HAProxy reloads during a deploy: the deploy still ends consistent", "[e2e][durable]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.health_timeout_s = 60;  // the wait outlasts the reload however slow the machine is
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  const auto state = dir.path() / "state" / "web";
  create_pools_1_and_2(config, ThenDeploy::pool_1);

  Prober prober(dir.path(), haproxy.url());
  ServingWatcher watcher(haproxy);
  REQUIRE(signal_pool_servers(state, "2", SIGSTOP));
  ToolResult deployed;
  std::thread deploy([&] {
    // Steps: 0 add, 1 wait for checks, 2 persist, 3 admit, 4 drain, 5 wait drained, 6 remove.
    deployed = run_tool("deploy-pipeline-test-hooks", {"deploy", "--label", "2", "--verbose", "--config", config},
                        {"PHOENIX_TEST_STOP_AT_STEP=4"});
  });
  const auto let_go = [&] {
    signal_pool_servers(state, "2", SIGCONT);
    if (const pid_t holder = deploy_lock_holder(state); holder > 0) ::kill(holder, SIGCONT);
  };

  const bool waiting = eventually([&] { return step_begun(state) == 1; });
  if (!waiting) let_go();
  REQUIRE(waiting);
  haproxy.reload();  // returns once the new process answers
  // Not past the wait: pool 2 cannot pass its checks while frozen. The deploy may have planned
  // again on finding its members gone from the new process (step 0 again), never admitted them.
  CHECK(step_begun(state) <= 1);
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});
  signal_pool_servers(state, "2", SIGCONT);

  pid_t holder = 0;
  const bool held = eventually([&] { return (holder = deploy_lock_holder(state)) > 0 && is_stopped(holder); });
  if (!held) let_go();
  REQUIRE(held);
  // Admit done, drain not begun: HAProxy routes to both pools.
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1", "2"});
  haproxy.reload();
  ::kill(holder, SIGCONT);
  deploy.join();

  INFO(deployed.err);
  CHECK(deployed.exit_code == 0);
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("live     2\n"));
  CHECK(http_get(haproxy.url()).second == "2\n");
  CHECK(watcher.finish() >= 1);
  const auto probe = prober.finish();
  INFO("prober errors: " << util::join(probe.errors, "; "));
  CHECK(probe.failed == 0);
}

TEST_CASE("a symlinked config_file is written through the link, so HAProxy reads the managed block", "[e2e][durable]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  // The operator's layout: haproxy.cfg is a link into a directory HAProxy's package owns.
  const auto real = dir.path() / "etc" / "haproxy.cfg";
  REQUIRE(util::make_directories(real.parent_path()).ok());
  fs::rename(haproxy.config_file(), real);
  fs::create_symlink("etc/haproxy.cfg", haproxy.config_file());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);

  CHECK(fs::is_symlink(haproxy.config_file()));
  CHECK(haproxy::managed_servers(*util::read_file(real), "web").value().size() == 3);
  haproxy.restart();  // reads haproxy.cfg through the link
  for (int i = 0; i < 5; ++i) CHECK(http_get(haproxy.url()).second == "1\n");
}

namespace {
// HAProxy's servers in backend web as "name address admin-state weight" lines, without the
// fields that change by themselves (check state, times).
std::vector<std::string> server_table(const Haproxy& haproxy) {
  std::vector<std::string> table;
  for (const auto& line : util::split_lines(haproxy.command("show servers state web"))) {
    const auto fields = util::split(line, ' ');
    if (fields.size() < 8 || fields[1] != "web") continue;
    table.push_back(fields[3] + " " + fields[4] + " " + fields[6] + " " + fields[7]);
  }
  return table;
}
}  // namespace

TEST_CASE("a damaged managed block refuses a deploy with exit 2 and changes nothing", "[e2e][durable]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  // Someone deletes the begin marker: the block's server lines now look like static servers.
  auto text = *util::read_file(haproxy.config_file());
  const std::string begin = "    " + std::string(haproxy::kManagedBegin) + "\n";
  REQUIRE(text.find(begin) != std::string::npos);
  text.erase(text.find(begin), begin.size());
  REQUIRE(util::write_file_atomic(haproxy.config_file(), text).ok());
  const auto servers_before = server_table(haproxy);
  REQUIRE(servers_before.size() == 3);

  const auto deploy = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config});
  INFO(deploy.err);
  CHECK(deploy.exit_code == 2);
  const auto lines = util::split_lines(deploy.err);
  REQUIRE(!lines.empty());
  CHECK_THAT(lines.back(), Catch::StartsWith("deploy-pipeline: error: " + haproxy.config_file().string() + ": line "));
  CHECK_THAT(lines.back(), Catch::Contains("the managed block of backend web has its end marker but no begin marker; "
                                           "put the line '# BEGIN phoenix managed servers"));
  // Nothing changed: the file, HAProxy's servers, no intent left behind.
  CHECK(*util::read_file(haproxy.config_file()) == text);
  CHECK(server_table(haproxy) == servers_before);
  CHECK_FALSE(fs::exists(dir.path() / "state" / "web" / "intent.json"));
  for (int i = 0; i < 3; ++i) CHECK(http_get(haproxy.url()).second == "1\n");
}
