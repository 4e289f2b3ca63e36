// Invariant 10: a label names one revision forever. Re-running the per-commit stage for the
// same commit reuses the pool; the same label for another commit is refused, nothing touched.
// rebuild makes the same release again on fresh servers.

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct LabelRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;

  LabelRig() {
    ServiceOptions options;
    options.pool_size = 2;
    config = write_service_config(dir.path(), haproxy, options).string();
  }

  ToolResult run(const std::string& commit, std::vector<std::string> arguments) const {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool("create-pipeline", arguments, {"GIT_COMMIT=" + commit, "JENKINS_URL=https://jenkins.example/"});
  }

  std::string pool_record(const std::string& label) const {
    const auto text = util::read_file(dir.path() / "state" / "web" / "pools" / label / "pool.json");
    return text ? *text : std::string();
  }
};

}  // namespace

TEST_CASE("a label is reused for the same commit and refused for another one, nothing touched", "[e2e][labels]") {
  LabelRig rig;
  REQUIRE(rig.run("aaaaaaa1", {"run", "--label", "7"}).exit_code == 0);
  const auto record = rig.pool_record("7");

  const auto again = rig.run("aaaaaaa1", {"run", "--label", "7"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK_THAT(again.err, Catch::Contains("already exists with the same revision"));

  const auto other = rig.run("bbbbbbb2", {"run", "--label", "7"});
  INFO(other.err);
  CHECK(other.exit_code == 3);
  CHECK_THAT(other.err, Catch::Contains("pool 7 exists with revision aaaaaaa1, and this run builds revision bbbbbbb2"));
  CHECK(rig.pool_record("7") == record);

  // Stated by hand with --revision, as a person running it outside CI would.
  const auto by_hand =
      run_tool("create-pipeline", {"run", "--label", "7", "--revision", "aaaaaaa1", "--config", rig.config});
  CHECK(by_hand.exit_code == 0);
}

TEST_CASE("rebuild gives a smoke-tested pool of the same release and revision, and touches no balancer",
          "[e2e][labels][rebuild]") {
  LabelRig rig;
  REQUIRE(rig.run("cafe0001", {"run", "--label", "41"}).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "41", "--config", rig.config}).exit_code == 0);
  // Name, address, operational and administrative state, weight: what rebuild must not touch
  // (the seconds since the last change tick on their own).
  const auto membership = [&rig] {
    std::vector<std::string> members;
    for (const auto& line : util::split_lines(rig.haproxy.command("show servers state web"))) {
      const auto fields = util::split(line, ' ');
      if (fields.size() < 8 || line[0] == '#') continue;
      members.push_back(fields[3] + " " + fields[4] + " " + fields[5] + " " + fields[6] + " " + fields[7]);
    }
    return members;
  };
  const auto servers_before = membership();
  REQUIRE(servers_before.size() == 2);

  const auto junit = rig.dir.path() / "reports" / "rebuild.xml";
  const auto rebuilt = rig.run("ffff9999", {"rebuild", "--from", "41", "--junit", junit.string()});
  INFO(rebuilt.err);
  REQUIRE(rebuilt.exit_code == 0);
  CHECK_THAT(rebuilt.out, Catch::Contains("created pool 41.r1"));
  CHECK_THAT(rebuilt.out, Catch::Contains("smoke test passed for pool 41.r1"));
  CHECK(std::filesystem::exists(junit));
  CHECK(membership() == servers_before);

  const auto listing = parse_output(rig.run("x", {"list", "--output", "json"}).out);
  const cJSON* pool = cJSON_GetArrayItem(cJSON_GetObjectItem(listing.get(), "pools"), 0);
  REQUIRE(pool != nullptr);
  CHECK(std::string(cJSON_GetObjectItem(pool, "label")->valuestring) == "41.r1");
  CHECK(std::string(cJSON_GetObjectItem(pool, "revision")->valuestring) == "cafe0001");
  CHECK(std::string(cJSON_GetObjectItem(pool, "rebuild_of")->valuestring) == "41");
  CHECK(std::string(cJSON_GetObjectItem(pool, "smoke")->valuestring) == "passed");
  CHECK_THAT(rig.run("x", {"list"}).out, Catch::Contains("rebuild of 41"));

  // The next one is 41.r2, and it deploys like any pool.
  REQUIRE(rig.run("x", {"rebuild", "--from", "41"}).exit_code == 0);
  CHECK(run_tool("deploy-pipeline", {"deploy", "--label", "41.r2", "--config", rig.config}).exit_code == 0);
  CHECK(http_get(rig.haproxy.url()).second == "41.r2\n");
}

// A run by hand outside CI records no revision, and invariant 10 refuses such a label again.
// The refusal names what works instead, and the named commands do work as written.
TEST_CASE("a label with no recorded revision is refused again, naming commands that work", "[e2e][labels]") {
  LabelRig rig;
  const auto by_hand = [&](std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--config", rig.config});
    return run_tool("create-pipeline", arguments);
  };
  REQUIRE(by_hand({"run", "--label", "5"}).exit_code == 0);
  const auto record = rig.pool_record("5");

  const auto again = by_hand({"run", "--label", "5"});
  INFO(again.err);
  CHECK(again.exit_code == 3);
  CHECK_THAT(again.err, Catch::Contains("pool 5 exists with no recorded revision"));
  CHECK_THAT(again.err, Catch::Contains("'create-pipeline smoke-test --label 5' tests it again as it is"));
  CHECK_THAT(again.err, Catch::Contains("'create-pipeline delete --label 5', then this command with --revision"));
  CHECK(rig.pool_record("5") == record);

  CHECK(by_hand({"smoke-test", "--label", "5"}).exit_code == 0);
  REQUIRE(by_hand({"delete", "--label", "5"}).exit_code == 0);
  REQUIRE(by_hand({"run", "--label", "5", "--revision", "c0ffee5"}).exit_code == 0);
  CHECK(by_hand({"run", "--label", "5", "--revision", "c0ffee5"}).exit_code == 0);

  // A revision recorded, none given: the message names the one to pass.
  const auto unnamed = by_hand({"run", "--label", "5"});
  CHECK(unnamed.exit_code == 3);
  CHECK_THAT(unnamed.err, Catch::Contains("If this is that commit, pass '--revision c0ffee5'"));
}

