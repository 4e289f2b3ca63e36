// Several balancers switched as one unit: two real HAProxy instances on loopback in front of
// the same pools (docs/scaling.md). A switch loses no request through either; one frozen in
// the middle of a switch stops it with exit 4 naming it, and repair converges both; every one
// that cannot be used is named in one refusal; a pool live in one and not the other is refused
// by delete and reported by status.

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

fs::path subdirectory(const fs::path& parent, const std::string& name) {
  fs::create_directories(parent / name);
  return parent / name;
}

struct TwoBalancerRig {
  TempDir dir;
  Haproxy one{subdirectory(dir.path(), "haproxy-1")};
  Haproxy two{subdirectory(dir.path(), "haproxy-2")};
  std::string config;

  TwoBalancerRig() {
    ServiceOptions options;
    options.pool_size = 3;
    config = write_service_config(dir.path(), {&one, &two}, options).string();
  }

  ToolResult run(const std::string& tool, std::vector<std::string> arguments,
                 const std::vector<std::string>& environment = {}) const {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool(tool, arguments, environment);
  }
  void ok(const std::string& tool, const std::vector<std::string>& arguments) const {
    const auto result = run(tool, arguments);
    INFO(tool << " " << arguments[0] << ": " << result.err);
    REQUIRE(result.exit_code == 0);
  }

  // The pools `haproxy` routes new traffic to (ready with a weight), from its own runtime API.
  static std::vector<std::string> routed_by(const Haproxy& haproxy) {
    // be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight ...
    std::set<std::string> labels;
    for (const auto& line : util::split(haproxy.command("show servers state web"), '\n')) {
      const auto fields = util::split(line, ' ');
      if (fields.size() < 8 || fields[1] != "web") continue;
      const bool ready = fields[6] == "0";  // no admin flag: not in maintenance or drain
      if (ready && fields[7] != "0") labels.insert(fields[3].substr(0, fields[3].find(':')));
    }
    return {labels.begin(), labels.end()};
  }

  // host:port of server `index` of pool `label`, from the local provider's record.
  std::string server_address(const std::string& label, int index) const {
    const auto text = util::read_file(dir.path() / "state" / "web" / "pools" / label / "pool.json");
    REQUIRE(text.ok());
    const auto document = util::parse_json(*text, "pool.json");
    REQUIRE(document.ok());
    const cJSON* server = cJSON_GetArrayItem(cJSON_GetObjectItem(document->get(), "servers"), index);
    REQUIRE(server != nullptr);
    return util::json_string(server, "host").value_or("") + ":" +
           std::to_string(static_cast<int>(util::json_number(server, "port").value_or(0)));
  }
};

}  // namespace

TEST_CASE("two HAProxy nodes: deploy and rollback lose no request through either", "[e2e][balancers]") {
  TwoBalancerRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  const auto dry_run = rig.run("deploy-pipeline", {"deploy", "--label", "2", "--dry-run"});
  INFO(dry_run.err);
  REQUIRE(dry_run.exit_code == 0);
  CHECK_THAT(dry_run.out, Catch::Contains("balancer haproxy-1: plan: make pool 2 live (replacing 1)") &&
                              Catch::Contains("balancer haproxy-2: plan: make pool 2 live (replacing 1)"));
  Prober through_one(rig.dir.path(), rig.one.url("/"));
  Prober through_two(rig.dir.path(), rig.two.url("/"));

  const auto deployed = rig.run("deploy-pipeline", {"deploy", "--label", "2"});
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK_THAT(deployed.err, Catch::Contains("across 2 balancers"));
  CHECK_THAT(deployed.err, Catch::Contains("balancer haproxy-2: route traffic to 3 members"));
  CHECK(TwoBalancerRig::routed_by(rig.one) == std::vector<std::string>{"2"});
  CHECK(TwoBalancerRig::routed_by(rig.two) == std::vector<std::string>{"2"});

  const auto rolled_back = rig.run("deploy-pipeline", {"rollback", "--reason", "test"});
  INFO(rolled_back.err);
  REQUIRE(rolled_back.exit_code == 0);
  const auto one = through_one.finish();
  const auto two = through_two.finish();
  for (const auto* probe : {&one, &two}) {
    CHECK(probe->failed == 0);
    CHECK(probe->count.count("2") == 1);  // each frontend served the new pool in between
    CHECK(probe->requests > 0);
  }
  CHECK(one.others_last_ns("1") > 0);
  CHECK(TwoBalancerRig::routed_by(rig.one) == std::vector<std::string>{"1"});
  CHECK(TwoBalancerRig::routed_by(rig.two) == std::vector<std::string>{"1"});
  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK_THAT(status.out, Catch::Contains("BALANCER"));
  CHECK_THAT(status.out, !Catch::Contains("the balancers differ"));
}

