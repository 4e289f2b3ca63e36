// Notifications through the real binaries: a webhook, a Slack-compatible endpoint and a
// command receive every event of a deploy, a rollback and a delete with the right fields and
// no secret; a receiver that hangs or fails never delays a switch beyond its timeout, prints
// one warning and leaves the exit code alone. And history --summary over what they did.

#include <catch2/catch.hpp>
#include <filesystem>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// Secret-looking tokens: one in the webhook URL given in the environment, one in the Slack URL
// given in a file.
const std::string kHookSecret = "hooktok-3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e";
const std::string kSlackSecret = "xoxslack-8d6b4f2a0c9e7d5b3f1a8c6e4d2b0f9a";

// The notify array of a service configuration.
std::string notify_json(const std::vector<std::string>& entries) { return "[" + util::join(entries, ", ") + "]"; }

std::string webhook_entry(const std::string& variable, int timeout_ms = 3000) {
  return R"({ "type": "webhook", "url_env": ")" + variable + R"(", "timeout_ms": )" + std::to_string(timeout_ms) + " }";
}

struct NotifiedEvent {
  std::string name;
  util::Json document;
};

std::vector<NotifiedEvent> parse_bodies(const std::vector<std::string>& bodies) {
  std::vector<NotifiedEvent> events;
  for (const auto& body : bodies) {
    INFO(body);
    auto document = util::parse_json(body, "notification");
    REQUIRE(document.ok());
    const std::string name = util::json_string(document->get(), "event").value_or("");
    events.push_back({name, std::move(*document)});
  }
  return events;
}

std::vector<std::string> bodies_of(const std::vector<WebhookReceiver::Request>& requests) {
  std::vector<std::string> bodies;
  for (const auto& request : requests) bodies.push_back(request.body);
  return bodies;
}

std::vector<std::string> names_of(const std::vector<NotifiedEvent>& events) {
  std::vector<std::string> names;
  for (const auto& event : events) names.push_back(event.name);
  return names;
}

std::vector<std::string> from_of(const cJSON* document) {
  std::vector<std::string> labels;
  const cJSON* label = nullptr;
  cJSON_ArrayForEach(label, cJSON_GetObjectItemCaseSensitive(document, "from")) labels.emplace_back(label->valuestring);
  return labels;
}

std::size_t occurrences_in(const std::string& text, const std::string& what) {
  std::size_t count = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

void require_notify_ok(const ToolResult& result) {
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  REQUIRE(result.exit_code == 0);
}

const std::vector<std::string> kCiEnvironment = {"GO_PIPELINE_NAME=web-deploy", "GO_PIPELINE_COUNTER=12",
                                                 "GO_STAGE_NAME=deploy",        "GO_STAGE_COUNTER=1",
                                                 "GO_JOB_NAME=switch",          "GO_TRIGGER_USER=ops-a"};

}  // namespace

