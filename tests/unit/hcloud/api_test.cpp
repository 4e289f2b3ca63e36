#include "shared/hcloud/api.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_http_client.hpp"
#include "fakes/recording_reporter.hpp"
#include "shared/http/curl_http_client.hpp"
#include "shared/util/redact.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {

HttpResponse answer(long status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

std::string api_error(const std::string& code) { return R"({"error": {"code": ")" + code + R"(", "message": "m"}})"; }

struct ApiRig {
  FakeClock clock;
  RecordingReporter reporter;
  std::vector<Result<HttpResponse>> script;  // answers in order; the last one repeats
  std::size_t next = 0;
  FakeHttpClient http{[this](const HttpRequest&) -> Result<HttpResponse> {
    const auto& result = script[std::min(next++, script.size() - 1)];
    if (!result) return result.error();
    return *result;
  }};
  phoenix::hcloud::RetryPolicy policy{std::chrono::seconds(20), std::chrono::milliseconds(500), std::chrono::seconds(5),
                                      std::chrono::seconds(5), std::chrono::milliseconds(100)};
  phoenix::hcloud::Api api{http, clock, reporter, "https://api.example/v1", "s3cret-hcloud-token", policy};
};

}  // namespace

TEST_CASE("calls carry the bearer token and JSON headers", "[hcloud-api]") {
  ApiRig rig;
  rig.script = {answer(200, R"({"server": {"id": 1}})")};
  auto result = rig.api.call({"POST", "/servers", R"({"name": "x"})"});
  REQUIRE(result.ok());
  const auto& request = rig.http.batches[0][0];
  CHECK(request.url == "https://api.example/v1/servers");
  CHECK(request.method == "POST");
  CHECK(std::find(request.headers.begin(), request.headers.end(),
                  std::make_pair(std::string("Authorization"), std::string("Bearer s3cret-hcloud-token"))) !=
        request.headers.end());
  CHECK(std::find(request.headers.begin(), request.headers.end(),
                  std::make_pair(std::string("Content-Type"), std::string("application/json"))) !=
        request.headers.end());
}

TEST_CASE("429 waits until RateLimit-Reset, then succeeds", "[hcloud-api]") {
  ApiRig rig;
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(rig.clock.wall_now().time_since_epoch()).count();
  rig.script = {answer(429, api_error("rate_limit_exceeded"),
                       {{"ratelimit-remaining", "0"}, {"ratelimit-reset", std::to_string(now_s + 3)}}),
                answer(200, "{}", {{"ratelimit-remaining", "3599"}})};
  REQUIRE(rig.api.call({"GET", "/servers", ""}).ok());
  CHECK(rig.http.batches.size() == 2);
  CHECK(rig.clock.slept() >= std::chrono::seconds(3));
}

TEST_CASE("5xx, 423 locked, 409 conflict and transport errors are retried with backoff", "[hcloud-api]") {
  ApiRig rig;
  rig.script = {answer(503, api_error("unavailable")), answer(423, api_error("locked")),
                answer(409, api_error("conflict")), Result<HttpResponse>(Error{ErrorKind::timeout, "timed out"}),
                answer(201, R"({"action": {"id": 7}})")};
  auto result = rig.api.call({"POST", "/servers", "{}"});
  REQUIRE(result.ok());
  CHECK(rig.http.batches.size() == 5);
  CHECK(rig.clock.slept() >= std::chrono::milliseconds(4 * 250));
  CHECK(rig.clock.slept() <= std::chrono::seconds(20));
}

TEST_CASE("what must not be retried fails at once with the API's words", "[hcloud-api]") {
  ApiRig rig;
  rig.script = {answer(401, api_error("unauthorized"))};
  auto result = rig.api.call({"GET", "/servers", ""});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK_THAT(result.error().message, Catch::Contains("GET /servers: 401 unauthorized: m"));
  CHECK(rig.http.batches.size() == 1);

  ApiRig uniqueness;
  uniqueness.script = {answer(409, api_error("uniqueness_error"))};
  result = uniqueness.api.call({"POST", "/placement_groups", "{}"});
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK_THAT(result.error().message, Catch::Contains("uniqueness_error"));
  CHECK(uniqueness.http.batches.size() == 1);

  ApiRig invalid;
  invalid.script = {answer(422, api_error("invalid_input"))};
  CHECK(invalid.api.call({"POST", "/servers", "{}"}).error().kind == ErrorKind::invalid);
}

TEST_CASE("an API that stays down is unavailable at the deadline, after bounded retries", "[hcloud-api]") {
  ApiRig rig;
  rig.script = {answer(502, api_error("bad_gateway"))};
  auto result = rig.api.call({"GET", "/servers?label_selector=x", ""});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::unavailable);
  CHECK_THAT(result.error().message, Catch::Contains("stayed unavailable"));
  CHECK_THAT(result.error().message, Catch::Contains("GET /servers?label_selector=x: 502 bad_gateway"));
  CHECK(rig.clock.slept() <= std::chrono::seconds(20));
  CHECK(rig.http.batches.size() > 3);
  CHECK(rig.http.batches.size() < 40);
}

