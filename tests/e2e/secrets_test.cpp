// Invariant 8: a token given in the environment or through a token file never appears in any
// output, log, report, state file or error, whatever command runs and however it fails.

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// Every file under `root` except the fake's own log (it is not Phoenix's output).
void require_absent_from_files(const fs::path& root, const std::string& secret) {
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || entry.path().filename() == "hcloud-fake.log") continue;
    auto text = util::read_file(entry.path());
    if (!text) continue;
    INFO(entry.path().string());
    CHECK(text->find(secret) == std::string::npos);
  }
}

void require_absent(const ToolResult& result, const std::string& secret) {
  CHECK(result.out.find(secret) == std::string::npos);
  CHECK(result.err.find(secret) == std::string::npos);
}

}  // namespace

TEST_CASE("a Hetzner token from the environment or a file never leaks", "[e2e][secrets]") {
  TempDir dir;
  HcloudFake::Options options;
  options.token = "hct-7f3a9c2e5b1d4a6f8e0c2b4d6f8a0c2e4b6d8f0a";  // also a valid label
  HcloudFake fake(dir.path(), options);
  const auto lb_url = fake.create_load_balancer("web-lb");
  const auto config = write_hcloud_config(dir.path(), fake, {}).string();
  const std::vector<std::string> env = {"HCLOUD_TOKEN=" + fake.token(), "GOCD_TOKEN=gocd-secret-value-123",
                                        "JENKINS_TOKEN=jenkins-secret-value-456"};
  // The same service, giving up on the API after 2 s: for the run that meets a failing API.
  HcloudServiceOptions impatient_options;
  impatient_options.api_timeout_s = 2;
  impatient_options.file_name = "impatient.json";
  const auto impatient = write_hcloud_config(dir.path(), fake, impatient_options).string();
  std::vector<ToolResult> results;
  const auto run = [&](const std::string& tool, std::vector<std::string> arguments,
                       const std::string& config_file = {}) {
    arguments.insert(arguments.end(), {"--config", config_file.empty() ? config : config_file, "--verbose"});
    results.push_back(run_tool(tool, arguments, env));
    return results.back();
  };
  CHECK(run("create-pipeline", {"run", "--label", "1", "--junit", (dir.path() / "reports" / "smoke.xml").string()})
            .exit_code == 0);
  CHECK(run("deploy-pipeline", {"deploy", "--label", "1"}).exit_code == 0);
  CHECK(run("create-pipeline", {"list", "--output", "json"}).exit_code == 0);
  // One pool, live: no rollback target, which status reports as a problem (exit 1).
  CHECK(run("deploy-pipeline", {"status", "--output", "json"}).exit_code == 1);
  CHECK(run("deploy-pipeline", {"history"}).exit_code == 0);
  CHECK(run("deploy-pipeline", {"rollback"}).exit_code == 3);  // nothing to roll back to: refused
  CHECK(run("create-pipeline", {"delete", "--label", "1"}).exit_code == 3);
  // A value that equals the token, printed by a code path that knows nothing of secrets.
  const auto echoed = run("create-pipeline", {"smoke-test", "--label", fake.token()});
  CHECK(echoed.exit_code == 2);
  CHECK_THAT(echoed.err, Catch::Contains("there is no pool '****'"));
  fake.inject(R"({"status": 503, "count": 1000, "path_prefix": "/v1/"})");
  CHECK(run("deploy-pipeline", {"status"}, impatient).exit_code == 4);

  for (const auto& result : results) {
    INFO(result.err);
    for (const auto& secret :
         {fake.token(), std::string("gocd-secret-value-123"), std::string("jenkins-secret-value-456")}) {
      require_absent(result, secret);
    }
  }
  require_absent_from_files(dir.path(), fake.token());
}