TEST_CASE("a HAProxy frozen mid-switch stops it with exit 4 naming it; repair converges both", "[e2e][balancers]") {
  TwoBalancerRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);

  // Steps, each in haproxy-1 then haproxy-2: add, wait, persist, admit, ... Step 7 routes
  // haproxy-2 to the new pool: haproxy-2 freezes just before it.
  const auto stopped = rig.run("deploy-pipeline-test-hooks", {"deploy", "--label", "2"},
                               {"PHOENIX_TEST_PAUSE_AT_STEP=7:" + std::to_string(rig.two.pid())});
  INFO(stopped.err);
  CHECK(stopped.exit_code == 4);
  CHECK_THAT(stopped.err, Catch::Contains("balancer haproxy-2"));
  CHECK(TwoBalancerRig::routed_by(rig.one) == std::vector<std::string>{"1", "2"});

  rig.two.resume();
  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK_THAT(status.out, Catch::Contains("haproxy-1 4 of 7, haproxy-2 3 of 7"));

  const auto repaired = rig.run("deploy-pipeline", {"repair"});
  INFO(repaired.err);
  REQUIRE(repaired.exit_code == 0);
  CHECK(TwoBalancerRig::routed_by(rig.one) == std::vector<std::string>{"2"});
  CHECK(TwoBalancerRig::routed_by(rig.two) == std::vector<std::string>{"2"});
  CHECK(rig.run("deploy-pipeline", {"status"}).exit_code == 0);
}

// Every HAProxy that cannot be used is named in the one refusal, so one run says everything there
// is to fix: two configured wrong, or one configured wrong and one down (the read used to end at
// the one down, naming only it). Exit 2 either way: waiting cannot help while one is configured
// wrong. Nothing is switched.
TEST_CASE("deploy and repair name every HAProxy that cannot be used in one refusal", "[e2e][balancers]") {
  TwoBalancerRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  const std::string written = *util::read_file(rig.config);
  // The configuration with the balancer.socket of each of `wrong` naming a regular file (its
  // haproxy.cfg): a wrong path, a configuration error.
  const auto write_with_wrong_sockets = [&](const std::vector<const Haproxy*>& wrong) {
    std::string text = written;
    for (const Haproxy* haproxy : wrong) {
      const std::string socket = "\"" + haproxy->socket().string() + "\"";
      text.replace(text.find(socket), socket.size(), "\"" + haproxy->config_file().string() + "\"");
    }
    REQUIRE(util::write_file_atomic(rig.config, text).ok());
  };
  const std::string one_wrong =
      "balancer haproxy-1: balancer.socket " + rig.one.config_file().string() + " is a regular file, not a socket";
  // Both refusals carry `both`: what is wrong with each balancer, in one line.
  const auto deploy_and_repair_refused = [&](const std::string& both) {
    for (const auto& arguments :
         {std::vector<std::string>{"deploy", "--label", "2"}, std::vector<std::string>{"repair"}}) {
      const auto refused = rig.run("deploy-pipeline", arguments);
      INFO(arguments[0] << ": " << refused.err);
      CHECK(refused.exit_code == 2);
      CHECK_THAT(refused.err, Catch::Contains(both));
    }
  };

  write_with_wrong_sockets({&rig.one, &rig.two});
  deploy_and_repair_refused(one_wrong + "; balancer haproxy-2: balancer.socket " + rig.two.config_file().string() +
                            " is a regular file, not a socket");
  CHECK(TwoBalancerRig::routed_by(rig.two) == std::vector<std::string>{"1"});

  write_with_wrong_sockets({&rig.one});
  rig.two.stop();
  deploy_and_repair_refused(one_wrong + "; balancer haproxy-2: cannot connect to HAProxy's runtime API at " +
                            rig.two.socket().string());
  CHECK(TwoBalancerRig::routed_by(rig.one) == std::vector<std::string>{"1"});
}

TEST_CASE("a pool live in one HAProxy only is refused by delete and reported by status", "[e2e][balancers]") {
  TwoBalancerRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});
  // By hand, through haproxy-2's runtime API: a server of pool 1 back in, routed to.
  rig.two.command("add server web/1:1 " + rig.server_address("1", 0));
  rig.two.command("enable server web/1:1");
  REQUIRE(TwoBalancerRig::routed_by(rig.two) == std::vector<std::string>{"1", "2"});

  const auto deleted = rig.run("create-pipeline", {"delete", "--label", "1"});
  INFO(deleted.err);
  CHECK(deleted.exit_code == 3);
  CHECK_THAT(deleted.err, Catch::Contains("balancer haproxy-2"));
  CHECK(fs::exists(rig.dir.path() / "state" / "web" / "pools" / "1"));

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("the balancers differ: pool 1 is live in haproxy-2 but not in haproxy-1"));

  rig.ok("deploy-pipeline", {"repair"});
  CHECK(TwoBalancerRig::routed_by(rig.two) == std::vector<std::string>{"2"});
  CHECK(rig.run("deploy-pipeline", {"status"}).exit_code == 0);
}

