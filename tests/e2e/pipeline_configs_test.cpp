// Every file in pipeline-configs/ is checked: YAML and JSON parse, GoCD files follow the format
// 10 structure, the CI servers' conventions hold (agents, approvals, locks, secrets, triggers,
// the trigger user, alert-triggered rollbacks), and every command, option and PHOENIX_* variable
// a GoCD file or Jenkinsfile uses exists in the built executables
// (tests/ci/check_pipeline_configs.py). The example service configurations load. The GoCD
// Alertmanager relay (pipeline-configs/gocd/alertmanager-relay.py) turns a firing notification
// into GoCD's schedule request and nothing else into one.

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "shared/http/curl_http_client.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
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

TEST_CASE("the pipeline-configs check catches an alert rollback that a stale or forged alert could misuse",
          "[e2e][pipeline-configs]") {
  const auto mutated = [](const std::vector<std::tuple<std::string, std::string, std::string>>& changes) {
    auto dir = std::make_unique<TempDir>();
    std::filesystem::copy(source_directory() / "pipeline-configs", dir->path() / "pipeline-configs",
                          std::filesystem::copy_options::recursive);
    for (const auto& [file, from, to] : changes) replace_in(dir->path() / "pipeline-configs" / file, from, to);
    return dir;
  };
  const std::string jenkinsfile = "jenkins/alert-rollback.Jenkinsfile";
  const std::string gocd = "gocd/web.gocd.yaml";
  const std::string gocd_guard =
      "                - exec:\n"
      "                    command: /bin/sh\n"
      "                    arguments: [-c, 'test -n \"$PHOENIX_EXPECT_LIVE\" || { echo \"no PHOENIX_EXPECT_LIVE: "
      "nothing rolled back\" >&2; exit 3; }']\n";

  SECTION("no token, resolved alerts let through, no expected live pool, a GoCD pipeline commits start") {
    const auto dir = mutated({
        {jenkinsfile, "            tokenCredentialId: 'alertmanager-web-rollback-token',\n", ""},
        {jenkinsfile, "'^firing web ", "'^(firing|resolved) web "},
        {jenkinsfile, "        PHOENIX_EXPECT_LIVE = \"${params.ALERT_RELEASE}\"\n", ""},
        {gocd, "      PHOENIX_EXPECT_LIVE: \"\"\n", ""},
        {gocd, "            type: manual\n            users: [alertmanager]",
         "            type: success\n            users: [alertmanager]"},
    });
    const auto result = check(dir->path());
    INFO(result.output);
    CHECK(result.exit_code == 1);
    for (const char* expected : {
             "alert-rollback.Jenkinsfile: the Generic Webhook Trigger has no tokenCredentialId",
             "alert-rollback.Jenkinsfile: the Generic Webhook Trigger does not start only on firing notifications",
             "alert-rollback.Jenkinsfile: stage 'rollback': 'deploy-pipeline rollback' runs on an alert without "
             "PHOENIX_EXPECT_LIVE from the alert's release",
             "jenkins.yaml: job web-alert-rollback: the seed's triggers",
             "web.gocd.yaml: pipeline web-alert-rollback job switch: 'deploy-pipeline rollback' runs on an alert "
             "without PHOENIX_EXPECT_LIVE",
             "web.gocd.yaml: pipeline web-alert-rollback stage rollback: an alert rollback would also start on every "
             "change of its materials",
             "web.gocd.yaml: pipeline web-alert-rollback job switch: the relay sends PHOENIX_EXPECT_LIVE, which the "
             "pipeline does not declare, so GoCD refuses the schedule request (422)",
         }) {
      CHECK_THAT(result.output, Catch::Contains(expected));
    }
  }

  SECTION("an empty expected pool let through, a token in clear, $VARS in GoCD arguments, a relay out of step") {
    const auto dir = mutated({
        {jenkinsfile,
         "                sh 'test -n \"$PHOENIX_EXPECT_LIVE\" || { echo \"no ALERT_RELEASE: nothing rolled back\" "
         ">&2; exit 3; }'\n",
         ""},
        {jenkinsfile, "tokenCredentialId: 'alertmanager-web-rollback-token',",
         "tokenCredentialId: 'alertmanager-web-rollback-token', token: 'abc123',"},
        {gocd, gocd_guard, ""},
        {gocd, "arguments: [rollback]\n                - *status_task\n\n  ci-config-backup",
         "arguments: [rollback, --to, $PHOENIX_ROLLBACK_TO]\n                - *status_task\n\n  ci-config-backup"},
        {"gocd/alertmanager-relay.py", "{\"name\": \"PHOENIX_EXPECT_LIVE\", \"value\": release",
         "{\"name\": \"PHOENIX_EXPECTED_LIVE\", \"value\": release"},
    });
    const auto result = check(dir->path());
    INFO(result.output);
    CHECK(result.exit_code == 1);
    for (const char* expected : {
             "alert-rollback.Jenkinsfile: stage 'rollback': 'deploy-pipeline rollback' runs on an alert without first "
             "refusing an empty PHOENIX_EXPECT_LIVE",
             "alert-rollback.Jenkinsfile: the Generic Webhook Trigger's token is in clear in the file",
             "web.gocd.yaml: pipeline web-alert-rollback job switch: 'deploy-pipeline rollback' runs on an alert "
             "without first refusing an empty PHOENIX_EXPECT_LIVE",
             "web.gocd.yaml: pipeline web-alert-rollback job switch: 'deploy-pipeline rollback --to "
             "$PHOENIX_ROLLBACK_TO' passes '$PHOENIX_ROLLBACK_TO', but GoCD exec tasks do not expand variables",
             "alertmanager-relay.py: does not send PHOENIX_EXPECT_LIVE",
             "web.gocd.yaml: pipeline web-alert-rollback job switch: the relay sends PHOENIX_EXPECTED_LIVE, which the "
             "pipeline does not declare",
         }) {
      CHECK_THAT(result.output, Catch::Contains(expected));
    }
  }

  SECTION("a trigger that takes the expected live pool from another label") {
    const auto dir = mutated({{jenkinsfile, "[key: 'ALERT_RELEASE', value: '$.commonLabels.release']",
                               "[key: 'ALERT_RELEASE', value: '$.commonLabels.alertname']"}});
    const auto result = check(dir->path());
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains("alert-rollback.Jenkinsfile: the Generic Webhook Trigger starts on "
                                              "alerts without one common release label"));
    CHECK_THAT(result.output, Catch::Contains("alert-rollback.Jenkinsfile: stage 'rollback': 'deploy-pipeline "
                                              "rollback' runs on an alert without PHOENIX_EXPECT_LIVE from the "
                                              "alert's release"));
  }

  SECTION("a PHOENIX_* variable that no command it runs reads") {
    const auto dir = mutated({{gocd, "      PHOENIX_ROLLBACK_TO: \"\"\n", "      PHOENIX_ROLLBACK_TOO: \"\"\n"}});
    const auto result = check(dir->path());
    INFO(result.output);
    CHECK(result.exit_code == 1);
    CHECK_THAT(result.output, Catch::Contains("web.gocd.yaml: pipeline web-rollback: PHOENIX_ROLLBACK_TOO is set but "
                                              "no command run with it reads it"));
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
  for (const char* pipeline : {"web-create", "web-deploy", "web-rollback", "web-alert-rollback", "ci-config-backup"}) {
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

namespace {
const char* const kFiringNotification =
    R"({"version": "4", "groupKey": "{}/{rollback=\"phoenix\"}:{alertname=\"WebReleaseErrors\", release=\"42-1a2b3c4\", service=\"web\"}",
 "truncatedAlerts": 0, "status": "firing", "receiver": "phoenix-web-rollback",
 "groupLabels": {"alertname": "WebReleaseErrors", "release": "42-1a2b3c4", "service": "web"},
 "commonLabels": {"alertname": "WebReleaseErrors", "release": "42-1a2b3c4", "rollback": "phoenix", "service": "web"},
 "commonAnnotations": {"summary": "5xx ratio above 5%"}, "externalURL": "http://alertmanager.example.com:9093",
 "alerts": [{"status": "firing", "labels": {"alertname": "WebReleaseErrors", "release": "42-1a2b3c4",
   "rollback": "phoenix", "server": "42-1a2b3c4:1", "service": "web"}, "annotations": {"summary": "5xx ratio above 5%"},
   "startsAt": "2026-01-01T03:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "1"}]})";

fs::path relay_script() { return source_directory() / "pipeline-configs" / "gocd" / "alertmanager-relay.py"; }

util::CommandResult relay_print(const std::string& notification) {
  util::CommandRequest request;
  request.argv = {"python3",    relay_script().string(), "--print",   "--gocd-url", "https://gocd.example.com",
                  "--pipeline", "web-alert-rollback",    "--service", "web"};
  request.input = notification;
  request.capture_stderr = true;
  auto ran = util::run_command(request);
  REQUIRE(ran.ok());
  return *ran;
}

std::string with_replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// A process started for one test and stopped (by pid) when it ends; ready once `url` answers.
class RelayTestProcess {
 public:
  RelayTestProcess(const std::vector<std::string>& argv, const fs::path& log, const std::string& url) {
    auto started = spawn_owned({.argv = argv, .output_file = log});
    REQUIRE(started.ok());
    process_ = *started;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (http_get(url).first == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();  // a constructor that throws runs no destructor
        FAIL(argv.front() << " did not answer on " << url);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~RelayTestProcess() { stop(); }
  RelayTestProcess(const RelayTestProcess&) = delete;
  RelayTestProcess& operator=(const RelayTestProcess&) = delete;
  void stop() {
    if (process_.pid != 0) util::stop_process(process_, std::chrono::seconds(5));
    process_ = {};
  }

 private:
  util::ProcessIdentity process_;
};

// Stands in for GoCD's schedule endpoint only to record what the relay sends (one JSON line per
// request) and to answer 202 as GoCD does; what GoCD requires is what the test then asserts.
const char* const kRecorder = R"(import http.server, json, sys
port, log = int(sys.argv[1]), sys.argv[2]
class Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        with open(log, "a") as out:
            out.write(json.dumps({"method": self.command, "path": self.path, "body": body,
                                  "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\n")
        answer = b'{"message": "Request to schedule pipeline web-alert-rollback accepted"}'
        self.send_response(202)
        self.send_header("Content-Type", "application/vnd.go.cd.v1+json; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Recorder).serve_forever()
)";

HttpResponse post_notification(int port, const std::string& token, const std::string& body) {
  http::CurlHttpClient client;
  HttpRequest request{.method = "POST", .url = "http://127.0.0.1:" + std::to_string(port) + "/", .body = body};
  request.headers = {{"Content-Type", "application/json"}, {"User-Agent", "Alertmanager/0.25.0"}};
  if (!token.empty()) request.headers.emplace_back("Authorization", "Bearer " + token);
  auto answers = client.perform({request});
  REQUIRE(answers.front().ok());
  return *answers.front();
}

std::string recorded_header(const cJSON* request, const char* name) {
  return util::json_string(cJSON_GetObjectItemCaseSensitive(request, "headers"), name).value_or("");
}
}  // namespace

TEST_CASE("the GoCD relay turns a firing alert into GoCD's schedule request, and nothing else into one",
          "[e2e][pipeline-configs]") {
  const auto firing = relay_print(kFiringNotification);
  INFO(firing.output);
  CHECK(firing.exit_code == 0);
  CHECK(firing.output ==
        "POST https://gocd.example.com/go/api/pipelines/web-alert-rollback/schedule\n"
        "Accept: application/vnd.go.cd.v1+json\n"
        "Content-type: application/json\n"
        "Authorization: Bearer <token>\n"
        "\n"
        R"({"environment_variables": [{"name": "PHOENIX_EXPECT_LIVE", "value": "42-1a2b3c4", "secure": false}, )"
        R"({"name": "PHOENIX_ROLLBACK_REASON", "value": "alert WebReleaseErrors on 42-1a2b3c4: 5xx ratio above 5%", )"
        R"("secure": false}], "update_materials_before_scheduling": false})"
        "\n");

  const std::string notification = kFiringNotification;
  const std::pair<std::string, std::string> refused[] = {
      {with_replaced(notification, R"("status": "firing", "receiver")", R"("status": "resolved", "receiver")"),
       "nothing to do: the notification is resolved (answer 200)"},
      {with_replaced(notification, R"("rollback": "phoenix", "service": "web"},
 "commonAnnotations")",
                     R"("rollback": "phoenix", "service": "shop"},
 "commonAnnotations")"),
       "the alerts are about service 'shop', not 'web'"},
      // Alerts about two releases share no release label: nothing says which one is bad.
      {with_replaced(notification, R"("commonLabels": {"alertname": "WebReleaseErrors", "release": "42-1a2b3c4", )",
                     R"("commonLabels": {"alertname": "WebReleaseErrors", )"),
       "the alerts have no common 'release' label naming a pool"},
      {with_replaced(notification, R"("commonLabels": {"alertname": "WebReleaseErrors", "release": "42-1a2b3c4", )",
                     R"("commonLabels": {"alertname": "WebReleaseErrors", "release": "42; rm -rf /", )"),
       "the alerts have no common 'release' label naming a pool"},
      {R"({"text": "not from Alertmanager"})", "not an Alertmanager notification"},
  };
  for (const auto& [body, why] : refused) {
    const auto result = relay_print(body);
    INFO(body << "\n" << result.output);
    CHECK(result.exit_code == 3);
    CHECK_THAT(result.output, Catch::Contains(why));
    CHECK_THAT(result.output, !Catch::Contains("POST "));
  }
}

TEST_CASE("the GoCD relay serves Alertmanager: its token, GoCD's request, a GoCD that is down is retried",
          "[e2e][pipeline-configs]") {
  TempDir dir;
  REQUIRE(util::write_file_atomic(dir.path() / "gocd-token", "gocd-token-of-alertmanager\n", 0600).ok());
  REQUIRE(util::write_file_atomic(dir.path() / "alertmanager-token", "alertmanager-secret\n", 0600).ok());
  REQUIRE(util::write_file_atomic(dir.path() / "recorder.py", kRecorder).ok());
  const int gocd_port = free_port();
  const int relay_port = free_port();
  const auto recorded = dir.path() / "gocd-requests.jsonl";
  RelayTestProcess gocd(
      {"python3", (dir.path() / "recorder.py").string(), std::to_string(gocd_port), recorded.string()},
      dir.path() / "recorder.log", "http://127.0.0.1:" + std::to_string(gocd_port) + "/");
  RelayTestProcess relay(
      {"python3", relay_script().string(), "--listen", "127.0.0.1:" + std::to_string(relay_port), "--gocd-url",
       "http://127.0.0.1:" + std::to_string(gocd_port), "--pipeline", "web-alert-rollback", "--service", "web",
       "--gocd-token-file", (dir.path() / "gocd-token").string(), "--alertmanager-token-file",
       (dir.path() / "alertmanager-token").string()},
      dir.path() / "relay.log", "http://127.0.0.1:" + std::to_string(relay_port) + "/");

  // Without Alertmanager's token, and for a resolved notification, GoCD hears nothing.
  CHECK(post_notification(relay_port, "", kFiringNotification).status == 401);
  CHECK(post_notification(relay_port, "guessed", kFiringNotification).status == 401);
  const auto resolved = post_notification(
      relay_port, "alertmanager-secret",
      with_replaced(kFiringNotification, R"("status": "firing", "receiver")", R"("status": "resolved", "receiver")"));
  CHECK(resolved.status == 200);
  CHECK_FALSE(fs::exists(recorded));

  const auto firing = post_notification(relay_port, "alertmanager-secret", kFiringNotification);
  INFO(firing.body);
  CHECK(firing.status == 200);
  CHECK_THAT(firing.body, Catch::Contains("GoCD 202"));
  const auto lines = util::split_lines(*util::read_file(recorded));
  REQUIRE(lines.size() == 1);
  const auto request = parse_output(lines.front());
  CHECK(util::json_string(request.get(), "method") == "POST");
  CHECK(util::json_string(request.get(), "path") == "/go/api/pipelines/web-alert-rollback/schedule");
  CHECK(recorded_header(request.get(), "accept") == "application/vnd.go.cd.v1+json");
  CHECK(recorded_header(request.get(), "content-type") == "application/json");
  CHECK(recorded_header(request.get(), "authorization") == "Bearer gocd-token-of-alertmanager");
  CHECK(util::json_string(request.get(), "body") ==
        R"({"environment_variables": [{"name": "PHOENIX_EXPECT_LIVE", "value": "42-1a2b3c4", "secure": false}, )"
        R"({"name": "PHOENIX_ROLLBACK_REASON", "value": "alert WebReleaseErrors on 42-1a2b3c4: 5xx ratio above 5%", )"
        R"("secure": false}], "update_materials_before_scheduling": false})");

  // GoCD down: 502, which Alertmanager retries. Tokens never reach the relay's log.
  gocd.stop();
  const auto down = post_notification(relay_port, "alertmanager-secret", kFiringNotification);
  CHECK(down.status == 502);
  relay.stop();
  const auto log = *util::read_file(dir.path() / "relay.log");
  INFO(log);
  CHECK_THAT(log, Catch::Contains("scheduled web-alert-rollback for release 42-1a2b3c4: GoCD 202"));
  CHECK_THAT(log, Catch::Contains("not scheduled web-alert-rollback for release 42-1a2b3c4: GoCD did not answer"));
  CHECK_THAT(log, !Catch::Contains("gocd-token-of-alertmanager"));
  CHECK_THAT(log, !Catch::Contains("alertmanager-secret"));
}