TEST_CASE("a token read from provider.token_file never leaks", "[e2e][secrets]") {
  TempDir dir;
  HcloudFake::Options options;
  options.token = "file-token-0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  HcloudFake fake(dir.path(), options);
  fake.create_load_balancer("web-lb");
  REQUIRE(util::write_file_atomic(dir.path() / "token", options.token + "\n", 0600).ok());
  auto text = *util::read_file(write_hcloud_config(dir.path(), fake, {}));
  text.replace(text.find("\"type\": \"hcloud\","), 17, "\"type\": \"hcloud\", \"token_file\": \"token\",");
  REQUIRE(util::write_file_atomic(dir.path() / "hcloud.json", text).ok());
  const auto config = (dir.path() / "hcloud.json").string();
  std::vector<ToolResult> results;
  results.push_back(run_tool("create-pipeline", {"run", "--label", "1", "--verbose", "--config", config}));
  CHECK(results.back().exit_code == 0);
  results.push_back(run_tool("create-pipeline", {"smoke-test", "--label", options.token, "--config", config}));
  results.push_back(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--verbose", "--config", config}));
  CHECK(results.back().exit_code == 0);
  for (const auto& result : results) require_absent(result, options.token);
  // The token file itself is the only place the token may be.
  std::filesystem::remove(dir.path() / "token");
  require_absent_from_files(dir.path(), options.token);
}

namespace {
// The NAME=value entries of a running process's environment.
std::vector<std::string> environment_of(pid_t pid) {
  auto text = util::read_file("/proc/" + std::to_string(pid) + "/environ");
  REQUIRE(text.ok());
  std::vector<std::string> entries;
  for (const auto& entry : util::split(*text, '\0')) {
    if (!entry.empty()) entries.push_back(entry);
  }
  return entries;
}
}  // namespace

TEST_CASE("release processes start with a clean environment: no secret of the CI job reaches them", "[e2e][secrets]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 2;
  auto text = *util::read_file(write_service_config(dir.path(), haproxy, options));
  text.replace(text.find("\"command\":"), 10, R"("environment": { "APP_MODE": "blue" }, "command":)");
  const auto config = (dir.path() / "phoenix.json").string();
  REQUIRE(util::write_file_atomic(config, text).ok());
  const std::vector<std::string> secrets = {"HCLOUD_TOKEN=hct-secret-0a1b2c3d", "GOCD_PASSWORD=gocd-secret-4e5f",
                                            "JENKINS_TOKEN=jenkins-secret-6a7b", "GOCD_TOKEN=gocd-token-8c9d",
                                            "AWS_SECRET_ACCESS_KEY=aws-secret-0e1f"};
  const auto created = run_tool("create-pipeline", {"create", "--label", "1", "--config", config}, secrets);
  INFO(created.err);
  REQUIRE(created.exit_code == 0);

  const auto pool = parse_output(*util::read_file(dir.path() / "state" / "web" / "pools" / "1" / "pool.json"));
  int servers = 0;
  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItem(pool.get(), "servers")) {
    const auto pid = static_cast<pid_t>(util::json_number(server, "pid").value_or(0));
    REQUIRE(pid > 0);
    ++servers;
    const auto environment = environment_of(pid);
    INFO(util::join(environment, " "));
    for (const auto& secret : secrets) {
      const auto name = secret.substr(0, secret.find('='));
      const auto value = secret.substr(secret.find('=') + 1);
      for (const auto& entry : environment) {
        CHECK(entry.rfind(name + "=", 0) != 0);
        CHECK(entry.find(value) == std::string::npos);
      }
    }
    const auto has = [&](const std::string& entry) {
      return std::find(environment.begin(), environment.end(), entry) != environment.end();
    };
    CHECK(has("APP_MODE=blue"));
    CHECK(has("LANG=C.UTF-8"));
    CHECK(has("HOME=" + (dir.path() / "state" / "web" / "pools" / "1").string()));
  }
  CHECK(servers == 2);
}

TEST_CASE("a token that is not a valid token, or an API error that echoes it, never shows it", "[e2e][secrets]") {
  TempDir dir;
  HcloudFake::Options options;
  options.token = "echo-token-5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d";
  HcloudFake fake(dir.path(), options);
  fake.create_load_balancer("web-lb");
  HcloudServiceOptions impatient;
  impatient.api_timeout_s = 2;
  auto text = *util::read_file(write_hcloud_config(dir.path(), fake, impatient));
  text.replace(text.find("\"type\": \"hcloud\","), 17, "\"type\": \"hcloud\", \"token_file\": \"token\",");
  const auto config = (dir.path() / "hcloud.json").string();
  REQUIRE(util::write_file_atomic(config, text).ok());

  struct BadToken {
    std::string name;
    std::string file_content;  // the token file
    std::string environment;   // HCLOUD_TOKEN, when not empty (it wins over the file)
    std::string expected;
    std::vector<std::string> parts;  // none may be printed
  };
  const std::vector<BadToken> cases = {
      {"a carriage return inside the token in the file",
       "tokfile-first-half\rX-Injected: tokfile-second-half\n",
       "",
       "is not a valid token: character 19 of 50 is a carriage return",
       {"tokfile-first-half", "tokfile-second-half", "X-Injected"}},
      {"a token file of two lines",
       "two-lines-first-aaaa\ntwo-lines-second-bbbb\n",
       "",
       "has 2 lines; it must hold the token alone (the content is not shown)",
       {"two-lines-first-aaaa", "two-lines-second-bbbb"}},
      {"a line break in HCLOUD_TOKEN",
       "unused-token-file\n",
       "envtok-first-half\nX-Injected: envtok-second-half",
       "HCLOUD_TOKEN is not a valid token: character 18 of 48 is a line break",
       {"envtok-first-half", "envtok-second-half", "X-Injected"}},
  };
  for (const auto& bad : cases) {
    INFO(bad.name);
    REQUIRE(util::write_file_atomic(dir.path() / "token", bad.file_content, 0600).ok());
    std::vector<std::string> environment;
    if (!bad.environment.empty()) environment.push_back("HCLOUD_TOKEN=" + bad.environment);
    const auto result = run_tool("create-pipeline", {"list", "--verbose", "--config", config}, environment);
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains(bad.expected));
    for (const auto& part : bad.parts) require_absent(result, part);
  }

  // An API whose error message quotes the token, far enough in that a cut at 200 characters
  // falls inside it: every retry line (--verbose) and the final error.
  REQUIRE(util::write_file_atomic(dir.path() / "token", options.token + "\n", 0600).ok());
  fake.inject(R"({"status": 503, "count": 1000, "path_prefix": "/v1/", "message": ")" + std::string(170, 'x') +
              " rejected token " + options.token + R"("})");
  const auto echoed = run_tool("deploy-pipeline", {"status", "--verbose", "--config", config});
  INFO("stderr: " << echoed.err);
  CHECK(echoed.exit_code == 4);
  CHECK_THAT(echoed.err, Catch::Contains("Hetzner Cloud API: retrying"));
  CHECK_THAT(echoed.err, Catch::Contains("rejected token ****"));
  require_absent(echoed, options.token.substr(0, 6));
}

