// What rollback says about where its target came from and where it rolls back from, with the
// real binaries and a real HAProxy.

#include <catch2/catch.hpp>

#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

TEST_CASE("rollback names PHOENIX_ROLLBACK_TO as its target's source, and never 'from pool (none)'",
          "[e2e][rollback][messages]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 1;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);

  // A label left over in a CI job's environment: the error says where it came from.
  const auto leftover = run_tool("deploy-pipeline", {"rollback", "--reason", "x", "--config", config},
                                 {"PHOENIX_ROLLBACK_TO=nosuch"}, std::chrono::seconds(60));
  INFO("stderr: " << leftover.err);
  CHECK(leftover.exit_code == 2);
  const auto lines = util::split_lines(leftover.err);
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Contains("there is no pool 'nosuch' to roll back to"));
  CHECK_THAT(lines[0], Catch::EndsWith("(the pool to roll back to, 'nosuch', came from PHOENIX_ROLLBACK_TO)"));
  // Given as --to, the option needs no such note.
  const auto typed =
      run_tool("deploy-pipeline", {"rollback", "--to", "nosuch", "--config", config}, {}, std::chrono::seconds(60));
  CHECK(typed.exit_code == 2);
  CHECK_THAT(typed.err, !Catch::Contains("came from"));

  // Rolling back to the pool that is live: no "from pool (none)" while a pool is live.
  const auto to_live =
      run_tool("deploy-pipeline", {"rollback", "--to", "1", "--expect-live", "1", "--reason", "x", "--config", config},
               {}, std::chrono::seconds(60));
  INFO("stderr: " << to_live.err);
  CHECK_THAT(to_live.err, !Catch::Contains("(none)"));
  CHECK_THAT(to_live.err, Catch::Contains("pool 1 is live already"));
}

TEST_CASE("rollback --to with nothing live: a missing pool exits 2 and is not recorded, an existing one is named",
          "[e2e][rollback][messages]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 1;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  create_pools_1_and_2(config, ThenDeploy::nothing);

  const auto missing =
      run_tool("deploy-pipeline", {"rollback", "--to", "nosuch", "--config", config}, {}, std::chrono::seconds(60));
  INFO("stderr: " << missing.err);
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("there is no pool 'nosuch' to roll back to"));

  const auto named = run_tool("deploy-pipeline", {"rollback", "--to", "1", "--reason", "outage", "--config", config},
                              {}, std::chrono::seconds(60));
  INFO("stderr: " << named.err);
  CHECK(named.exit_code == 3);
  CHECK_THAT(named.err, Catch::Contains("nothing is live, so there is nothing to roll back from; use "
                                        "'deploy-pipeline deploy --label 1'"));

  // Only the refusal of an existing pool is in history.
  const auto history =
      run_tool("deploy-pipeline", {"history", "--output", "json", "--config", config}, {}, std::chrono::seconds(60));
  CHECK_THAT(history.out, !Catch::Contains("nosuch"));
  CHECK_THAT(history.out, Catch::Contains("\"refused\""));
}
