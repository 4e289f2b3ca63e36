// The whole loop against the Hetzner Cloud contract fake: real binaries, real HTTP, real server
// processes behind a load balancer that really forwards traffic; plus the API's faults.

#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct HcloudRig {
  TempDir dir;
  HcloudFake fake{dir.path()};
  std::string lb_url = fake.create_load_balancer("web-lb");
  std::string config = write_hcloud_config(dir.path(), fake, {}).string();
  std::vector<std::string> env = {"HCLOUD_TOKEN=" + fake.token()};

  ToolResult run(const std::string& tool, std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool(tool, arguments, env);
  }
  void ok(const std::string& tool, const std::vector<std::string>& arguments) {
    const auto result = run(tool, arguments);
    INFO(tool << " " << util::join(arguments, " ") << "\n" << result.err);
    REQUIRE(result.exit_code == 0);
  }
  util::Json list() { return parse_output(run("create-pipeline", {"list", "--output", "json"}).out); }
};

}  // namespace

TEST_CASE("the recovery loop on Hetzner Cloud: create, deploy, roll back, delete, prune, power", "[e2e][hcloud]") {
  HcloudRig rig;
  rig.ok("create-pipeline", {"run", "--label", "1"});
  rig.ok("deploy-pipeline", {"deploy", "--label", "1"});
  CHECK(http_get(rig.lb_url).second == "1\n");

  rig.ok("create-pipeline", {"run", "--label", "2"});
  {
    Prober prober(rig.dir.path(), rig.lb_url);
    const auto deployed = rig.run("deploy-pipeline", {"deploy", "--label", "2"});
    INFO(deployed.err);
    REQUIRE(deployed.exit_code == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto probe = prober.finish();
    CHECK(probe.failed == 0);
    CHECK(probe.others_last_ns("2") <= wall_ns(deployed.ended));
  }
  {
    Prober prober(rig.dir.path(), rig.lb_url);
    const auto rolled_back = rig.run("deploy-pipeline", {"rollback", "--reason", "checkout broken"});
    INFO(rolled_back.err);
    REQUIRE(rolled_back.exit_code == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto probe = prober.finish();
    CHECK(probe.failed == 0);
    CHECK(probe.others_last_ns("1") <= wall_ns(rolled_back.ended));
  }
  // Metadata lives in labels: a fresh process on any agent reads it back.
  auto listing = rig.list();
  const cJSON* bad = listed_pool(listing, "2");
  REQUIRE(bad != nullptr);
  CHECK(std::string(cJSON_GetObjectItem(bad, "verdict")->valuestring) == "bad");
  CHECK(std::string(cJSON_GetObjectItem(bad, "verdict_reason")->valuestring) == "checkout_broken");
  CHECK(std::string(cJSON_GetObjectItem(bad, "smoke")->valuestring) == "passed");
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(listed_pool(listing, "1"), "live")));

  // A reason labels cannot hold whole (spaces, non-ASCII, 200 characters): the API (here its
  // contract fake, which refuses what the API refuses) takes its label-safe form, the command
  // says what was kept, `list` shows that, and history keeps the reason whole (docs/hcloud.md).
  const std::string reason = "Checkout fails for Z\xc3\xbcrich customers (ticket 4711) " + std::string(150, 'x');
  const auto marked = rig.run("deploy-pipeline", {"mark-bad", "--label", "2", "--reason", reason});
  INFO(marked.err);
  REQUIRE(marked.exit_code == 0);
  const std::string kept = "Checkout_fails_for_Z_rich_customers_ticket_4711_" + std::string(15, 'x');
  CHECK_THAT(marked.err, Catch::Contains("the reason of pool 2 is kept in its labels as '" + kept + "'"));
  const auto relisted = rig.list();
  CHECK(std::string(cJSON_GetObjectItem(listed_pool(relisted, "2"), "verdict_reason")->valuestring) == kept);
  CHECK_THAT(rig.run("deploy-pipeline", {"history", "--output", "json"}).out, Catch::Contains(reason));

  const auto refused = rig.run("create-pipeline", {"delete", "--label", "1"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("pool 1 is in the balancer"));

  // The cheap retention tier: pool 2 powered off, then deployed again (powered on, smoke-tested, switched).
  rig.ok("create-pipeline", {"power-off", "--label", "2"});
  listing = rig.list();
  CHECK(std::string(cJSON_GetObjectItem(listed_pool(listing, "2"), "power")->valuestring) == "off");
  CHECK(rig.run("create-pipeline", {"power-off", "--label", "1"}).exit_code == 3);
  {
    Prober prober(rig.dir.path(), rig.lb_url);
    const auto woken = rig.run("deploy-pipeline", {"deploy", "--label", "2", "--force"});
    INFO(woken.err);
    REQUIRE(woken.exit_code == 0);
    CHECK_THAT(woken.err, Catch::Contains("pool 2 is powered off: powering it on first"));
    CHECK(prober.finish().failed == 0);
  }
  CHECK(http_get(rig.lb_url).second == "2\n");

  rig.ok("create-pipeline", {"run", "--label", "3"});
  rig.ok("create-pipeline", {"prune", "--keep", "0"});  // deletes 1 and 3, keeps live 2
  listing = rig.list();
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(listing.get(), "pools")) == 1);
  CHECK(listed_pool(listing, "2") != nullptr);

  // keep_good is 0 here, so prune left no rollback target: status says so (exit 1) in the one
  // problem that says the live pool 2 is marked bad, and says plainly that a Hetzner load
  // balancer has no hot standby.
  const auto status = rig.run("deploy-pipeline", {"status", "--output", "json"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  const auto document = parse_output(status.out);
  const cJSON* problems = cJSON_GetObjectItem(document.get(), "problems");
  REQUIRE(cJSON_GetArraySize(problems) == 1);
  CHECK_THAT(std::string(cJSON_GetArrayItem(problems, 0)->valuestring),
             Catch::StartsWith("the live pool 2 is marked bad by "));
  CHECK_THAT(std::string(cJSON_GetArrayItem(problems, 0)->valuestring),
             Catch::Contains("and there is no known-good pool to roll back to"));
  CHECK_THAT(std::string(cJSON_GetArrayItem(cJSON_GetObjectItem(document.get(), "notes"), 0)->valuestring),
             Catch::Contains("has no weight 0, so no pool can wait on standby"));
}

TEST_CASE("Hetzner pools work behind HAProxy too", "[e2e][hcloud]") {
  TempDir dir;
  HcloudFake fake(dir.path());
  Haproxy haproxy(dir.path());
  HcloudServiceOptions options;
  options.balancer = "haproxy";
  options.haproxy = &haproxy;
  options.pool_size = 2;
  const auto config = write_hcloud_config(dir.path(), fake, options).string();
  const std::vector<std::string> env = {"HCLOUD_TOKEN=" + fake.token()};
  create_pools_1_and_2(config, ThenDeploy::each_in_turn, env);
  CHECK(http_get(haproxy.url()).second == "2\n");
  CHECK_THAT(haproxy.command("show servers state web"), Catch::Contains(" 127.200."));
}

TEST_CASE("a pool that fails the load balancer's health check is taken out again", "[e2e][hcloud]") {
  TempDir dir;
  HcloudFake fake(dir.path());
  const auto lb_url = fake.create_load_balancer("web-lb");
  const std::vector<std::string> env = {"HCLOUD_TOKEN=" + fake.token()};
  const auto config = write_hcloud_config(dir.path(), fake, {}).string();
  HcloudServiceOptions unhealthy_options;
  unhealthy_options.user_data = "#cloud-config\n# phoenix-fake: unhealthy\n";
  unhealthy_options.file_name = "unhealthy.json";
  unhealthy_options.smoke_timeout_s = 2;
  unhealthy_options.health_timeout_s = 2;
  const auto unhealthy = write_hcloud_config(dir.path(), fake, unhealthy_options).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}, env).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}, env).exit_code == 0);
  CHECK(run_tool("create-pipeline", {"run", "--label", "2", "--config", unhealthy}, env).exit_code == 1);

  Prober prober(dir.path(), lb_url);
  const auto forced = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--force", "--config", unhealthy}, env);
  INFO(forced.err);
  CHECK(forced.exit_code == 1);
  CHECK_THAT(forced.err, Catch::Contains("1 still serves"));
  const auto probe = prober.finish();
  CHECK(probe.failed == 0);
  CHECK(probe.count.count("2") == 0);
  CHECK(http_get(lb_url).second == "1\n");
}