TEST_CASE("a webhook, a Slack endpoint and a command receive every event with its fields and no secret",
          "[e2e][notify]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  WebhookReceiver webhook(dir.path());
  WebhookReceiver slack(dir.path());
  const auto slack_url_file = dir.path() / "slack-url";
  REQUIRE(util::write_file_atomic(slack_url_file, slack.url("/services/T0E2E/B0E2E/" + kSlackSecret) + "\n").ok());
  const auto command_record = dir.path() / "command.jsonl";
  ServiceOptions options;
  options.pool_size = 2;
  options.notify = notify_json(
      {webhook_entry("PHOENIX_E2E_HOOK_URL"),
       R"({ "type": "slack", "url_file": ")" + slack_url_file.string() + R"(" })",
       R"({ "type": "command", "command": ["tee", "-a", ")" + command_record.string() + R"("], "timeout_ms": 5000 })"});
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  std::vector<std::string> environment = kCiEnvironment;
  environment.push_back("PHOENIX_E2E_HOOK_URL=" + webhook.url("/hooks/" + kHookSecret));
  environment.push_back("PHOENIX_E2E_UNRELATED_TOKEN=" + kHookSecret);
  std::vector<ToolResult> results;
  const auto run = [&](const std::string& tool, std::vector<std::string> arguments) -> const ToolResult& {
    arguments.insert(arguments.end(), {"--config", config});
    results.push_back(run_tool(tool, arguments, environment));
    return results.back();
  };

  require_notify_ok(run("create-pipeline", {"run", "--label", "1"}));
  require_notify_ok(run("create-pipeline", {"run", "--label", "2"}));
  CHECK(webhook.requests().empty());  // creating a pool is not a notified event
  require_notify_ok(run("deploy-pipeline", {"deploy", "--label", "1"}));
  require_notify_ok(run("deploy-pipeline", {"deploy", "--label", "2"}));
  require_notify_ok(run("deploy-pipeline", {"rollback", "--reason", "checkout errors in 2"}));
  require_notify_ok(run("create-pipeline", {"delete", "--label", "2"}));

  const std::vector<std::string> expected = {"deploy.start",   "deploy.success",   "deploy.start", "deploy.success",
                                             "rollback.start", "rollback.success", "delete"};
  const auto hook_requests = webhook.requests();
  for (const auto& request : hook_requests) {
    CHECK(request.method == "POST");
    CHECK(request.path == "/hooks/" + kHookSecret);  // the URL from the environment
    CHECK(request.content_type == "application/json");
  }
  const auto hook_events = parse_bodies(bodies_of(hook_requests));
  REQUIRE(names_of(hook_events) == expected);
  // The command got the same documents on stdin, one line each.
  auto command_text = util::read_file(command_record);
  REQUIRE(command_text.ok());
  const auto command_events = parse_bodies(util::split_lines(*command_text));
  CHECK(names_of(command_events) == expected);

  {  // the fields of each event
    for (const auto& event : hook_events) {
      const cJSON* document = event.document.get();
      INFO(util::print_json(document));
      CHECK(util::json_string(document, "service") == "web");
      CHECK(util::json_string(document, "who") == "ops-a");
      CHECK(util::json_string(document, "job") == "web-deploy/12/deploy/1/switch");
      CHECK(util::json_number(document, "version") == 1);
      CHECK(util::json_string(document, "at").value_or("").size() == 24);  // 2026-11-18T07:43:00.125Z
    }
    const cJSON* deploy_start = hook_events[2].document.get();
    CHECK(util::json_string(deploy_start, "to") == "2");
    CHECK(from_of(deploy_start) == std::vector<std::string>{"1"});
    CHECK(util::json_string(deploy_start, "result") == "started");
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(deploy_start, "steps")) == 0);

    const cJSON* deploy_success = hook_events[3].document.get();
    CHECK(util::json_string(deploy_success, "to") == "2");
    CHECK(from_of(deploy_success) == std::vector<std::string>{"1"});
    CHECK(util::json_string(deploy_success, "result") == "succeeded");
    CHECK(util::json_number(deploy_success, "duration_ms").value_or(0) > 0);
    const cJSON* steps = cJSON_GetObjectItemCaseSensitive(deploy_success, "steps");
    REQUIRE(cJSON_GetArraySize(steps) >= 4);
    double steps_ms = 0;
    const cJSON* step = nullptr;
    cJSON_ArrayForEach(step, steps) {
      CHECK_FALSE(util::json_string(step, "step").value_or("").empty());
      steps_ms += util::json_number(step, "duration_ms").value_or(-1);
    }
    CHECK(steps_ms <= util::json_number(deploy_success, "duration_ms").value_or(0));
    CHECK_THAT(util::json_string(deploy_success, "text").value_or(""),
               Catch::StartsWith("web: deploy of pool 2 succeeded in") && Catch::Contains("(replacing 1) by ops-a"));

    const cJSON* rollback = hook_events[5].document.get();
    CHECK(util::json_string(rollback, "to") == "1");
    CHECK(from_of(rollback) == std::vector<std::string>{"2"});
    CHECK(util::json_string(rollback, "why") == "checkout errors in 2");
    CHECK(util::json_string(hook_events[4].document.get(), "why") == "checkout errors in 2");

    const cJSON* removal = hook_events[6].document.get();
    CHECK(util::json_string(removal, "to") == "2");
    CHECK(util::json_string(removal, "result") == "succeeded");
    CHECK(util::json_string(removal, "phase") == "end");
  }

  {  // the Slack endpoint gets one readable line plus fields per event
    const auto slack_requests = slack.requests();
    REQUIRE(slack_requests.size() == expected.size());
    CHECK(slack_requests[0].path == "/services/T0E2E/B0E2E/" + kSlackSecret);  // the URL from the file
    const auto messages = parse_bodies(bodies_of(slack_requests));
    const auto text = [&](std::size_t i) { return util::json_string(messages[i].document.get(), "text").value_or(""); };
    CHECK_THAT(text(0), Catch::StartsWith("web: deploy of pool 1 started by ops-a"));
    CHECK_THAT(text(5), Catch::StartsWith("web: rollback to pool 1 succeeded in") &&
                            Catch::EndsWith("(replacing 2) by ops-a: checkout errors in 2"));
    CHECK(text(6) == "web: delete of pool 2 succeeded in " + text(6).substr(text(6).find(" in ") + 4));
    for (const auto& message : messages) {
      const cJSON* attachment =
          cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(message.document.get(), "attachments"), 0);
      REQUIRE(attachment != nullptr);
      CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(attachment, "fields")) >= 4);
    }
  }

  {  // no secret in any payload, output or file of Phoenix's
    std::vector<std::string> payloads = bodies_of(hook_requests);
    for (const auto& body : bodies_of(slack.requests())) payloads.push_back(body);
    payloads.push_back(*command_text);
    for (const auto& payload : payloads) {
      CHECK(payload.find(kHookSecret) == std::string::npos);
      CHECK(payload.find(kSlackSecret) == std::string::npos);
      CHECK(payload.find("127.0.0.1:") == std::string::npos);  // nor the receivers' URLs
    }
    for (const auto& result : results) {
      for (const auto& secret : {kHookSecret, kSlackSecret}) {
        CHECK(result.out.find(secret) == std::string::npos);
        CHECK(result.err.find(secret) == std::string::npos);
      }
    }
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path() / "state")) {
      if (!entry.is_regular_file()) continue;
      auto text = util::read_file(entry.path());
      if (!text) continue;
      INFO(entry.path().string());
      CHECK(text->find(kHookSecret) == std::string::npos);
      CHECK(text->find(kSlackSecret) == std::string::npos);
    }
  }

  {  // history --summary counts the deploys, the rollback and its time to recover
    const auto& summary = run("deploy-pipeline", {"history", "--summary", "--output", "json"});
    require_notify_ok(summary);
    const auto document = parse_output(summary.out);
    const cJSON* months = cJSON_GetObjectItemCaseSensitive(document.get(), "months");
    REQUIRE(cJSON_GetArraySize(months) == 1);
    const cJSON* month = cJSON_GetArrayItem(months, 0);
    CHECK(util::json_number(month, "deploys") == 2);
    CHECK(util::json_number(month, "rollbacks") == 1);
    CHECK(util::json_number(month, "auto_rollbacks") == 0);
    CHECK(util::json_number(month, "recoveries") == 1);
    // From deploy 2's end to the rollback's end: no longer than the two commands between them.
    const auto recovery_ms = util::json_number(month, "median_recovery_ms").value_or(-1);
    CHECK(recovery_ms >= 0);
    CHECK(util::json_number(month, "worst_recovery_ms") == recovery_ms);
    const auto between = std::chrono::duration_cast<std::chrono::milliseconds>(results[4].ended - results[3].started);
    CHECK(recovery_ms <= static_cast<double>(between.count()));

    const auto& table = run("deploy-pipeline", {"history", "--summary"});
    require_notify_ok(table);
    CHECK_THAT(table.out, Catch::StartsWith("MONTH") && Catch::Contains("MEDIAN TTR"));
  }
}

