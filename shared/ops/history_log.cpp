#include "shared/ops/history_log.hpp"

#include "shared/core/verdict_history.hpp"
#include "shared/ops/notifications.hpp"
#include "shared/util/redact.hpp"

namespace phoenix::ops {

namespace {

std::string person(const Services& services) {
  return services.identity.user.empty() ? services.identity.host : services.identity.user;
}

}  // namespace

HistoryEvent new_event(const Services& services, HistoryAction action, std::string label, HistoryResult result) {
  return HistoryEvent{.at = services.clock.wall_now(),
                      .action = action,
                      .label = std::move(label),
                      .result = result,
                      .by = person(services),
                      .job = services.identity.job};
}

HistoryResult history_result(const Status& outcome) {
  if (outcome.ok()) return HistoryResult::succeeded;
  if (outcome.error().kind == ErrorKind::refused) return HistoryResult::refused;
  return outcome.error().is(ErrorCode::interrupted) ? HistoryResult::interrupted : HistoryResult::failed;
}

void give_verdict(const Services& services, PoolMetadata& meta, LiveVerdict verdict, std::string reason) {
  meta.verdict = verdict;
  meta.verdict_reason = std::move(reason);
  meta.verdict_by = person(services);
  meta.verdict_at = services.clock.wall_now();
}

std::optional<std::string> record_history(Services& services, const HistoryEvent& recorded,
                                          const std::vector<StepTiming>& steps) {
  // A record outlives the run and is read by others: no registered secret or URL credential
  // goes into it, whatever error text the detail carries (what redact() removes from output).
  HistoryEvent event = recorded;
  event.detail = util::redact(recorded.detail);
  const auto appended = services.state.append_history(event);
  std::optional<std::string> warning;
  if (!appended.ok()) {
    // An event of no pool (a rollback refused for want of a target, a freeze) names none.
    warning = "this " + std::string(to_string(event.action)) +
              (event.label.empty() ? std::string() : " of pool " + event.label) + " (" + to_string(event.result) +
              ") is missing from history: " + appended.error().message;
    services.reporter.warning(*warning);
  }
  send_notification(services, notification_of(services.config.service, event, steps));
  return warning;
}

std::optional<HistoryEvent> last_successful_switch(Services& services) {
  auto last = services.state.last_switch();
  if (!last) return std::nullopt;
  return *last;
}

bool never_served(Services& services, const Intent& interrupted) {
  const auto history = services.state.read_history();
  return !history || !has_served(history->events, interrupted.target);
}

}  // namespace phoenix::ops
