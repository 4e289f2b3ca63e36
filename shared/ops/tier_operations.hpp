#pragma once
// The retention tiers as operations: archiving a pool to the cold tier (create-pipeline
// archive, and prune), waking a retained pool (powered off or cold) before a switch, and the
// check that a retention policy asks only for tiers the provider has. docs/hcloud.md says what
// each tier costs on Hetzner Cloud.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

struct ArchiveOptions {
  std::string label;
  bool dry_run = false;
  bool break_lock = false;
};
struct ArchiveResult {
  Archive archive;
  bool already_cold = false;
  std::size_t servers_deleted = 0;
  long long duration_ms = 0;
};
// create-pipeline archive: keeps only an image of pool `label` (a snapshot of one of its
// servers) and deletes its servers; the pool stays listed, cold, with its verdicts and
// revision. Only a known-good pool is archived (smoke test passed, not marked bad): its image is
// what a rollback wakes. Takes the deploy lock. Refused (`refused`) while the balancer has any of
// the pool's servers in any state, judged before the image is made and again once it is ready,
// immediately before a server is destroyed. No server is destroyed before the image is ready.
// SIGINT, SIGTERM and SIGHUP never kill it holding the lock: a stop asked for before the image is
// ready ends it there (the interrupted error; every server kept, an image made is used by the
// re-run); asked for later, the servers' deletion and its history record finish.
Result<ArchiveResult> archive_pool(Services& services, const ArchiveOptions& options);

// The same for a caller that holds the deploy lock (prune), for a pool it has just listed;
// `finishing_command` is what a stop names to finish the caller's work.
Result<ArchiveResult> archive_locked(Services& services, const Pool& pool, const std::string& finishing_command);

// What waking a pool from `from` is expected to take, from the last measured wake of any pool:
// "about 41.20 s (pool 38 woke from cold at 2025-06-01T10:00:00Z)", or "not measured yet".
std::string expected_wake(const std::vector<Pool>& pools, Tier from);

// Before a switch: wakes target `label` when it is retained powered off or cold (powers it on,
// or recreates its servers from its archive), checks that it came back whole and running, and
// smoke-tests it. Prints the expected wake time first; records the measured one in the pool's
// metadata and in history. False when the pool needed no waking. A pool that does not come back
// whole, or fails its smoke test, is `failed`: nothing is switched. `resume`: the switch re-runs
// an interrupted wake of this pool (its intent record says so); a pool that wake left powered on
// with its smoke verdict pending is woken again: the servers that do not run are started, and
// the smoke test runs.
Result<bool> wake_retained_pool(Services& services, const std::vector<Pool>& pools, const std::string& label,
                                bool resume = false);

// Whether a switch to `pool` wakes it first: it is retained powered off or cold, or, `resume`
// (the switch re-runs an interrupted wake of it), that wake left it powered on, readable and with
// its smoke verdict pending. What wake_retained_pool wakes, and what a switch records its intent
// to wake before calling it.
bool needs_wake(const Pool& pool, bool resume);

// A wake (or a power-on) that failed before any server of the pool ran leaves the pool as it
// was: its smoke verdict goes back to `before` (what it was until the wake set it pending), so
// a known-good pool stays a rollback target. While a server may run unchecked (one that is not
// stopped or dead, or the provider cannot say), the verdict stays pending.
void undo_pending_if_nothing_runs(Services& services, const std::string& label, SmokeVerdict before);

// `invalid` (a configuration error, at the key's line) for a tier the policy asks for that the
// provider does not have (retention.cold with the local provider). Only prune needs the tiers, so
// only prune refuses it; status reports it, and no other command stops for it (a rollback at
// 3 a.m. does not wait for a retention setting).
Status tiers_provided(const Services& services, const std::optional<TierCounts>& tiers);
// tiers_provided, and a warning where the off tier saves no money.
Status check_tiers_available(Services& services, const std::optional<TierCounts>& tiers);

}  // namespace phoenix::ops
