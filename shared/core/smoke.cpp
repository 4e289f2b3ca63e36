#include "shared/core/smoke.hpp"

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
}  // namespace

std::string render_junit(const SmokeReport& report) {
  const std::string suite = "smoke-test." + report.service + "." + report.label;
  const auto tests = std::to_string(report.outcomes.size());
  const auto failures = std::to_string(report.failures());
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites name=\"" + xml_escape(suite) + "\" tests=\"" + tests + "\" failures=\"" + failures +
         "\" errors=\"0\" time=\"" + seconds(report.duration_ms) + "\">\n";
  xml += "  <testsuite name=\"" + xml_escape(suite) + "\" tests=\"" + tests + "\" failures=\"" + failures +
         "\" errors=\"0\" skipped=\"0\" time=\"" + seconds(report.duration_ms) + "\" timestamp=\"" +
         util::format_iso8601(report.started).substr(0, 19) + "\">\n";
  for (const auto& outcome : report.outcomes) {
    const std::string classname = report.service + "." + report.label + "." + outcome.server_id;
    xml += "    <testcase classname=\"" + xml_escape(classname) + "\" name=\"" +
           xml_escape(outcome.check + " " + outcome.address) + "\" time=\"" + seconds(outcome.duration_ms) + "\"";
    if (outcome.passed) {
      xml += "/>\n";
      continue;
    }
    xml += ">\n      <failure message=\"" + xml_escape(outcome.message) + "\" type=\"SmokeCheckFailed\">" +
           xml_escape(outcome.message + " (after " +
                      util::plural(static_cast<std::size_t>(outcome.attempts), "attempt") + ")") +
           "</failure>\n    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace phoenix
