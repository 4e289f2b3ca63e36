// Every file in pipeline-configs/ is checked: YAML and JSON parse, GoCD files follow the format
// 10 structure, the CI servers' conventions hold (agents, approvals, locks, secrets, triggers,
// the trigger user), and every command and option a GoCD file or Jenkinsfile calls exists in the
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
  replace_in(dir.path() / "pipeline-configs/gocd/web.gocd.yaml", "          approval: *ops_approval\n",
             "          approval: *ops_approval\n          when: always\n");
  replace_in(dir.path() / "pipeline-configs/jenkins/deploy.Jenkinsfile", "deploy-pipeline deploy --label",
             "deploy-pipeline promote --label");
  replace_in(dir.path() / "pipeline-configs/jenkins/jenkins.yaml", "rollback.Jenkinsfile", "rolback.Jenkinsfile");
  // A prefix the tool refuses as ambiguous (--repo, --repo-url), though both contain it.
  replace_in(dir.path() / "pipeline-configs/jenkins/ci-config-backup.Jenkinsfile", "--repo backup", "--rep backup");
  const auto result = check(dir.path());
  INFO(result.output);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.output, Catch::Contains("'create-pipeline run' has no option --junit-xml"));
  CHECK_THAT(result.output, Catch::Contains("ci-config-backup.Jenkinsfile: 'deploy-pipeline ci-config' has no option "
                                            "--rep"));
  CHECK_THAT(result.output, Catch::Contains("unknown key 'when'"));
  CHECK_THAT(result.output, Catch::Contains("'deploy-pipeline promote' is not a command"));
  CHECK_THAT(result.output, Catch::Contains("scriptPath pipeline-configs/jenkins/rolback.Jenkinsfile does not exist"));
}

TEST_CASE("the pipeline-configs check catches what GoCD and Jenkins users would trip over", "[e2e][pipeline-configs]") {
  TempDir dir;
  std::filesystem::copy(source_directory() / "pipeline-configs", dir.path() / "pipeline-configs",
                        std::filesystem::copy_options::recursive);
  const auto configs = dir.path() / "pipeline-configs";
  // Jenkins: no trigger, an input inside the top-level agent, a switch outside lock(), a lock
  // on another resource, no person recorded, a push without a key.
  replace_in(configs / "jenkins/create.Jenkinsfile", "    triggers { pollSCM('H/5 * * * *') }\n", "");
  replace_in(configs / "jenkins/create.Jenkinsfile", "lock('phoenix-web')", "lock('phoenix-prune')");
  replace_in(configs / "jenkins/deploy.Jenkinsfile", "    agent none\n", "    agent { label 'phoenix' }\n");
  replace_in(configs / "jenkins/deploy.Jenkinsfile", "submitterParameter 'BUILD_USER'", "submitter 'ops'");
  replace_in(configs / "jenkins/rollback.Jenkinsfile",
             "lock('phoenix-web') {\n                    sh 'deploy-pipeline rollback'\n                }",
             "sh 'deploy-pipeline rollback'");
  replace_in(configs / "jenkins/ci-config-backup.Jenkinsfile",
             "sshUserPrivateKey(credentialsId: 'ci-config-backup-key', keyFileVariable: 'BACKUP_KEY')",
             "string(credentialsId: 'ci-config-backup-key', variable: 'BACKUP_KEY')");
  // GoCD: a job on any agent, approvals open to everyone, a token in clear, an unlocked deploy.
  replace_in(configs / "gocd/web.gocd.yaml", "              resources: [phoenix]\n", "");
  replace_in(configs / "gocd/web.gocd.yaml", "    roles: [ops]\n", "");
  replace_in(configs / "gocd/web.gocd.yaml", "HCLOUD_TOKEN: \"{{SECRET:[phoenix][hcloud_token]}}\"",
             "HCLOUD_TOKEN: hc-0123456789");
  replace_in(configs / "gocd/web.gocd.yaml", "lock_behavior: lockOnFailure", "lock_behavior: none");
  const auto result = check(dir.path());
  INFO(result.output);
  CHECK(result.exit_code == 1);
  for (const char* expected : {
           "create.Jenkinsfile: the per-commit job declares no trigger (pollSCM): it would never start",
           "jenkins.yaml: job web-create: the seed's triggers [('pollSCM', ('H/5 * * * *',))] differ",
           "commands that change pools lock different resources, so they do not wait for each other",
           "deploy.Jenkinsfile: waits for input inside the top-level agent",
           "deploy.Jenkinsfile: stage 'deploy': 'deploy-pipeline deploy' would record the agent's user",
           "rollback.Jenkinsfile: stage 'rollback': 'deploy-pipeline rollback' runs outside lock()",
           "ci-config-backup.Jenkinsfile: stage 'backup': 'deploy-pipeline ci-config backup --from jenkins "
           "--url \"$JENKINS_URL\" --repo backup --push' pushes with git but no SSH key is bound around it",
           "pipeline web-create job run: runs Phoenix on any agent",
           "pipeline web-deploy stage deploy: the manual approval is open to every user",
           "pipeline web-create: HCLOUD_TOKEN is in clear",
           "pipeline web-deploy: runs deploy-pipeline deploy without lock_behavior",
       }) {
    CHECK_THAT(result.output, Catch::Contains(expected));
  }
}

