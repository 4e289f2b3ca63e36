#pragma once
// create-pipeline's commands as library calls: create, smoke-test, list, smart delete, prune
// and power. Each takes a plain option struct (the CLI layer builds it) and works only through
// Services, so tests run them against fakes.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/core/render.hpp"
#include "shared/core/smoke.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

struct CreateOptions {
  std::string label;
  std::optional<int> size;              // default: pool.size of the config
  std::optional<std::string> revision;  // default: the CI server's (GO_REVISION, GIT_COMMIT)
};
struct CreateResult {
  Pool pool;
  bool already_existed = false;
};
// Invariant 10: a label names one revision forever. A pool that exists with the same
// revision is reused (a re-run CI stage; an interrupted creation is completed); one with
// another revision, or with none recorded, is refused (`refused`) and left untouched.
Result<CreateResult> create_pool(Services& services, const CreateOptions& options);
// The revision create_pool records for `revision` (CreateOptions::revision): it, else the CI
// server's; "" when neither is known. A pool created without one refuses every re-run.
std::string revision_to_record(const Services& services, const std::optional<std::string>& revision);

struct RebuildOptions {
  std::string from;                  // the pool whose release to rebuild
  std::optional<std::string> label;  // default: <from>.r1, .r2, ... (the first free one)
  std::optional<int> size;           // default: the size of `from`
  // Rebuild a release that is marked bad or failed its smoke test (or is a rebuild of one not
  // marked good since): the new pool's record says so, and a plain rollback never chooses it.
  bool force = false;
};
// The same release as pool `from` (its artifact and revision) on fresh servers: for failures
// that are not the code's (a broken or compromised server, a patched base image). Never
// touches the balancer. A release that is marked bad or failed its smoke test is refused
// (`refused`, naming the mark) unless `force`.
Result<CreateResult> rebuild_pool(Services& services, const RebuildOptions& options);
// rebuild_pool in its two steps, for a caller that must know the new pool's label before the
// servers start: the spec of the pool to create (the label chosen here when not given), then
// its creation. A rebuild stopped while its servers start is finished under that label (a
// rebuild without one would choose the next free label and start another pool).
Result<PoolSpec> plan_rebuild(Services& services, const RebuildOptions& options);
Result<CreateResult> create_rebuild(Services& services, const PoolSpec& spec);

// "41.r3" when 41.r1 and 41.r2 exist (a rebuild of 41.r2 counts from 41 too).
std::string next_rebuild_label(const std::string& from, const std::vector<Pool>& pools);

// Runs the smoke checks and records the verdict on the pool. A failing check is not an error
// here: the report says so, and the caller decides the exit code after writing JUnit. A stop
// asked for meanwhile (Services::stop_requested) ends the checks after their current round and
// records no verdict (a pending one stays pending, never "passed"): the interrupted error.
Result<SmokeReport> smoke_test(Services& services, const std::string& label);

Result<PoolListing> list_pools(Services& services);

struct DeleteOptions {
  std::string label;
  bool dry_run = false;
  bool break_lock = false;
  bool force = false;  // delete even the last known-good pools (retention.keep_good)
};
// Smart delete: under the deploy lock, re-reads the balancer immediately before destroying.
// Refuses (`refused`) while any server of the pool takes traffic or holds connections, and
// when the pool is one of the last retention.keep_good known-good ones (unless `force`). A hot
// pool's idle standby members are taken out of the balancer first. SIGINT, SIGTERM and SIGHUP
// never kill it holding the lock: asked for before the destroy, the stop ends it with nothing
// changed (the interrupted error); asked for later, the destroy and its history record finish.
Status delete_pool(Services& services, const DeleteOptions& options);

struct PruneOptions {
  int keep = 3;
  // retention.running/off/cold: the kept pools move down to these tiers. Nothing: the newest
  // `keep` stay as they are (prune --keep N).
  std::optional<TierCounts> tiers;
  bool dry_run = false;
  bool break_lock = false;
};
struct PruneResult {
  PruneDecision decision;
  std::vector<std::string> powered_off;
  std::vector<std::string> archived;
  std::vector<std::string> deleted;
  std::vector<std::string> refused;  // became members between planning and acting
};
// Moves pools down the tiers first (power off, then archive), then deletes: a move that fails
// stops prune before it deletes anything. Tiers the provider lacks are refused (`invalid`).
Result<PruneResult> prune_pools(Services& services, const PruneOptions& options);

// Refused (`invalid`) when the command may take over a stale deploy lock (`may_take_over`:
// --break-lock, and no dry run) and there is no pool `label`: a command that names a pool calls
// it before taking the lock, so that one whose arguments name nothing fails before it takes
// over a stale lock (a change nobody can undo). Only a read; the command checks again under the
// lock, since the pool may vanish in between. Without a takeover the lock is taken only when
// free, and the check under it refuses and releases it.
Status check_pool_exists_before_takeover(Services& services, const std::string& label, bool may_take_over);

// Powers a pool off or on; refuses to power off a pool the balancer has (`refused`). Where the
// provider bills a stopped server like a running one (Hetzner), powering off says so. Powering
// off holds the deploy lock (`break_lock` as for delete): a switch to the pool, or a watch that
// is about to need it as its fallback, is never raced; powering on needs no lock. A stop (SIGINT,
// SIGTERM, SIGHUP) asked for before the servers are stopped ends a power-off with nothing changed
// and the lock released; asked for later, the power-off finishes.
Status set_pool_power(Services& services, const std::string& label, PowerState power, bool break_lock = false);

// How an error line says what finishes the work it left: "'<command>' finishes it", or for
// commands run one after the other "'<first>', then '<second>' finish it". The one place that
// wording is built.
std::string finishes_it(const std::vector<std::string>& commands);

// At a safe point of a command that runs under a util::InterruptScope: when SIGINT, SIGTERM or
// SIGHUP asked it to stop (Services::stop_requested), the ErrorCode::interrupted error
// "stopped by SIGHUP <where>; '<finishing_command>' finishes it" (`where` says what was done and
// what was not); ok otherwise. The caller's scoped lock is released as the error returns.
Status stop_if_requested(Services& services, const std::string& where, const std::string& finishing_command);

}  // namespace phoenix::ops
