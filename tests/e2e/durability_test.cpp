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
  for (const char* label : {"1", "2"}) {
    REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
    REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", label, "--config", config}).exit_code == 0);
  }
  const auto managed = haproxy::managed_servers(*util::read_file(haproxy.config_file()), "web");
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
  CHECK(haproxy::managed_servers(*util::read_file(haproxy.config_file()), "web").size() == 3);
}

TEST_CASE("HAProxy reloads during a deploy: the deploy still ends consistent", "[e2e][durable]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.check_interval_ms = 400;  // a long health wait, so a reload lands inside it
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  for (const char* label : {"1", "2"}) {
    REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
  }
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);

  Prober prober(dir.path(), haproxy.url());
  ServingWatcher watcher(haproxy);
  ToolResult deployed;
  std::atomic<bool> running{true};
  std::thread deploy([&] {
    deployed = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config});
    running = false;
  });
  // Reload at moments the deploy's own intent record names: while it waits for the new
  // members' checks (step 2 of 7), and once it routes to them (step 4 or later).
  const auto intent_file = dir.path() / "state" / "web" / "intent.json";
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
