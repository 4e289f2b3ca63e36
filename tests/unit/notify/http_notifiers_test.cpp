#include "shared/notify/http_notifiers.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_http_client.hpp"
#include "shared/util/json.hpp"

using namespace phoenix;
using namespace phoenix::fakes;
using std::chrono::milliseconds;

namespace {

Notification deploy_success() {
  return Notification{.action = HistoryAction::deploy,
                      .service = "web",
                      .from = {"41"},
                      .to = "42",
                      .who = "ops-a",
                      .duration_ms = 900};
}

notify::HttpTarget http_target(const std::string& name, const std::string& url,
                               milliseconds timeout = milliseconds(3000)) {
  return {.name = name, .url = url, .timeout = timeout};
}

}  // namespace

TEST_CASE("a webhook POSTs the JSON document to its URL", "[notify][webhook]") {
  FakeClock clock;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(204, ""); });
  notify::WebhookNotifier webhook(http, clock, http_target("webhook (URL from $HOOK)", "https://hooks.example/abc"));
  REQUIRE(webhook.notify(deploy_success()).ok());
  REQUIRE(http.batches.size() == 1);
  const HttpRequest& request = http.batches[0].at(0);
  CHECK(request.method == "POST");
  CHECK(request.url == "https://hooks.example/abc");
  CHECK(request.timeout == milliseconds(3000));
  CHECK(std::find(request.headers.begin(), request.headers.end(),
                  std::pair<std::string, std::string>{"Content-Type", "application/json"}) != request.headers.end());
  auto document = util::parse_json(request.body, "body");
  REQUIRE(document.ok());
  CHECK(util::json_string(document->get(), "event") == "deploy.success");
  CHECK(util::json_string(document->get(), "to") == "42");
}

TEST_CASE("a slack notifier POSTs the Slack message", "[notify][slack]") {
  FakeClock clock;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(200, "ok"); });
  notify::SlackNotifier slack(http, clock, http_target("slack (URL from $CHAT)", "https://hooks.slack.example/T/B/x"));
  REQUIRE(slack.notify(deploy_success()).ok());
  auto document = util::parse_json(http.batches.at(0).at(0).body, "body");
  REQUIRE(document.ok());
  CHECK(util::json_string(document->get(), "text") ==
        "web: deploy of pool 42 succeeded in 900 ms (replacing 41) by ops-a");
  CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(document->get(), "attachments")));
}

TEST_CASE("a failure a retry may change is retried once", "[notify][webhook][retry]") {
  FakeClock clock;
  int calls = 0;
  FakeHttpClient http([&](const HttpRequest&) -> Result<HttpResponse> {
    ++calls;
    if (calls == 1) return http_answer(503, "busy");
    return http_answer(200, "");
  });
  notify::WebhookNotifier webhook(http, clock, http_target("webhook", "https://hooks.example/a"));
  CHECK(webhook.notify(deploy_success()).ok());
  CHECK(http.batches.size() == 2);

  calls = 0;
  FakeHttpClient refused([&](const HttpRequest&) -> Result<HttpResponse> {
    ++calls;
    return Error{ErrorKind::unavailable, "POST ****: Connection refused"};
  });
  notify::WebhookNotifier unreachable(refused, clock,
                                      http_target("webhook (URL from $HOOK)", "https://hooks.example/a"));
  const auto status = unreachable.notify(deploy_success());
  REQUIRE_FALSE(status.ok());
  CHECK(calls == 2);  // one retry, not more
  CHECK(status.error().message == "webhook (URL from $HOOK): POST ****: Connection refused (after a retry)");
}

TEST_CASE("an answer a retry cannot change is not retried", "[notify][webhook][retry]") {
  FakeClock clock;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(404, "no_team"); });
  notify::SlackNotifier slack(http, clock, http_target("slack (URL from $CHAT)", "https://hooks.slack.example/x"));
  const auto status = slack.notify(deploy_success());
  REQUIRE_FALSE(status.ok());
  CHECK(http.batches.size() == 1);
  CHECK(status.error().message == "slack (URL from $CHAT): answered HTTP 404 'no_team'");
}

