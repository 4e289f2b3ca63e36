#include "shared/core/smoke.hpp"

#include <algorithm>
#include <cstdio>

#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix {

std::optional<std::string> evaluate_check(const SmokeCheck& check, const std::string& label,
                                          const Result<HttpResponse>& answer) {
  const std::string expected_body = util::replace_all(check.expect_body, "{label}", label);
  std::string expected = "expected status " + std::to_string(check.expect_status);
  if (!expected_body.empty()) expected += " with a body containing '" + util::printable(expected_body, 80) + "'";
  if (!answer.ok()) return expected + "; got no answer: " + answer.error().message;
  const HttpResponse& response = *answer;
  const bool status_ok = response.status == check.expect_status;
  const bool body_ok = expected_body.empty() || response.body.find(expected_body) != std::string::npos;
  if (status_ok && body_ok) return std::nullopt;
  return expected + "; got status " + std::to_string(response.status) + " with body '" +
         util::printable(util::trim(response.body), 120) + "'";
}

bool SmokeReport::passed() const { return !outcomes.empty() && failures() == 0; }

std::size_t SmokeReport::failures() const {
  std::size_t count = 0;
  for (const auto& outcome : outcomes) count += outcome.passed ? 0 : 1;
  return count;
}

std::string xml_escape(std::string_view text) {
  const std::string clean = util::is_valid_utf8(text) ? std::string(text) : util::printable(text, text.size() * 4);
  std::string out;
  out.reserve(clean.size());
  for (char c : clean) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

namespace {
std::string seconds(long long milliseconds) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.3f", static_cast<double>(milliseconds) / 1000.0);
  return buffer;
}

// The 1-based place of each outcome's server in the pool (outcomes are grouped by server).
std::vector<std::size_t> server_places(const std::vector<CheckOutcome>& outcomes) {
  std::vector<std::size_t> places;
  std::size_t place = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i == 0 || outcomes[i].server_id != outcomes[i - 1].server_id) ++place;
    places.push_back(place);
  }
  return places;
}

std::string junit_testcase(const SmokeReport& report, const CheckOutcome& outcome, std::size_t place) {
  const std::string classname = "smoke-test." + report.service;
  const std::string name = outcome.check + " on server " + std::to_string(place);
  const long long milliseconds =
      outcome.passed ? outcome.duration_ms : std::max(outcome.duration_ms, report.duration_ms);
  std::string xml = "    <testcase classname=\"" + xml_escape(classname) + "\" name=\"" + xml_escape(name) +
                    "\" time=\"" + seconds(milliseconds) + "\">\n";
  if (!outcome.passed) {
    xml += "      <failure message=\"" + xml_escape(outcome.message) + "\" type=\"SmokeCheckFailed\">" +
           xml_escape(outcome.message + " (after " +
                      util::plural(static_cast<std::size_t>(outcome.attempts), "attempt") + ")") +
           "</failure>\n";
  }
  xml += "      <system-out>" +
         xml_escape("pool " + report.label + ", server " + outcome.server_id + " at " + outcome.address + ", " +
                    util::plural(static_cast<std::size_t>(outcome.attempts), "attempt")) +
         "</system-out>\n    </testcase>\n";
  return xml;
}
}  // namespace

namespace {

// The document around `testcases`: one suite, class "smoke-test.<service>", with the label as a
// property.
std::string junit_document(const SmokeReport& report, std::size_t tests, std::size_t failures,
                           const std::string& testcases) {
  const std::string suite = "smoke-test." + report.service;
  const auto counts = "tests=\"" + std::to_string(tests) + "\" failures=\"" + std::to_string(failures) + "\"";
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites name=\"" + xml_escape(suite) + "\" " + counts + " errors=\"0\" time=\"" +
         seconds(report.duration_ms) + "\">\n";
  xml += "  <testsuite name=\"" + xml_escape(suite) + "\" " + counts + " errors=\"0\" skipped=\"0\" time=\"" +
         seconds(report.duration_ms) + "\" timestamp=\"" + util::format_iso8601(report.started).substr(0, 19) + "\">\n";
  xml += "    <properties>\n      <property name=\"label\" value=\"" + xml_escape(report.label) +
         "\"/>\n    </properties>\n";
  return xml + testcases + "  </testsuite>\n</testsuites>\n";
}

}  // namespace

std::string render_junit(const SmokeReport& report) {
  const auto places = server_places(report.outcomes);
  std::string testcases;
  for (std::size_t i = 0; i < report.outcomes.size(); ++i) {
    testcases += junit_testcase(report, report.outcomes[i], places[i]);
  }
  return junit_document(report, report.outcomes.size(), report.failures(), testcases);
}

std::string render_junit_not_run(const std::string& service, const std::string& label, WallTime at,
                                 const std::string& why) {
  const SmokeReport report{.service = service, .label = label, .started = at};
  const std::string testcase = "    <testcase classname=\"" + xml_escape("smoke-test." + service) + "\" name=\"" +
                               kPoolReadyTest + "\" time=\"0.000\">\n      <failure message=\"" + xml_escape(why) +
                               "\" type=\"PoolNotReady\">" + xml_escape(why) + "</failure>\n      <system-out>" +
                               xml_escape("pool " + label) + "</system-out>\n    </testcase>\n";
  return junit_document(report, 1, 1, testcase);
}

}  // namespace phoenix
