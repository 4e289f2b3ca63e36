#include "shared/notify/payload.hpp"

#include <catch2/catch.hpp>

#include "shared/util/json.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/time_format.hpp"

using namespace phoenix;

namespace {

Notification rollback_success() {
  return Notification{.action = HistoryAction::rollback,
                      .phase = NotificationPhase::end,
                      .result = HistoryResult::succeeded,
                      .service = "web",
                      .at = *util::parse_iso8601("2026-11-18T07:43:00.125Z"),
                      .from = {"42"},
                      .to = "41",
                      .who = "ops-a",
                      .job = "gocd web-deploy/12/rollback/1/switch",
                      .why = "checkout errors <5xx> & timeouts",
                      .steps = {{"admit 41:1, 41:2", 4}, {"drain 42:1, 42:2", 2}},
                      .duration_ms = 1520};
}

util::Json parsed(const std::string& text) {
  auto document = util::parse_json(text, "payload");
  REQUIRE(document.ok());
  return std::move(*document);
}

}  // namespace

TEST_CASE("the webhook document carries every field of the notification", "[notify][payload]") {
  const std::string text = notify::notification_json(rollback_success());
  CHECK(text.find('\n') == std::string::npos);  // one line: a command reads it as one
  const auto document = parsed(text);
  const cJSON* root = document.get();
  CHECK(util::json_number(root, "version") == 1);
  CHECK(util::json_string(root, "event") == "rollback.success");
  CHECK(util::json_string(root, "phase") == "end");
  CHECK(util::json_string(root, "action") == "rollback");
  CHECK(util::json_string(root, "result") == "succeeded");
  CHECK(util::json_string(root, "service") == "web");
  CHECK(util::json_string(root, "at") == "2026-11-18T07:43:00.125Z");
  const cJSON* from = cJSON_GetObjectItemCaseSensitive(root, "from");
  REQUIRE(cJSON_GetArraySize(from) == 1);
  CHECK(std::string(cJSON_GetArrayItem(from, 0)->valuestring) == "42");
  CHECK(util::json_string(root, "to") == "41");
  CHECK(util::json_string(root, "who") == "ops-a");
  CHECK(util::json_string(root, "job") == "gocd web-deploy/12/rollback/1/switch");
  CHECK(util::json_string(root, "why") == "checkout errors <5xx> & timeouts");
  const cJSON* steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
  REQUIRE(cJSON_GetArraySize(steps) == 2);
  CHECK(util::json_string(cJSON_GetArrayItem(steps, 0), "step") == "admit 41:1, 41:2");
  CHECK(util::json_number(cJSON_GetArrayItem(steps, 0), "duration_ms") == 4);
  CHECK(util::json_number(root, "duration_ms") == 1520);
  CHECK(util::json_string(root, "text") ==
        "web: rollback to pool 41 succeeded in 1.52 s (replacing 42) by ops-a: checkout errors <5xx> & timeouts");
}

TEST_CASE("a start has no result yet, and non-switch events read plainly", "[notify][payload]") {
  Notification start = rollback_success();
  start.phase = NotificationPhase::start;
  start.steps.clear();
  start.duration_ms = 0;
  const auto document = parsed(notify::notification_json(start));
  CHECK(util::json_string(document.get(), "event") == "rollback.start");
  CHECK(util::json_string(document.get(), "result") == "started");
  CHECK(notify::notification_text(start) ==
        "web: rollback to pool 41 started (replacing 42) by ops-a: checkout errors <5xx> & timeouts");

  Notification removal{.action = HistoryAction::delete_pool,
                       .result = HistoryResult::refused,
                       .service = "web",
                       .to = "40",
                       .who = "bot",
                       .why = "pool 40 is live"};
  CHECK(notify::notification_text(removal) == "web: delete of pool 40 was refused by bot: pool 40 is live");
  Notification freeze{.action = HistoryAction::freeze, .service = "web", .who = "ops-c", .why = "incident 77"};
  CHECK(notify::notification_text(freeze) == "web: freeze succeeded by ops-c: incident 77");
}

