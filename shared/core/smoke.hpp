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
  std::string message;        // the failure, or "" when passed
  long long duration_ms = 0;  // the last attempt
  int attempts = 0;
};

// Every check is tried from the start of the run, and one that has not passed is tried again
// until the run ends: a check that failed took the whole run.
struct SmokeReport {
  std::string service;
  std::string label;
  WallTime started{};
  long long duration_ms = 0;
  std::vector<CheckOutcome> outcomes;  // grouped by server, in the pool's order

  bool passed() const;
  std::size_t failures() const;
};

// JUnit XML for GoCD's test artifacts and Jenkins' junit step. Both track a test case across
// builds by its class and name, so these never contain what changes from build to build: the
// class is "smoke-test.<service>", the name "<check> on server <n>" (n: the server's place in
// the pool). The label is a suite property; server ids and addresses go to <system-out>. A
// failed check's time is the run's, retries included.
std::string render_junit(const SmokeReport& report);

// The JUnit report of a run or rebuild that ended before its pool was smoke-tested (its
// creation failed or was refused, or its smoke test could not start): one failed test case of
// the same class, named kPoolReadyTest, whose failure is `why`, so that a CI's junit step never
// publishes an earlier build's report, nor finds none.
inline constexpr const char* kPoolReadyTest = "pool ready for its smoke test";
std::string render_junit_not_run(const std::string& service, const std::string& label, WallTime at,
                                 const std::string& why);

// Text safe inside XML content and attributes: escapes markup and drops characters XML 1.0
// forbids (control bytes, invalid UTF-8).
std::string xml_escape(std::string_view text);

}  // namespace phoenix