TEST_CASE("a notifier that hangs delays a deploy once by its timeout and says so once", "[e2e][notify][timeout]") {
  constexpr int kHangMs = 30000;
  TempDir dir;
  Haproxy haproxy(dir.path());
  WebhookReceiver hanging(dir.path(), {.delay_ms = kHangMs});
  ServiceOptions options;
  options.pool_size = 2;
  options.notify = notify_json({webhook_entry("PHOENIX_E2E_HOOK_URL", 1000),
                                R"({ "type": "command", "command": ["sleep", "30"], "timeout_ms": 1000 })"});
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  const std::vector<std::string> environment = {"USER=ops-a",
                                                "PHOENIX_E2E_HOOK_URL=" + hanging.url("/hooks/" + kHookSecret)};
  require_notify_ok(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}, environment));

  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}, environment);
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK(http_get(haproxy.url()).second == "1\n");
  // The start waited out the 1 s timeout once; the success was not sent to the hung notifiers.
  CHECK(deployed.duration_ms() < kHangMs / 2);
  CHECK(occurrences_in(deployed.err, "not delivered") == 1);
  CHECK_THAT(deployed.err, Catch::Contains("notification deploy.start not delivered to webhook (URL from "
                                           "$PHOENIX_E2E_HOOK_URL): no answer within its timeout (1.00 s)"));
  CHECK_THAT(deployed.err, Catch::Contains("command (sleep): did not finish within its timeout (1.00 s)"));
  CHECK_THAT(deployed.err, Catch::Contains("they are left out for the rest of this command"));
  CHECK(deployed.err.find(kHookSecret) == std::string::npos);
  // It arrived once (no retry after a timeout), and nothing after it.
  CHECK(hanging.wait_for(1).size() == 1);
}