TEST_CASE("the shipped GoCD pipelines pass the YAML plugin's own rules, as the contract fake applies them",
          "[e2e][pipeline-configs]") {
  util::CommandRequest request;
  request.argv = {"python3", (source_directory() / "tests" / "fakes" / "ci" / "gocd_yaml_plugin.py").string(),
                  (source_directory() / "pipeline-configs" / "gocd").string()};
  auto ran = util::run_command(request);
  REQUIRE(ran.ok());
  REQUIRE(ran->exit_code == 0);
  INFO(ran->output);
  CHECK_THAT(ran->output, Catch::EndsWith("\"errors\": []}\n"));
  for (const char* pipeline : {"web-create", "web-deploy", "web-rollback", "ci-config-backup"}) {
    CHECK_THAT(ran->output, Catch::Contains(std::string("{\"name\": \"") + pipeline + "\""));
  }
}

namespace {
// A copy of a shipped example configuration whose state directory is in `dir`: the shipped
// one is the target machine's, so what a tool does with it would depend on this machine.
fs::path example_in(const fs::path& dir, const std::string& example) {
  auto text = util::read_file(source_directory() / example);
  REQUIRE(text.ok());
  const std::string shipped = "\"state_dir\": \"/var/lib/phoenix\"";
  REQUIRE(text->find(shipped) != std::string::npos);
  const fs::path copy = dir / fs::path(example).filename();
  REQUIRE(util::write_file_atomic(
              copy, util::replace_all(*text, shipped, "\"state_dir\": \"" + (dir / "state").string() + "\""))
              .ok());
  return copy;
}
}  // namespace

TEST_CASE("the example service configurations load, and broken ones are refused naming the key",
          "[e2e][pipeline-configs]") {
  TempDir dir;
  for (const auto* example :
       {"pipeline-configs/examples/web.local.json", "pipeline-configs/exec-example/web.exec.json"}) {
    INFO(example);
    const auto config = example_in(dir.path(), example);
    const auto result = run_tool("deploy-pipeline", {"history", "--config", config.string()});
    INFO(result.err);
    CHECK(result.exit_code == 0);
    CHECK(result.out == "no deploys or rollbacks yet\n");
  }

  const auto config = (dir.path() / "web.local.json").string();
  const auto text = *util::read_file(config);
  struct Breakage {
    const char* from;
    const char* to;
    const char* error;
  };
  for (const auto& breakage : {
           Breakage{"\"keep\": 3", "\"kept\": 3", "web.local.json:27: unknown key 'retention.kept'"},
           Breakage{"\"size\": 3", "\"size\": \"3\"", "web.local.json:3: pool.size: expected a whole number"},
           Breakage{"\"service\": \"web\",", "", "web.local.json: missing required key 'service'"},
           Breakage{"\"type\": \"local\"", "\"type\": \"lokal\"", "provider.type: unknown provider 'lokal'"},
       }) {
    INFO(breakage.to);
    replace_in(config, breakage.from, breakage.to);
    const auto result = run_tool("deploy-pipeline", {"history", "--config", config});
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains(breakage.error));
    REQUIRE(util::write_file_atomic(config, text).ok());
  }
}
