#include "shared/ops/smoke_runner.hpp"

#include <algorithm>

#include "shared/util/strings.hpp"

namespace phoenix::ops {

SmokeReport run_smoke_checks(HttpClient& http, util::Clock& clock, util::Reporter& reporter, const Pool& pool,
                             const SmokeSettings& settings) {
  SmokeReport report;
  report.service = settings.service;
  report.label = pool.label();
  report.started = clock.wall_now();
  const auto started = clock.now();
  const auto deadline = started + settings.timeout;

  // One outcome per (server, check), in a stable order for the report.
  for (const auto& server : pool.servers) {
    for (const auto& check : settings.checks) {
      report.outcomes.push_back({server.id, server.address(), check.name, false, "not run", 0, 0});
    }
  }
  std::vector<std::size_t> pending(report.outcomes.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;

  while (!pending.empty()) {
    if (settings.stop_requested && settings.stop_requested()) break;
    const auto now = clock.now();
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    std::vector<HttpRequest> requests;
    for (const auto index : pending) {
      const auto& outcome = report.outcomes[index];
      const SmokeCheck& check = settings.checks[index % settings.checks.size()];
      HttpRequest request;
      request.url = "http://" + outcome.address + check.path;
      request.timeout = std::max(std::chrono::milliseconds(1), std::min(check.timeout, remaining));
      requests.push_back(request);
    }
    const auto round_started = clock.now();
    const auto answers = http.perform(requests);
    const auto round_ms = util::elapsed_ms(round_started, clock.now());

    std::vector<std::size_t> failing;
    for (std::size_t i = 0; i < pending.size(); ++i) {
      auto& outcome = report.outcomes[pending[i]];
      const SmokeCheck& check = settings.checks[pending[i] % settings.checks.size()];
      ++outcome.attempts;
      outcome.duration_ms = round_ms;
      const auto failure = evaluate_check(check, pool.label(), answers[i]);
      outcome.passed = !failure.has_value();
      outcome.message = failure.value_or("");
      if (failure) failing.push_back(pending[i]);
    }
    pending.swap(failing);
    if (pending.empty() || clock.now() + settings.retry_interval >= deadline) break;
    if (settings.stop_requested && settings.stop_requested()) break;
    reporter.detail(util::plural(pending.size(), "check") + " not passing yet, for example " +
                    report.outcomes[pending.front()].address + ": " + report.outcomes[pending.front()].message);
    clock.sleep_for(settings.retry_interval);
  }
  report.duration_ms = util::elapsed_ms(started, clock.now());
  return report;
}

}  // namespace phoenix::ops
