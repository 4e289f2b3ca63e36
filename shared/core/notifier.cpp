#include "shared/core/notifier.hpp"

#include "shared/util/strings.hpp"

namespace phoenix {

std::string event_name(const Notification& notification) {
  std::string name = to_string(notification.action);
  if (!is_switch(notification.action)) return name;
  if (notification.phase == NotificationPhase::start) return name + ".start";
  return name + (notification.result == HistoryResult::succeeded ? ".success" : ".failure");
}

std::string result_word(const Notification& notification) {
  return notification.phase == NotificationPhase::start ? "started" : to_string(notification.result);
}

Notification notification_of(const std::string& service, const HistoryEvent& event, std::vector<StepTiming> steps) {
  Notification notification{.action = event.action,
                            .phase = NotificationPhase::end,
                            .result = event.result,
                            .service = service,
                            .at = event.at,
                            .to = event.label,
                            .who = event.by,
                            .job = event.job,
                            .why = event.detail,
                            .steps = std::move(steps),
                            .duration_ms = event.duration_ms};
  if (!event.from.empty()) notification.from = util::split(event.from, ',');
  return notification;
}

}  // namespace phoenix
