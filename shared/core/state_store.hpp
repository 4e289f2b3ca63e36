#pragma once
// Where deploy coordination lives so that every CI agent sees it: the deploy lock, the intent
// record of a running deploy or rollback, and the history of past ones.

#include <chrono>
#include <cstdint>
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
  // The holder process's start time (/proc/<pid>/stat field 22), so that a later process that
  // reused the pid is not taken for the holder; 0 when unknown (records written before it).
  std::uint64_t start_ticks = 0;

  std::string who() const;  // "pid 123 on host-a (job ...)"
  // who(), since when and running what: "pid 123 on host-a since T, running 'deploy --label 42'";
  // `doing` replaces "running" for a holder that is not (status: "stopped (SIGSTOP/Ctrl-Z) in").
  std::string describe(std::string_view doing = "running") const;
};

struct LockRequest {
  LockHolder holder;
  bool break_lock = false;                 // take over a stale lock (holder gone, or too old)
  std::chrono::seconds stale_after{3600};  // a lock older than this counts as stale
};

// A stale lock replaced by --break-lock: whose it was, or nothing when its record could not be
// read (it names nobody; a default holder would read "pid 0 ... since 1970").
struct LockTakeover {
  std::optional<LockHolder> holder;
};

struct LockOutcome {
  std::optional<LockTakeover> taken_over;  // set when a stale lock was taken over
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

  // A switch to a retained (powered-off or cold) target writes its intent before it wakes the
  // target, with no steps: the plan is made from the servers the wake brings back. Such a record
  // left behind is an interrupted wake; re-running the same switch resumes it (starts the servers
  // that do not run, smoke-tests the pool) before it plans.
  bool waking() const { return steps == 0; }
};

// Whether two intent records describe the same switch (operation, target, holder and start),
// whatever step each was written at.
bool same_switch(const Intent& a, const Intent& b);

// What a history event records. The first four are the switches (see is_switch): auto_rollback
// is a rollback Phoenix started by itself (a watched switch that saw its thresholds broken).
enum class HistoryAction {
  deploy,
  rollback,
  repair,
  auto_rollback,
  delete_pool,
  prune,
  freeze,
  unfreeze,
  mark_bad,
  mark_good,
  archive,  // a pool moved to the cold tier (only its image kept)
  wake,     // a retained pool powered on or restored, and smoke-tested, before a switch
  // A watch saw its thresholds broken (`label` the watched pool, `detail` what was measured,
  // `from` the pool its automatic rollback goes to, "" for the rollback's own choice), recorded
  // before that rollback starts, so a watch killed mid-way leaves the breach behind.
  breach,
};
// "deploy", "rollback", "repair", "auto-rollback", "delete", "prune", "freeze", "unfreeze",
// "mark-bad", "mark-good", "archive", "wake", "breach": the words records, JSON output and notifications use.
const char* to_string(HistoryAction action);
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

  // Whether `pool` is one of the comma-separated labels of `from`.
  bool from_names(const std::string& pool) const;
};

// A freeze: deploys are refused until unfreeze; with `all`, rollbacks and repairs too.
struct Freeze {
  std::string reason;
  bool all = false;
  std::string by;   // the person who froze (CI trigger user), else the host
  std::string job;  // the CI job, or ""
  WallTime since{};

  bool operator==(const Freeze&) const = default;
};

// A watch in progress (deploy --watch, rollback --watch). The watch holds no lock, so this
// record is how prune, delete and archive know to leave its pools as they are: written while the
// switch still holds the deploy lock (a command that takes the lock next sees it), removed when
// the watch ends however it ends. One per service: a later watch replaces it, and a watch removes
// only its own (clear_watch).
struct WatchRecord {
  std::string watched;                  // the pool the watch judges (live)
  std::optional<std::string> fallback;  // where a breach's automatic rollback would switch to, if known
  LockHolder by;                        // the watching process (host, pid, start time, job, command), since when
  WallTime until{};                     // the watch ends at the latest then (its automatic rollback included)
};

// How long past `until` a watch record still counts: the last sample and its checks may end a
// little after the deadline, and hosts' clocks differ a little.
inline constexpr std::chrono::seconds kWatchRecordMargin{30};

// Why a watch record no longer counts, or nothing while it is in force: its holder is a dead
// process on this host, or `until` plus kWatchRecordMargin has passed.
std::optional<std::string> watch_staleness(const WatchRecord& record, const std::string& this_host, WallTime now,
                                           bool holder_process_running);

// "12:03:04 UTC": when a watch ends, as status and prune print it.
std::string clock_time_utc(WallTime time);

// "watching pool 7 until 12:03:04 UTC, falling back to pool 6, by pid 123 on host-a (job ...)"
std::string describe(const WatchRecord& record);

// History as read: the events that could be read, oldest first, and what could not be.
struct HistoryLog {
  std::vector<HistoryEvent> events;
  std::vector<std::string> unreadable;  // "history.jsonl:12: not JSON (a torn write?)"
};

// Where the deploy lock, the intent record, the freeze and history live, so every CI agent
// sees them. The contract below is what ops/ relies on;
// tests/conformance/state_store_conformance_test.cpp checks every implementation against it.
class StateStore {
 public:
  virtual ~StateStore() = default;
  virtual std::string describe() const = 0;

