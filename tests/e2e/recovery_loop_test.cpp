// The whole recovery loop through the real binaries, a real HAProxy and real server
// processes, with the prober sending traffic through HAProxy the whole time it matters.

#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix::testing;

namespace {

struct Loop {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config = write_service_config(dir.path(), haproxy, {}).string();

  ToolResult create(const std::string& label) {
    return run_tool("create-pipeline", {"run", "--label", label, "--config", config});
  }
  ToolResult deploy(const std::string& label) {
    return run_tool("deploy-pipeline", {"deploy", "--label", label, "--config", config});
  }
};

void require_ok(const ToolResult& result) {
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE(result.exit_code == 0);
}

// After the switch, every response came from `release`.
void require_switched(const ProbeSummary& probe, const ToolResult& command, const std::string& release) {
  INFO("requests " << probe.requests << ", failed " << probe.failed);
  CHECK(probe.failed == 0);
  CHECK(probe.requests > 50);
  CHECK(probe.count.count(release) == 1);
  CHECK(probe.others_last_ns(release) <= wall_ns(command.ended));
}

}  // namespace

TEST_CASE("create, smoke, deploy, deploy again and roll back with zero failed requests", "[e2e][loop]") {
  Loop loop;
  require_ok(loop.create("1"));
  require_ok(loop.deploy("1"));
  CHECK(http_get(loop.haproxy.url()).second == "1\n");

  require_ok(loop.create("2"));
  {
    Prober prober(loop.dir.path(), loop.haproxy.url());
    const auto deployed = loop.deploy("2");
    require_ok(deployed);
    // Keep probing a little after the command returned: nothing may come from release 1.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto probe = prober.finish();
    require_switched(probe, deployed, "2");
    CHECK(probe.count.count("1") == 1);  // release 1 was serving when the deploy began
  }
  {
    Prober prober(loop.dir.path(), loop.haproxy.url());
    const auto rolled_back =
        run_tool("deploy-pipeline", {"rollback", "--reason", "errors in 2", "--config", loop.config});
    require_ok(rolled_back);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    require_switched(prober.finish(), rolled_back, "1");
  }

  const auto list = run_tool("create-pipeline", {"list", "--output", "json", "--config", loop.config});
  require_ok(list);
  INFO(list.out);
  INFO(loop.haproxy.command("show servers state web"));
  const auto document = parse_output(list.out);
  const cJSON* pools = cJSON_GetObjectItemCaseSensitive(document.get(), "pools");
  REQUIRE(cJSON_GetArraySize(pools) == 2);
  const cJSON* newest = cJSON_GetArrayItem(pools, 0);
  const cJSON* oldest = cJSON_GetArrayItem(pools, 1);
  CHECK(std::string(cJSON_GetObjectItem(newest, "label")->valuestring) == "2");
  CHECK(cJSON_IsFalse(cJSON_GetObjectItem(newest, "live")));
  CHECK(std::string(cJSON_GetObjectItem(newest, "verdict")->valuestring) == "bad");
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(oldest, "live")));
  CHECK(std::string(cJSON_GetObjectItem(oldest, "smoke")->valuestring) == "passed");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(oldest, "servers")) == 3);

  const auto status = run_tool("deploy-pipeline", {"status", "--output", "json", "--config", loop.config});
  INFO(status.out << status.err);
  // Pool 1 is live and 2 is bad: nothing is left to roll back to, and status says so.
  CHECK(status.exit_code == 1);
  const auto status_document = parse_output(status.out);
  const cJSON* problems = cJSON_GetObjectItem(status_document.get(), "problems");
  REQUIRE(cJSON_GetArraySize(problems) == 1);
  CHECK_THAT(std::string(cJSON_GetArrayItem(problems, 0)->valuestring),
             Catch::Contains("no known-good pool to roll back to"));
  const cJSON* live = cJSON_GetObjectItem(status_document.get(), "live");
  REQUIRE(cJSON_GetArraySize(live) == 1);
  CHECK(std::string(cJSON_GetArrayItem(live, 0)->valuestring) == "1");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(status_document.get(), "members")) == 3);

  const auto history = run_tool("deploy-pipeline", {"history", "--output", "json", "--config", loop.config});
  require_ok(history);
  const auto history_document = parse_output(history.out);
  const cJSON* events = cJSON_GetObjectItem(history_document.get(), "events");
  REQUIRE(cJSON_GetArraySize(events) == 3);
  CHECK(std::string(cJSON_GetObjectItem(cJSON_GetArrayItem(events, 0), "action")->valuestring) == "rollback");
  CHECK(std::string(cJSON_GetObjectItem(cJSON_GetArrayItem(events, 0), "from")->valuestring) == "2");
}