// With one of two HAProxy instances gone (stopped, its socket removed), status said "live
// unknown" though the other answered: it reports what the one that answers says, names the one
// that does not as a problem, and exits 4, as for a balancer that does not answer.
TEST_CASE("status with one of two HAProxy instances gone reports the other and names the one gone",
          "[e2e][balancers][status]") {
  TwoBalancerRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  rig.two.stop();
  fs::remove(rig.two.socket());

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 4);
  CHECK_THAT(status.out, Catch::Contains("live     1 (balancer haproxy-2: unknown)\n"));
  CHECK_THAT(status.out, !Catch::Contains("live     unknown"));
  CHECK_THAT(status.out, Catch::Contains("note     balancer haproxy-1: ") && Catch::Contains(", live 1\n"));
  CHECK_THAT(status.out, Catch::Contains("note     balancer haproxy-2: unavailable, live unknown\n"));
  CHECK_THAT(status.out, Catch::Contains("\nhaproxy-1 ") && !Catch::Contains("\nhaproxy-2 "));  // member rows
  CHECK_THAT(status.out, Catch::Contains("  - balancer haproxy-2: unavailable (cannot connect to HAProxy's runtime API "
                                         "at " +
                                         rig.two.socket().string()));
  CHECK_THAT(status.err, Catch::Contains("balancer haproxy-2 did not answer, the report is what the others say"));
  CHECK(std::count(status.err.begin(), status.err.end(), '\n') == 1);

  const auto json = rig.run("deploy-pipeline", {"status", "--output", "json"});
  CHECK(json.exit_code == 4);
  const auto document = parse_output(json.out);
  const cJSON* live = cJSON_GetObjectItem(document.get(), "live");
  REQUIRE(cJSON_GetArraySize(live) == 1);
  CHECK(std::string(cJSON_GetArrayItem(live, 0)->valuestring) == "1");
  CHECK(cJSON_GetObjectItem(document.get(), "balancer_error") == nullptr);
  const cJSON* unanswered = cJSON_GetArrayItem(cJSON_GetObjectItem(document.get(), "unanswered_balancers"), 0);
  REQUIRE(unanswered != nullptr);
  CHECK(util::json_string(unanswered, "balancer") == "haproxy-2");

  // Back, it answers again.
  rig.two.start();
  const auto again = rig.run("deploy-pipeline", {"status"});
  CHECK(again.exit_code != 4);
  CHECK_THAT(again.out, !Catch::Contains("unavailable") && Catch::Contains("note     balancer haproxy-2: "));
}

// The rollback status advises for a live pool marked bad is refused while one HAProxy does not
// answer: the line that says so comes first, and says to reach it first.
TEST_CASE("status with one of two HAProxy instances gone says to reach it before the rollback it advises",
          "[e2e][balancers][status]") {
  TwoBalancerRig rig;
  create_pools_1_and_2(rig.config, ThenDeploy::pool_1);
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "2", "--reason", "checkout errors"});
  rig.two.stop();

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 4);
  const auto unanswered = status.out.find("problems:\n  - balancer haproxy-2: unavailable (");
  const auto first = status.out.find(
      "check that it runs and can be reached; do that first: the commands named below "
      "are refused until then\n");
  const auto rollback = status.out.find("'deploy-pipeline rollback --to 1' rolls back to pool 1");
  CHECK(unanswered != std::string::npos);
  CHECK(first != std::string::npos);
  REQUIRE(rollback != std::string::npos);
  CHECK(first < rollback);
  const auto refused = rig.run("deploy-pipeline", {"rollback", "--to", "1"});
  CHECK(refused.exit_code == 4);
  CHECK(TwoBalancerRig::routed_by(rig.one) == std::vector<std::string>{"2"});
}

// Not part of the suite (hidden tag): how long a switch of 50 servers takes behind one HAProxy
// and behind two. Run: phoenix-e2e-tests "[balancers-timing]".
TEST_CASE("switch time of 50 servers behind one and two HAProxy instances", "[.][balancers-timing]") {
  TempDir dir;
  Haproxy one{subdirectory(dir.path(), "haproxy-1")};
  Haproxy two{subdirectory(dir.path(), "haproxy-2")};
  ServiceOptions options;
  options.pool_size = 50;
  options.smoke_timeout_s = 60;
  options.file_name = "one.json";
  const auto config_one = write_service_config(dir.path(), one, options).string();
  options.file_name = "two.json";
  const auto config_two = write_service_config(dir.path(), {&one, &two}, options).string();
  const auto run = [](const std::string& config, const std::string& tool, std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--config", config});
    const auto result = run_tool(tool, arguments);
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
    return result;
  };
  create_pools_1_and_2(config_one, ThenDeploy::pool_1);
  const auto timed = [&](const std::string& config, const std::string& label) {
    const auto result = run(config, "deploy-pipeline", {"deploy", "--label", label});
    const auto at = result.out.rfind('(');
    return result.out.substr(at + 1, result.out.find(')', at) - at - 1);
  };
  const auto one_forward = timed(config_one, "2");
  const auto one_back = timed(config_one, "1");
  run(config_two, "deploy-pipeline", {"deploy", "--label", "1"});  // haproxy-2 catches up
  const auto two_forward = timed(config_two, "2");
  const auto two_back = timed(config_two, "1");
  WARN("50 servers, one HAProxy: " << one_forward << ", " << one_back << "; two HAProxy: " << two_forward << ", "
                                   << two_back);
}
