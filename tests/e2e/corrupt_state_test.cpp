// Records that lie or cannot be read: status still shows the live pool, the members and the
// problems, naming the unreadable file and what to do; history reports garbled lines.

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct CorruptStateRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;
  std::filesystem::path state = dir.path() / "state" / "web";

  CorruptStateRig() {
    ServiceOptions options;
    options.pool_size = 2;
    config = write_service_config(dir.path(), haproxy, options).string();
    // Two pools: with a rollback target, a healthy state is a status without problems.
    for (const char* label : {"0", "1"}) {
      REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
    }
    REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);
  }
};

}  // namespace

TEST_CASE("status with an empty lock and a garbled intent still shows the live pool and says what to do",
          "[e2e][status][corrupt]") {
  CorruptStateRig rig;
  REQUIRE(util::write_file_atomic(rig.state / "deploy.lock", "").ok());
  REQUIRE(util::write_file_atomic(rig.state / "intent.json", "{\"operation\": \"depl").ok());
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("live     1"));
  CHECK_THAT(status.out, Catch::Contains("1:1"));
  CHECK_THAT(status.out, Catch::Contains("cannot read the intent record: " + (rig.state / "intent.json").string()));
  CHECK_THAT(status.out, Catch::Contains("cannot read the deploy lock: " + (rig.state / "deploy.lock").string()));
  CHECK_THAT(status.out, Catch::Contains("--break-lock"));

  // The documented ways out work: repair takes over the unreadable lock and replaces the intent.
  const auto repaired = run_tool("deploy-pipeline", {"repair", "--break-lock", "--config", rig.config});
  INFO(repaired.err);
  CHECK(repaired.exit_code == 0);
  const auto after = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  CHECK(after.exit_code == 0);
}

TEST_CASE("garbled history lines are reported, and records after them are kept", "[e2e][history][corrupt]") {
  CorruptStateRig rig;
  REQUIRE(util::append_file_durable(rig.state / "history.jsonl", "{\"at\": \"2026-11").ok());
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "2", "--config", rig.config}).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", rig.config}).exit_code == 0);
  const auto history = run_tool("deploy-pipeline", {"history", "--config", rig.config});
  INFO(history.out << history.err);
  CHECK(history.exit_code == 0);
  CHECK_THAT(history.err, Catch::Contains("history.jsonl:2: unreadable record"));
  // Both deploys are there: the one before the torn line and the one after it.
  const auto json = run_tool("deploy-pipeline", {"history", "--output", "json", "--config", rig.config});
  const auto document = parse_output(json.out);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "events")) == 2);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(document.get(), "unreadable")) == 1);
  const auto status = run_tool("deploy-pipeline", {"status", "--config", rig.config});
  CHECK(status.exit_code == 0);
}