TEST_CASE("the retry gets only what is left of the timeout, and a hang leaves none", "[notify][webhook][retry]") {
  FakeClock clock;
  std::vector<milliseconds> timeouts;
  FakeHttpClient slow_failure([&](const HttpRequest& request) -> Result<HttpResponse> {
    timeouts.push_back(request.timeout);
    clock.advance(milliseconds(1200));  // a slow 502
    return http_answer(502, "");
  });
  notify::WebhookNotifier webhook(slow_failure, clock, http_target("webhook", "https://hooks.example/a"));
  REQUIRE_FALSE(webhook.notify(deploy_success()).ok());
  CHECK(timeouts == std::vector<milliseconds>{milliseconds(3000), milliseconds(1800)});

  // A receiver that does not answer uses the whole timeout: no retry, and the delay is bounded by it.
  FakeClock hang_clock;
  const auto started = hang_clock.now();
  FakeHttpClient hanging([&](const HttpRequest& request) -> Result<HttpResponse> {
    hang_clock.advance(request.timeout);
    return Error{ErrorKind::timeout, "POST ****: Operation timed out"};
  });
  notify::WebhookNotifier stuck(hanging, hang_clock,
                                http_target("webhook (URL from $HOOK)", "https://hooks.example/a"));
  const auto status = stuck.notify(deploy_success());
  REQUIRE_FALSE(status.ok());
  CHECK(hanging.batches.size() == 1);
  CHECK(hang_clock.now() - started == milliseconds(3000));
  CHECK(status.error().kind == ErrorKind::timeout);
  CHECK(status.error().message == "webhook (URL from $HOOK): no answer within its timeout (3.00 s)");

  // Failing slowly enough to leave less than 100 ms: not retried, and it says so.
  FakeClock late_clock;
  FakeHttpClient late([&](const HttpRequest&) -> Result<HttpResponse> {
    late_clock.advance(milliseconds(2950));
    return http_answer(500, "");
  });
  notify::WebhookNotifier too_late(late, late_clock, http_target("webhook", "https://hooks.example/a"));
  const auto late_status = too_late.notify(deploy_success());
  CHECK(late.batches.size() == 1);
  CHECK_THAT(late_status.error().message, Catch::EndsWith("(no time left for a retry)"));
}

TEST_CASE("deliver sends to several HTTP notifiers in one batch and retries only the failed", "[notify][retry]") {
  FakeClock clock;
  FakeHttpClient http([](const HttpRequest& request) -> Result<HttpResponse> {
    if (request.url == "https://b.example/hook") return http_answer(500, "");
    return http_answer(200, "");
  });
  notify::WebhookNotifier a(http, clock, http_target("a", "https://a.example/hook"));
  notify::SlackNotifier b(http, clock, http_target("b", "https://b.example/hook", milliseconds(1000)));
  const auto statuses = notify::deliver(http, clock, {&a, &b}, deploy_success());
  REQUIRE(statuses.size() == 2);
  CHECK(statuses[0].ok());
  REQUIRE_FALSE(statuses[1].ok());
  CHECK_THAT(statuses[1].error().message, Catch::StartsWith("b: answered HTTP 500"));
  REQUIRE(http.batches.size() == 2);
  CHECK(http.batches[0].size() == 2);
  CHECK(http.batches[0][1].timeout == milliseconds(1000));  // each its own timeout
  REQUIRE(http.batches[1].size() == 1);
  CHECK(http.batches[1][0].url == "https://b.example/hook");
}

TEST_CASE("judge_answer: 2xx is delivered, 3xx and lasting 4xx are final, the rest may be retried", "[notify]") {
  const milliseconds timeout(3000);
  CHECK(notify::judge_answer(http_answer(200, ""), timeout).ok());
  CHECK(notify::judge_answer(http_answer(204, ""), timeout).ok());
  CHECK(notify::judge_answer(http_answer(403, "invalid_token"), timeout).error().kind == ErrorKind::failed);
  CHECK(notify::judge_answer(http_answer(429, ""), timeout).error().kind == ErrorKind::unavailable);
  CHECK(notify::judge_answer(http_answer(408, ""), timeout).error().kind == ErrorKind::unavailable);
  CHECK(notify::judge_answer(http_answer(500, ""), timeout).error().kind == ErrorKind::unavailable);
  CHECK(notify::judge_answer(http_answer(302, ""), timeout).error().kind == ErrorKind::failed);
  CHECK(notify::judge_answer(http_answer(503, ""), timeout).error().kind == ErrorKind::unavailable);
  CHECK(notify::judge_answer(Error{ErrorKind::timeout, "POST ****: timed out"}, timeout).error().message ==
        "no answer within its timeout (3.00 s)");
}
