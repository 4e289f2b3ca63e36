#pragma once
// What `deploy-pipeline status` reports: the live pool, every member as the balancer sees it,
// and every problem found by comparing the balancer, the provider and the intent record.
// Pure: built from observations, no I/O.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/advice.hpp"
#include "shared/core/balancer.hpp"
#include "shared/core/planner.hpp"
#include "shared/core/pool.hpp"
#include "shared/core/state_store.hpp"

namespace phoenix {

struct MemberRow {
  std::string balancer;  // its name when the service has several balancers, else ""
  std::string pool;      // "" when the member was not added by Phoenix
  std::string server;
  std::string address;
  std::string state;   // ready, standby, drain, maint
  std::string health;  // the balancer's status and check: "UP (L7OK)"
  int sessions = 0;
};

// A pool kept hot: every member on standby, checked by the balancer, routed nothing.
struct StandbyPool {
  std::string label;
  std::size_t members = 0;
  std::size_t up = 0;             // healthy in the balancer's latest check
  std::string check;              // the balancer's words for the check, when all agree ("L7OK")
  std::vector<std::string> down;  // "41:3 DOWN (L4CON)"
  // Members whose first check has not completed (just added, or the balancer just reloaded):
  // neither healthy nor a problem yet. "41:2 UP 1/2 (INI)"
  std::vector<std::string> checking;
  // "marked bad (checkout errors)" for a pool marked bad that stays on standby, else "".
  std::string bad_mark;
  std::string bad_reason;  // the reason of that mark alone ("checkout errors"); "" without one