TEST_CASE("a failing notifier leaves the exit code 0; one that fails once is retried", "[e2e][notify]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  WebhookReceiver failing(dir.path(), {.status = 500});
  WebhookReceiver flaky(dir.path(), {.fail_first = 1});
  ServiceOptions options;
  options.pool_size = 1;
  options.notify =
      notify_json({webhook_entry("PHOENIX_E2E_FAILING_URL"), webhook_entry("PHOENIX_E2E_FLAKY_URL"),
                   webhook_entry("PHOENIX_E2E_UNSET_URL"), R"({ "type": "command", "command": ["false"] })"});
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  const std::vector<std::string> environment = {"USER=ops-a",
                                                "PHOENIX_E2E_FAILING_URL=" + failing.url("/hooks/" + kHookSecret),
                                                "PHOENIX_E2E_FLAKY_URL=" + flaky.url("/flaky")};
  require_notify_ok(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}, environment));
  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}, environment);
  INFO(deployed.err);
  CHECK(deployed.exit_code == 0);
  CHECK(http_get(haproxy.url()).second == "1\n");
  CHECK(occurrences_in(deployed.err, "not delivered") == 1);
  CHECK_THAT(deployed.err, Catch::Contains("webhook (URL from $PHOENIX_E2E_FAILING_URL): answered HTTP 500"));
  CHECK_THAT(deployed.err, Catch::Contains("(after a retry)"));
  CHECK_THAT(deployed.err, Catch::Contains("webhook (URL from $PHOENIX_E2E_UNSET_URL): the URL in "
                                           "$PHOENIX_E2E_UNSET_URL is missing or empty"));
  CHECK_THAT(deployed.err, Catch::Contains("command (false): exited with 1"));
  CHECK(deployed.err.find("PHOENIX_E2E_FLAKY_URL") == std::string::npos);  // its retry delivered
  // The failing one: the start and its one retry, then left out.
  CHECK(failing.requests().size() == 2);
  // The flaky one: the start refused, its retry delivered, then the success.
  const auto flaky_events = parse_bodies(bodies_of(flaky.requests()));
  CHECK(names_of(flaky_events) == std::vector<std::string>{"deploy.start", "deploy.start", "deploy.success"});
}