TEST_CASE("a batch retries only the calls that need it", "[hcloud-api]") {
  ApiRig rig;
  int calls = 0;
  FakeHttpClient http([&](const HttpRequest& request) -> Result<HttpResponse> {
    ++calls;
    if (request.url.ends_with("/2") && calls < 4) return answer(503, api_error("unavailable"));
    return answer(200, "{}");
  });
  phoenix::hcloud::Api api(http, rig.clock, rig.reporter, "https://api.example/v1", "t", rig.policy);
  auto results =
      api.call_all({{"DELETE", "/servers/1", ""}, {"DELETE", "/servers/2", ""}, {"DELETE", "/servers/3", ""}});
  REQUIRE(results.size() == 3);
  for (const auto& result : results) CHECK(result.ok());
  REQUIRE(http.batches.size() == 2);
  CHECK(http.batches[0].size() == 3);
  CHECK(http.batches[1].size() == 1);
  CHECK(http.batches[1][0].url.ends_with("/servers/2"));
}

TEST_CASE("lists follow the pagination to the last page", "[hcloud-api]") {
  ApiRig rig;
  FakeHttpClient http([](const HttpRequest& request) -> Result<HttpResponse> {
    const bool first = request.url.find("page=1&") != std::string::npos;
    return answer(200, first ? R"({"servers": [{"id": 1}, {"id": 2}], "meta": {"pagination": {"next_page": 2}}})"
                             : R"({"servers": [{"id": 3}], "meta": {"pagination": {"next_page": null}}})");
  });
  phoenix::hcloud::Api api(http, rig.clock, rig.reporter, "https://api.example/v1", "t", rig.policy);
  auto items = api.list("/servers?label_selector=a%3Db", "servers");
  REQUIRE(items.ok());
  CHECK(items->size() == 3);
  REQUIRE(http.batches.size() == 2);
  CHECK(http.batches[0][0].url == "https://api.example/v1/servers?label_selector=a%3Db&page=1&per_page=50");
}

TEST_CASE("waiting for actions polls until success, and reports a failed one", "[hcloud-api]") {
  ApiRig rig;
  int polls = 0;
  FakeHttpClient http([&](const HttpRequest&) -> Result<HttpResponse> {
    ++polls;
    return answer(200, polls < 3 ? R"({"actions": [{"id": 1, "status": "running"}, {"id": 2, "status": "success"}]})"
                                 : R"({"actions": [{"id": 1, "status": "success"}]})");
  });
  phoenix::hcloud::Api api(http, rig.clock, rig.reporter, "https://api.example/v1", "t", rig.policy);
  REQUIRE(api.wait_for_actions({1, 2}, std::chrono::seconds(30), "creating pool 1").ok());
  CHECK(polls == 3);
  CHECK(http.batches[0][0].url.find("id=1&id=2") != std::string::npos);
  CHECK(http.batches[2][0].url.find("id=2") == std::string::npos);

  FakeHttpClient failing([](const HttpRequest&) -> Result<HttpResponse> {
    return answer(200, R"({"actions": [{"id": 5, "command": "create_server", "status": "error",
                                         "error": {"code": "server_error", "message": "no capacity in nbg1"}}]})");
  });
  phoenix::hcloud::Api failing_api(failing, rig.clock, rig.reporter, "https://api.example/v1", "t", rig.policy);
  const auto status = failing_api.wait_for_actions({5}, std::chrono::seconds(30), "creating pool 2");
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message,
             Catch::Contains("creating pool 2: action create_server (5) failed: no capacity in nbg1"));
}

TEST_CASE("actions that never finish time out", "[hcloud-api]") {
  ApiRig rig;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> {
    return answer(200, R"({"actions": [{"id": 1, "status": "running"}]})");
  });
  phoenix::hcloud::Api api(http, rig.clock, rig.reporter, "https://api.example/v1", "t", rig.policy);
  const auto status = api.wait_for_actions({1}, std::chrono::seconds(10), "deleting pool 3");
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::timeout);
  CHECK(rig.clock.slept() <= std::chrono::seconds(10));
}

// A SIGTERM while a create waits for its servers: the wait ends after the poll that found the
// actions still running, not when they finish (or time out) minutes later.
TEST_CASE("a stop request ends the wait for actions at its next poll", "[hcloud-api]") {
  ApiRig rig;
  int polls = 0;
  FakeHttpClient http([&](const HttpRequest&) -> Result<HttpResponse> {
    ++polls;
    return answer(200, R"({"actions": [{"id": 1, "status": "running"}, {"id": 2, "status": "running"}]})");
  });
  phoenix::hcloud::Api api(http, rig.clock, rig.reporter, "https://api.example/v1", "t", rig.policy);
  const auto status =
      api.wait_for_actions({1, 2}, std::chrono::minutes(10), "creating pool 1", [&polls] { return polls >= 2; });
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().is(ErrorCode::interrupted));
  CHECK_THAT(status.error().message, Catch::Contains("while creating pool 1 (2 actions still running"));
  CHECK(polls == 2);
  CHECK(rig.clock.slept() < std::chrono::seconds(5));

  // Actions that are done by the poll that sees the stop finish the wait: nothing is cut short.
  FakeHttpClient done([](const HttpRequest&) -> Result<HttpResponse> {
    return answer(200, R"({"actions": [{"id": 1, "status": "success"}]})");
  });
  phoenix::hcloud::Api done_api(done, rig.clock, rig.reporter, "https://api.example/v1", "t", rig.policy);
  CHECK(done_api.wait_for_actions({1}, std::chrono::minutes(10), "creating pool 2", [] { return true; }).ok());
}

