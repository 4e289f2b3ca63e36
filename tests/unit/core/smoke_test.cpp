#include "shared/core/smoke.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_http_client.hpp"

using namespace phoenix;
using phoenix::fakes::http_answer;

TEST_CASE("a check passes on the expected status and body", "[smoke]") {
  const SmokeCheck check{"release", "/", 200, "release {label}", std::chrono::milliseconds(100)};
  CHECK_FALSE(evaluate_check(check, "42", Result<HttpResponse>(http_answer(200, "this is release 42\n"))).has_value());
}

TEST_CASE("a failing check says what was expected and what came back", "[smoke]") {
  const SmokeCheck check{"health", "/health", 200, "ok", std::chrono::milliseconds(100)};
  auto message = evaluate_check(check, "42", Result<HttpResponse>(http_answer(503, "unhealthy\n")));
  REQUIRE(message);
  CHECK(*message == "expected status 200 with a body containing 'ok'; got status 503 with body 'unhealthy'");
  message = evaluate_check(check, "42", Result<HttpResponse>(Error{ErrorKind::unavailable, "connection refused"}));
  REQUIRE(message);
  CHECK_THAT(*message, Catch::EndsWith("got no answer: connection refused"));
  message = evaluate_check(check, "42", Result<HttpResponse>(http_answer(200, "not it")));
  REQUIRE(message);
  CHECK_THAT(*message, Catch::Contains("got status 200 with body 'not it'"));
}

TEST_CASE("JUnit XML has one testcase per server and check, with failures explained", "[smoke][junit]") {
  SmokeReport report;
  report.service = "web";
  report.label = "42";
  report.started = WallTime(std::chrono::seconds(1795000000));
  report.duration_ms = 1234;
  report.outcomes = {
      {"1", "127.0.0.1:80", "health", true, "", 12, 1},
      {"2", "127.0.0.2:80", "health", false, "expected status 200; got status 503 with body '<&>'", 30, 4}};
  const std::string xml = render_junit(report);
  CHECK_THAT(xml, Catch::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
  CHECK_THAT(xml, Catch::Contains("<testsuite name=\"smoke-test.web.42\" tests=\"2\" failures=\"1\" errors=\"0\" "
                                  "skipped=\"0\" time=\"1.234\" timestamp=\"2026-11-18T"));
  CHECK_THAT(xml, Catch::Contains("<testcase classname=\"web.42.1\" name=\"health 127.0.0.1:80\" time=\"0.012\"/>"));
  CHECK_THAT(xml, Catch::Contains(
                      "<failure message=\"expected status 200; got status 503 with body &apos;&lt;&amp;&gt;&apos;\" "
                      "type=\"SmokeCheckFailed\">"));
  CHECK_THAT(xml, Catch::Contains("(after 4 attempts)</failure>"));
  CHECK(report.failures() == 1);
  CHECK_FALSE(report.passed());
}

TEST_CASE("XML escaping drops what XML 1.0 forbids", "[smoke][junit]") {
  CHECK(xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;");
  CHECK(xml_escape(std::string("bell\x07"
                               "tab\t",
                               9)) == "belltab\t");
  CHECK(xml_escape("bad\xff") == "bad\\xFF");
}
