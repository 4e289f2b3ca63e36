#pragma once
// deploy-pipeline's switches as library calls: deploy, rollback and repair. Each takes the
// deploy lock, plans from what it observes (core/planner) and applies the plan step by step
// (SwitchExecutor), writing the intent record before every step so that a re-run after a
// crash converges.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/ops/balancer_set.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

struct DeployOptions {
  std::string label;
  bool force = false;
  bool dry_run = false;
  bool break_lock = false;
  // Watch the new pool this long after the switch (see watch_operations.hpp); on a breach,
  // mark it bad, switch back to the pool it replaced (unless that one is marked bad: then to
  // the next older known-good pool) and fail (exit 1; docs/safety.md lists how else a breach
  // ends). The replaced pool's verdict becomes good only after a clean watch.
  std::optional<std::chrono::seconds> watch;
};

// The plan of one balancer, when the service has several.
struct BalancerPlan {
  std::string balancer;
  SwitchPlan plan;
};

struct SwitchResult {
  // With several balancers: `from` and `hot` over all of them, and every balancer's steps in
  // the order they run (step-major: each kind of step in every balancer before the next).
  SwitchPlan plan;
  std::vector<BalancerPlan> balancer_plans;  // each balancer's own plan; empty with one
  bool dry_run = false;
  long long duration_ms = 0;
  std::vector<std::string> left_in_maintenance;
  // Set when the switch happened but its history record could not be written: the command
  // says so in its result, because status and repair read history.
  std::optional<std::string> history_warning;
  std::optional<long long> watched_ms;  // set after a clean watch
  // A dry run given --watch: what the watch after the switch would do ("then watch pool 2 for
  // 30 s: ..."); it is not run.
  std::optional<std::string> watch_preview;
  // The pools a rollback marked bad before it switched (the live ones it left); empty when it
  // marked none (a dry run, an interrupted rollback it finished, a marking that failed).
  std::vector<std::string> marked_bad;
  // The balancers this rollback switched at runtime only (runtime_only_balancers): a reload or
  // restart of them routes to the membership kept before (the pools in `restart_pools`) until
  // 'deploy-pipeline repair' writes it. With nothing to switch (no steps): those whose running
  // membership a restart would not come back with, and that cannot write it now.
  std::vector<std::string> runtime_only;
  // The pools the kept membership of those balancers routes to (restart_pools); empty when it
  // cannot be read.
  std::vector<std::string> restart_pools;
};

// "the membership it keeps (pool 2)": what a reload or restart of a balancer that switched at
// runtime only routes to, naming its pools (SwitchResult::restart_pools) where they are known.
std::string kept_membership_words(const std::vector<std::string>& pools);

Result<SwitchResult> deploy(Services& services, const DeployOptions& options);

struct RollbackOptions {
  std::optional<std::string> to;
  std::string reason;
  bool force = false;
  bool dry_run = false;
  bool break_lock = false;
  // Refuse (exit 3, nothing changed) unless this pool is the only live one: an alert about
  // release L can never roll back a later release.
  // A watch's rollback to the pool the watched switch replaced (`to`): that pool served until a
  // moment ago, so its smoke verdict is not asked for (as with `force`); but one marked bad
  // (before the switch or during the watch) is never gone back to: the rollback then chooses as
  // it does without `to` (the next older known-good pool), or fails.
  bool to_replaced_pool = false;
  std::optional<std::string> expect_live;
  std::optional<std::chrono::seconds> watch;
  bool automatic = false;  // started by a watch: recorded as an automatic rollback
};
Result<SwitchResult> rollback(Services& services, const RollbackOptions& options);

struct RepairOptions {
  bool dry_run = false;
  bool break_lock = false;
  // After an interrupted switch: return to the pool that was live when it started, instead
  // of finishing it.
  bool revert = false;
  // Finish an interrupted switch whose target was marked bad or failed its smoke test since it
  // started (refused without it).
  bool force = false;
};
// Finishes an interrupted deploy or rollback (or with `revert`, returns to where it started).
// Otherwise, after a reload with an older membership (restored_by_repair), makes the pool the
// last switch made live the only live one again; else makes exactly one of the pools the
// balancer routes to the live one: the one the last recorded switch made live when it is among
// them, else the newest.
Result<SwitchResult> repair(Services& services, const RepairOptions& options);

// The pool the last switch (`last`, as history has it) made live, where the balancers route
// elsewhere (`live`) because they reloaded with an older membership (a reload that read
// haproxy.cfg before the switch's last write took over after the switch ended): the membership
// each balancer restarts with (the managed block Phoenix wrote last) names exactly that one pool,
// it exists, and each such balancer runs a process that started after that switch began (its
// uptime: `balancers`' where read, else asked). Nothing otherwise: no such membership (a balancer
// durable by nature), several pools, one unreadable, or a balancer that did not reload, whose
// membership differs from its file by a change made by hand, which repair keeps as before. What
// repair then restores, with no switch pending; status names it as repair's way.
std::optional<std::string> restored_by_repair(Services& services, const std::vector<Pool>& pools,
                                              const std::vector<BalancerMembers>& balancers,
                                              const std::vector<std::string>& live,
                                              const std::optional<HistoryEvent>& last);

// Whether every one of `balancers` runs a process that started after the last switch (`last`,
// as history has it) began, as restored_by_repair judges it: it reloaded (or restarted) since,
// so what it routes to is what it reloaded with. False without `last`, or for a balancer that
// does not say how long it has been up.
bool reloaded_since_switch(Services& services, const std::vector<BalancerMembers>& balancers,
                           const std::optional<HistoryEvent>& last);

}  // namespace phoenix::ops
