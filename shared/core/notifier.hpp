#pragma once
// Telling people what Phoenix did, as it happens: every history event is also a notification
// (the end of what it records), and a switch notifies its start. The configuration's `notify`
// list names where they go (docs/notifications.md); shared/notify/ holds the destinations.

#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/core/pool.hpp"
#include "shared/core/state_store.hpp"
#include "shared/util/result.hpp"

namespace phoenix {

// A switch notifies `start` before its first step; every history event is an `end`.
enum class NotificationPhase { start, end };

struct Notification {
  HistoryAction action = HistoryAction::deploy;
  NotificationPhase phase = NotificationPhase::end;
  HistoryResult result = HistoryResult::succeeded;  // of an `end`; a `start` has none yet
  std::string service;
  WallTime at{};
  std::vector<std::string> from;  // the live pools before a switch; empty for other events
  std::string to;                 // the pool acted on: a switch's target, the deleted pool
  std::string who;                // the CI trigger user, else the host
  std::string job;                // the CI job, or ""
  std::string why;                // the reason, or what went wrong (one line)
  std::vector<StepTiming> steps;  // a switch's steps as they ran (empty where none ran)
  long long duration_ms = 0;      // of an `end`
};

// The event a receiver routes on: "<action>.start", "<action>.success" and "<action>.failure"
// for switches ("deploy.success", "auto-rollback.failure"; failure is any result but
// succeeded), the action's word alone for the others ("delete", "prune", "freeze").
std::string event_name(const Notification& notification);

// "started" for a start, else the result's word ("succeeded", "failed", "refused", ...).
std::string result_word(const Notification& notification);

// The `end` notification of a history event of `service`, with the steps that ran.
Notification notification_of(const std::string& service, const HistoryEvent& event, std::vector<StepTiming> steps = {});

// Where notifications go. A notifier never stops what it reports on: it returns within the
// timeouts of its destinations, and a destination that failed is an error the caller turns
// into one warning (it never changes an exit code).
class Notifier {
 public:
  virtual ~Notifier() = default;
  // Delivers `notification`; an error says which destinations did not get it and why, in
  // one line without secrets.
  virtual Status notify(const Notification& notification) = 0;
};

}  // namespace phoenix
