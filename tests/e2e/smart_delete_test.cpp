// Smart delete and prune through the real binaries: the live pool is never destroyed, a
// retained pool that is not live is destroyed whole (processes and files).

#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct SmartDeleteRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config = write_service_config(dir.path(), haproxy, {}).string();

  void ok(const std::vector<std::string>& arguments, const std::string& tool = "create-pipeline") {
    auto with_config = arguments;
    with_config.insert(with_config.end(), {"--config", config});
    const auto result = run_tool(tool, with_config);
    INFO(tool << " " << arguments[0] << ": " << result.err);
    REQUIRE(result.exit_code == 0);
  }

  // The pids recorded for a pool's servers: one per server of the configured pool size (3), or
  // the checks on them would pass over an empty list.
  std::vector<util::ProcessIdentity> processes(const std::string& label) {
    std::vector<util::ProcessIdentity> out;
    auto text = util::read_file(dir.path() / "state" / "web" / "pools" / label / "pool.json");
    REQUIRE(text.ok());
    auto document = util::parse_json(*text, "pool.json");
    const cJSON* server = nullptr;
    cJSON_ArrayForEach(server, cJSON_GetObjectItem(document->get(), "servers")) {
      out.push_back({static_cast<pid_t>(util::json_number(server, "pid").value_or(0)),
                     static_cast<std::uint64_t>(util::json_number(server, "start_ticks").value_or(0))});
    }
    REQUIRE(out.size() == 3);
    for (const auto& process : out) REQUIRE(process.pid > 0);
    return out;
  }
};

}  // namespace

TEST_CASE("smart delete of the live pool exits 3 and every server keeps running", "[e2e][delete]") {
  SmartDeleteRig rig;
  rig.ok({"run", "--label", "1"});
  rig.ok({"deploy", "--label", "1"}, "deploy-pipeline");
  const auto before = rig.processes("1");

  const auto refused = run_tool("create-pipeline", {"delete", "--label", "1", "--config", rig.config});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::StartsWith("create-pipeline: error: pool 1 is in the balancer"));
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
  for (const auto& process : before) CHECK(util::is_running(process));
  CHECK(std::filesystem::exists(rig.dir.path() / "state" / "web" / "pools" / "1" / "pool.json"));
  CHECK(http_get(rig.haproxy.url()).second == "1\n");

  // Drained and maintenance members count too: "in any state".
  rig.haproxy.command("set server web/1:2 state maint");
  CHECK(run_tool("create-pipeline", {"delete", "--label", "1", "--dry-run", "--config", rig.config}).exit_code == 3);
}

TEST_CASE("smart delete of a retained pool that is not live removes its processes and files", "[e2e][delete]") {
  SmartDeleteRig rig;
  rig.ok({"run", "--label", "1"});
  rig.ok({"deploy", "--label", "1"}, "deploy-pipeline");
  rig.ok({"run", "--label", "2"});
  rig.ok({"deploy", "--label", "2"}, "deploy-pipeline");
  const auto retained = rig.processes("1");
  for (const auto& process : retained) REQUIRE(util::is_running(process));

  rig.ok({"delete", "--label", "1", "--dry-run"});
  for (const auto& process : retained) CHECK(util::is_running(process));

  rig.ok({"delete", "--label", "1"});
  for (const auto& process : retained) CHECK_FALSE(util::is_running(process));
  CHECK_FALSE(std::filesystem::exists(rig.dir.path() / "state" / "web" / "pools" / "1"));
  CHECK(http_get(rig.haproxy.url()).second == "2\n");

  const auto missing = run_tool("create-pipeline", {"delete", "--label", "1", "--config", rig.config});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("there is no pool '1'"));
}

TEST_CASE("prune keeps the live pool and the newest N others", "[e2e][prune]") {
  SmartDeleteRig rig;
  for (const char* label : {"1", "2", "3", "4"}) rig.ok({"run", "--label", label});
  rig.ok({"deploy", "--label", "2"}, "deploy-pipeline");
  const auto dry = run_tool("create-pipeline", {"prune", "--keep", "1", "--dry-run", "--config", rig.config});
  REQUIRE(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("3     would delete  known good, beyond retention.keep 1"));
  CHECK_THAT(dry.out, Catch::Contains("1     would delete  known good, beyond retention.keep 1"));
  CHECK_THAT(dry.out, Catch::Contains("4     keep          known good, kept place 1 of retention.keep 1"));
  rig.ok({"prune", "--keep", "1"});
  const auto list = run_tool("create-pipeline", {"list", "--output", "json", "--config", rig.config});
  const auto document = parse_output(list.out);
  std::vector<std::string> labels;
  const cJSON* pool = nullptr;
  cJSON_ArrayForEach(pool, cJSON_GetObjectItem(document.get(), "pools")) {
    labels.emplace_back(cJSON_GetObjectItem(pool, "label")->valuestring);
  }
  CHECK(labels == std::vector<std::string>{"4", "2"});
}

TEST_CASE("a server process that died shows as dead in list and in status", "[e2e][list]") {
  SmartDeleteRig rig;
  rig.ok({"run", "--label", "1"});
  rig.ok({"deploy", "--label", "1"}, "deploy-pipeline");
  const auto process = rig.processes("1")[1];
  ::kill(process.pid, SIGKILL);
  for (int i = 0; i < 100 && util::is_running(process); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  const auto list = run_tool("create-pipeline", {"list", "--config", rig.config});
  CHECK_THAT(list.out, Catch::Contains("2/3 running"));
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("server 2 of live pool 1 is dead"));
}
