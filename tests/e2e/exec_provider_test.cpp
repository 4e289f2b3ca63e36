// The exec provider with the shipped example (pipeline-configs/exec-example/pool.py), driven
// through the real binaries against a real HAProxy; and the protocol's failure modes.

#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

fs::path write_exec_config(const fs::path& dir, const Haproxy& haproxy, const std::vector<std::string>& command,
                           const std::string& name = "exec.json", int timeout_s = 60) {
  std::string argv;
  for (const auto& part : command) argv += (argv.empty() ? "\"" : ", \"") + part + "\"";
  const std::string text = R"({
  "service": "web",
  "pool": { "size": 2 },
  "provider": { "type": "exec", "command": [)" +
                           argv + R"(], "timeout_s": )" + std::to_string(timeout_s) + R"(,
                "supports_power": true, "supports_archive": true, "state_dir": "state" },
  "smoke_test": { "timeout_s": 10, "checks": [ { "name": "release", "path": "/", "expect_body": "{label}" } ] },
  "balancer": { "type": "haproxy", "socket": ")" +
                           haproxy.socket().string() + R"(", "backend": "web",
                "health_timeout_s": 10, "drain_timeout_s": 2, "check": { "interval_ms": 100, "rise": 1 } }
})";
  const auto path = dir / name;
  REQUIRE(util::write_file_atomic(path, text).ok());
  return path;
}

std::vector<std::string> example_command(const fs::path& dir) {
  return {(source_directory() / "pipeline-configs" / "exec-example" / "pool.py").string(), "--state",
          (dir / "exec-state").string(), "--artifact", (binary_directory() / "phoenix-sample-app").string()};
}

}  // namespace

TEST_CASE("the exec example runs the whole loop", "[e2e][exec]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_exec_config(dir.path(), haproxy, example_command(dir.path())).string();
  const auto ok = [&](const std::string& tool, std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--config", config});
    const auto result = run_tool(tool, arguments);
    INFO(tool << " " << util::join(arguments, " ") << "\n" << result.err);
    REQUIRE(result.exit_code == 0);
    return result;
  };
  ok("create-pipeline", {"run", "--label", "1"});
  ok("deploy-pipeline", {"deploy", "--label", "1"});
  ok("create-pipeline", {"run", "--label", "2"});
  Prober prober(dir.path(), haproxy.url());
  ok("deploy-pipeline", {"deploy", "--label", "2"});
  ok("deploy-pipeline", {"rollback", "--reason", "exec test"});
  CHECK(prober.finish().failed == 0);
  CHECK(http_get(haproxy.url()).second == "1\n");
  const auto listed = ok("create-pipeline", {"list", "--output", "json"});
  CHECK_THAT(listed.out, Catch::Contains("\"verdict\":\t\"bad\""));
  CHECK(run_tool("create-pipeline", {"delete", "--label", "1", "--config", config}).exit_code == 3);
  ok("create-pipeline", {"power-off", "--label", "2"});
  ok("deploy-pipeline", {"deploy", "--label", "2", "--force"});  // powers it on, smoke-tests, switches
  CHECK(http_get(haproxy.url()).second == "2\n");
  // The cold tier through the example's optional verbs: the live pool 2 is refused; a new pool is
  // archived, listed cold, and woken by a deploy under load.
  CHECK(run_tool("create-pipeline", {"archive", "--label", "2", "--config", config}).exit_code == 3);
  ok("create-pipeline", {"run", "--label", "3"});
  ok("create-pipeline", {"archive", "--label", "3"});
  CHECK_FALSE(std::filesystem::exists(dir.path() / "exec-state" / "web" / "3.release"));
  CHECK_THAT(ok("create-pipeline", {"list"}).out, Catch::Contains("cold"));
  {
    Prober cold_prober(dir.path(), haproxy.url());
    const auto woken = ok("deploy-pipeline", {"deploy", "--label", "3"});
    CHECK_THAT(woken.err, Catch::Contains("pool 3 is cold: recreating its 2 servers from its archive"));
    CHECK(cold_prober.finish().failed == 0);
  }
  CHECK(http_get(haproxy.url()).second == "3\n");
  // Pool 1, hot, is the last rollback target (2 is marked bad): deleting it takes --force.
  CHECK(run_tool("create-pipeline", {"delete", "--label", "1", "--config", config}).exit_code == 3);
  ok("create-pipeline", {"delete", "--label", "1", "--force"});
  CHECK_FALSE(std::filesystem::exists(dir.path() / "exec-state" / "web" / "1.json"));
}

TEST_CASE("exec commands that fail, lie or hang are one clear line and exit 4", "[e2e][exec]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto script = [&](const std::string& name, const std::string& body) {
    const auto path = dir.path() / name;
    REQUIRE(util::write_file_atomic(path, "#!/bin/sh\n" + body + "\n", 0755).ok());
    return path.string();
  };
  struct Case {
    std::string script;
    int timeout_s;
    int exit_code;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {script("exits.sh", "echo 'terraform: quota exceeded' >&2; exit 3"), 10, 4,
       "exited with 3; its messages are above"},
      {script("garbage.sh", "echo 'not json at all'"), 10, 4, "printed something that is not JSON on stdout: not json"},
      {script("no-pools.sh", "echo '{\"pool\": 1}'"), 10, 4, "'list' answer has no 'pools' list"},
      {script("bad-server.sh",
              "echo '{\"pools\": [{\"label\": \"1\", \"created_at\": \"2026-11-26T00:00:00Z\", "
              "\"servers\": [{\"id\": \"a b\", \"host\": \"x\", \"port\": 1}]}]}'"),
       10, 4, "needs an id of [A-Za-z0-9._-], a host and a port"},
      {script("reports.sh", "echo '{\"error\": \"the cloud is on fire\"}'"), 10, 1, "reported: the cloud is on fire"},
      {script("hangs.sh", "sleep 30"), 1, 4, "did not finish within 1.00 s and was stopped"},
  };
  for (const auto& bad : cases) {
    INFO(bad.script);
    const auto config = write_exec_config(dir.path(), haproxy, {bad.script}, "case.json", bad.timeout_s);
    const auto result = run_tool("create-pipeline", {"list", "--config", config.string()});
    CHECK(result.exit_code == bad.exit_code);
    std::vector<std::string> errors;
    for (const auto& line : util::split_lines(result.err)) {
      if (line.rfind("create-pipeline: error: ", 0) == 0) errors.push_back(line);
    }
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains(bad.expected));
  }
  // The command's own stderr reaches the operator.
  const auto config = write_exec_config(dir.path(), haproxy, {cases[0].script}, "case.json");
  CHECK_THAT(run_tool("create-pipeline", {"list", "--config", config.string()}).err,
             Catch::Contains("terraform: quota exceeded"));
}
