// Every file in pipeline-configs/ is checked: YAML and JSON parse, GoCD files follow the format
// 10 structure, and every command and option a GoCD file or Jenkinsfile calls exists in the
// built executables (tests/ci/check_pipeline_configs.py). The example service configurations
// load.

#include <catch2/catch.hpp>
#include <filesystem>

#include "shared/util/files.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {
util::CommandResult check(const fs::path& root) {
  util::CommandRequest request;
  request.argv = {"python3", (source_directory() / "tests" / "ci" / "check_pipeline_configs.py").string(),
                  root.string(), binary_directory().string()};
  request.capture_stderr = true;
  auto ran = util::run_command(request);
  REQUIRE(ran.ok());
  return *ran;
}

void replace_in(const fs::path& file, const std::string& from, const std::string& to) {
  auto text = *util::read_file(file);
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  REQUIRE(util::write_file_atomic(file, text).ok());
}
}  // namespace

TEST_CASE("every file in pipeline-configs is valid and calls only real commands and options",
          "[e2e][pipeline-configs]") {
  const auto result = check(source_directory());
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains(": 0 problems"));
}

TEST_CASE("the pipeline-configs check catches what it is there to catch", "[e2e][pipeline-configs]") {
  TempDir dir;
  std::filesystem::copy(source_directory() / "pipeline-configs", dir.path() / "pipeline-configs",
                        std::filesystem::copy_options::recursive);
  replace_in(dir.path() / "pipeline-configs/gocd/web.gocd.yaml", "arguments: [run, --junit, reports/smoke.xml]",
             "arguments: [run, --junit-xml, reports/smoke.xml]");
  replace_in(dir.path() / "pipeline-configs/gocd/web.gocd.yaml", "          approval: manual\n",
             "          approval: manual\n          when: always\n");
  replace_in(dir.path() / "pipeline-configs/jenkins/deploy.Jenkinsfile", "deploy-pipeline deploy --label",
             "deploy-pipeline promote --label");
  replace_in(dir.path() / "pipeline-configs/jenkins/jenkins.yaml", "rollback.Jenkinsfile", "rolback.Jenkinsfile");
  const auto result = check(dir.path());
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.output, Catch::Contains("'create-pipeline run' has no option --junit-xml"));
  CHECK_THAT(result.output, Catch::Contains("unknown key 'when'"));
  CHECK_THAT(result.output, Catch::Contains("'deploy-pipeline promote' is not a command"));
  CHECK_THAT(result.output, Catch::Contains("scriptPath pipeline-configs/jenkins/rolback.Jenkinsfile does not exist"));
}

TEST_CASE("the example service configurations load", "[e2e][pipeline-configs]") {
  for (const auto* example :
       {"pipeline-configs/examples/web.local.json", "pipeline-configs/exec-example/web.exec.json"}) {
    INFO(example);
    const auto result = run_tool("deploy-pipeline", {"history", "--config", (source_directory() / example).string()});
    // The configuration is valid; what follows depends on the machine (no such state directory).
    CHECK(result.exit_code != 2);
  }
}
