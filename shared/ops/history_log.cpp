#include "shared/ops/history_log.hpp"

namespace phoenix::ops {

HistoryEvent new_event(const Services& services, HistoryAction action, std::string label, HistoryResult result) {
  return HistoryEvent{.at = services.clock.wall_now(),
                      .action = action,
                      .label = std::move(label),
                      .result = result,
                      .by = services.identity.user.empty() ? services.identity.host : services.identity.user,
                      .job = services.identity.job};
}

void record_history(Services& services, const HistoryEvent& event) {
  const auto appended = services.state.append_history(event);
  if (!appended.ok()) services.reporter.warning("could not record history: " + appended.error().message);
}

std::optional<HistoryEvent> last_successful_switch(Services& services) {
  auto events = services.state.read_history();
  if (!events) return std::nullopt;
  for (auto it = events->rbegin(); it != events->rend(); ++it) {
    if (is_switch(it->action) && it->result == HistoryResult::succeeded) return *it;
  }
  return std::nullopt;
}

}  // namespace phoenix::ops
