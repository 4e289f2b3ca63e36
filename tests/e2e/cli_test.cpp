// The command line as an operator meets it: help with examples, one clear line and a
// documented exit code for bad input, nothing changed.

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {
void one_error_line(const ToolResult& result, int exit_code, const std::string& program, const std::string& text) {
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == exit_code);
  CHECK_THAT(result.err, Catch::StartsWith(program + ": error: "));
  CHECK_THAT(result.err, Catch::Contains(text));
  CHECK(std::count(result.err.begin(), result.err.end(), '\n') == 1);
  CHECK(result.out.empty());
}
}  // namespace

TEST_CASE("every command has help with an example", "[e2e][cli]") {
  for (const auto& [tool, commands] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"create-pipeline",
            {"create", "smoke-test", "run", "list", "delete", "prune", "archive", "power-off", "power-on"}},
           {"deploy-pipeline", {"deploy", "rollback", "status", "history", "repair"}}}) {
    const auto overview = run_tool(tool, {"--help"});
    CHECK(overview.exit_code == 0);
    for (const auto& command : commands) {
      INFO(tool << " " << command);
      CHECK_THAT(overview.out, Catch::Contains("  " + command + " "));
      const auto help = run_tool(tool, {command, "--help"});
      CHECK(help.exit_code == 0);
      CHECK_THAT(help.out, Catch::Contains("Example:\n  " + tool + " " + command));
      CHECK_THAT(help.out, Catch::Contains("--config"));
      CHECK_THAT(help.out, Catch::Contains("Exit codes: 0 done"));
    }
  }
  CHECK_THAT(run_tool("deploy-pipeline", {"status", "--help"}).out, Catch::Contains("--output"));
  CHECK(run_tool("create-pipeline", {}).exit_code == 2);
}

TEST_CASE("usage errors are one line and exit 2", "[e2e][cli]") {
  one_error_line(run_tool("create-pipeline", {"explode"}), 2, "create-pipeline", "unknown command 'explode'");
  one_error_line(run_tool("create-pipeline", {"create", "--sise", "3"}), 2, "create-pipeline", "sise");
  one_error_line(run_tool("create-pipeline", {"create", "--size", "many"}), 2, "create-pipeline", "--size");
  one_error_line(run_tool("deploy-pipeline", {"deploy"}), 2, "deploy-pipeline", "no release label");
  one_error_line(run_tool("deploy-pipeline", {"deploy", "--label", "../x"}), 2, "deploy-pipeline", "invalid label");
  one_error_line(run_tool("deploy-pipeline", {"status", "--output", "yaml"}), 2, "deploy-pipeline",
                 "'table' or 'json'");
  one_error_line(run_tool("create-pipeline", {"list", "--verbose", "--quiet"}), 2, "create-pipeline", "exclude");
  one_error_line(run_tool("create-pipeline", {"create", "--config", "/nonexistent/web.json"}), 2, "create-pipeline",
                 "no release label");
  one_error_line(run_tool("create-pipeline", {"create", "--label", "1", "--config", "/nonexistent/web.json"}), 2,
                 "create-pipeline", "/nonexistent/web.json: no such file");
  one_error_line(run_tool("create-pipeline", {"list"}, {}), 2, "create-pipeline", "phoenix.json");
}

TEST_CASE("the label comes from GoCD or Jenkins when --label is absent", "[e2e][cli]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  const auto gocd =
      run_tool("create-pipeline", {"create", "--config", config},
               {"GO_PIPELINE_LABEL=7-abc", "GO_PIPELINE_NAME=web", "GO_REVISION=abc1234", "GO_TRIGGER_USER=dana"});
  INFO(gocd.err);
  REQUIRE(gocd.exit_code == 0);
  const auto jenkins = run_tool("create-pipeline", {"create", "--config", config},
                                {"BUILD_NUMBER=8", "JENKINS_URL=http://jenkins/", "GIT_COMMIT=def5678"});
  REQUIRE(jenkins.exit_code == 0);
  const auto list = run_tool("create-pipeline", {"list", "--output", "json"}, {"PHOENIX_CONFIG=" + config});
  CHECK_THAT(list.out, Catch::Contains("\"label\":\t\"7-abc\""));
  CHECK_THAT(list.out, Catch::Contains("\"revision\":\t\"abc1234\""));
  CHECK_THAT(list.out, Catch::Contains("\"triggered_by\":\t\"dana\""));
  CHECK_THAT(list.out, Catch::Contains("\"label\":\t\"8\""));
  CHECK_THAT(list.out, Catch::Contains("\"revision\":\t\"def5678\""));
  one_error_line(run_tool("create-pipeline", {"create", "--config", config}, {"GO_PIPELINE_LABEL=a b"}), 2,
                 "create-pipeline", "GO_PIPELINE_LABEL");
}

TEST_CASE("an unreachable HAProxy is exit 4 with one line, and nothing changes", "[e2e][cli]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  haproxy.stop();
  const auto deploy = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
  one_error_line(deploy, 4, "deploy-pipeline", "cannot connect to HAProxy's runtime API");
  CHECK(run_tool("deploy-pipeline", {"status", "--config", config}).exit_code == 4);
  const auto list = run_tool("create-pipeline", {"list", "--config", config});
  CHECK(list.exit_code == 0);  // the pools are still listed; LIVE shows '?'
  CHECK_THAT(list.out, Catch::Contains("?"));
}
