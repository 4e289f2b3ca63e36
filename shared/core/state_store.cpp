#include "shared/core/state_store.hpp"

#include "shared/core/balancer.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix {

const char* to_string(Operation operation) {
  switch (operation) {
    case Operation::deploy:
      return "deploy";
    case Operation::rollback:
      return "rollback";
    case Operation::repair:
      return "repair";
  }
  return "deploy";
}

std::optional<Operation> parse_operation(std::string_view text) {
  for (auto value : {Operation::deploy, Operation::rollback, Operation::repair}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

bool same_switch(const Intent& a, const Intent& b) {
  return a.operation == b.operation && a.target == b.target && a.from == b.from && a.by.host == b.by.host &&
         a.by.pid == b.by.pid && a.by.start_ticks == b.by.start_ticks && a.started_at == b.started_at;
}

const char* to_string(HistoryAction action) {
  switch (action) {
    case HistoryAction::deploy:
      return "deploy";
    case HistoryAction::rollback:
      return "rollback";
    case HistoryAction::repair:
      return "repair";
    case HistoryAction::auto_rollback:
      return "auto-rollback";
    case HistoryAction::delete_pool:
      return "delete";
    case HistoryAction::prune:
      return "prune";
    case HistoryAction::freeze:
      return "freeze";
    case HistoryAction::unfreeze:
      return "unfreeze";
    case HistoryAction::mark_bad:
      return "mark-bad";
    case HistoryAction::mark_good:
      return "mark-good";
    case HistoryAction::archive:
      return "archive";
    case HistoryAction::wake:
      return "wake";
    case HistoryAction::breach:
      return "breach";
  }
  return "deploy";
}

std::optional<HistoryAction> parse_history_action(std::string_view text) {
  for (auto value : {HistoryAction::deploy, HistoryAction::rollback, HistoryAction::repair,
                     HistoryAction::auto_rollback, HistoryAction::delete_pool, HistoryAction::prune,
                     HistoryAction::freeze, HistoryAction::unfreeze, HistoryAction::mark_bad, HistoryAction::mark_good,
                     HistoryAction::archive, HistoryAction::wake, HistoryAction::breach}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

HistoryAction history_action(Operation operation) {
  switch (operation) {
    case Operation::deploy:
      return HistoryAction::deploy;
    case Operation::rollback:
      return HistoryAction::rollback;
    case Operation::repair:
      return HistoryAction::repair;
  }
  return HistoryAction::deploy;
}

bool HistoryEvent::from_names(const std::string& pool) const { return has_label(util::split(from, ','), pool); }

bool is_switch(HistoryAction action) {
  return action == HistoryAction::deploy || action == HistoryAction::rollback || action == HistoryAction::repair ||
         action == HistoryAction::auto_rollback;
}

const char* to_string(HistoryResult result) {
  switch (result) {
    case HistoryResult::succeeded:
      return "succeeded";
    case HistoryResult::failed:
      return "failed";
    case HistoryResult::refused:
      return "refused";
    case HistoryResult::interrupted:
      return "interrupted";
  }
  return "failed";
}

std::optional<HistoryResult> parse_history_result(std::string_view text) {
  for (auto value :
       {HistoryResult::succeeded, HistoryResult::failed, HistoryResult::refused, HistoryResult::interrupted}) {
    if (text == to_string(value)) return value;
  }
  return std::nullopt;
}

std::string LockHolder::who() const {
  std::string text = "pid " + std::to_string(pid) + " on " + (host.empty() ? "an unknown host" : host);
  if (!job.empty()) text += " (job " + job + ")";
  return text;
}

std::string LockHolder::describe(std::string_view doing) const {
  std::string text = who() + " since " + util::format_iso8601(since);
  if (!command.empty()) text += ", " + std::string(doing) + " '" + command + "'";
  return text;
}

std::optional<std::string> lock_staleness(const LockHolder& holder, const std::string& this_host, WallTime now,
                                          std::chrono::seconds stale_after, bool holder_process_running) {
  if (holder.host == this_host) {
    // On its own host the process table is the truth: a holder still running is working (a long
    // health wait, a wake) and is never stale, however old its lock; a dead one always is. The
    // holder is named beside this reason wherever it is said (its pid once).
    if (holder_process_running) return std::nullopt;
    return "its holder is no longer running on this host";
  }
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - holder.since);
  if (age > stale_after) {
    return "it is " + std::to_string(age.count()) + " s old, older than the " + std::to_string(stale_after.count()) +
           " s limit";
  }
  return std::nullopt;
}

std::optional<std::string> watch_staleness(const WatchRecord& record, const std::string& this_host, WallTime now,
                                           bool holder_process_running) {
  if (record.by.host == this_host && !holder_process_running) {
    return "its holder (pid " + std::to_string(record.by.pid) + " on this host) is no longer running";
  }
  if (now > record.until + kWatchRecordMargin) {
    return "it ended at " + clock_time_utc(record.until) + " (more than " + std::to_string(kWatchRecordMargin.count()) +
           " s ago)";
  }
  return std::nullopt;
}

std::string clock_time_utc(WallTime time) {
  const std::string iso = util::format_iso8601(time);  // "2026-11-26T12:03:04Z"
  return iso.substr(11, 8) + " UTC";
}

std::string describe(const WatchRecord& record) {
  return "watching pool " + record.watched + " until " + clock_time_utc(record.until) +
         (record.fallback ? ", falling back to pool " + *record.fallback : std::string(", with no fallback pool")) +
         ", by " + record.by.who();
}

Status check_lock_takeover(const std::optional<LockHolder>& holder, const std::optional<std::string>& stale,
                           bool break_lock) {
  if (!stale) {
    // --break-lock never takes a lock from a holder that runs: two switches at once would undo
    // each other's steps.
    return Error{ErrorKind::refused,
                 "another deploy holds the lock: " + (holder ? holder->describe() : "its record cannot be read") +
                     "; wait for it to finish (one deploy at a time per service)" +
                     (break_lock && holder ? "; --break-lock takes over only a lock whose holder is no longer "
                                             "running, or one held from another host for longer than "
                                             "lock.stale_after_s; if pid " +
                                                 std::to_string(holder->pid) + " hangs, stop it first"
                                           : std::string()),
                 ErrorCode::lock_held};
  }
  if (!break_lock) {
    // An unreadable record names no holder (a default one would read "pid 0 since 1970").
    const std::string held_by = holder ? " (held by " + holder->describe("left by") + ")" : "";
    return Error{ErrorKind::refused,
                 "the deploy lock is stale: " + *stale + held_by + "; re-run with --break-lock to take it over",
                 ErrorCode::lock_held};
  }
  return {};
}

Error freeze_changed_concurrently(const std::string& where) {
  return Error{ErrorKind::refused,
               "the freeze record (" + where +
                   ") changed since it was read: another command wrote it meanwhile; nothing was written. "
                   "Read it again and decide again",
               ErrorCode::changed_concurrently};
}

Error freeze_guard_busy(const std::string& guard, const std::string& holder) {
  return Error{ErrorKind::refused, "the freeze guard (" + guard + ") is held by " + holder, ErrorCode::guard_busy};
}

Error unreadable_freeze(const Error& read) {
  return Error{ErrorKind::invalid, read.message, ErrorCode::unreadable_record};
}

}  // namespace phoenix