TEST_CASE("the API's 429, 5xx, 423 and 409 are retried; a wrong token is one clear line", "[e2e][hcloud][faults]") {
  HcloudRig rig;
  rig.fake.inject(
      R"({"status": 429, "code": "rate_limit_exceeded", "count": 2, "method": "POST", "path_prefix": "/v1/servers"})");
  rig.fake.inject(
      R"({"status": 503, "code": "unavailable", "count": 2, "method": "GET", "path_prefix": "/v1/servers"})");
  rig.fake.inject(R"({"status": 423, "code": "locked", "count": 1, "path_prefix": "/v1/load_balancers"})");
  rig.fake.inject(R"({"status": 409, "code": "conflict", "count": 1, "path_prefix": "/v1/actions"})");
  // One answer that never comes: with api_timeout_s 12 each request gives up after 6 s, and
  // the call's retries (backoff at most 0.5 + 1 + 2 s with full jitter) fit in the 12 s.
  rig.fake.inject(R"({"hang_ms": 8000, "count": 1, "method": "GET", "path_prefix": "/v1/servers"})");
  HcloudServiceOptions options;
  options.api_timeout_s = 12;
  rig.config = write_hcloud_config(rig.dir.path(), rig.fake, options).string();
  rig.ok("create-pipeline", {"run", "--label", "1", "--verbose"});
  rig.ok("deploy-pipeline", {"deploy", "--label", "1"});
  CHECK(http_get(rig.lb_url).second == "1\n");

  const auto refused = run_tool("create-pipeline", {"list", "--config", rig.config}, {"HCLOUD_TOKEN=wrong"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("401 unauthorized"));
  CHECK_THAT(refused.err, Catch::Contains("check HCLOUD_TOKEN"));
  CHECK(util::split_lines(refused.err).size() == 1);

  const auto missing = run_tool("create-pipeline", {"list", "--config", rig.config});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("no Hetzner Cloud token: set HCLOUD_TOKEN or provider.token_file"));
}