  // "pool 41, 50/50 UP (L7OK)"; "pool 41, 50/50 UP (L7OK); marked bad (checkout errors): a
  // rollback passes it over"
  std::string describe() const;
};

// The deploy lock's holder as status sees it: running its command, stopped (SIGSTOP, Ctrl-Z:
// it runs no step until continued) or stale (its process is gone, or, held from another host,
// its lock is older than lock.stale_after_s).
enum class LockHolderState { running, stopped, stale };
const char* to_string(LockHolderState state);

// The status line of the deploy lock: "pid 7 on agent-1 since T, running 'deploy --label 2'", or
// "stopped (SIGSTOP/Ctrl-Z) in '...'" or "stale, left by '...'" instead of "running".
std::string describe_lock_line(const LockHolder& holder, LockHolderState state);

struct StatusReport {
  std::string service;
  std::vector<std::string> live;
  std::vector<StandbyPool> standby;
  std::vector<std::string> notes;  // facts worth knowing that are no problem
  std::vector<MemberRow> members;
  std::vector<std::string> problems;
  std::optional<Intent> interrupted;
  std::optional<LockHolder> lock;
  LockHolderState lock_state = LockHolderState::running;
  std::optional<Freeze> freeze;
  std::optional<WatchRecord> watch;  // a running watch (deploy --watch, rollback --watch)
  // Why the balancer could not be read; the report then holds what was read without it.
  std::optional<std::string> balancer_error;
  // That error's kind, for the exit code: unavailable or timeout (4), or invalid (2) for a
  // balancer configured wrong (balancer.socket a regular file). Also the kind of the error of
  // `unanswered` balancers.
  ErrorKind balancer_error_kind = ErrorKind::unavailable;
  // Of several balancers, the ones that did not answer while others did: the report is what the
  // others say (`balancer_error` stays unset), and each one is a problem naming it.
  struct Unanswered {
    std::string balancer;
    std::string error;
  };
  std::vector<Unanswered> unanswered;
  // Why a record of the state store (lock, intent, history, freeze, watch) could not be read when
  // the store did not answer (unavailable, timeout): status exits 4 for it, as for a balancer.
  // Each record it could not read is a problem of its own.
  std::optional<std::string> state_store_error;
};

struct StatusInputs {
  std::string service;
  const std::vector<Pool>& pools;
  const std::vector<Member>& members;
  std::optional<Intent> intent;
  std::optional<LockHolder> lock;
  std::optional<std::string> lock_staleness;  // why the lock is stale, if it is
  bool lock_unreadable = false;               // the lock record cannot be read: as stale as a dead holder's
  bool operation_in_progress = false;         // the intent belongs to a command that still holds the lock
  // The lock's holder is stopped (SIGSTOP, Ctrl-Z; ops::stopped_holder, reported as a problem of
  // its own): its switch in progress is said to be stopped, not running.
  bool lock_holder_stopped = false;
  std::optional<std::vector<Member>> durable;  // what the balancer would restart with
  // That membership cannot be written now (Balancer::persistable() failed, reported on its own
  // line): a running membership that differs from it is a rollback switched at runtime only, or
  // one repair cannot keep until it can be written.
  bool durable_unwritable = false;
  std::optional<HistoryEvent> last_switch;  // the last deploy/rollback/repair that succeeded
  // The pool 'deploy-pipeline repair' makes the only live one again, because the balancers
  // reloaded with an older membership after the last switch made it live (ops::restored_by_repair);
  // nothing when repair keeps what runs.
  std::optional<std::string> repair_restores;
  // The balancers all reloaded (their processes started) after the last switch began
  // (ops::reloaded_since_switch): where they route elsewhere than that switch left them, the
  // reload is why, not a missing history record.
  bool reloaded_since_last_switch = false;
  bool foreign_allowed = false;   // balancer.allow_foreign_servers
  bool standby_supported = true;  // the balancer has weight 0 (hot standby)
  // retention.hot as a switch applies it (0 where the balancer has no standby): with 0 no pool
  // stays on standby, and the next deploy or repair removes members left there.
  int hot = 1;
  std::string balancer;                        // its description, for notes
  std::optional<Freeze> freeze;                // deploys (or everything) frozen by hand
  std::optional<WatchRecord> watch;            // the record of a running watch
  std::optional<std::string> watch_staleness;  // why that record no longer counts, if it does not
  // History, read only where a finding needs it (a live pool marked bad: who marked it and when;
  // a watch that no longer runs: the breach it left unanswered; an interrupted switch's target in
  // the balancer: whether it has served); else empty.
  std::vector<HistoryEvent> history;
  // The balancer did not answer (its error): `members` is empty and means nothing; the report
  // says what the records and the provider say (the last switch, the pools) and this problem.
  std::optional<std::string> balancer_error;
};

// Whether status needs history to explain what it sees (StatusInputs::history): a live pool is
// marked bad, the record of a watch that no longer runs names a live pool, or the target of an
// interrupted switch (`intent`) is in the balancer (whether it has served: a hot standby or not).
bool status_needs_history(const std::vector<Pool>& pools, const std::vector<Member>& members,
                          const std::optional<WatchRecord>& watch, bool watch_stale,
                          const std::optional<Intent>& intent = std::nullopt);

// "pool 7 until 12:03:04 UTC, falls back to pool 6, by pid 123 on host-a": the status line of a
// running watch.
std::string describe_watch_line(const WatchRecord& watch);

StatusReport build_status(const StatusInputs& inputs);

// Whether taking the deploy lock needs --break-lock: its holder is stale (`staleness` says why)
// or its record cannot be read (`unreadable`), which a lock refuses as it would a live holder's.
bool deploy_lock_stale(const std::optional<std::string>& staleness, bool unreadable);

// Whether `intent` is a switch running now: its own writer holds the lock (`holder`, same host
// and pid) and that lock is not stale (`lock_stale`; on its own host, a holder whose process
// still runs never is, however long it takes). An intent another process left is interrupted,
// whoever holds the lock now.
bool switch_running(const Intent& intent, const LockHolder& holder, bool lock_stale);

// Why finishing the interrupted switch `intent` may not make its target live without --force:
// "is marked bad: <reason>" (with who and when where `history` has the mark) or "has smoke
// verdict 'failed'"; "" when it may. A pending verdict left by the switch's own interrupted wake
// is no reason: finishing it smoke-tests the pool before it switches.
std::string interrupted_target_problem(const std::vector<Pool>& pools, const Intent& intent,
                                       const std::vector<HistoryEvent>& history = {});

// Refuses (`refused`, nothing changed) finishing the interrupted switch `intent` while its
// target is marked bad or failed its smoke test (interrupted_target_problem), unless `force`:
// the mark is a decision made after the switch started, so a re-run (or repair) never overrides
// it silently. Names the mark, the commands that finish it anyway, and the way on instead: after
// a deploy its revert, after a rollback the pool a plain rollback would choose now (`hints`; from
// the pool the rollback left, whatever it drained since). A revert to a pool marked bad or failed
// is never named as the way on: then the rollback's choice, or with none the revert with --force
// and what is wrong with its pool. Every command it names carries --break-lock where the deploy
// lock stays stale after the refusal (`lock_stale`: a dry run past a stale lock takes none).
Status check_finishing_interrupted(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                   const Intent& intent, const RollbackHints& hints, bool force,
                                   const std::vector<HistoryEvent>& history = {}, bool lock_stale = false);

// Why 'repair --revert' may not return to pool `back_to` (the one pool live before an interrupted
// switch) without --force: "is marked bad: <reason>" (with who and when where `history` has the
// mark) or "has smoke verdict 'failed'"; "" when it may, or when `pools` has no readable pool of
// that label. A rollback marks the pool it leaves bad before it switches, so reverting one usually
// needs --force: going back to a pool marked bad is a decision, as for 'rollback --to'.
std::string revert_target_problem(const std::vector<Pool>& pools, const std::string& back_to,
                                  const std::vector<HistoryEvent>& history = {});

// Refuses (`refused`, nothing changed) 'repair --revert' of the interrupted switch `intent` while
// the one pool it would return to is marked bad or failed its smoke test (revert_target_problem),
// unless `force`, as 'rollback --to' a pool marked bad is refused. Names the mark, the way on
// instead (finishing the switch when its target is fine, else the pool a plain rollback would
// choose now, `hints`) and 'repair --revert --force', each with --break-lock where the deploy
// lock stays stale after the refusal (`lock_stale`, as for check_finishing_interrupted).
Status check_reverting_interrupted(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                   const Intent& intent, const RollbackHints& hints, bool force,
                                   const std::vector<HistoryEvent>& history = {}, bool lock_stale = false);

// "ready", "standby" (ready with weight 0), "drain", "maint".
std::string member_state_name(const Member& member);

}  // namespace phoenix
