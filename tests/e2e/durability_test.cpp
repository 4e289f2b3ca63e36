// Invariant 5: a reload or restart of HAProxy keeps the live pool, because the live members
// are also kept in the managed block of haproxy.cfg.

#include <atomic>
#include <catch2/catch.hpp>
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

TEST_CASE("HAProxy reloads during a deploy: the deploy still ends consistent", "[e2e][durable]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.check_interval_ms = 400;  // a long health wait, so a reload lands inside it
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);

  Prober prober(dir.path(), haproxy.url());
  ServingWatcher watcher(haproxy);
  ToolResult deployed;
  std::atomic<bool> running{true};
  std::thread deploy([&] {
    deployed = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config});
    running = false;
  });
  // Reload at moments the deploy's own progress record names: while it waits for the new
  // members' checks (step 2 of 7), and once it routes to them (step 4 or later).
  const auto intent_file = dir.path() / "state" / "web" / "intent-progress.json";
  const auto step_now = [&]() -> int {
    const auto text = util::read_file(intent_file);
    const auto json = text ? util::parse_json(*text, "intent") : Result<util::Json>(text.error());
    return json ? static_cast<int>(util::json_number(json->get(), "step").value_or(-1)) : -1;
  };
  std::string timeline;
  int reloads_during_deploy = 0;
  for (const int wanted : {1, 3}) {
    for (int i = 0; i < 4000 && running && step_now() < wanted; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!running) break;
    timeline += " reload at step " + std::to_string(step_now());
    ++reloads_during_deploy;  // started while the deploy ran
    haproxy.reload();
  }
  deploy.join();
  INFO(timeline);
  INFO(deployed.err);
  // The reloads really happened while the deploy ran (the point of this test).
  CHECK(reloads_during_deploy == 2);
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
