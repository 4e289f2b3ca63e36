#pragma once
// The record of a running watch (WatchRecord, core/state_store.hpp). A watched deploy or rollback
// writes it while its switch still holds the deploy lock, so any command that takes the lock
// next sees it, and removes it when the watch ends, however it ends. Prune, delete and archive
// leave the pools it names as they are; status shows it. A stale record (its holder died on this
// host, or its end passed more than kWatchRecordMargin ago) is ignored, said in -v output.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

// The record of this process's watch for as long as the scope lives: written when constructed,
// removed (only while it is still this process's) when destroyed. A record that cannot be
// written or removed is a warning, not a failure: the switch happened, and a watch left
// unwatched for want of a record would be worse than a fallback left unprotected.
class WatchRecordScope {
 public:
  WatchRecordScope(Services& services, WatchRecord record);
  ~WatchRecordScope();
  WatchRecordScope(const WatchRecordScope&) = delete;
  WatchRecordScope& operator=(const WatchRecordScope&) = delete;

  // After a breach: the automatic rollback may wait for the deploy lock, and its fallback must
  // stay protected until it holds it; the record is rewritten to end no earlier than `until`.
  void extend_until(WallTime until);
  const WatchRecord& record() const { return record_; }

 private:
  Services& services_;
  WatchRecord record_;
  bool written_ = false;
};

// The watch record in force, or nothing: none is written, or the one written is stale (said with
// the reporter's detail, for -v). A record that cannot be read is an error (with the store's
// kind): which pools it protects cannot be known; its message names the record and what to do.
Result<std::optional<WatchRecord>> watch_in_force(Services& services);

// What to do about a watch record that cannot be read (a corrupt file, a garbled key): make sure
// no watch is running, then remove it. Shared by status and the commands watch_in_force refuses.
std::string unreadable_watch_record_remedy();

// Why `record` no longer counts, judged here and now (a holder on this host must still run, with
// the start time it had), or nothing while it is in force.
std::optional<std::string> watch_record_staleness(const Services& services, const WatchRecord& record);

// The pools a watch in force needs as they are, each with the reason prune prints: its fallback
// ("fallback of a running watch until 12:03:04 UTC") and the watched pool.
std::vector<ProtectedPool> pools_protected_by(const WatchRecord& record);

// Refuses (`refused`, exit 3) to `action` ("delete", "archive") pool `label` while a watch in
// force needs it, naming the watch, its holder, its end, and what to do. --force does not
// override it: stopping the watch does (docs/safety.md, "Automatic rollbacks").
Status check_not_needed_by_watch(Services& services, const std::string& label, const std::string& action);

}  // namespace phoenix::ops