TEST_CASE("an API that stays unavailable is exit 4 with one line, and the pool is left as it was",
          "[e2e][hcloud][faults]") {
  HcloudRig rig;
  HcloudServiceOptions options;
  options.api_timeout_s = 2;
  options.file_name = "impatient.json";
  const auto impatient = write_hcloud_config(rig.dir.path(), rig.fake, options).string();
  rig.ok("create-pipeline", {"run", "--label", "1"});
  rig.fake.inject(R"({"status": 503, "code": "unavailable", "count": 1000, "path_prefix": "/v1/"})");
  const auto down = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", impatient}, rig.env);
  CHECK(down.exit_code == 4);
  const auto lines = util::split_lines(down.err);
  REQUIRE_FALSE(lines.empty());
  CHECK_THAT(lines.back(), Catch::Contains("the Hetzner Cloud API stayed unavailable"));
  CHECK_THAT(lines.back(), Catch::Contains("503 unavailable"));
}

TEST_CASE("the deploy lock lives in Hetzner Cloud, where every agent sees it", "[e2e][hcloud][lock]") {
  HcloudRig rig;
  rig.ok("create-pipeline", {"run", "--label", "1"});
  // A run killed while holding the lock, on this host.
  const auto killed = run_tool("deploy-pipeline-test-hooks", {"deploy", "--label", "1", "--config", rig.config},
                               {"HCLOUD_TOKEN=" + rig.fake.token(), "PHOENIX_TEST_KILL_AT_STEP=1"});
  REQUIRE(killed.signal == 9);
  // Another "agent" (a different state_dir: nothing shared on disk) still sees the lock.
  HcloudServiceOptions elsewhere;
  elsewhere.file_name = "agent-b.json";
  // Its own directory inside the test's: the config, and so its state_dir, share nothing.
  const auto agent_b = rig.dir.path() / "agent-b";
  REQUIRE(util::make_directories(agent_b).ok());
  const auto other = write_hcloud_config(agent_b, rig.fake, elsewhere);
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config}, rig.env);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("was interrupted at step 1 of 4"));
  const auto refused = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", other.string()}, rig.env);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("--break-lock"));
  const auto finished =
      run_tool("deploy-pipeline", {"deploy", "--label", "1", "--break-lock", "--config", other.string()}, rig.env);
  INFO(finished.err);
  CHECK(finished.exit_code == 0);
  std::filesystem::remove(other);
  CHECK(http_get(rig.lb_url).second == "1\n");
}