  // Takes the deploy lock of the service atomically, or fails with `refused` and
  // ErrorCode::lock_held naming the holder. Two callers never both hold it.
  virtual Result<LockOutcome> acquire_lock(const LockRequest& request) = 0;
  // Releases the lock if `holder` still holds it; does nothing otherwise.
  virtual Status release_lock(const LockHolder& holder) = 0;
  virtual Result<std::optional<LockHolder>> read_lock() = 0;
  // Why `holder`'s lock is stale (see lock_staleness below), or nothing when it is not.
  virtual std::optional<std::string> staleness(const LockHolder& holder, std::chrono::seconds stale_after) = 0;
  // Confirms that `holder` still holds the lock, renewing it where the store needs renewal
  // (a lease). `refused` with ErrorCode::lock_held when it was lost or taken over: the caller
  // stops before its next step.
  virtual Status keep_lock(const LockHolder& holder) = 0;

  // The intent record of a switch, written before its first step: durable (it survives a power
  // loss), since a re-run and `repair` rely on it.
  virtual Status write_intent(const Intent& intent) = 0;
  // The same switch's progress (`step`, `current`), written before each step: read back by
  // read_intent as long as the intent is the same switch (operation, target, holder, start).
  // A store may keep it less durably than the intent (a file store does not flush it: a
  // switch's steps take milliseconds, and each flush would delay the traffic moving); after a
  // power loss read_intent may report an earlier step. Nothing decides on the step: a re-run
  // plans from what the balancer has. By default the same as write_intent.
  virtual Status write_intent_progress(const Intent& intent) { return write_intent(intent); }
  virtual Result<std::optional<Intent>> read_intent() = 0;
  virtual Status clear_intent() = 0;

  // The record of a running watch: written whole (replacing any), read, and removed only while
  // it is `holder`'s (host and pid), so a watch that ends never removes a later one's.
  virtual Status write_watch(const WatchRecord& record) = 0;
  virtual Result<std::optional<WatchRecord>> read_watch() = 0;
  virtual Status clear_watch(const LockHolder& holder) = 0;

  // A record that is there but cannot be read as one: `invalid` with ErrorCode::unreadable_record
  // (unreadable_freeze), naming where it is.
  virtual Result<std::optional<Freeze>> read_freeze() = 0;
  // The only write of the freeze record, conditional: replaces it with `next` (removes it when
  // `next` is nothing) only while the record in the store is still `expected`, the one the
  // caller read (nothing: none exists, so a create conflicts with a record there). Otherwise
  // `refused` with ErrorCode::changed_concurrently, changing nothing: the caller reads again
  // and decides again. Two writers that read the same record never both succeed. A store whose
  // write is serialised by a guard answers `refused` with ErrorCode::guard_busy while another
  // process holds it (freeze_guard_busy), changing nothing: nobody wrote the record. A record
  // there that cannot be read is answered as read_freeze answers it (unreadable_record).
  virtual Status replace_freeze(const std::optional<Freeze>& expected, const std::optional<Freeze>& next) = 0;
  // Removes the freeze record only while it cannot be read (read_freeze answers
  // ErrorCode::unreadable_record), so a record written meanwhile is never what it removes:
  // otherwise (it can be read now, or is gone) changed_concurrently, and guard_busy as
  // replace_freeze. A store whose records are always readable answers as for one written meanwhile.
  virtual Status clear_unreadable_freeze() = 0;

  // Appends an event. History is bounded: the oldest events are dropped beyond the store's
  // limit (history.keep). A record torn by a crash never swallows a later one.
  virtual Status append_history(const HistoryEvent& event) = 0;
  virtual Result<HistoryLog> read_history() = 0;
  // The newest successful deploy, rollback or repair, found without reading every event.
  virtual Result<std::optional<HistoryEvent>> last_switch() = 0;
};

// Why a lock is stale, or nothing: its holder is a dead process on this host (one that runs here is never
// stale, however old its lock: it is working), or, held from another host, older than `stale_after`.
std::optional<std::string> lock_staleness(const LockHolder& holder, const std::string& this_host, WallTime now,
                                          std::chrono::seconds stale_after, bool holder_process_running);

// Whether a lock `holder` holds may be taken over: a `refused` error naming the holder while
// the lock is not stale (`stale` is why it is), or while it is stale but `break_lock` is not
// given (with it, against a holder not stale, saying why not). Every StateStore answers a held
// lock with these words. `holder` is nothing when the lock record cannot be read.
Status check_lock_takeover(const std::optional<LockHolder>& holder, const std::optional<std::string>& stale,
                           bool break_lock);

// What replace_freeze answers when the freeze record (`where`: "freeze.json in /srv/state") is
// not the one the caller read, or is being written by another command: `refused`, with
// ErrorCode::changed_concurrently.
Error freeze_changed_concurrently(const std::string& where);
// What replace_freeze answers while the guard its writes take (`guard`: "the lock file
// /srv/state/web/freeze.guard") is held by `holder` ("pid 412 (flock) on this host", or "another
// process" when it cannot be told): `refused`, with ErrorCode::guard_busy.
Error freeze_guard_busy(const std::string& guard, const std::string& holder);
// What read_freeze answers for a record there that cannot be read (`read`: the parse error,
// naming where): the same words, `invalid` with ErrorCode::unreadable_record.
Error unreadable_freeze(const Error& read);

}  // namespace phoenix