// A watch check's URL carries a token in its query and credentials in its authority; the check
// fails (nobody listens), so its URL is in the breach reason, which goes everywhere: progress
// and error lines (-v), history, the pool's verdict reason, notifications. Everywhere it shows
// without the credentials and with the query values redacted (util::redact_url).
TEST_CASE("a watch check's URL shows and is recorded without its credentials and query values",
          "[e2e][secrets][watch]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  WebhookReceiver webhook(dir.path());
  const int closed = free_port();
  const std::string check_url =
      "http://deploy:pa55w0rd-xyz@127.0.0.1:" + std::to_string(closed) + "/checkout?token=tok-SECRET-123&probe=1";
  ServiceOptions options;
  options.pool_size = 1;
  options.watch = R"({ "interval_ms": 200, "window_s": 2, "min_requests": 1000, "check_failures": 2,
                       "checks": [ { "name": "checkout", "url": ")" +
                  check_url + R"(", "timeout_ms": 500 } ] })";
  options.notify = R"([ { "type": "webhook", "url_env": "HOOK_URL", "timeout_ms": 2000 } ])";
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  const std::vector<std::string> env = {"HOOK_URL=" + webhook.url("/hook?key=hookkey-SECRET-456")};
  std::vector<ToolResult> results;
  const auto run = [&](const std::string& tool, std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--config", config, "--verbose"});
    results.push_back(run_tool(tool, arguments, env));
    return results.back();
  };
  for (const char* label : {"1", "2"}) REQUIRE(run("create-pipeline", {"run", "--label", label}).exit_code == 0);
  REQUIRE(run("deploy-pipeline", {"deploy", "--label", "1"}).exit_code == 0);
  const auto watched = run("deploy-pipeline", {"deploy", "--label", "2", "--watch", "20s"});
  INFO("stderr: " << watched.err);
  CHECK(watched.exit_code == 1);
  const std::string shown =
      "http://127.0.0.1:" + std::to_string(closed) + "/checkout?token=<redacted>&probe=<redacted>";
  CHECK_THAT(watched.err, Catch::Contains("rolled back to pool 1 automatically"));
  CHECK_THAT(watched.err, Catch::Contains("GET " + shown));
  const auto history = run("deploy-pipeline", {"history", "--output", "json"});
  CHECK_THAT(history.out, Catch::Contains(shown));
  const auto listed = run("create-pipeline", {"list", "--output", "json"});
  CHECK_THAT(listed.out, Catch::Contains(shown));  // pool 2's verdict reason
  run("deploy-pipeline", {"status"});
  const auto requests = webhook.wait_for(3);  // deploy, deploy --watch, auto-rollback at least

  for (const std::string secret : {"tok-SECRET-123", "pa55w0rd-xyz", "deploy:pa55", "hookkey-SECRET-456", "probe=1"}) {
    INFO(secret);
    for (const auto& result : results) require_absent(result, secret);
    require_absent_from_files(dir.path() / "state", secret);
    for (const auto& request : requests) CHECK(request.body.find(secret) == std::string::npos);
  }
}