TEST_CASE("creating a pool sends its requests at once", "[e2e][hcloud][concurrency]") {
  TempDir dir;
  HcloudFake::Options slow;
  slow.latency_ms = 100;
  HcloudFake fake(dir.path(), slow);
  fake.create_load_balancer("web-lb");
  HcloudServiceOptions options;
  options.pool_size = 10;
  const auto config = write_hcloud_config(dir.path(), fake, options).string();
  const auto created =
      run_tool("create-pipeline", {"create", "--label", "1", "--config", config}, {"HCLOUD_TOKEN=" + fake.token()});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  const auto stats = fake.stats();
  // All ten POSTs were at the fake together (its wall time is a benchmark, not a test).
  CHECK(util::json_number(stats.get(), "max_in_flight").value_or(0) >= 10);
}

namespace {

std::size_t servers_at(HcloudFake& fake) {
  return static_cast<std::size_t>(
      cJSON_GetArraySize(cJSON_GetObjectItem(fake.api("GET", "/servers").get(), "servers")));
}

}  // namespace

// A cancelled CI job (SIGTERM) while Hetzner Cloud still starts the servers of a create: the
// wait ends at its next poll, long before the actions finish, with exit 143 and one line that
// names the servers that exist and the command that finishes the work. No lock is left, and
// that command, run at once (the servers still starting), waits for them instead of creating
// more, and leaves a complete pool that passes its smoke test.
TEST_CASE("SIGTERM while Hetzner starts a create's servers: exit 143 at the next poll, the re-run completes it",
          "[e2e][hcloud][interrupt]") {
  TempDir dir;
  HcloudFake::Options slow;
  slow.action_ms = 8000;  // how long create_server runs: the create spends its time waiting
  HcloudFake fake(dir.path(), slow);
  fake.create_load_balancer("web-lb");
  const auto config = write_hcloud_config(dir.path(), fake, {}).string();
  const std::vector<std::string> env = {"HCLOUD_TOKEN=" + fake.token()};

  ToolResult stopped;
  std::thread create([&] {
    stopped = run_tool("create-pipeline", {"create", "--label", "1", "--revision", "r1", "--config", config}, env);
  });
  bool requested = false;
  for (int i = 0; i < 1000 && !requested; ++i) {
    requested = servers_at(fake) == 3;
    if (!requested) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // into the wait for the actions
  const pid_t pid = running_tool("create-pipeline", config);
  const auto signalled = std::chrono::steady_clock::now();
  if (pid > 0) ::kill(pid, SIGTERM);
  create.join();
  const auto took = std::chrono::steady_clock::now() - signalled;
  REQUIRE(requested);
  REQUIRE(pid > 0);
  INFO(stopped.err);
  CHECK(stopped.exit_code == 143);
  CHECK(took < std::chrono::milliseconds(4000));  // the actions run 8 s; a poll is at most 2 s apart
  CHECK_THAT(stopped.err, Catch::Contains("stopped by SIGTERM while the servers of pool 1 were starting at Hetzner "
                                          "Cloud: 3 of 3 exist (web-1-1 (id "));
  CHECK_THAT(stopped.err, Catch::Contains("web-1-3 (id "));
  CHECK_THAT(stopped.err,
             Catch::Contains("the pool is not complete; 'create-pipeline create --label 1 --revision r1' finishes it"));
  std::size_t error_lines = 0;
  for (const auto& line : util::split_lines(stopped.err)) error_lines += line.find("error:") != std::string::npos;
  CHECK(error_lines == 1);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(fake.api("GET", "/placement_groups?name=phoenix-lock-web").get(),
                                               "placement_groups")) == 0);

  const auto finished =
      run_tool("create-pipeline", {"create", "--label", "1", "--revision", "r1", "--config", config}, env);
  INFO(finished.err);
  CHECK(finished.exit_code == 0);
  CHECK_THAT(finished.err, Catch::Contains("resuming the interrupted creation of pool 1: 3 servers it requested are "
                                           "still starting"));
  CHECK(servers_at(fake) == 3);
  const auto listing =
      parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", config}, env).out);
  const cJSON* pool = cJSON_GetArrayItem(cJSON_GetObjectItem(listing.get(), "pools"), 0);
  REQUIRE(pool != nullptr);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(pool, "complete")));
  const auto smoke = run_tool("create-pipeline", {"smoke-test", "--label", "1", "--config", config}, env);
  INFO(smoke.err);
  CHECK(smoke.exit_code == 0);
}