TEST_CASE("refusals carry the error codes callers branch on", "[hcloud-api]") {
  ApiRig rig;
  rig.script = {answer(409, api_error("uniqueness_error"))};
  auto duplicate = rig.api.call({"POST", "/placement_groups", "{}"});
  REQUIRE_FALSE(duplicate.ok());
  CHECK(duplicate.error().is(ErrorCode::already_exists));

  rig.script = {answer(404, api_error("not_found"))};
  rig.next = 0;
  auto gone = rig.api.call({"DELETE", "/placement_groups/7", ""});
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().is(ErrorCode::not_found));

  rig.script = {answer(422, api_error("load_balancer_target_not_found"))};
  rig.next = 0;
  auto no_target = rig.api.call({"POST", "/load_balancers/1/actions/remove_target", "{}"});
  REQUIRE_FALSE(no_target.ok());
  CHECK(no_target.error().is(ErrorCode::not_found));

  rig.script = {answer(403, api_error("forbidden"))};
  rig.next = 0;
  auto forbidden = rig.api.call({"GET", "/servers", ""});
  REQUIRE_FALSE(forbidden.ok());
  CHECK(forbidden.error().code == ErrorCode::none);
  // Context keeps the code.
  CHECK(duplicate.error().context("creating the lock").is(ErrorCode::already_exists));
}

TEST_CASE("an API error that echoes the token never shows any part of it", "[hcloud-api][secrets]") {
  ApiRig rig;
  util::register_secret("s3cret-hcloud-token");  // as the CLI does when it reads the token
  // A long message whose 200-character cut falls inside the echoed token.
  // Appended rather than 'std::string(178, 'x') + "..."', which g++ 12 at -O1 warns about
  // (a false -Warray-bounds in the inlined operator+) and a -Werror build then refuses.
  std::string message(178, 'x');
  message += " bad token s3cret-hcloud-token";
  rig.script = {answer(401, R"({"error": {"code": "unauthorized", "message": ")" + message + R"("}})")};
  const auto result = rig.api.call({"GET", "/servers", ""});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK_THAT(result.error().message, Catch::Contains("bad token ****"));
  CHECK(result.error().message.find("s3cr") == std::string::npos);
}

// Nothing in a Hetzner Cloud URL is secret (label selectors, names, ids, page numbers): an error
// names the call whole, so the operator sees which pool and which page failed. The token is never
// in a URL, and the endpoint's user part is never shown.
TEST_CASE("an API error names the call with its query whole, the token nowhere", "[hcloud-api][secrets]") {
  ApiRig rig;
  util::register_secret("s3cret-hcloud-token");
  rig.script = {answer(200, R"({"servers": [], "meta": {"pagination": {"next_page": 2}}})"),
                answer(503, api_error("unavailable"))};
  const auto listed = rig.api.list("/servers?label_selector=phoenix-service%3Dweb", "servers");
  REQUIRE_FALSE(listed.ok());
  const std::string shown = util::redact(listed.error().message);  // as every printed line is
  CHECK_THAT(shown, Catch::Contains("GET /servers?label_selector=phoenix-service%3Dweb&page=2&per_page=50: 503 "
                                    "unavailable: m"));
  CHECK(shown.find("<redacted>") == std::string::npos);
  CHECK(shown.find("s3cret") == std::string::npos);
}

TEST_CASE("an API that cannot be reached is named by the call and the endpoint, without its user part",
          "[hcloud-api][secrets]") {
  util::register_secret("s3cret-hcloud-token");
  http::CurlHttpClient http;  // the real client: its own message names the request
  FakeClock clock;
  RecordingReporter reporter;
  phoenix::hcloud::Api api{http,
                           clock,
                           reporter,
                           "http://proxy-user:pr0xy-pass@127.0.0.1:9/v1",  // nobody listens
                           "s3cret-hcloud-token",
                           {std::chrono::seconds(1), std::chrono::milliseconds(400), std::chrono::milliseconds(400),
                            std::chrono::milliseconds(500), std::chrono::milliseconds(100)}};
  const auto result = api.call({"GET", "/servers?name=web-42-1&label_selector=phoenix-pool%3D42", ""});
  REQUIRE_FALSE(result.ok());
  const std::string shown = util::redact(result.error().message);
  INFO(shown);
  CHECK_THAT(shown, Catch::Contains("GET /servers?name=web-42-1&label_selector=phoenix-pool%3D42 at "
                                    "http://127.0.0.1:9/v1: "));
  for (const char* hidden : {"<redacted>", "s3cret", "proxy-user", "pr0xy-pass"}) {
    CHECK(shown.find(hidden) == std::string::npos);
  }
}
