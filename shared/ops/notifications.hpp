#pragma once
// Sending notifications from operations. Every history event is notified by record_history
// (history_log.hpp) as the end of what it records; a switch also notifies its start, once its
// intent record is written and before its first step. A notifier that fails is one warning:
// it never fails or stops an operation.

#include "shared/core/notifier.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

// Sends `notification`; a failure becomes one warning.
void send_notification(Services& services, const Notification& notification);

// The start of a switch (`action`: deploy, rollback, auto_rollback or repair) that `intent`
// records: its target, the pools live before, the reason.
void notify_switch_start(Services& services, HistoryAction action, const Intent& intent);

}  // namespace phoenix::ops
