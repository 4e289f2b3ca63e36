#pragma once
// Where deploy coordination lives so that every CI agent sees it: the deploy lock, the intent
// record of a running deploy or rollback, and the history of past ones.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
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

// The commands that switch the live pool.
enum class Operation { deploy, rollback, repair };
const char* to_string(Operation operation);
std::optional<Operation> parse_operation(std::string_view text);

// The record of a deploy or rollback in progress, written before the balancer is touched and
// updated per step. Its presence after the command ended means the command was interrupted.
struct Intent {
  Operation operation = Operation::deploy;
  std::string target;
  std::vector<std::string> from;  // the live labels when it started
  std::string reason;             // rollback reason
  LockHolder by;
  WallTime started_at{};
  int step = 0;  // steps completed before the current one
  int steps = 0;
  std::string current;  // the step in progress, in words ("" before the first)
};

// What a history event records. The first three are the switches (see is_switch).
enum class HistoryAction { deploy, rollback, repair, delete_pool, prune };
const char* to_string(HistoryAction action);  // "deploy", ..., "delete", "prune"
std::optional<HistoryAction> parse_history_action(std::string_view text);
HistoryAction history_action(Operation operation);
bool is_switch(HistoryAction action);

enum class HistoryResult { succeeded, failed, refused, interrupted };
const char* to_string(HistoryResult result);
std::optional<HistoryResult> parse_history_result(std::string_view text);

struct HistoryEvent {
  WallTime at{};
  HistoryAction action = HistoryAction::deploy;
  std::string label;
  std::string from;  // previous live labels, comma-separated
  HistoryResult result = HistoryResult::succeeded;
  long long duration_ms = 0;
  std::string by;      // the person who triggered it (CI trigger user), else the host
  std::string job;     // the CI job that ran it ("gocd web-deploy/12/deploy/1/switch"), or ""
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
