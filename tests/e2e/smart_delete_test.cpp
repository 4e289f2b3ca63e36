// Smart delete and prune through the real binaries: the live pool is never destroyed, a
// retained pool that is not live is destroyed whole (processes and files).

#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"
#include "support/unwritable.hpp"

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

// A delete that could not remove everything of a pool (a directory in it that refuses changes)
// left a hidden directory for good: the pool vanished from list, and neither delete nor prune
// ever finished it. It lists as "deleting (interrupted)", the error says what is left and how to
// finish, a create of its label is refused, and delete (or prune) finishes it once it can.
TEST_CASE("a delete that stops part-way lists the pool half deleted; delete and prune finish it", "[e2e][delete]") {
  SmartDeleteRig rig;
  for (const char* label : {"1", "2", "3"}) rig.ok({"run", "--label", label});
  rig.ok({"deploy", "--label", "3"}, "deploy-pipeline");
  const auto pools = rig.dir.path() / "state" / "web" / "pools";
  const auto servers = rig.processes("1");
  const auto leftovers = [&] {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(pools)) {
      if (entry.path().filename().string().front() == '.') names.push_back(entry.path().filename().string());
    }
    return names;
  };
  {
    Unwritable stuck(pools / "1" / "logs");
    REQUIRE(stuck.active());
    const auto failed = run_tool("create-pipeline", {"delete", "--label", "1", "--config", rig.config});
    CHECK(failed.exit_code == 1);
    CHECK_THAT(failed.err, Catch::Contains("create-pipeline: error: pool 1 is half deleted (its servers are stopped): "
                                           "cannot remove " +
                                           (pools / ".deleting-1-").string()) &&
                               Catch::Contains("; left there: ") && Catch::Contains(" files, for example logs/") &&
                               Catch::EndsWith("'create-pipeline delete --label 1' finishes the delete\n"));
    const auto lines = util::split_lines(failed.err);  // progress, then the one error line
    CHECK(std::count_if(lines.begin(), lines.end(),
                        [](const std::string& line) { return line.find("error:") != std::string::npos; }) == 1);
    for (const auto& process : servers) CHECK_FALSE(util::is_running(process));
    REQUIRE(leftovers().size() == 1);

    const auto list = run_tool("create-pipeline", {"list", "--config", rig.config});
    INFO(list.out);
    CHECK_THAT(list.out, Catch::Contains("\n1      deleting (interrupted)  ") &&
                             Catch::Contains("  0/0 running (half deleted)  "));
    CHECK_THAT(list.out, Catch::Contains("pool 1 is half deleted: a delete of it stopped part-way and left " +
                                         (pools / ".deleting-1-").string()));
    const auto json =
        parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", rig.config}).out);
    const cJSON* listed = listed_pool(json, "1");
    REQUIRE(listed != nullptr);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(listed, "deleting")));
    const auto create = run_tool("create-pipeline", {"create", "--label", "1", "--config", rig.config});
    CHECK(create.exit_code != 0);
    CHECK_THAT(create.err, Catch::Contains("pool 1 is half deleted"));

    // While it still cannot be removed, the delete run again says the same.
    const auto again = run_tool("create-pipeline", {"delete", "--label", "1", "--config", rig.config});
    CHECK(again.exit_code == 1);
    CHECK_THAT(again.err, Catch::Contains("pool 1 is half deleted"));
  }
  rig.ok({"delete", "--label", "1"});
  CHECK(leftovers().empty());
  CHECK_THAT(run_tool("create-pipeline", {"list", "--config", rig.config}).out, !Catch::Contains("\n1 "));

  // Prune finishes it too.
  {
    Unwritable stuck(pools / "2" / "logs");
    REQUIRE(stuck.active());
    CHECK(run_tool("create-pipeline", {"delete", "--label", "2", "--config", rig.config}).exit_code == 1);
  }
  const auto dry = run_tool("create-pipeline", {"prune", "--keep", "5", "--dry-run", "--config", rig.config});
  INFO(dry.out);
  CHECK_THAT(dry.out, Catch::Contains("2     would delete  half deleted: a delete of it stopped part-way, prune "
                                      "finishes it"));
  rig.ok({"prune", "--keep", "5"});
  CHECK(leftovers().empty());
  CHECK(fs::exists(pools / "3" / "pool.json"));
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

// Two runs at once on two agents: the one that created pool 2 is still smoke-testing it when the
// other has judged pool 3. Prune leaves pool 2 (it has no verdict and is younger than a run's
// bound), and says until when; it deleted it before, under the running smoke test.
TEST_CASE("prune leaves a pool with no verdict that a run may still be smoke-testing", "[e2e][prune]") {
  SmartDeleteRig rig;
  rig.ok({"run", "--label", "1"});
  rig.ok({"create", "--label", "2"});
  rig.ok({"run", "--label", "3"});
  rig.ok({"deploy", "--label", "3"}, "deploy-pipeline");
  const auto dry = run_tool("create-pipeline", {"prune", "--keep", "0", "--dry-run", "--config", rig.config});
  INFO(dry.out);
  REQUIRE(dry.exit_code == 0);
  CHECK_THAT(dry.out,
             Catch::Matches(R"([\s\S]*\n2 +keep +smoke verdict pending, created at \d\d:\d\d:\d\d UTC: a )"
                            R"(create-pipeline run may be creating or smoke-testing it until \d\d:\d\d:\d\d UTC; )"
                            R"('create-pipeline delete --label 2' removes it now\n[\s\S]*)"));
  rig.ok({"prune", "--keep", "0"});
  CHECK(fs::exists(rig.dir.path() / "state" / "web" / "pools" / "2" / "pool.json"));
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
