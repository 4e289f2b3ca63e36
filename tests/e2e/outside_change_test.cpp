// A change made by hand behind Phoenix's back: a retained pool's servers enabled in HAProxy,
// so two pools are live. status reports it (exit 1); repair or the next deploy fixes it.

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {
// Enables every server of pool `label` by hand through the Runtime API.
void enable_by_hand(const Haproxy& haproxy, const fs::path& dir, const std::string& label) {
  auto text = util::read_file(dir / "state" / "web" / "pools" / label / "pool.json");
  REQUIRE(text.ok());
  auto document = util::parse_json(*text, "pool.json");
  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItem(document->get(), "servers")) {
    const std::string name = "web/" + label + ":" + *util::json_string(server, "id");
    const std::string address =
        *util::json_string(server, "host") + ":" + std::to_string(static_cast<int>(*util::json_number(server, "port")));
    CHECK(haproxy.command("add server " + name + " " + address) == "New server registered.");
    haproxy.command("set server " + name + " state ready");
  }
}
}  // namespace

TEST_CASE("a pool enabled by hand is reported, then repaired", "[e2e][outside]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::each_in_turn);
  enable_by_hand(haproxy, dir.path(), "1");

  auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("2 pools are live at once (1, 2)"));
  CHECK_THAT(status.out, Catch::Contains("but a restart would route to"));
  CHECK_THAT(status.err, Catch::Contains("deploy-pipeline: error: "));

  Prober prober(dir.path(), haproxy.url());
  const auto repaired = run_tool("deploy-pipeline", {"repair", "--config", config});
  INFO(repaired.err);
  REQUIRE(repaired.exit_code == 0);
  CHECK(prober.finish().failed == 0);
  status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.out, Catch::Contains("live     2\n"));

  // The next deploy fixes the same mess as a matter of course.
  enable_by_hand(haproxy, dir.path(), "1");
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config}).exit_code == 0);
  status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK(status.exit_code == 0);
}