// A rebuild needs new servers: --label naming the pool it rebuilds, or another pool than a
// rebuild of it, is bad input, refused before anything starts.
TEST_CASE("rebuild refuses a --label that names its own pool or an unrelated one", "[e2e][labels][rebuild]") {
  LabelRig rig;
  REQUIRE(rig.run("cafe0002", {"run", "--label", "2"}).exit_code == 0);
  REQUIRE(rig.run("cafe0003", {"run", "--label", "3"}).exit_code == 0);
  const auto record = rig.pool_record("2");

  const auto itself = rig.run("x", {"rebuild", "--from", "2", "--label", "2"});
  INFO(itself.err);
  CHECK(itself.exit_code == 2);
  CHECK_THAT(itself.err, Catch::Contains("the rebuild's --label 2 is the pool it rebuilds"));
  CHECK(itself.out.find("already existed") == std::string::npos);
  const auto other = rig.run("x", {"rebuild", "--from", "2", "--label", "3"});
  CHECK(other.exit_code == 2);
  CHECK_THAT(other.err, Catch::Contains("not a rebuild of pool 2"));
  CHECK(rig.pool_record("2") == record);
}

// A run whose servers cannot start still leaves a JUnit report, failing and naming why: the
// CI's junit step would otherwise publish an earlier build's report, or find none and fail.
TEST_CASE("a run whose pool cannot be created writes a failing JUnit report naming why", "[e2e][labels][junit]") {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  ServiceOptions options;
  options.pool_size = 2;
  options.extra_arguments = {"--no-such-option"};  // the server exits right after starting
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  const auto junit = dir.path() / "reports" / "smoke.xml";
  REQUIRE(util::make_directories(junit.parent_path()).ok());
  REQUIRE(util::write_file_atomic(junit, "an earlier build's report").ok());

  const auto run = run_tool(
      "create-pipeline", {"run", "--label", "17", "--revision", "r17", "--junit", junit.string(), "--config", config});
  INFO(run.err);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.err, Catch::Contains("exited right after starting (check provider.command)"));
  CHECK_THAT(run.err, Catch::Contains("Once that is fixed, the same command again finishes pool 17, or "
                                      "'create-pipeline delete --label 17' removes it"));
  const auto report = util::read_file(junit);
  REQUIRE(report.ok());
  CHECK_THAT(*report, Catch::Contains("<testcase classname=\"smoke-test.web\" name=\"pool ready for its smoke test\""));
  CHECK_THAT(*report, Catch::Contains("<failure message=\"creating pool 17: server "));
  CHECK_THAT(*report, Catch::Contains("tests=\"1\" failures=\"1\""));
  REQUIRE(run_tool("create-pipeline", {"delete", "--label", "17", "--config", config}).exit_code == 0);
}

// A run with no revision (no GIT_COMMIT, no --revision) whose servers cannot start advised "the
// same command again", which the label rule then refused (exit 3): a pool that records no
// revision cannot be told from another commit's. It names what works, and what it names works;
// a run given a revision is finished by the same command again.
TEST_CASE("a failed run names the way on the label rule allows, with a revision and without", "[e2e][labels][create]") {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  // One service (one state directory); `broken` makes its server exit right after starting.
  const auto tool = [&](bool broken, std::vector<std::string> arguments) {
    ServiceOptions options;
    options.pool_size = 2;
    if (broken) options.extra_arguments = {"--no-such-option"};
    arguments.insert(arguments.end(), {"--config", write_service_config(dir.path(), haproxy, options).string()});
    return run_tool("create-pipeline", arguments);
  };
  constexpr bool broken = true;
  constexpr bool fixed = false;

  SECTION("without a revision: delete, then a run with --revision") {
    const auto failed = tool(broken, {"run", "--label", "17"});
    INFO(failed.err);
    CHECK(failed.exit_code == 1);
    CHECK_THAT(failed.err, Catch::Contains("Once that is fixed, 'create-pipeline delete --label 17', then the same "
                                           "command with --revision, builds pool 17 anew (it records no revision, so "
                                           "a re-run alone is refused)"));
    CHECK_THAT(failed.err, !Catch::Contains("the same command again"));
    const auto again = tool(fixed, {"run", "--label", "17"});
    CHECK(again.exit_code == 3);
    REQUIRE(tool(fixed, {"delete", "--label", "17"}).exit_code == 0);
    const auto anew = tool(fixed, {"run", "--label", "17", "--revision", "r17"});
    INFO(anew.err);
    CHECK(anew.exit_code == 0);
    REQUIRE(tool(fixed, {"delete", "--label", "17"}).exit_code == 0);
  }
  SECTION("with a revision: the same command again finishes it") {
    const auto failed = tool(broken, {"run", "--label", "17", "--revision", "r17"});
    INFO(failed.err);
    CHECK(failed.exit_code == 1);
    CHECK_THAT(failed.err, Catch::Contains("Once that is fixed, the same command again finishes pool 17"));
    const auto again = tool(fixed, {"run", "--label", "17", "--revision", "r17"});
    INFO(again.err);
    CHECK(again.exit_code == 0);
    REQUIRE(tool(fixed, {"delete", "--label", "17"}).exit_code == 0);
  }
}
