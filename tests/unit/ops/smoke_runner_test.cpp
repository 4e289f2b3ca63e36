#include "shared/ops/smoke_runner.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_http_client.hpp"
#include "fakes/fake_provider.hpp"
#include "fakes/recording_reporter.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {
ops::SmokeSettings two_checks() {
  return {"web",
          {{"health", "/health", 200, "", std::chrono::milliseconds(1000)},
           {"release", "/", 200, "{label}", std::chrono::milliseconds(1000)}},
          std::chrono::milliseconds(5000),
          std::chrono::milliseconds(200)};
}
}  // namespace

TEST_CASE("every server and check go out in one batch and pass", "[smoke-runner]") {
  FakeProvider provider;
  const Pool pool = provider.add_pool("42", 3, 0);
  FakeClock clock;
  RecordingReporter reporter;
  FakeHttpClient http([](const HttpRequest& request) -> Result<HttpResponse> {
    return http_answer(200, request.url.find("/health") != std::string::npos ? "ok" : "42");
  });
  const auto report = ops::run_smoke_checks(http, clock, reporter, pool, two_checks());
  CHECK(report.passed());
  CHECK(report.outcomes.size() == 6);
  REQUIRE(http.batches.size() == 1);
  CHECK(http.batches[0].size() == 6);
  CHECK(http.batches[0][0].url == "http://10.0.1.1:8080/health");
  CHECK(http.batches[0][1].url == "http://10.0.1.1:8080/");
}

TEST_CASE("failing checks are retried until they pass or the pool's deadline", "[smoke-runner]") {
  FakeProvider provider;
  const Pool pool = provider.add_pool("42", 2, 0);
  FakeClock clock;
  RecordingReporter reporter;
  int calls = 0;
  FakeHttpClient http([&](const HttpRequest& request) -> Result<HttpResponse> {
    ++calls;
    // Server 2 starts slowly: refused for its first two rounds.
    if (request.url.find("10.0.1.2") != std::string::npos && calls <= 6) {
      return Error{ErrorKind::unavailable, "connection refused"};
    }
    return http_answer(200, "42 ok");
  });
  const auto report = ops::run_smoke_checks(http, clock, reporter, pool, two_checks());
  CHECK(report.passed());
  CHECK(http.batches.size() == 3);
  CHECK(http.batches[1].size() == 2);  // only the failing ones are retried
  CHECK(report.outcomes[2].attempts == 3);
}

TEST_CASE("a check that never passes fails the pool at the deadline", "[smoke-runner]") {
  FakeProvider provider;
  const Pool pool = provider.add_pool("42", 1, 0);
  FakeClock clock;
  RecordingReporter reporter;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(503, "unhealthy"); });
  const auto report = ops::run_smoke_checks(http, clock, reporter, pool, two_checks());
  CHECK_FALSE(report.passed());
  CHECK(report.failures() == 2);
  CHECK(clock.slept() <= std::chrono::milliseconds(5000));
  CHECK(clock.slept() >= std::chrono::milliseconds(4600));
  CHECK_THAT(report.outcomes[0].message, Catch::Contains("got status 503"));
}

// SIGINT, SIGTERM or SIGHUP: no further round once a stop is asked for, however far the deadline.
TEST_CASE("a stop request ends the checks after the current round", "[smoke-runner][interrupt]") {
  FakeProvider provider;
  const Pool pool = provider.add_pool("42", 2, 0);
  FakeClock clock;
  RecordingReporter reporter;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> {
    return Error{ErrorKind::unavailable, "connection refused"};
  });
  auto settings = two_checks();
  settings.stop_requested = [&http] { return http.batches.size() >= 2; };
  const auto report = ops::run_smoke_checks(http, clock, reporter, pool, settings);
  CHECK_FALSE(report.passed());
  CHECK(http.batches.size() == 2);
}

// A stop asked for before the first round: no check is sent, and none has an answer to count.
TEST_CASE("a stop request before the first round sends no check", "[smoke-runner][interrupt]") {
  FakeProvider provider;
  const Pool pool = provider.add_pool("42", 2, 0);
  FakeClock clock;
  RecordingReporter reporter;
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> { return http_answer(200, "42"); });
  auto settings = two_checks();
  settings.stop_requested = [] { return true; };
  const auto report = ops::run_smoke_checks(http, clock, reporter, pool, settings);
  CHECK(http.batches.empty());
  CHECK_FALSE(report.passed());
  REQUIRE(report.outcomes.size() == 4);
  for (const auto& outcome : report.outcomes) CHECK(outcome.attempts == 0);
}
