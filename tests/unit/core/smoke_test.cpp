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

namespace {
SmokeReport smoke_report(const std::string& label, const std::string& first_id, const std::string& second_id) {
  SmokeReport report;
  report.service = "web";
  report.label = label;
  report.started = WallTime(std::chrono::seconds(1795000000));
  report.duration_ms = 1234;
  report.outcomes = {{first_id, "127.64.0." + first_id + ":80", "health", true, "", 12, 1},
                     {second_id, "127.64.0." + second_id + ":80", "health", false,
                      "expected status 200; got status 503 with body '<&>'", 30, 4}};
  return report;
}

// Every (classname, name) pair of a JUnit document, in order.
std::vector<std::string> case_identities(const std::string& xml) {
  std::vector<std::string> identities;
  const std::string open = "<testcase classname=\"";
  for (auto at = xml.find(open); at != std::string::npos; at = xml.find(open, at + 1)) {
    const auto name_end = xml.find("\" time=", at);
    identities.push_back(xml.substr(at + open.size(), name_end - at - open.size()));
  }
  return identities;
}
}  // namespace

TEST_CASE("JUnit XML has one testcase per server and check, with failures explained", "[smoke][junit]") {
  const auto report = smoke_report("42", "1", "2");
  const std::string xml = render_junit(report);
  CHECK_THAT(xml, Catch::StartsWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites"));
  CHECK_THAT(xml, Catch::Contains("<testsuite name=\"smoke-test.web\" tests=\"2\" failures=\"1\" errors=\"0\" "
                                  "skipped=\"0\" time=\"1.234\" timestamp=\"2026-11-18T"));
  CHECK_THAT(xml, Catch::Contains("<property name=\"label\" value=\"42\"/>"));
  CHECK_THAT(xml,
             Catch::Contains("<testcase classname=\"smoke-test.web\" name=\"health on server 1\" time=\"0.012\">"));
  CHECK_THAT(xml, Catch::Contains("<system-out>pool 42, server 1 at 127.64.0.1:80, 1 attempt</system-out>"));
  CHECK_THAT(xml, Catch::Contains(
                      "<failure message=\"expected status 200; got status 503 with body &apos;&lt;&amp;&gt;&apos;\" "
                      "type=\"SmokeCheckFailed\">"));
  CHECK_THAT(xml, Catch::Contains("(after 4 attempts)</failure>"));
  CHECK(report.failures() == 1);
  CHECK_FALSE(report.passed());
}

TEST_CASE("JUnit test cases keep their identity from build to build", "[smoke][junit]") {
  // Jenkins' junit plugin tracks a case's history by class and name: neither may carry the
  // label, a server id or an address, which all change with every build.
  const auto first = render_junit(smoke_report("42", "1", "2"));
  const auto next = render_junit(smoke_report("43-abc1234", "7731", "7732"));
  REQUIRE(case_identities(first).size() == 2);
  CHECK(case_identities(first) == case_identities(next));
  for (const auto& identity : case_identities(next)) {
    INFO(identity);
    CHECK(identity.find("43") == std::string::npos);
    CHECK(identity.find("7731") == std::string::npos);
    CHECK(identity.find("127.64") == std::string::npos);
  }
  CHECK(case_identities(next).back() == "smoke-test.web\" name=\"health on server 2");
}

TEST_CASE("a failed check reports the time it took with its retries, not its last attempt", "[smoke][junit]") {
  const auto xml = render_junit(smoke_report("42", "1", "2"));
  CHECK_THAT(xml, Catch::Contains("name=\"health on server 2\" time=\"1.234\""));
  CHECK(xml.find("time=\"0.030\"") == std::string::npos);
}

TEST_CASE("XML escaping drops what XML 1.0 forbids", "[smoke][junit]") {
  CHECK(xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;");
  CHECK(xml_escape(std::string("bell\x07"
                               "tab\t",
                               9)) == "belltab\t");
  CHECK(xml_escape("bad\xff") == "bad\\xFF");
}
