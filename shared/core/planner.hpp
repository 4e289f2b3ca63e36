#pragma once
// The pure planner: desired state plus observed state in, ordered steps out. No I/O here;
// the executor (ops/executor) applies a plan through the Balancer interface.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/balancer.hpp"
#include "shared/core/pool.hpp"
#include "shared/core/provider.hpp"
#include "shared/core/state_store.hpp"
#include "shared/util/result.hpp"

namespace phoenix {

enum class StepKind {
  add_standby,   // add new members, checked but routed nothing
  standby,       // existing members to standby: the target's drained ones, or a pool that stays hot
  wait_healthy,  // until the balancer's own checks pass for every member
  admit,         // route new traffic to them
  drain,         // stop new traffic to the old members
  wait_drained,  // until their connections are gone (bounded)
  remove,        // take them out of the balancer (the servers keep running)
  persist,       // write the membership after the switch where a restart reads it
};
const char* to_string(StepKind kind);

struct Step {
  StepKind kind = StepKind::add_standby;
  std::vector<std::string> members;   // the member names this step acts on
  std::vector<MemberSpec> additions;  // add_standby only
  // standby (of a live pool), drain and remove: the target's members, which must still be
  // admitted (and one of them up) at the moment capacity is taken away; the balancer checks it
  // atomically with the change, because a reload or a hand-made change may have undone
  // earlier steps. Empty for changes that take no capacity away.
  std::vector<std::string> keep_serving;
  // persist only: the membership the balancer must come back with after a restart. Written
  // once per switch, ahead of the runtime: just before the first step that routes to the
  // target (admit) or takes capacity away (drain, remove), once the target is verified. A
  // reload from then on comes back in the end state, which is safe to jump to; a reload
  // before it comes back as before the switch, and the executor plans again.
  std::vector<Member> membership;
};

// "add 3 members on standby: 42:1, 42:2, 42:3". A persist step is worded by `keeping`, what its
// balancer's persist() does (Balancer::keeping): "keep the new membership for restarts (3
// members)" only where it writes it. The one wording of a step: a dry run's plan words it with the
// plan's `keeping`, the real run with the balancer's answer as it runs the step, so the plan says
// what the run does.
std::string describe(const Step& step, KeepingKind keeping);

// A switch with nothing to switch whose balancer would restart routing to `restart_routes` (its
// durable copy; routed_by_phoenix), not to what it runs: "keep the running membership for restarts
// (a restart would route to 2:1 now)", or, where its persist() writes nothing (`keeping`), that the
// running membership is not kept.
std::string describe_restart_keeping(const std::vector<std::string>& restart_routes, KeepingKind keeping);

// How long one step of a switch took, as the executor measured it (for notifications).
struct StepTiming {
  std::string step;  // describe(step, ...)
  long long duration_ms = 0;
};

struct SwitchPlan {
  std::string target;
  std::vector<std::string> from;  // labels that were live, other than the target: what the switch replaces
  // Every label live now (admitted members), the target too when it is: a re-run after an
  // interrupted switch starts with the target live, so `from` alone cannot tell what is live.
  std::vector<std::string> live;
  std::vector<std::string> hot;  // labels that stay in the balancer on standby afterwards
  // Set when the target is retained off or cold: it must be woken (powered on, or restored from
  // its archive) and smoke-tested before any step runs. A cold target has no servers yet, so
  // its plan has no steps: the switch is planned again once it is woken. Never execute a plan
  // with `wake` set.
  std::optional<Tier> wake;
  std::vector<Step> steps;
  // Set by a dry run with no steps whose balancer restarts with another membership than it runs
  // (a rollback switched at runtime only, a reload): what a restart would route to now ("2:1",
  // none). The real run writes the running membership for restarts, which is then all it does;
  // unless `keeping` says its balancer writes nothing now (a rollback at runtime only).
  std::optional<std::vector<std::string>> restart_routes;
  // What the balancer's persist() does with the membership (Balancer::keeping), as ops found it
  // after its look: how the persist step and `restart_routes` are worded (describe). The planner
  // does not know it. A plan combined over several balancers has the first one's; each
  // balancer's own plan has its own.
  KeepingKind keeping = KeepingKind::written;
};

struct SwitchRequest {
  std::string target;
  bool force = false;  // deploy a pool whose smoke verdict is not passed, or that is marked bad
  // Members Phoenix did not add (a static server line, one added by hand) stay as they are.
  // Without it a backend holding such members is refused before anything changes.
  bool keep_foreign = false;
  // How many replaced or standby pools stay in the balancer on standby (retention.hot): the
  // newest usable ones, the pool being replaced first. 0 where the balancer has no standby.
  int hot = 0;
  // Pools that never stay hot, whatever `hot` says: the target of an interrupted switch being
  // reverted (repair --revert), which was never live and is abandoned; its members are removed,
  // and the pool that was on standby before it stays.
  std::vector<std::string> never_hot;
};

// A pool that can take traffic back at once: complete, powered on, smoke test passed, not
// marked bad, not a flagged rebuild.
bool usable_rollback_target(const Pool& pool);

// The steps that make `request.target` the only live pool. Invariant 1 is in the order:
// nothing old is drained before every new member is healthy and admitted. Invariant 12: only
// members Phoenix added are changed. A target that is powered off or cold gets a plan with
// `wake` set (see SwitchPlan). Errors: the target does not exist or cannot be deployed, or the
// backend holds members Phoenix did not add (`invalid`); its smoke verdict is not passed, or it
// is marked bad (`refused`, unless `force`).
Result<SwitchPlan> plan_switch(const SwitchRequest& request, const std::vector<Pool>& pools,
                               const std::vector<Member>& members);

// The steps that take a target that did not become healthy out again: only its members that
// were never admitted, so whatever served before keeps serving.
std::vector<Step> plan_revert(const std::string& target, const std::vector<Member>& members);

// What a plain rollback's choice knows besides the pools and the balancer (ops reads it).
struct RollbackHints {
  // The last deploy, rollback or repair that succeeded, as history has it: the pool it made live
  // ("" when none) and the one pool it replaced ("" when none, or several).
  std::string last_made_live;
  std::string last_replaced;
  // Pools never chosen: an automatic rollback's fallback that cannot serve.
  std::vector<std::string> excluded;
  // The deploy lock is stale (status): the deploy, rollback and repair commands a refusal names
  // carry --break-lock, which that lock needs.
  bool lock_stale = false;
  // Pools history shows never served (status, which has read it): a refusal that names one names
  // it as a deploy of an untried release, never as a rollback target. Empty when not known.
  std::vector<std::string> never_served;
};

// The hints history's last successful switch (deploy, rollback or repair) gives: the pool it made
// live, and the one pool it replaced when it replaced exactly one (its `from` names no other);
// none when there is no such switch.
RollbackHints rollback_hints_from(const std::optional<HistoryEvent>& last_switch,
                                  std::vector<std::string> excluded = {});

// Why a plain rollback chose its target.
enum class RollbackRule {
  named,          // --to
  last_replaced,  // the pool the last successful switch replaced
  newest_older,   // the newest known-good pool older than the live one
};

struct RollbackChoice {
  std::string target;
  std::string from;  // the live pool being rolled back from
  RollbackRule rule = RollbackRule::named;
};

// The rollback target: `explicit_target` when given. Else, in this order:
// 1. the pool the last successful switch replaced (`hints`), when that switch made the live pool
//    live and the pool can take traffic back (rollback_candidate_problem: known-good, not a
//    forced rebuild of a bad release, all its servers running, not all its members down);
// 2. else the newest such pool older than the live one, by creation time; of pools created at
//    the same time an UP hot standby comes first. A retained pool (powered off or cold) is one
//    too: it is woken first.
// A pool whose servers are not all running (the provider's view) is never chosen. When there is
// none, the refusal (`failed`) names the pools that were passed over and why, and the known-good
// pools newer than the live one that can serve (never chosen without --to) with the command that
// goes to one of them (ErrorCode::newer_candidates_only); with none of those either, the ways on
// (ErrorCode::no_candidate). With several pools live and every one of them marked bad, the
// target is chosen as from one: the pool the last switch replaced, when that switch made one of
// them live, else the newest such pool older than all of them (several_live_target); never a
// newer one, which may never have served. With several live otherwise, or no such pool, the
// refusal names the pools older than them to go to with --to and newer known-good ones as a deploy
// (an untried release where `hints.never_served` says so), or with none the pool 'deploy-pipeline
// repair' keeps (no_candidate).
Result<RollbackChoice> choose_rollback_target(const std::vector<Pool>& pools, const std::vector<Member>& members,
                                              const std::optional<std::string>& explicit_target,
                                              const RollbackHints& hints = {});

// The pool 'deploy-pipeline repair' keeps live of the several `live` ones: the one the last
// successful switch made live (`last_made_live`) when it is live, else the newest.
std::string repair_keeps(const std::vector<Pool>& pools, const std::vector<std::string>& live,
                         const std::string& last_made_live);

// Whether a plain rollback from the one live pool could choose `pool` (the rule
// choose_rollback_target picks from, and status judges by): it is not live nor excluded, it can
// take traffic back (rollback_candidate_problem), and it is the pool the last switch replaced
// (`hints`) or older than the live pool. Never a newer build that did not serve before the live
// one (an abandoned deploy's pool on standby). False while not exactly one readable pool is live.
bool plain_rollback_could_choose(const Pool& pool, const std::vector<Pool>& pools, const std::vector<Member>& members,
                                 const RollbackHints& hints);

// Why `pool` may not be chosen by a plain rollback ("0/3 servers running", "its 3 members are
// all down in the balancer", "marked bad", ...), or "" when it may. `members`: every balancer's.
std::string rollback_candidate_problem(const Pool& pool, const std::vector<Member>& members);

// Why `pool` cannot take traffic now whatever its verdicts ("0/3 servers running", "its 3
// members in the balancer are all down": every one's latest check failed), or "". A pool kept
// powered off or cold has none: a switch wakes it first.
std::string serving_problem(const Pool& pool, const std::vector<Member>& members);

// A switch to `pool` named by the operator (rollback --to, deploy --label): refused
// (`refused`) when its servers are powered on but none is running, with the ways out: a
// power-on that restarts them (when `can_power_on`: the provider powers pools), a rebuild, or
// `alternative` (a pool that can serve) when there is one. A pool kept powered off or cold is
// woken by the switch and passes.
Status check_target_runs(const Pool& pool, const std::optional<std::string>& alternative, bool can_power_on = false);

// The warning for a named target some of whose servers are not running, or "".
std::string partly_running_warning(const Pool& pool);

// A pool that can be rolled back to: smoke test passed, not marked bad, complete or restorable
// from its archive (a cold pool is a rollback target once woken), and not a forced rebuild of a
// bad or failed release (flagged_rebuild) until it is marked good by hand. Prune, delete and
// rollback all judge by it, so prune never keeps as a rollback target a pool rollback refuses.
bool known_good(const Pool& pool);

// A rebuild forced from a release marked bad or that failed its smoke test, not yet marked good:
// it carries that release's doubt, whatever its own smoke test said.
bool flagged_rebuild(const Pool& pool);

// What prune does with one pool: leaves it as it is, moves it down a tier, or deletes it.
enum class PruneAction { keep, power_off, archive, remove };
const char* to_string(PruneAction action);  // "keep", "power off", "archive", "delete"

struct PruneVerdict {
  std::string label;
  PruneAction action = PruneAction::keep;
  std::string why;  // "live", "hot standby", "known good, kept place 1 of retention.keep 3", "smoke test failed", ...
  bool kept() const { return action != PruneAction::remove; }
};

struct PruneDecision {
  std::vector<PruneVerdict> pools;     // every pool, newest first
  std::vector<std::string> power_off;  // the labels to power off, newest first
  std::vector<std::string> archive;    // the labels to archive (cold), newest first
  std::vector<std::string> remove;     // the labels to delete, newest first
};

// How many retained pools each tier holds, warmest first (retention.running, .off, .cold).
struct TierCounts {
  int running = 0;
  int off = 0;
  int cold = 0;
  int total() const { return running + off + cold; }
};

struct RetentionPolicy {
  int keep = 3;       // non-live pools prune keeps as they are (prune --keep, retention.keep)
  int keep_good = 2;  // known-good pools never deleted below, besides the live and hot ones
  int hot = 1;        // pools on standby that are hot (retention.hot): the newest usable ones
  // With tiers (retention.running/off/cold), the kept pools fill them newest first: the first
  // `running` stay as they are, the next `off` are powered off, the next `cold` archived.
  std::optional<TierCounts> tiers;
  // The tiers the provider has: prune never plans a move into one it lacks, and keeps the
  // known-good minimum in the coldest one it has.
  ProviderTiers available;
  // A create-pipeline run (on any agent) creates a pool and smoke-tests it within `run_bound` of
  // the pool's creation time: a pool with no smoke verdict created less than that before `now`
  // may be one a run is still working on, and prune leaves it. 0: no pool is (tests of the
  // other rules). Older pools with no verdict were left by runs that ended, and take kept
  // places or go like any other.
  WallTime now{};
  std::chrono::seconds run_bound{0};
};

// A pool prune leaves exactly as it is whatever retention says, and why: the watched pool and the
// fallback of a running watch ("fallback of a running watch until 12:03:04 UTC"). The caller
// reads the watch record; the planner only obeys.
struct ProtectedPool {
  std::string label;
  std::string why;
};

// Which pools prune keeps, moves down a tier or deletes, and why. Pools the balancer routes to
// or keeps on standby stay, and so do `protected_pools` (neither deleted nor moved down a tier;
// like live and hot pools they take no kept place and do not count towards keep_good) and pools
// with no verdict that a run may still be working on (RetentionPolicy::run_bound). The others fill the kept places
// (`keep`, or the tiers with `tiers`): known-good pools first, then pools nobody judged yet (a creation cut short, a
// smoke test not run), then pools that failed their smoke test or are marked bad (they go first); newest first within
// each. Each kept pool's `why` says its class and its place ("known good, kept place 2 of retention.keep 3"); only
// known-good pools are archived. Prune never moves a pool up a tier. Then more known-good pools
// stay, in the coldest tier the provider has when tiers are given, until `keep_good` of them are left besides the live
// and hot ones.
PruneDecision plan_prune(const std::vector<Pool>& pools, const std::vector<Member>& members,
                         const RetentionPolicy& policy, const std::vector<ProtectedPool>& protected_pools = {});

// What smart delete of `pool` must take out of the balancer first: its members that are on
// standby with no open connections. Refuses (`refused`) while any server of the pool is a
// member that takes traffic or holds connections, matched by member name or by address.
Result<std::vector<std::string>> check_deletable(const Pool& pool, const std::vector<Member>& members);

// Invariant 2 across a reload: refuses (`refused`) while the membership the balancer keeps for
// restarts (`durable`, Balancer::durable_members) routes to a server of `pool`, although the
// running balancer may not (a switch kept at runtime only): a reload would route to it again.
Status check_not_kept_for_restarts(const Pool& pool, const std::vector<Member>& durable);

// The way out of the unreadable pool `pool`: routed while check_deletable refuses it, and the
// known-good pool to make live instead (the hot standby first, else the newest), if any.
UnreadableWayOut unreadable_way_out(const Pool& pool, const std::vector<Pool>& pools,
                                    const std::vector<Member>& members);
// The known-good pool, other than `label` and the `live` ones, to make live instead of
// `label`: one of `hot` first, else the newest.
std::optional<std::string> pool_to_make_live(const std::string& label, const std::vector<Pool>& pools,
                                             const std::vector<std::string>& live, const std::vector<std::string>& hot);

// Refuses (`refused`) deleting the known-good pool `label` when that leaves fewer than
// `keep_good` known-good pools besides the live and hot ones, or, for a hot standby pool (which
// keep_good does not count), when it is the last known-good pool besides the live one: a delete
// never leaves nothing to roll back to (docs/safety.md, "Rollback targets"). --force overrides.
// Counted as prune counts them: only pools a plain rollback can go to (older than the live one);
// a newer build never deployed neither counts nor is kept.
// A live pool is no rollback target; check_deletable refuses it.
Status check_keeps_rollback_target(const std::string& label, const std::vector<Pool>& pools,
                                   const std::vector<Member>& members, int keep_good);

}  // namespace phoenix
