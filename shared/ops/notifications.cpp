#include "shared/ops/notifications.hpp"

namespace phoenix::ops {

void send_notification(Services& services, const Notification& notification) {
  const Status sent = services.notifier.notify(notification);
  if (!sent.ok()) services.reporter.warning(sent.error().message);
}

void notify_switch_start(Services& services, HistoryAction action, const Intent& intent) {
  send_notification(
      services, Notification{.action = action,
                             .phase = NotificationPhase::start,
                             .service = services.config.service,
                             .at = services.clock.wall_now(),
                             .from = intent.from,
                             .to = intent.target,
                             .who = services.identity.user.empty() ? services.identity.host : services.identity.user,
                             .job = services.identity.job,
                             .why = intent.reason});
}

}  // namespace phoenix::ops
