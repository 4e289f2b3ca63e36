// The state directory (provider.state_dir) refusing writes, and a history record that could
// not be written, with the real binaries, a real HAProxy and real servers. A read-only or full
// file system is stood in for by an immutable directory or file (support/unwritable): the same
// refusal at the same system calls, without a mount.

#include <catch2/catch.hpp>

#include "shared/util/strings.hpp"
#include "support/harness.hpp"
#include "support/unwritable.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct StateDirRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;
  fs::path state = dir.path() / "state";

  StateDirRig() {
    ServiceOptions options;
    options.pool_size = 1;
    config = write_service_config(dir.path(), haproxy, options).string();
    create_pools_1_and_2(config, ThenDeploy::pool_1);
  }
  ToolResult run(const std::string& tool, std::vector<std::string> arguments) const {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool(tool, arguments, {}, std::chrono::seconds(60));
  }
  bool routes_to(const std::string& label) const {
    return haproxy.command("show servers state web").find(" " + label + ":1 ") != std::string::npos;
  }
};

}  // namespace

TEST_CASE("a state directory that refuses writes: status reports it, and each command's one line names it and its key",
          "[e2e][state-dir]") {
  StateDirRig rig;
  // Pool 2 is newer than the live pool 1 and never served, so a plain rollback has nowhere to
  // go: that is status's one problem before the directory refuses writes, and after.
  const auto before = rig.run("deploy-pipeline", {"status"});
  INFO("status before: " << before.out);
  REQUIRE(before.exit_code == 1);
  REQUIRE_THAT(before.out, Catch::Contains("a plain rollback has no pool to go to ("));
  REQUIRE_THAT(before.out, !Catch::Contains("provider.state_dir"));

  Unwritable unwritable(rig.state / "web");
  REQUIRE(unwritable.active());
  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO("stdout: " << status.out << "stderr: " << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out,
             Catch::Contains("state directory " + rig.state.string() + " (provider.state_dir) is not writable ("));
  CHECK_THAT(status.out, Catch::Contains("deploys and rollbacks will fail"));

  struct Attempt {
    std::string tool;
    std::vector<std::string> arguments;
    bool takes_the_lock_first;
  };
  const std::vector<Attempt> attempts = {
      {"deploy-pipeline", {"rollback", "--reason", "x"}, true},
      {"deploy-pipeline", {"deploy", "--label", "2"}, true},
      {"deploy-pipeline", {"repair"}, true},
      {"create-pipeline", {"prune", "--keep", "0"}, true},
      {"deploy-pipeline", {"freeze", "--reason", "x"}, false},
  };
  for (const auto& attempt : attempts) {
    INFO(attempt.tool << " " << util::join(attempt.arguments, " "));
    const auto result = rig.run(attempt.tool, attempt.arguments);
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 1);
    const auto lines = util::split_lines(result.err);
    REQUIRE_FALSE(lines.empty());
    const std::string& last = lines.back();
    CHECK_THAT(last, Catch::StartsWith(attempt.tool + ": error: "));
    CHECK_THAT(last, Catch::Contains("; the state directory " + rig.state.string() +
                                     " (provider.state_dir) is not writable ("));
    CHECK_THAT(last, Catch::Contains("make it writable for this user"));
    CHECK_THAT(result.err, !Catch::Contains(".tmp-"));
    if (attempt.takes_the_lock_first) CHECK_THAT(last, Catch::Contains("nothing was changed"));
  }
  // A dry run takes no lock, yet says the real run would fail, with its exit code (1).
  const std::vector<std::pair<std::string, std::vector<std::string>>> dry_runs = {
      {"rollback --to 2", {"rollback", "--to", "2", "--reason", "x", "--dry-run"}},
      {"deploy --label 2", {"deploy", "--label", "2", "--dry-run"}},
  };
  for (const auto& [command, arguments] : dry_runs) {
    INFO(util::join(arguments, " "));
    const auto result = rig.run("deploy-pipeline", arguments);
    INFO("stdout: " << result.out << "stderr: " << result.err);
    CHECK(result.exit_code == 1);
    const auto lines = util::split_lines(result.err);
    REQUIRE_FALSE(lines.empty());
    CHECK_THAT(lines.back(), Catch::StartsWith("deploy-pipeline: error: a real '" + command + "' would fail: "));
    CHECK_THAT(lines.back(), Catch::Contains("(provider.state_dir) is not writable ("));
  }
  // Nothing switched: pool 1 is still the one routed to.
  CHECK(rig.routes_to("1"));
  CHECK_FALSE(rig.routes_to("2"));

  unwritable.release();
  const auto after = rig.run("deploy-pipeline", {"status"});
  CHECK(after.exit_code == before.exit_code);
  CHECK_THAT(after.out, !Catch::Contains("provider.state_dir"));
}

// A switch that succeeded but whose history record could not be written exits 0 (the traffic
// moved); history then names the pool it replaced, and status must not only suggest going back.
TEST_CASE("a switch whose history record could not be written: status offers to record it, not only to go back",
          "[e2e][state-dir][history]") {
  StateDirRig rig;
  const auto history = rig.state / "web" / "history.jsonl";
  REQUIRE(fs::exists(history));
  {
    Unwritable unwritable(history);
    REQUIRE(unwritable.active());
    const auto deployed = rig.run("deploy-pipeline", {"deploy", "--label", "2"});
    INFO("stderr: " << deployed.err);
    CHECK(deployed.exit_code == 0);
    CHECK_THAT(deployed.err, Catch::Contains("is missing from history"));
    CHECK(rig.routes_to("2"));
  }
  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO("stdout: " << status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("made pool 1 live, but the balancer routes to 2; history may be missing the "
                                         "last switch"));
  CHECK_THAT(status.out, Catch::Contains("'deploy-pipeline deploy --label 2' records pool 2 as live"));
  CHECK_THAT(status.out, Catch::Contains("'deploy-pipeline deploy --label 1' goes back to pool 1"));

  // Following the advice records the switch: status is clean, pool 2 still routed.
  REQUIRE(rig.run("deploy-pipeline", {"deploy", "--label", "2"}).exit_code == 0);
  const auto after = rig.run("deploy-pipeline", {"status"});
  INFO("after: " << after.out);
  CHECK(after.exit_code == 0);
  CHECK(rig.routes_to("2"));
}
