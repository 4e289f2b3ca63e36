#pragma once
// Smoke checks: what each server must answer, how an answer is judged, and the JUnit XML
// report that GoCD (test artifacts) and Jenkins (`junit` step) both read. Pure functions.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/http_client.hpp"
#include "shared/core/pool.hpp"

namespace phoenix {

struct SmokeCheck {
  std::string name;
  std::string path;  // starts with '/'
  int expect_status = 200;
  std::string expect_body;  // substring the body must contain; "{label}" is the pool's label
  std::chrono::milliseconds timeout{5000};
};

// nullopt when the answer passes; else what was expected and what came back, in one line.
std::optional<std::string> evaluate_check(const SmokeCheck& check, const std::string& label,
                                          const Result<HttpResponse>& answer);

struct CheckOutcome {
  std::string server_id;
  std::string address;
  std::string check;
  bool passed = false;
  std::string message;  // the failure, or "" when passed
  long long duration_ms = 0;
  int attempts = 0;
};

struct SmokeReport {
  std::string service;
  std::string label;
  WallTime started{};
  long long duration_ms = 0;
  std::vector<CheckOutcome> outcomes;

  bool passed() const;
  std::size_t failures() const;
};

std::string render_junit(const SmokeReport& report);

// Text safe inside XML content and attributes: escapes markup and drops characters XML 1.0
// forbids (control bytes, invalid UTF-8).
std::string xml_escape(std::string_view text);

}  // namespace phoenix