TEST_CASE("a pool that fails HAProxy's health check is taken out again and the old pool keeps serving",
          "[e2e][unhealthy]") {
  Loop loop;
  require_ok(loop.create("1"));
  require_ok(loop.deploy("1"));

  ServiceOptions unhealthy;
  unhealthy.extra_arguments = {"--unhealthy"};
  unhealthy.file_name = "unhealthy.json";
  unhealthy.health_timeout_s = 2;
  unhealthy.smoke_timeout_s = 2;  // it fails anyway; no need to wait the default out
  const auto unhealthy_config = write_service_config(loop.dir.path(), loop.haproxy, unhealthy).string();
  const auto created = run_tool("create-pipeline", {"run", "--label", "2", "--config", unhealthy_config});
  CHECK(created.exit_code == 1);  // its smoke test fails: /health answers 503

  const auto refused = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", unhealthy_config});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("smoke verdict 'failed'"));

  Prober prober(loop.dir.path(), loop.haproxy.url());
  const auto forced = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--force", "--config", unhealthy_config});
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto probe = prober.finish();
  INFO(forced.err);
  CHECK(forced.exit_code == 1);
  CHECK_THAT(forced.err, Catch::Contains("did not become healthy"));
  CHECK_THAT(forced.err, Catch::Contains("1 still serves"));
  CHECK(probe.failed == 0);
  CHECK(probe.count.count("2") == 0);  // standby members never took traffic
  CHECK(probe.count.count("1") == 1);
  CHECK(http_get(loop.haproxy.url()).second == "1\n");
  // Only pool 1 remains in the backend.
  const auto state = loop.haproxy.command("show servers state web");
  CHECK(state.find(" 2:") == std::string::npos);
  CHECK(state.find(" 1:1 ") != std::string::npos);
}

TEST_CASE("any dynamic algorithm works; a static one is refused with a clear line", "[e2e][algorithms]") {
  for (const char* balance : {"leastconn", "first", "random"}) {
    INFO(balance);
    TempDir dir;
    HaproxyOptions options;
    options.balance = balance;
    Haproxy haproxy(dir.path(), options);
    const auto config = write_service_config(dir.path(), haproxy, {}).string();
    create_pools_1_and_2(config, ThenDeploy::each_in_turn);
    CHECK(http_get(haproxy.url()).second == "2\n");
  }
  TempDir dir;
  HaproxyOptions options;
  options.balance = "static-rr";
  Haproxy haproxy(dir.path(), options);
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  const auto refused = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
  CHECK(refused.exit_code == 2);
  // Refused at the look the switch plans from: the cause, where, and the way on; nothing was
  // written (no intent, no managed block, no history), so there is no switch to "finish".
  const auto errors = error_lines(refused);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "deploy-pipeline: error: HAProxy backend 'web' (" + haproxy.socket().string() +
                         ") uses the static algorithm static-rr, which takes no servers at runtime; give backend 'web' "
                         "'balance roundrobin' or 'balance leastconn', reload HAProxy, then run the command again");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state" / "web" / "intent.json"));
  CHECK(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--dry-run", "--config", config}).exit_code == 2);
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK_THAT(status.out, !Catch::Contains("interrupted"));
  const auto history = run_tool("deploy-pipeline", {"history", "--config", config});
  CHECK_THAT(history.out, !Catch::Contains("failed"));
  CHECK_THAT(phoenix::util::read_file(haproxy.config_file()).value(), !Catch::Contains("phoenix managed"));
}