// A refused rollback is notified as every history event is; one refused for want of a pool to go
// to names none ("rollback to pool  was refused" read as a missing word).
TEST_CASE("a refused rollback reads as refused, naming its target only when it had one", "[notify][payload]") {
  Notification refused = rollback_success();
  refused.result = HistoryResult::refused;
  refused.steps.clear();
  refused.why = "pool 41 is marked bad (leaks)";
  const auto document = parsed(notify::notification_json(refused));
  CHECK(util::json_string(document.get(), "event") == "rollback.failure");
  CHECK(util::json_string(document.get(), "result") == "refused");
  CHECK(notify::notification_text(refused) ==
        "web: rollback to pool 41 was refused (42 still live) by ops-a: pool 41 is marked bad (leaks)");
  refused.to = "";
  refused.why = "no pool older than the live pool 42 passed its smoke test";
  CHECK(
      notify::notification_text(refused) ==
      "web: rollback was refused (42 still live) by ops-a: no pool older than the live pool 42 passed its smoke test");
  refused.action = HistoryAction::auto_rollback;
  CHECK_THAT(notify::notification_text(refused),
             Catch::StartsWith("web: automatic rollback was refused (42 still live)"));
}

// Only a switch that succeeded (or, at its start, is about to) replaced what was live: one that
// failed was taken out again, one interrupted may be half done. They say where they started from.
TEST_CASE("a switch that did not succeed names where it started from, not what it replaced", "[notify][payload]") {
  Notification failed = rollback_success();
  failed.result = HistoryResult::failed;
  CHECK(notify::notification_text(failed) ==
        "web: rollback to pool 41 failed after 1.52 s (from 42) by ops-a: checkout errors <5xx> & timeouts");
  failed.result = HistoryResult::interrupted;
  CHECK_THAT(notify::notification_text(failed), Catch::Contains("was interrupted after 1.52 s (from 42) by ops-a"));
  failed.from = {"42", "43"};
  CHECK_THAT(notify::notification_text(failed), Catch::Contains("(from 42, 43) by ops-a"));
  failed.result = HistoryResult::refused;
  CHECK_THAT(notify::notification_text(failed), Catch::Contains("was refused (42, 43 still live) by ops-a"));
  // An automatic rollback that found no pool to go to changed nothing: what was live still is.
  failed.action = HistoryAction::auto_rollback;
  failed.result = HistoryResult::failed;
  failed.to = "";
  failed.from = {"4"};
  CHECK_THAT(notify::notification_text(failed),
             Catch::StartsWith("web: automatic rollback failed after 1.52 s (4 still "
                               "live) by ops-a"));
}

TEST_CASE("no registered secret leaves in any payload", "[notify][payload][secrets]") {
  const std::string secret = "xoxb-payload-secret-7d1e2f";
  util::register_secret(secret);
  Notification notification = rollback_success();
  notification.why = "token " + secret + " was refused";
  notification.who = secret;
  notification.job = "job/" + secret;
  notification.steps.push_back({"call " + secret, 1});
  for (const auto& payload : {notify::notification_json(notification), notify::slack_message(notification),
                              notify::notification_text(notification)}) {
    CHECK(payload.find(secret) == std::string::npos);
    CHECK(payload.find("****") != std::string::npos);
  }
}

TEST_CASE("the Slack message is one readable line plus fields, escaped as Slack asks", "[notify][payload]") {
  const auto document = parsed(notify::slack_message(rollback_success()));
  const cJSON* root = document.get();
  CHECK(util::json_string(root, "text") ==
        "web: rollback to pool 41 succeeded in 1.52 s (replacing 42) by ops-a: checkout errors &lt;5xx&gt; &amp; "
        "timeouts");
  const cJSON* attachment = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "attachments"), 0);
  REQUIRE(attachment != nullptr);
  CHECK(util::json_string(attachment, "color") == "good");
  std::map<std::string, std::string> fields;
  const cJSON* field = nullptr;
  cJSON_ArrayForEach(field, cJSON_GetObjectItemCaseSensitive(attachment, "fields")) {
    fields[*util::json_string(field, "title")] = *util::json_string(field, "value");
  }
  CHECK(fields["Event"] == "rollback.success");
  CHECK(fields["Service"] == "web");
  CHECK(fields["To"] == "41");
  CHECK(fields["From"] == "42");
  CHECK(fields["Who"] == "ops-a");
  CHECK(fields["Job"] == "gocd web-deploy/12/rollback/1/switch");
  CHECK(fields["Result"] == "succeeded");
  CHECK(fields["Duration"] == "1.52 s");
  CHECK(fields["Why"] == "checkout errors &lt;5xx&gt; &amp; timeouts");
  CHECK(fields["Steps"] == "1. admit 41:1, 41:2 (4 ms)\n2. drain 42:1, 42:2 (2 ms)");

  Notification failure = rollback_success();
  failure.result = HistoryResult::failed;
  const auto failed = parsed(notify::slack_message(failure));
  CHECK(util::json_string(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(failed.get(), "attachments"), 0),
                          "color") == "danger");
}
