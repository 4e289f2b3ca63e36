// Invariant 2 against a concurrent deploy: smart delete and deploy of the same pool race,
// started with varying offsets. Whatever the interleaving, a pool that ends up live was not
// destroyed, and when the delete won, the deploy failed and the old pool still serves.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>
#include <thread>

#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

TEST_CASE("smart delete racing a deploy of the same pool never destroys a live server", "[e2e][delete][race]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 2;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "a0", "--config", config}).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "a0", "--config", config}).exit_code == 0);

  std::mt19937 random(7);
  std::string live = "a0";
  int deletes_won = 0;
  int deploys_won = 0;
  for (int round = 1; round <= 8; ++round) {
    const std::string candidate = "b" + std::to_string(round);
    REQUIRE(run_tool("create-pipeline", {"run", "--label", candidate, "--config", config}).exit_code == 0);
    // Wide enough that each side gets clear head starts too, so both outcomes happen even when
    // a loaded machine starts processes slowly (a start costs 30-150 ms there).
    const int offset_ms = std::uniform_int_distribution<int>(-400, 300)(random);
    ToolResult deployed;
    ToolResult deleted;
    std::thread deploy([&] {
      if (offset_ms < 0) std::this_thread::sleep_for(std::chrono::milliseconds(-offset_ms));
      deployed = run_tool("deploy-pipeline", {"deploy", "--label", candidate, "--config", config});
    });
    std::thread destroy([&] {
      if (offset_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(offset_ms));
      deleted = run_tool("create-pipeline", {"delete", "--label", candidate, "--config", config});
    });
    deploy.join();
    destroy.join();
    INFO("round " << round << ", delete offset " << offset_ms << " ms\ndeploy: " << deployed.err
                  << "\ndelete: " << deleted.err);
    REQUIRE_FALSE((deployed.exit_code == 0 && deleted.exit_code == 0));
    if (deployed.exit_code == 0) {
      ++deploys_won;
      CHECK(deleted.exit_code == 3);
      CHECK(std::filesystem::exists(dir.path() / "state" / "web" / "pools" / candidate / "pool.json"));
      CHECK(http_get(haproxy.url()).second == candidate + "\n");
      live = candidate;
    } else {
      ++deletes_won;
      CHECK(deleted.exit_code == 0);
      CHECK_FALSE(std::filesystem::exists(dir.path() / "state" / "web" / "pools" / candidate));
      CHECK(http_get(haproxy.url()).second == live + "\n");
    }
  }
  // Both outcomes happened: the race was exercised in both directions.
  CHECK(deletes_won > 0);
  CHECK(deploys_won > 0);
}
