#include "shared/notify/notifier_set.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_http_client.hpp"
#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::fakes;
using std::chrono::milliseconds;

namespace {

Notification set_event(NotificationPhase phase = NotificationPhase::start) {
  return Notification{.action = HistoryAction::deploy, .phase = phase, .service = "web", .to = "42", .who = "ops-a"};
}

std::unique_ptr<notify::WebhookNotifier> set_webhook(FakeHttpClient& http, FakeClock& clock, const std::string& name,
                                                     const std::string& url) {
  return std::make_unique<notify::WebhookNotifier>(
      http, clock, notify::HttpTarget{.name = name, .url = url, .timeout = milliseconds(1000)});
}

}  // namespace

TEST_CASE("an empty set delivers nothing and succeeds", "[notify][set]") {
  FakeClock clock;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(200, ""); });
  notify::NotifierSet set(http, clock);
  CHECK(set.empty());
  CHECK(set.notify(set_event()).ok());
  CHECK(http.batches.empty());
}

TEST_CASE("the set sends to every notifier: the HTTP ones in one batch, commands beside it", "[notify][set]") {
  testing::TempDir dir;
  const auto received = dir.path() / "received";
  FakeClock clock;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(200, ""); });
  notify::NotifierSet set(http, clock);
  set.add(set_webhook(http, clock, "webhook a", "https://a.example/hook"));
  set.add(std::make_unique<notify::SlackNotifier>(
      http, clock, notify::HttpTarget{.name = "slack", .url = "https://b.example/hook", .timeout = milliseconds(500)}));
  util::SystemClock command_clock;  // the command runs on its own thread: a clock safe there
  set.add(std::make_unique<notify::CommandNotifier>(
      command_clock, notify::CommandTarget{.name = "command (sh)",
                                           .argv = {"sh", "-c", "cat >> \"$1\"", "sh", received.string()},
                                           .timeout = milliseconds(5000)}));
  CHECK_FALSE(set.empty());
  REQUIRE(set.notify(set_event()).ok());
  REQUIRE(set.notify(set_event(NotificationPhase::end)).ok());
  REQUIRE(http.batches.size() == 2);  // one batch per notification
  CHECK(http.batches[0].size() == 2);
  const auto lines = util::split_lines(*util::read_file(received));
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::Contains("\"event\":\"deploy.start\""));
  CHECK_THAT(lines[1], Catch::Contains("\"event\":\"deploy.success\""));
}

TEST_CASE("a notifier that failed is reported once and left out for the rest of the command", "[notify][set]") {
  FakeClock clock;
  std::vector<std::string> urls;
  FakeHttpClient http([&](const HttpRequest& request) -> Result<HttpResponse> {
    urls.push_back(request.url);
    if (request.url == "https://down.example/hook") {
      clock.advance(request.timeout);
      return Error{ErrorKind::timeout, "POST ****: timed out"};
    }
    return http_answer(200, "");
  });
  notify::NotifierSet set(http, clock);
  set.add(set_webhook(http, clock, "webhook (URL from $UP)", "https://up.example/hook"));
  set.add(set_webhook(http, clock, "webhook (URL from $DOWN)", "https://down.example/hook"));
  const auto started = clock.now();
  const auto first = set.notify(set_event());
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().message ==
        "notification deploy.start not delivered to webhook (URL from $DOWN): no answer within its timeout (1.00 s); "
        "it is left out for the rest of this command");
  CHECK(clock.now() - started == milliseconds(1000));  // the hang cost its timeout, once

  // The next notification goes to the working one only, at no cost in time, with no warning.
  urls.clear();
  const auto before_second = clock.now();
  CHECK(set.notify(set_event(NotificationPhase::end)).ok());
  CHECK(urls == std::vector<std::string>{"https://up.example/hook"});
  CHECK(clock.now() == before_second);

  // The start of an automatic rollback goes to the working one only (it must not delay the
  // recovery); its end, the page that matters most, is tried on every notifier again.
  Notification automatic = set_event();
  automatic.action = HistoryAction::auto_rollback;
  urls.clear();
  CHECK(set.notify(automatic).ok());
  CHECK(urls == std::vector<std::string>{"https://up.example/hook"});
  automatic.phase = NotificationPhase::end;
  urls.clear();
  CHECK_FALSE(set.notify(automatic).ok());
  CHECK(std::count(urls.begin(), urls.end(), "https://down.example/hook") >= 1);
}

TEST_CASE("an unusable notifier is reported with the first notification only", "[notify][set]") {
  FakeClock clock;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(200, ""); });
  notify::NotifierSet set(http, clock);
  set.add_unusable("slack (URL from $CHAT)", Error{ErrorKind::invalid, "the URL in $CHAT is missing or empty"});
  set.add_unusable("webhook (URL from $HOOK)", Error{ErrorKind::invalid, "the URL in $HOOK is missing or empty"});
  const auto first = set.notify(set_event());
  REQUIRE_FALSE(first.ok());
  CHECK(first.error().message ==
        "notification deploy.start not delivered to slack (URL from $CHAT): the URL in $CHAT is missing or empty; to "
        "webhook (URL from $HOOK): the URL in $HOOK is missing or empty; they are left out for the rest of this "
        "command");
  CHECK(set.notify(set_event(NotificationPhase::end)).ok());
  CHECK(http.batches.empty());
}

TEST_CASE("commands run beside the HTTP batch, not after it", "[notify][set][timeout]") {
  testing::TempDir dir;
  const auto marker = dir.path() / "command-started";
  util::SystemClock clock;
  // The HTTP answer waits (up to 10 s) for the command to have started: it only can when the
  // command runs at the same time as the batch.
  bool command_ran_during_batch = false;
  FakeHttpClient http([&](const HttpRequest&) -> Result<HttpResponse> {
    for (int i = 0; i < 1000 && !command_ran_during_batch; ++i) {
      command_ran_during_batch = std::filesystem::exists(marker);
      if (!command_ran_during_batch) std::this_thread::sleep_for(milliseconds(10));
    }
    return Error{ErrorKind::timeout, "POST ****: timed out"};
  });
  notify::NotifierSet set(http, clock);
  set.add(std::make_unique<notify::WebhookNotifier>(
      http, clock, notify::HttpTarget{.name = "webhook", .url = "https://a.example/x", .timeout = milliseconds(1500)}));
  set.add(std::make_unique<notify::CommandNotifier>(
      clock, notify::CommandTarget{.name = "command (sh)",
                                   .argv = {"sh", "-c", ": > \"$1\"; exec sleep 30", "sh", marker.string()},
                                   .timeout = milliseconds(1500)}));
  const auto status = set.notify(set_event());
  CHECK(command_ran_during_batch);
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::Contains("webhook: no answer within its timeout (1.50 s)"));
  CHECK_THAT(status.error().message, Catch::Contains("command (sh): did not finish within its timeout (1.50 s)"));
}
