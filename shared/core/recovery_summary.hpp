#pragma once
// Time to recover, from history: per calendar month (UTC), how many releases went live, how
// many were rolled back (by a person, or automatically), and how long the service ran a bad
// release before the rollback finished. Pure: history in, figures out.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/state_store.hpp"

namespace phoenix {

struct MonthSummary {
  std::string month;          // "2026-11" (UTC)
  std::size_t deploys = 0;    // deploys that succeeded
  std::size_t rollbacks = 0;  // rollbacks a person started, that succeeded
  std::size_t auto_rollbacks = 0;
  // Rollbacks (either kind) whose bad release's going live is in history, so that their time
  // to recover is known; a rollback of a release older than history's oldest event is not.
  std::size_t recoveries = 0;
  std::optional<long long> median_recovery_ms;  // nothing when there is no recovery
  std::optional<long long> worst_recovery_ms;
};

struct RecoverySummary {
  std::vector<MonthSummary> months;  // newest first; only months with an event counted here
  std::size_t events = 0;            // history events read
  std::optional<WallTime> since;     // the oldest of them
};

// `events` oldest first, as StateStore::read_history returns them. A rollback's time to
// recover runs from the bad release going live (the newest successful switch, before the
// rollback, that made one of the pools it rolled back from live) to the rollback finishing
// (its event's time); it counts in the month the rollback finished.
RecoverySummary summarize_recovery(const std::vector<HistoryEvent>& events);

// The median of `values` (the mean of the two middle ones for an even count); nothing for none.
std::optional<long long> median(std::vector<long long> values);

}  // namespace phoenix
