#pragma once
// Where deploy coordination lives so that every CI agent sees it: the deploy lock, the intent
// record of a running deploy or rollback, and the history of past ones.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/pool.hpp"
#include "shared/util/result.hpp"

namespace phoenix {

struct LockHolder {
  std::string host;
  long pid = 0;
  std::string job;      // CI job identity ("gocd web-deploy/12/deploy/1/switch"), or "" by hand
  std::string command;  // "deploy --label 42"
  WallTime since{};
  // The holder process's start time (/proc/<pid>/stat field 22), so that a later process that
  // reused the pid is not taken for the holder; 0 when unknown (records written before it).
  std::uint64_t start_ticks = 0;

  std::string who() const;       // "pid 123 on host-a (job ...)"
  std::string describe() const;  // who(), since when and running what
};

struct LockRequest {
  LockHolder holder;
  bool break_lock = false;                 // take over a stale lock (holder gone, or too old)
  std::chrono::seconds stale_after{3600};  // a lock older than this counts as stale
};

struct LockOutcome {
  std::optional<LockHolder> taken_over;  // the stale holder replaced by --break-lock
};

// The record of a deploy or rollback in progress, written before the balancer is touched and
// updated per step. Its presence after the command ended means the command was interrupted.
struct Intent {
  std::string operation;  // "deploy", "rollback" or "repair"
  std::string target;
  std::vector<std::string> from;  // the live labels when it started
  std::string reason;             // rollback reason
  LockHolder by;
  WallTime started_at{};
  int step = 0;  // steps completed before the current one
  int steps = 0;
  std::string current;  // the step in progress, in words ("" before the first)
};

struct HistoryEvent {
  WallTime at{};
  std::string action;  // deploy, rollback, repair, delete, prune
  std::string label;
  std::string from;    // previous live labels, comma-separated
  std::string result;  // succeeded, failed, refused, interrupted
  long long duration_ms = 0;
  std::string by;      // trigger user or host
  std::string detail;  // one line: the reason, the error
};

class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual std::string describe() const = 0;

  // Takes the deploy lock of the service atomically, or fails with `refused` naming the holder.
  virtual Result<LockOutcome> acquire_lock(const LockRequest& request) = 0;
  // Releases the lock if `holder` still holds it.
  virtual Status release_lock(const LockHolder& holder) = 0;
  virtual Result<std::optional<LockHolder>> read_lock() = 0;
  // Why `holder`'s lock is stale (see lock_staleness below), or nothing when it is not.
  virtual std::optional<std::string> staleness(const LockHolder& holder, std::chrono::seconds stale_after) = 0;

  virtual Status write_intent(const Intent& intent) = 0;
  virtual Result<std::optional<Intent>> read_intent() = 0;
  virtual Status clear_intent() = 0;

  virtual Status append_history(const HistoryEvent& event) = 0;
  // Oldest first.
  virtual Result<std::vector<HistoryEvent>> read_history() = 0;
};

// Why a lock is stale, or nothing when it is not: its holder is a dead process on this host,
// or it is older than `stale_after`.
std::optional<std::string> lock_staleness(const LockHolder& holder, const std::string& this_host, WallTime now,
                                          std::chrono::seconds stale_after, bool holder_process_running);

// Whether a lock `holder` holds may be taken over: a `refused` error naming the holder while
// the lock is not stale (`stale` is why it is), or while it is stale but `break_lock` is not
// given. Every StateStore answers a held lock with these words.
Status check_lock_takeover(const LockHolder& holder, const std::optional<std::string>& stale, bool break_lock);

}  // namespace phoenix
