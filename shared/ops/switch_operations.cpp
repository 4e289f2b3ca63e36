#include "shared/ops/switch_operations.hpp"

#include <algorithm>
#include <functional>
#include <utility>

#include "shared/core/status.hpp"
#include "shared/core/verdict_history.hpp"
#include "shared/ops/balancer_set.hpp"
#include "shared/ops/deploy_lock.hpp"
#include "shared/ops/executor.hpp"
#include "shared/ops/history_log.hpp"
#include "shared/ops/notifications.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/tier_operations.hpp"
#include "shared/ops/verdict_operations.hpp"
#include "shared/ops/watch_operations.hpp"
#include "shared/ops/watch_record.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ops {

namespace {

using util::Clock;

// One switch as the engine runs it.
struct SwitchJob {
  Operation operation = Operation::deploy;
  SwitchRequest request;
  std::string reason;  // rollback: why; recorded in history
  bool dry_run = false;
  bool automatic = false;           // a watch's rollback: recorded as auto-rollback
  bool defer_good_verdict = false;  // a watched deploy: the replaced pool is judged after the watch
  // A rollback: the pools it marks bad before it plans. Planned as bad whether or not the mark
  // was written (a dry run writes none; an automatic rollback switches back even when it could
  // not write it), so a pool rolled back from never stays hot.
  std::vector<std::string> planned_as_bad;
  bool by_repair = false;  // repair finishing another operation's switch: repair finishes it again
  // A target the operator named (deploy --label): refused before anything changes when none of
  // its servers runs (check_target_runs).
  bool named_target = false;
  // The watch that follows the switch: the command that finishes a half-done switch needs it too.
  std::optional<std::chrono::seconds> watch;
  // This switch re-runs an interrupted wake of its target (Intent::waking): the wake is resumed.
  bool resume_wake = false;
  // This switch finishes an interrupted one: the pools that one replaced (its Intent::from).
  std::vector<std::string> resumed_from;
  // An earlier pass recorded the switch as done, then found HAProxy reloaded with the old
  // membership: the pass that applies it again is the same switch, not a second one in history.
  bool success_recorded = false;
  // An earlier pass told the notifiers that this switch started: a pass that plans again is
  // the same switch, so the chat channel hears one start and one end.
  bool start_notified = false;
  // The intent of an interrupted switch pending when this command took the lock, which this
  // switch's own intent replaces: a switch the balancer refused before its first change puts it
  // back (refuse_misconfigured), so the earlier switch's record is not lost; none, it removes its own.
  std::optional<Intent> pending_before;
  // A pass of this switch completed a step that changed a running balancer (keeping the membership
  // for restarts is none): the balancer is no longer as the command found it.
  bool changed_balancer = false;
  // A rollback: the records of the pools it marked bad, as they were before. Written back when
  // the balancer refuses the switch's first change (refuse_misconfigured): a rollback that is
  // refused changes nothing. Marked before the switch all the same, so that a switch cut short
  // after its first change leaves them marked, for the command that finishes it.
  std::vector<PoolMetadata> before_marking;
};

struct Observation {
  std::vector<Pool> pools;
  std::vector<Member> members;  // every balancer's, in one list: live anywhere is live
  std::vector<BalancerMembers> balancers;
};

// The pools and every balancer. What a switch plans from reads each balancer with its instance
// (BalancerRead::snapshot, one exchange each), so a reload after this look shows as a changed
// instance at the end.
Result<Observation> observe(Services& services, BalancerRead read = BalancerRead::members) {
  PHX_TRY_ASSIGN(auto pools, services.provider.list_pools());
  PHX_TRY_ASSIGN(auto balancers, read_every_balancer(services, read));
  auto members = all_members(balancers);
  return Observation{.pools = std::move(pools), .members = std::move(members), .balancers = std::move(balancers)};
}

// What a plain rollback's choice reads from history: the last successful switch, what it made
// live and the one pool it replaced. Unreadable history counts as none.
RollbackHints rollback_hints(Services& services, std::vector<std::string> excluded = {}) {
  return rollback_hints_from(last_successful_switch(services), std::move(excluded));
}

// A deploy of a pool marked bad is refused before anything changes (--force overrides it, as
// for 'rollback --to'), naming who marked it, when and why, as history has it. The planner
// refuses it too (without who and when); this check, on the switch's own look at the pools, is
// for the words. History is read only for a refusal. `way_on` follows the mark: what else to do.
Status check_not_marked_bad(Services& services, const std::vector<Pool>& pools, const std::string& label,
                            const std::string& way_on = "deploy it anyway with --force") {
  const Pool* pool = find_pool(pools, label);
  if (pool == nullptr || !pool->readable() || pool->meta.verdict != LiveVerdict::bad) return {};
  const auto history = services.state.read_history();  // only on a refusal: it can be long
  const auto mark = history ? bad_mark_of(history->events, label) : std::nullopt;
  return Error{ErrorKind::refused, "pool " + label + " is " + describe_bad_mark(*pool, mark) + "; " + way_on +
                                       ", or clear the mark first with 'deploy-pipeline mark-good --label " + label +
                                       "'"};
}

// Finishing the interrupted switch `interrupted` (a re-run, or repair): refused unless `force`
// while its target was marked bad or failed its smoke test since it started
// (check_finishing_interrupted), judged on `observation`, the look the switch then plans from.
// History is read only for a refusal, for who marked it and when. The commands it names carry
// --break-lock where the lock stays stale (`lock`: a dry run past a stale one).
Status check_finishing(Services& services, const Observation& observation, const Intent& interrupted, bool force,
                       const LockScope& lock) {
  if (force || interrupted_target_problem(observation.pools, interrupted).empty()) return {};
  const auto history = services.state.read_history();
  return check_finishing_interrupted(observation.pools, observation.members, interrupted, rollback_hints(services),
                                     force, history ? history->events : std::vector<HistoryEvent>{}, lock.left_stale);
}

// A named target with no server running is refused before anything is marked or changed, with
// the pool a plain rollback would choose instead (if any); one with some servers not running
// goes ahead with a warning. The target is judged first: the alternative, which reads the last
// switch from history (a file, an etcd round trip), is chosen only for a refusal.
Status check_named_target_runs(Services& services, const Observation& observation, const std::string& target) {
  const Pool* pool = find_pool(observation.pools, target);
  if (pool == nullptr) return {};
  const auto live = live_labels(observation.members);
  if (std::find(live.begin(), live.end(), target) != live.end()) return {};
  const bool off_tier = services.provider.tiers().off;
  if (!check_target_runs(*pool, std::nullopt, off_tier).ok()) {
    std::optional<std::string> alternative;
    if (auto other = choose_rollback_target(observation.pools, observation.members, std::nullopt,
                                            rollback_hints(services, {target}))) {
      alternative = other->target;
    }
    return check_target_runs(*pool, alternative, off_tier);
  }
  if (const auto warning = partly_running_warning(*pool); !warning.empty()) services.reporter.warning(warning);
  return {};
}

// One balancer's part of a switch: its own plan, from its own members, and how far it got.
struct BalancerRun {
  BalancerEntry entry;
  std::string instance_at_start;
  SwitchPlan plan;
};

// A step of one balancer's plan, in the order the switch runs them.
struct ScheduledStep {
  std::size_t balancer = 0;
  std::size_t step = 0;
};

// Step-major order: each kind of step runs in every balancer before the next kind starts, so
// the new members passed every balancer's own check before any balancer routes to them, and
// every balancer routes to them before any drains the old ones. Each plan keeps its own order
// (the kinds are walked in the planner's order, repeatedly, taking each balancer's next step
// when it is of that kind).
std::vector<ScheduledStep> step_major(const std::vector<BalancerRun>& runs) {
  static constexpr StepKind kOrder[] = {StepKind::add_standby, StepKind::standby,      StepKind::wait_healthy,
                                        StepKind::persist,     StepKind::admit,        StepKind::standby,
                                        StepKind::drain,       StepKind::wait_drained, StepKind::persist,
                                        StepKind::remove,      StepKind::persist};
  std::vector<std::size_t> next(runs.size(), 0);
  std::vector<ScheduledStep> order;
  bool progressed = true;
  while (progressed) {
    progressed = false;
    for (const StepKind kind : kOrder) {
      for (std::size_t b = 0; b < runs.size(); ++b) {
        const auto& steps = runs[b].plan.steps;
        if (next[b] < steps.size() && steps[next[b]].kind == kind) {
          order.push_back({b, next[b]++});
          progressed = true;
        }
      }
    }
  }
  // A plan in an order the walk does not know keeps its own order, after the others.
  for (std::size_t b = 0; b < runs.size(); ++b) {
    while (next[b] < runs[b].plan.steps.size()) order.push_back({b, next[b]++});
  }
  return order;
}

void add_unique(std::vector<std::string>& to, const std::vector<std::string>& labels) {
  for (const auto& label : labels) {
    if (std::find(to.begin(), to.end(), label) == to.end()) to.push_back(label);
  }
}

// The switch as one plan: `from` and `hot` over every balancer, the steps in `order`.
SwitchPlan combined_plan(const std::string& target, const std::vector<BalancerRun>& runs,
                         const std::vector<ScheduledStep>& order) {
  SwitchPlan plan;
  plan.target = target;
  if (!runs.empty()) plan.keeping = runs.front().plan.keeping;
  for (const auto& run : runs) {
    add_unique(plan.from, run.plan.from);
    add_unique(plan.live, run.plan.live);
    add_unique(plan.hot, run.plan.hot);
    if (!plan.wake) plan.wake = run.plan.wake;
    if (run.plan.restart_routes) {
      if (!plan.restart_routes) plan.restart_routes.emplace();
      add_unique(*plan.restart_routes, *run.plan.restart_routes);
    }
  }
  for (const auto& scheduled : order) plan.steps.push_back(runs[scheduled.balancer].plan.steps[scheduled.step]);
  return plan;
}

// How one plan-and-execute pass ended: with the switch's result, or with the balancer having
// changed under it (a reload, a hand-made change), so that planning again from what it has
// now is the way on.
enum class PassEnd { finished, plan_again };
struct Pass {
  PassEnd end = PassEnd::finished;
  Result<SwitchResult> result;
  // plan_again after the switch was recorded as done (history, intent cleared): a reload
  // brought back an older membership as it ended.
  bool success_recorded = false;
};
Pass finished(Result<SwitchResult> result) { return {PassEnd::finished, std::move(result)}; }
Pass plan_again(Error error) { return {PassEnd::plan_again, std::move(error)}; }
Pass plan_again_recorded(Error error) { return {PassEnd::plan_again, std::move(error), true}; }

// Confirms, before a durable write (the intent record, history, a verdict, the balancer's
// membership), that this process still holds the deploy lock: a switch whose lock was taken
// over must write nothing more, or it would undo what the new holder did (an intent written
// now would have status and repair "finish" the abandoned switch). `refused` with
// ErrorCode::lock_held when it was lost (exit 3).
Status still_holding_lock(Services& services) { return services.state.keep_lock(make_holder(services, std::string())); }

// The end of a switch that lost its deploy lock: nothing more is written (no history, no intent);
// the new holder, named in `lost`, decides what happens next.
Pass stop_without_lock(const SwitchJob& job, const Error& lost) {
  return finished(lost.context(std::string(to_string(job.operation)) + " of pool " + job.request.target));
}

// The pools the membership kept for restarts routes to, in the balancers that switch at runtime
// only now: what a reload or restart of them brings back. Empty where it cannot be read.
std::vector<std::string> restart_pools(Services& services) {
  std::vector<std::string> pools;
  for (const auto& entry : balancers_of(services)) {
    if (!entry.balancer->keeping().runtime_only()) continue;
    const auto kept = entry.balancer->durable_members();
    if (kept && kept->has_value()) add_unique(pools, live_labels(**kept));
  }
  return pools;
}

}  // namespace

std::string kept_membership_words(const std::vector<std::string>& pools) {
  return "the membership it keeps" + (pools.empty() ? std::string() : " (pool " + util::join(pools, ", ") + ")");
}

namespace {

// "; at runtime only in balancer edge-a: ...": what a rollback switched at runtime only (in
// `balancers`, as runtime_only_balancers names them) leaves: a reload or restart routes to the
// membership kept before, the pools `pools` (restart_pools).
std::string runtime_only_words(const std::vector<std::string>& balancers, const std::vector<std::string>& pools) {
  return "; at runtime only in " + util::join(balancers, ", ") + ": a reload or restart of it routes to " +
         kept_membership_words(pools) + " until 'deploy-pipeline repair' writes it";
}

// What undoes a rollback at runtime only, as its warnings end.
constexpr const char* kWriteThenRepair =
    "fix balancer.config_file (make its directory writable, or point it at a writable one), then run "
    "'deploy-pipeline repair' to keep it";

// The warning of each balancer that switches at runtime only (Balancer::keeping, with its reason),
// as the rollback starts switching, or as what the real run would do for a dry run: every
// rollback that does, a second one in the same process too (a watch's automatic rollback after a
// rollback --watch). A rollback refused before it switched says nothing of it: it switched
// nothing; nor does one with nothing to switch (warn_running_not_kept).
void say_runtime_only(Services& services, bool dry_run) {
  const std::string what = dry_run ? "; the real rollback would switch at runtime only: a HAProxy reload or restart "
                                     "would undo it"
                                   : "; rolling back at runtime only: a HAProxy reload or restart undoes this rollback";
  const std::string until = dry_run ? "" : " ('deploy-pipeline status' reports it until then)";
  for (const auto& entry : balancers_of(services)) {
    const auto keeping = entry.balancer->keeping();
    if (!keeping.runtime_only()) continue;
    services.reporter.warning(entry.prefix() + keeping.why + what + " until the membership is written; " +
                              kWriteThenRepair + until);
  }
}

// A rollback with nothing to switch (its target is already the only live pool) whose balancer
// restarts routing to `restart_routes`, not to what it runs, and cannot write the running
// membership now (Balancer::keeping: runtime_only): the real run and its dry run say the same,
// what is true now. Nothing is switched, the running membership is not kept for restarts, and
// what keeps it. Returns whether it warned.
bool warn_running_not_kept(Services& services, const BalancerEntry& entry,
                           const std::optional<std::vector<std::string>>& restart_routes) {
  if (!restart_routes) return false;
  const auto keeping = entry.balancer->keeping();
  if (!keeping.runtime_only()) return false;
  services.reporter.warning(entry.prefix() + keeping.why + "; nothing to switch, and " +
                            describe_restart_keeping(*restart_routes, keeping.kind) + " until it is written; " +
                            kWriteThenRepair);
  return true;
}

std::optional<std::string> record_switch(Services& services, const SwitchJob& job, const std::vector<std::string>& from,
                                         HistoryResult result, long long duration_ms, const std::string& detail,
                                         const std::vector<StepTiming>& steps = {}) {
  const auto action = job.automatic ? HistoryAction::auto_rollback : history_action(job.operation);
  HistoryEvent event = new_event(services, action, job.request.target, result);
  event.from = util::join(from, ",");
  event.duration_ms = duration_ms;
  event.detail = detail;
  return record_history(services, event, steps);
}

// The history detail of a switch that succeeded: its reason, and what it left at runtime only
// (SwitchResult::runtime_only: the balancers whose running membership a restart would not come
// back with, and the pools it would come back with). A balancer that merely cannot write its file, but
// whose file already routes to what runs, left nothing at runtime only.
std::string succeeded_detail(const std::string& reason, const SwitchResult& result) {
  return result.runtime_only.empty() ? reason : reason + runtime_only_words(result.runtime_only, result.restart_pools);
}

// A retained target, powered off or cold (only its archive kept), is woken and smoke-tested
// before it may take traffic (ops/tier_operations: the expected wake time is printed first and
// the measured one recorded); the observation is then taken again, so the switch is planned
// from the servers that now exist.
//
// Before the wake, the switch's intent record says so (Intent::waking: no steps yet), so a wake
// cut short (a killed agent) is named by status and resumed by the same command. A wake that
// failed leaves it only while the target's smoke verdict is still pending (its servers may run
// unchecked): that is what a re-run resumes; otherwise nothing is left to finish.
Status wake_if_powered_off(Services& services, const SwitchJob& job, Observation& observation) {
  const std::string& label = job.request.target;
  const Pool* pool = find_pool(observation.pools, label);
  if (pool == nullptr || !needs_wake(*pool, job.resume_wake)) return {};
  // The waking intent is a durable write: only while this switch still holds the lock (F30). A
  // switch that wakes nothing does not ask here.
  PHX_TRY(still_holding_lock(services));
  const Intent waking{.operation = job.operation,
                      .target = label,
                      .from = live_labels(observation.members),
                      .reason = job.reason,
                      .by = make_holder(services, std::string(to_string(job.operation)) + " " + label),
                      .started_at = services.clock.wall_now(),
                      .current = "waking pool " + label + " (" + to_string(pool->tier()) + ")"};
  PHX_TRY(services.state.write_intent(waking));
  auto woken = wake_retained_pool(services, observation.pools, label, job.resume_wake);
  if (!woken) {
    const auto pools = services.provider.list_pools();
    const Pool* after = pools ? find_pool(*pools, label) : nullptr;
    if (after != nullptr && after->readable() && after->meta.smoke != SmokeVerdict::pending) {
      if (auto cleared = services.state.clear_intent(); !cleared.ok()) {
        services.reporter.warning("could not remove the intent record of the failed wake: " + cleared.error().message);
      }
    }
    return woken.error();
  }
  // Woken and smoke-tested: nothing is left to resume, whether or not the switch that follows
  // gets as far as its own intent record.
  PHX_TRY(services.state.clear_intent());
  if (!*woken) return {};
  PHX_TRY_ASSIGN(observation, observe(services));
  return {};
}

Status mark_replaced_pools_good(Services& services, const Observation& observation, const SwitchPlan& plan) {
  for (const auto& label : plan.from) {
    const Pool* pool = find_pool(observation.pools, label);
    if (pool == nullptr || pool->meta.verdict != LiveVerdict::unknown) continue;
    PoolMetadata meta = pool->meta;
    give_verdict(services, meta, LiveVerdict::good, "served until pool " + plan.target + " replaced it");
    PHX_TRY(services.provider.update_metadata(meta));
  }
  return {};
}

ExecutorOptions executor_options(const Services& services, const BalancerEntry& entry) {
  return {.health_timeout = entry.settings->health_timeout,
          .drain_timeout = entry.settings->drain_timeout,
          .stop_requested = services.stop_requested,
          .message_prefix = entry.prefix()};
}

// 'deploy-pipeline repair --revert' back to `label`, the one pool live before a switch, as the
// operator must run it: with --force where that pool is marked bad or failed its smoke test (a
// rollback marks the pool it leaves bad before it switches), since repair --revert refuses it
// otherwise; `problem` then says why ("is marked bad: ...").
struct RevertWords {
  std::string command;
  std::string problem;
};
RevertWords revert_words(const std::vector<Pool>& pools, const std::string& label) {
  std::string problem = revert_target_problem(pools, label);
  return {"deploy-pipeline repair --revert" + std::string(problem.empty() ? "" : " --force"), std::move(problem)};
}

// Where a switch stopped early leaves the service, in words, and the ways on from there.
std::string stopped_state(const SwitchJob& job, const SwitchPlan& plan, const std::vector<Pool>& pools,
                          std::size_t steps_done) {
  bool admitted = false;
  bool draining = false;
  for (std::size_t i = 0; i < steps_done && i < plan.steps.size(); ++i) {
    admitted = admitted || plan.steps[i].kind == StepKind::admit;
    draining = draining || plan.steps[i].kind == StepKind::drain;
  }
  const std::string& target = job.request.target;
  const std::string old = plan.from.empty() ? std::string("nothing") : util::join(plan.from, ", ");
  std::string state = draining   ? "pool " + target + " serves and " + old + " is draining"
                      : admitted ? "pools " + target + " and " + old + " both serve"
                                 : old + " still serves and pool " + target + " is not routed to";
  std::string ways = "'deploy-pipeline repair' finishes the " + std::string(to_string(job.operation));
  if (plan.from.size() == 1) {
    const auto revert = revert_words(pools, plan.from.front());
    ways += "; '" + revert.command + "' returns to pool " + plan.from.front() +
            (revert.problem.empty() ? "" : ", which " + revert.problem);
  }
  return state + "; " + ways;
}

// The command that finishes a switch this job left half done (its intent record stays): the same
// command again where a re-run finds the intent and finishes it (a deploy; a rollback by hand,
// which finishes the interrupted rollback with or without --to; repair), else 'deploy-pipeline
// repair': after a watch's automatic rollback, re-running the watched command would deploy the
// breached pool again, and re-running 'repair --revert' would revert the revert.
std::string finish_command(const SwitchJob& job) {
  if (job.automatic || job.by_repair || job.operation == Operation::repair) return "deploy-pipeline repair";
  const std::string watch = job.watch ? " --watch " + std::to_string(job.watch->count()) + "s" : "";
  if (job.operation == Operation::rollback) return "deploy-pipeline rollback" + watch;
  return "deploy-pipeline deploy --label " + job.request.target + (job.request.force ? " --force" : "") + watch;
}

// How to finish a switch that stopped half done because of `why`: a lost deploy lock is someone
// else's until it is free again.
std::string how_to_finish(const SwitchJob& job, const Error& why) {
  return finishes_it({finish_command(job)}) +
         (why.is(ErrorCode::lock_held)
              ? " once the deploy lock is free ('deploy-pipeline status' names its holder, if any)"
              : "");
}

// Whether every balancer shows exactly the target live after the last step. When one reloaded
// during the switch, the reload gets time to settle before the last look: a reload that read
// its config file mid-switch comes up with the membership of a moment earlier.
// `seen` receives each balancer's instance as this look found it.
Result<bool> end_state_holds(Services& services, const std::string& target,
                             const std::vector<std::string>& target_members, const std::vector<BalancerRun>& runs,
                             std::vector<std::string>& seen) {
  constexpr std::chrono::milliseconds kSettle{1000};
  bool reloaded = false;
  std::vector<std::vector<Member>> last_look;
  seen.clear();
  for (const auto& run : runs) {
    auto snapshot = run.entry.balancer->snapshot();
    if (!snapshot) return run.entry.name_in(snapshot.error());
    seen.push_back(snapshot->instance);
    if (snapshot->instance != run.instance_at_start) {
      services.reporter.step(run.entry.prefix() +
                             "the balancer restarted or reloaded during the switch; checking again in " +
                             util::format_duration_ms(kSettle.count()));
      reloaded = true;
    }
    last_look.push_back(std::move(snapshot->members));
  }
  if (reloaded) {
    services.clock.sleep_for(kSettle);
    for (std::size_t i = 0; i < runs.size(); ++i) {
      auto members = runs[i].entry.balancer->members();
      if (!members) return runs[i].entry.name_in(members.error());
      last_look[i] = std::move(*members);
    }
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (!only_live(target, target_members, last_look[i])) {
      if (runs[i].entry.named)
        services.reporter.warning(runs[i].entry.prefix() + "pool " + target + " is not the only live pool");
      return false;
    }
  }
  return true;
}

std::vector<std::string> target_member_names(const Observation& observation, const std::string& target) {
  std::vector<std::string> names;
  for (const auto& server : find_pool(observation.pools, target)->servers) {
    names.push_back(member_name(target, server.id));
  }
  return names;
}

// What a restart of `balancer` would route to, when that is not what it routes to now
// (`running`): the membership a switch with nothing to switch still writes for restarts.
// Nothing when they agree, or when the balancer keeps no separate copy or it cannot be read.
std::optional<std::vector<std::string>> unkept_routes(Balancer& balancer, const std::vector<Member>& running) {
  auto durable = balancer.durable_members();
  if (!durable || !durable->has_value()) return std::nullopt;
  auto kept = routed_by_phoenix(**durable);
  if (kept == routed_by_phoenix(running)) return std::nullopt;
  return kept;
}

// A dry run with nothing to switch in any balancer: the balancers whose real run would still
// write the running membership for restarts (finish_without_steps) say so in their plans, so
// the dry run does not read "nothing to do" where the real run rewrites a file.
void note_unkept_membership(Services& services, const Observation& observation, std::vector<BalancerRun>& runs) {
  for (const auto& run : runs) {
    if (!run.plan.steps.empty() || run.plan.wake) return;
  }
  for (std::size_t i = 0; i < runs.size(); ++i) {
    runs[i].plan.restart_routes = unkept_routes(*runs[i].entry.balancer, observation.balancers[i].members);
    warn_running_not_kept(services, runs[i].entry, runs[i].plan.restart_routes);
  }
}

// Nothing left to do may mean this command (an earlier attempt, or the interrupted run it
// re-runs) did the work: then it is a switch that succeeded, and history says so (before the
// intent goes, so a crash in between repeats the record rather than losing it). An intent
// record that cannot be read is replaced: the balancer shows the switch is done.
Pass finish_without_steps(Services& services, const SwitchJob& job, const Observation& observation, SwitchResult result,
                          long long elapsed_ms) {
  services.reporter.step("pool " + job.request.target + " is the only live pool" +
                         (observation.balancers.size() > 1 ? " in every balancer" : "") + "; nothing to switch");
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  for (const auto& balancer : observation.balancers) {
    const auto unkept = unkept_routes(*balancer.entry.balancer, balancer.members);
    if (auto persisted = balancer.entry.balancer->persist(balancer.members); !persisted.ok()) {
      return finished(balancer.entry.name_in(persisted.error()));
    }
    if (warn_running_not_kept(services, balancer.entry, unkept)) {
      result.runtime_only.push_back(balancer_words(balancer.entry));
    } else if (unkept && !unkept_routes(*balancer.entry.balancer, balancer.members)) {  // said once written
      services.reporter.step(balancer.entry.prefix() +
                             "kept the running membership for restarts (a restart would have routed to " +
                             (unkept->empty() ? std::string("no member") : util::join(*unkept, ", ")) + ")");
    }
  }
  if (!result.runtime_only.empty()) result.restart_pools = restart_pools(services);
  auto pending = services.state.read_intent();
  if (!pending) services.reporter.warning("removing an unreadable intent record: " + pending.error().message);
  if (pending && pending->has_value() && (*pending)->target == job.request.target) {
    result.history_warning = record_switch(services, job, (*pending)->from, HistoryResult::succeeded, elapsed_ms,
                                           succeeded_detail(job.reason, result));
  } else if (const auto last = services.state.last_switch();
             last && last->has_value() && (*last)->label != job.request.target) {
    // History names another pool as made live: a switch whose record could not be written (a
    // full disk), or a change by hand. This run records what the balancer shows, as status
    // advises ("'deploy --label <routed>' records it").
    result.history_warning = record_switch(
        services, job, {(*last)->label}, HistoryResult::succeeded, elapsed_ms,
        succeeded_detail(job.reason.empty() ? "recorded: history named pool " + (*last)->label : job.reason, result));
  }
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  if (auto cleared = services.state.clear_intent(); !cleared.ok()) return finished(cleared.error());
  return finished(std::move(result));
}

// Invariant 1: a target that did not become healthy is taken out again; whatever served
// before keeps serving.
// With several balancers the target is taken out of every one of them: in each, its members
// that were never admitted (none is, in a switch that starts from the old pool: admitting waits
// for every balancer's check), so whatever serves in each keeps serving. One that cannot be
// reverted does not keep the others from it.
Status revert_everywhere(Services& services, const std::string& target, const std::vector<BalancerRun>& runs) {
  std::optional<Error> first_failure;
  for (const auto& run : runs) {
    auto members = run.entry.balancer->members();
    if (!members) {
      if (!first_failure) first_failure = run.entry.name_in(members.error());
      continue;
    }
    SwitchExecutor executor(*run.entry.balancer, services.clock, services.reporter,
                            executor_options(services, run.entry));
    const auto revert = executor.run(plan_revert(target, *members), {});
    if (!revert.status.ok() && !first_failure) first_failure = run.entry.name_in(revert.status.error());
  }
  if (first_failure) return *first_failure;
  return {};
}

// The revert after a health timeout stopped (a signal at its safe point, e.g. a SIGTERM that
// waited while the process was stopped; a balancer that failed): the intent stays, so status
// reports the switch as interrupted; history records it while the lock is still this switch's;
// the error names what finishes it: 'repair --revert' returns to the one pool live before.
Pass revert_stopped(Services& services, const SwitchJob& job, const SwitchPlan& plan, const std::vector<Pool>& pools,
                    const Error& why, const Error& stop, long long elapsed_ms) {
  const std::string& target = job.request.target;
  const std::string stopped = "taking pool " + target + " out again after the health timeout stopped: " + stop.message;
  if (still_holding_lock(services).ok()) {
    record_switch(services, job, plan.from, HistoryResult::interrupted, elapsed_ms, why.message + "; " + stopped);
  }
  std::string finish = finishes_it({"deploy-pipeline repair"});
  if (plan.from.size() == 1) {
    const auto revert = revert_words(pools, plan.from.front());
    finish = finishes_it({revert.command}) + " (pool " + plan.from.front() + " serves alone again" +
             (revert.problem.empty() ? "" : "; it " + revert.problem) + ")";
  }
  return finished(Error{stop.kind,
                        std::string(to_string(job.operation)) + " of pool " + target + ": " + why.message + "; " +
                            stopped + "; pool " + target + " may still be in the balancer; " + finish,
                        stop.code});
}

Pass revert_unhealthy(Services& services, const std::vector<BalancerRun>& runs, const SwitchJob& job,
                      const SwitchPlan& plan, const std::vector<Pool>& pools, const Error& why, long long elapsed_ms) {
  const std::string& target = job.request.target;
  services.reporter.warning(why.message);
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  services.reporter.step("taking pool " + target + " out again" + (runs.size() > 1 ? " in every balancer" : "") +
                         "; the previous pool keeps serving");
  if (auto reverted = revert_everywhere(services, target, runs); !reverted.ok()) {
    return revert_stopped(services, job, plan, pools, why, reverted.error(), elapsed_ms);
  }
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  record_switch(services, job, plan.from, HistoryResult::failed, elapsed_ms, why.message);
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  if (auto cleared = services.state.clear_intent(); !cleared.ok()) return finished(cleared.error());
  return finished(Error{
      ErrorKind::failed,
      "pool " + target + " did not become healthy: " + why.message + "; it was taken out again and " +
          (plan.from.empty() ? std::string("nothing else was live") : util::join(plan.from, ", ") + " still serves")});
}

// The balancer refused this switch's first change as configured wrong (a backend whose `balance`
// takes no servers at runtime, a backend that is not there): nothing in any balancer changed,
// and no re-run can finish the switch until the configuration is fixed. Its intent goes (an
// interrupted switch pending before it gets its own back), so status does not report this one as
// a switch to finish; history records the refusal.
// The steps before the refused one may only have kept the new membership for restarts (a target
// on standby is kept before it is admitted): the running balancer did not change.
bool refused_before_any_change(const SwitchJob& job, const SwitchOutcome& outcome) {
  return !outcome.status.ok() && outcome.status.error().kind == ErrorKind::invalid && !job.changed_balancer;
}

// Whether the first `done` steps of `plan` changed a running balancer: any but keeping the
// membership for restarts and the waits (a cold rollback waits for its target's health first).
bool changed_running(const SwitchPlan& plan, std::size_t done) {
  return std::any_of(plan.steps.begin(), plan.steps.begin() + static_cast<long>(std::min(done, plan.steps.size())),
                     [](const Step& step) {
                       return step.kind != StepKind::persist && step.kind != StepKind::wait_healthy &&
                              step.kind != StepKind::wait_drained;
                     });
}

// A switch refused after it kept the new membership for restarts takes that back: each balancer
// keeps the membership it runs, as the look found it, so a reload does not make the refused switch.
// Whether every balancer did; one that could not is a warning, and the switch is left to finish.
bool restarts_as_running(Services& services, const Observation& observation, std::size_t done) {
  if (done == 0) return true;
  for (const auto& balancer : observation.balancers) {
    if (auto kept = balancer.entry.balancer->persist(balancer.members); !kept.ok()) {
      services.reporter.warning(balancer.entry.prefix() +
                                "could not take back the membership kept for restarts: " + kept.error().message);
      return false;
    }
  }
  return true;
}

// The verdicts a rollback the balancer refused had given (SwitchJob::before_marking), as they
// were. Last, after its intent went: a crash before leaves the pools marked, as the rollback would.
// A record that cannot be written back is a warning with the command that clears the mark.
void unmark_refused(Services& services, const SwitchJob& job) {
  for (const auto& meta : job.before_marking) {
    if (auto restored = services.provider.update_metadata(meta); !restored.ok()) {
      services.reporter.warning("pool " + meta.label + " stays marked bad (" + restored.error().message +
                                "); clear the mark with 'deploy-pipeline mark-good --label " + meta.label + "'");
      continue;
    }
    services.reporter.step("pool " + meta.label + " is no longer marked bad: the rollback changed nothing");
  }
}

// History records the switch as refused, as it changed nothing: a deploy, repair and rollback
// alike (a rollback marked nothing in the end; verdict_history does not take a refused rollback
// for a mark).
// `live`: the pools the balancers route to, as the look this switch planned from found them (the
// refusal says they still serve; a resumed switch's `plan.from` also names pools it had drained).
Pass refuse_misconfigured(Services& services, const SwitchJob& job, const SwitchPlan& plan,
                          const std::vector<std::string>& live, const Error& why, long long elapsed_ms) {
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  record_switch(services, job, plan.from, HistoryResult::refused, elapsed_ms, why.message);
  const Status put_back =
      job.pending_before ? services.state.write_intent(*job.pending_before) : services.state.clear_intent();
  if (!put_back.ok()) return finished(put_back.error());
  unmark_refused(services, job);
  const std::string serving = live.empty()       ? std::string("nothing is live")
                              : live.size() == 1 ? live.front() + " still serves"
                                                 : util::join(live, ", ") + " still serve";
  return finished(Error{ErrorKind::invalid, std::string(to_string(job.operation)) + " of pool " + job.request.target +
                                                ": " + why.message + "; the balancer was not changed (" + serving +
                                                "); run the same command again once the configuration is fixed"});
}

// A switch that finishes an interrupted one replaces what that one replaced: a pool its steps
// already drained or removed is no longer live, yet its intent, history and so the rollback rule
// ("the pool the last switch replaced") must still name it.
void add_resumed_from(SwitchPlan& plan, const SwitchJob& job) {
  for (const auto& label : job.resumed_from) {
    if (label != plan.target && !has_label(plan.from, label)) plan.from.push_back(label);
  }
}

Intent new_intent(const Services& services, const SwitchJob& job, const SwitchPlan& plan) {
  return Intent{.operation = job.operation,
                .target = job.request.target,
                .from = plan.from,
                .reason = job.reason,
                .by = make_holder(services, std::string(to_string(job.operation)) + " " + job.request.target),
                .started_at = services.clock.wall_now(),
                .steps = static_cast<int>(plan.steps.size())};
}

// The intent's words for the step in progress. With several balancers: which balancer, and
// how far each one got ("balancer haproxy-2: route traffic to ...; done: haproxy-1 4 of 7,
// haproxy-2 3 of 7"), so status and the operator see which balancers finished which step.
std::string step_in_progress(const std::vector<BalancerRun>& runs, const std::vector<std::size_t>& done,
                             const BalancerRun& run, const Step& step) {
  if (!run.entry.named) return describe(step, run.plan.keeping);
  std::vector<std::string> progress;
  for (std::size_t b = 0; b < runs.size(); ++b) {
    progress.push_back(runs[b].entry.name + " " + std::to_string(done[b]) + " of " +
                       std::to_string(runs[b].plan.steps.size()));
  }
  return run.entry.prefix() + describe(step, run.plan.keeping) + "; done: " + util::join(progress, ", ");
}

// The steps of every balancer in `order`, each recorded in the intent before it runs. The
// first step that fails ends the run, its error naming its balancer.
SwitchOutcome execute(Services& services, std::vector<BalancerRun>& runs, const std::vector<ScheduledStep>& order,
                      Intent& intent) {
  SwitchOutcome total;
  std::vector<std::size_t> done(runs.size(), 0);
  for (std::size_t index = 0; index < order.size(); ++index) {
    const auto& run = runs[order[index].balancer];
    const Step& step = run.plan.steps[order[index].step];
    SwitchExecutor executor(*run.entry.balancer, services.clock, services.reporter,
                            executor_options(services, run.entry));
    auto outcome = executor.run({step}, [&](std::size_t /*only*/, const Step& /*same*/) -> Status {
      if (services.before_switch_step) services.before_switch_step(index);
      PHX_TRY(services.state.keep_lock(intent.by));
      intent.step = static_cast<int>(index);
      intent.current = step_in_progress(runs, done, run, step);
      return services.state.write_intent_progress(intent);
    });
    for (auto& timing : outcome.timings)
      total.timings.push_back({run.entry.prefix() + timing.step, timing.duration_ms});
    add_unique(total.left_in_maintenance, outcome.left_in_maintenance);
    if (!outcome.status.ok()) {
      total.status = run.entry.name_in(outcome.status.error());
      total.unhealthy = outcome.unhealthy;
      total.balancer_changed = outcome.balancer_changed;
      return total;
    }
    ++done[order[index].balancer];
    total.steps_done = index + 1;
  }
  return total;
}

// The last look before success is printed: a reload whose new process read the configuration
// before the switch's last write may take over the socket only after the end state was
// checked (HAProxy's start-up takes 100 to 400 ms on a loaded machine). A balancer whose
// instance changed since `seen` must route to the target alone; whether it does, or the
// balancer that does not. The instance alone is read while it did not change (HAProxy: one
// 'show info'), so the look costs a switch one round trip per balancer and no wait; where it
// changed, its members too (no file is read: the pass that plans again judges the managed block).
Result<std::optional<std::string>> changed_since(Services& services, const std::string& target,
                                                 const std::vector<std::string>& target_members,
                                                 const std::vector<BalancerRun>& runs,
                                                 const std::vector<std::string>& seen) {
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto instance = runs[i].entry.balancer->instance();
    if (!instance) return runs[i].entry.name_in(instance.error());
    if (*instance == seen[i]) continue;
    auto members = runs[i].entry.balancer->members();
    if (!members) return runs[i].entry.name_in(members.error());
    if (only_live(target, target_members, *members)) continue;
    services.reporter.warning(runs[i].entry.prefix() + "the balancer reloaded as the switch ended and routes to " +
                              util::join(live_labels(*members), ", ") + ", not pool " + target +
                              "; applying the switch again");
    return std::optional<std::string>(runs[i].entry.prefix() + "the balancer reloaded with an older membership");
  }
  return std::optional<std::string>{};
}

// Everything after the last step: the end state is verified, then recorded, then confirmed
// against the balancer instance answering now.
Pass conclude(Services& services, const SwitchJob& job, const Observation& observation, SwitchResult result,
              const SwitchOutcome& outcome, const std::vector<BalancerRun>& runs, long long elapsed_ms) {
  const std::string& target = job.request.target;
  const auto target_members = target_member_names(observation, target);
  std::vector<std::string> seen;
  auto holds = end_state_holds(services, target, target_members, runs, seen);
  if (!holds) return finished(holds.error());
  if (!*holds) {
    const Error changed{ErrorKind::unavailable, std::string(runs.size() > 1 ? "a balancer" : "the balancer") +
                                                    " does not show pool " + target + " as the only live pool"};
    services.reporter.warning(changed.message + "; planning again from what " + every_balancer_words(runs.size()) +
                              " has now");
    return job.success_recorded ? plan_again_recorded(changed) : plan_again(changed);
  }
  result.duration_ms = elapsed_ms;
  result.left_in_maintenance = outcome.left_in_maintenance;
  // History first: a crash between the two leaves the intent, and the re-run records again.
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  result.runtime_only = runtime_only_balancers(services);
  if (!result.runtime_only.empty()) result.restart_pools = restart_pools(services);
  if (!job.success_recorded) {
    result.history_warning = record_switch(services, job, result.plan.from, HistoryResult::succeeded,
                                           result.duration_ms, succeeded_detail(job.reason, result), outcome.timings);
  }
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  if (auto cleared = services.state.clear_intent(); !cleared.ok()) return finished(cleared.error());
  if (job.operation == Operation::deploy && !job.defer_good_verdict) {
    const auto marked = mark_replaced_pools_good(services, observation, result.plan);
    if (!marked.ok())
      services.reporter.warning("could not record the verdict of the replaced pool: " + marked.error().message);
  }
  if (services.before_switch_step) services.before_switch_step(result.plan.steps.size());
  auto changed = changed_since(services, target, target_members, runs, seen);
  if (!changed) {
    // Recorded as done, intent cleared: nothing to finish, only a look that could not be had.
    return finished(changed.error().context("pool " + target + " was made live and recorded, but " +
                                            (runs.size() > 1 ? "a balancer" : "the balancer") +
                                            " did not answer the last look ('deploy-pipeline status' shows whether a "
                                            "reload changed it since)"));
  }
  if (*changed) return plan_again_recorded(Error{ErrorKind::unavailable, **changed});
  services.reporter.step("pool " + target + " is live" + (result.runtime_only.empty() ? "" : " at runtime only") +
                         " (" + util::format_duration_ms(result.duration_ms) + ")");
  return finished(std::move(result));
}

// Plans the switch in each balancer from that balancer's own members (the pure planner, once
// per balancer): a balancer that is behind or ahead gets only the steps it still needs, which
// is what makes a re-run after a partial switch converge. A refusal about the target itself
// is the same in every balancer and is not given a balancer's name.
Status plan_every_balancer(Services& services, const SwitchJob& job, const Observation& observation,
                           std::vector<BalancerRun>& runs) {
  for (std::size_t i = 0; i < runs.size(); ++i) {
    auto& run = runs[i];
    SwitchRequest request = job.request;
    request.keep_foreign = run.entry.settings->allow_foreign_servers;
    request.hot = run.entry.balancer->capabilities().standby ? services.config.retention_hot : 0;
    auto plan = plan_switch(request, observation.pools, observation.balancers[i].members);
    if (!plan) {
      const bool about_target = !plan_switch(request, observation.pools, {}).ok();
      return about_target ? plan.error() : run.entry.name_in(plan.error());
    }
    run.plan = std::move(*plan);
    run.plan.keeping = run.entry.balancer->keeping().kind;  // decided by its look: asks nothing more
  }
  return {};
}

// One plan-and-execute pass of a switch, from `first` (the caller's look for a switch, taken
// under the same lock) or from a look of its own. The caller holds the deploy lock. Marks `job`
// with what this pass did that a later pass of the same switch must not do again.
Pass run_pass(Services& services, SwitchJob& job, Clock::Steady::time_point started, std::optional<Observation> first) {
  const std::string& target = job.request.target;
  const auto elapsed = [&] { return util::elapsed_ms(started, services.clock.now()); };
  auto observation = first ? Result<Observation>(std::move(*first)) : observe(services, BalancerRead::snapshot);
  if (!observation) return finished(observation.error());
  std::vector<BalancerRun> runs;
  for (const auto& read : observation->balancers) {
    runs.push_back({.entry = read.entry, .instance_at_start = read.instance, .plan = {}});
  }
  for (auto& pool : observation->pools) {
    // As mark_bad leaves it: a pool marked bad already keeps its first reason.
    if (has_label(job.planned_as_bad, pool.label()) && pool.meta.verdict != LiveVerdict::bad) {
      give_verdict(services, pool.meta, LiveVerdict::bad, job.reason);
    }
  }
  // A deploy names its target: one marked bad is refused (who marked it, when, why) before
  // anything changes, judged on this look (no second listing of the pools on the fast path).
  if (job.named_target && !job.request.force) {
    if (auto bad = check_not_marked_bad(services, observation->pools, target); !bad.ok()) return finished(bad.error());
  }
  if (job.named_target && !job.resume_wake) {  // a resumed wake restarts the servers that do not run
    if (auto runs_now = check_named_target_runs(services, *observation, target); !runs_now.ok()) {
      return finished(runs_now.error());
    }
  }
  if (!job.dry_run) {
    if (auto woken = wake_if_powered_off(services, job, *observation); !woken.ok()) {
      if (woken.error().is(ErrorCode::lock_held)) return stop_without_lock(job, woken.error());
      return finished(woken.error());
    }
  }
  if (auto planned = plan_every_balancer(services, job, *observation, runs); !planned.ok()) {
    return finished(planned.error());
  }
  if (job.dry_run) note_unkept_membership(services, *observation, runs);
  const auto order = step_major(runs);
  auto plan = combined_plan(target, runs, order);
  add_resumed_from(plan, job);
  SwitchResult result{.plan = plan, .dry_run = job.dry_run};
  if (runs.size() > 1) {
    for (const auto& run : runs) result.balancer_plans.push_back({run.entry.name, run.plan});
  }
  if (job.dry_run) {
    if (!plan.steps.empty()) say_runtime_only(services, true);
    return finished(std::move(result));
  }
  if (plan.steps.empty()) return finish_without_steps(services, job, *observation, std::move(result), elapsed());

  Intent intent = new_intent(services, job, plan);
  // A pass that plans again (the balancer changed under the last one: perhaps a new holder of
  // the lock removed this switch's members), or that woke its target (minutes), must still hold
  // the lock to write its intent. The first pass asks too, although it took the lock moments
  // ago: its look at the pools may take seconds on a cloud, and a lock.stale_after_s that short
  // lets another host take the lock over meanwhile; an intent written then would have status and
  // repair "finish" this abandoned switch. One read of the lock is the price of never doing so.
  if (auto held = still_holding_lock(services); !held.ok()) return stop_without_lock(job, held.error());
  if (auto written = services.state.write_intent(intent); !written.ok()) return finished(written.error());
  if (!job.start_notified) {
    notify_switch_start(services, job.automatic ? HistoryAction::auto_rollback : history_action(job.operation), intent);
    job.start_notified = true;
  }
  say_runtime_only(services, false);
  services.reporter.step(std::string(to_string(job.operation)) + ": making pool " + target + " live" +
                         (plan.from.empty() ? "" : " in place of " + util::join(plan.from, ", ")) + " in " +
                         util::plural(plan.steps.size(), "step") +
                         (runs.size() > 1 ? " across " + std::to_string(runs.size()) + " balancers" : ""));
  const auto outcome = execute(services, runs, order, intent);
  job.changed_balancer = job.changed_balancer || changed_running(plan, outcome.steps_done);
  if (outcome.unhealthy) {
    return revert_unhealthy(services, runs, job, plan, observation->pools, outcome.status.error(), elapsed());
  }
  if (outcome.balancer_changed) {
    services.reporter.warning(outcome.status.error().message + "; planning again from what " +
                              every_balancer_words(runs.size()) + " has now");
    return plan_again(outcome.status.error());
  }
  if (outcome.status.ok()) return conclude(services, job, *observation, std::move(result), outcome, runs, elapsed());
  if (refused_before_any_change(job, outcome) && restarts_as_running(services, *observation, outcome.steps_done)) {
    return refuse_misconfigured(services, job, plan, live_labels(observation->members), outcome.status.error(),
                                elapsed());
  }
  // The intent record stays: status explains the state and a re-run completes it. History
  // records the stop while the lock is still this switch's (else it is the new holder's).
  const Error& why = outcome.status.error();
  if (still_holding_lock(services).ok()) {
    record_switch(services, job, plan.from, HistoryResult::interrupted, elapsed(), why.message, outcome.timings);
  }
  if (why.is(ErrorCode::interrupted)) {
    // Stopped at a safe point on request; the lock is released on return.
    return finished(Error{ErrorKind::failed,
                          std::string(to_string(job.operation)) + " of pool " + target + " stopped by " +
                              util::interrupt_signal_name() + " after step " + std::to_string(outcome.steps_done) +
                              " of " + std::to_string(plan.steps.size()) + ": " +
                              stopped_state(job, plan, observation->pools, outcome.steps_done),
                          ErrorCode::interrupted});
  }
  return finished(why.context(std::string(to_string(job.operation)) + " of pool " + target + " stopped after step " +
                              std::to_string(outcome.steps_done) + " of " + std::to_string(plan.steps.size()) + "; " +
                              how_to_finish(job, why)));
}

// A switch that gave up on a balancer that kept coming back with another membership stopped
// half-way, like any interrupted one: history says so (from what its intent says it replaced)
// while the lock is still this switch's. One an earlier pass recorded as done too: that record
// says the pool was made live, not that the balancer went back to the older membership and the
// switch gave up on applying it again, which history (and the notifiers) would otherwise never hear.
void record_given_up(Services& services, const SwitchJob& job, const Error& why, long long elapsed_ms) {
  if (job.dry_run || !still_holding_lock(services).ok()) return;
  std::vector<std::string> from;
  const auto pending = services.state.read_intent();
  if (pending && pending->has_value() && (*pending)->target == job.request.target) from = (*pending)->from;
  record_switch(services, job, from, HistoryResult::interrupted, elapsed_ms, why.message);
}

// The shared core of deploy, rollback and repair: plan from what is observed (`first`, when the
// caller has just looked under the same lock), execute, and plan again when the balancer undid
// steps under us (a reload, a hand-made change).
Result<SwitchResult> switch_to(Services& services, const SwitchJob& first_job, std::optional<Observation> first = {}) {
  constexpr int kAttempts = 3;
  // From here on SIGINT, SIGTERM and SIGHUP stop the switch at its next safe point.
  const util::InterruptScope interruptible;
  const auto started = services.clock.now();
  SwitchJob job = first_job;
  for (int attempt = 1;; ++attempt) {
    Pass pass = run_pass(services, job, started, std::exchange(first, std::nullopt));  // only the first pass
    if (pass.end == PassEnd::finished) return std::move(pass.result);
    job.success_recorded = job.success_recorded || pass.success_recorded;
    if (attempt == kAttempts) {
      // Ended by a balancer that kept coming back with another membership after the switch was
      // recorded as done: repair makes the pool this switch made live (its intent, or the managed block) the only
      // live one in every balancer.
      // Any pass may have recorded it (the job remembers): a later pass that planned again
      // because a step found the balancer changed does not record it a second time.
      const std::string finish =
          job.success_recorded ? finishes_it({"deploy-pipeline repair"}) : how_to_finish(job, pass.result.error());
      const Error given_up = pass.result.error().context(
          std::string(to_string(job.operation)) + " of pool " + job.request.target + ": " +
          (balancers_of(services).size() > 1 ? "a balancer" : "the balancer") + " kept changing under it; " + finish);
      record_given_up(services, job, given_up, util::elapsed_ms(started, services.clock.now()));
      return given_up;
    }
  }
}

// Whether a switch `operation` to `target` is the interrupted switch `interrupted` run again.
bool reruns_interrupted(const std::optional<Intent>& interrupted, Operation operation, const std::string& target) {
  return interrupted && interrupted->operation == operation && interrupted->target == target;
}

// Whether a switch `operation` to `target` re-runs the interrupted wake `interrupted` names.
bool resumes_wake(const std::optional<Intent>& interrupted, Operation operation, const std::string& target) {
  return reruns_interrupted(interrupted, operation, target) && interrupted->waking();
}

// An interrupted operation found when starting another one, reported once.
std::optional<Intent> interrupted_operation(Services& services) {
  auto intent = services.state.read_intent();
  if (!intent || !intent->has_value()) return std::nullopt;
  const Intent& found = **intent;
  services.reporter.warning(
      "found an interrupted " + std::string(to_string(found.operation)) + " to pool " + found.target +
      (found.waking() ? " (while waking the pool, before any step)"
                      : " (at step " + std::to_string(found.step + 1) + " of " + std::to_string(found.steps) + ")"));
  return found;
}

// A dry run takes no lock, so it looks for the interrupted switch without one (silently: the
// real run reports it). Nothing for a run that is not a dry run and has no lock.
std::optional<Intent> pending_intent(Services& services, bool dry_run) {
  if (!dry_run) return std::nullopt;
  auto intent = services.state.read_intent();
  if (!intent || !intent->has_value()) return std::nullopt;
  return **intent;
}

// The labels of `labels` ("2" or "2,3") that `pools` lists: those mark_bad marks.
std::vector<std::string> listed_labels(const std::vector<Pool>& pools, const std::string& labels) {
  std::vector<std::string> listed;
  for (const auto& label : util::split(labels, ',')) {
    if (find_pool(pools, label) != nullptr) listed.push_back(label);
  }
  return listed;
}

// Marks the pools `labels` (comma-separated) that `pools` lists bad in the provider. One marked
// bad already keeps its first reason (often what a watch measured); the new one goes to the
// history event of the command that gave it.
Status mark_bad(Services& services, const std::vector<Pool>& pools, const std::string& labels,
                const std::string& reason) {
  for (const auto& label : util::split(labels, ',')) {
    const Pool* from = find_pool(pools, label);
    if (from == nullptr) continue;
    if (from->meta.verdict == LiveVerdict::bad) {
      services.reporter.step("pool " + label + " is marked bad already" +
                             (from->meta.verdict_reason.empty() ? "" : ": " + from->meta.verdict_reason));
      continue;
    }
    PoolMetadata meta = from->meta;
    give_verdict(services, meta, LiveVerdict::bad, reason);
    PHX_TRY(services.provider.update_metadata(meta));
    services.reporter.step("marked pool " + label + " bad: " + reason);
  }
  return {};
}

// The records of the pools of `labels` that mark_bad marked (those not marked bad before), as
// `pools` had them before.
std::vector<PoolMetadata> records_before_marking(const std::vector<Pool>& pools,
                                                 const std::vector<std::string>& labels) {
  std::vector<PoolMetadata> records;
  for (const auto& label : labels) {
    const Pool* pool = find_pool(pools, label);
    if (pool != nullptr && pool->meta.verdict != LiveVerdict::bad) records.push_back(pool->meta);
  }
  return records;
}

// The pools of `labels` (comma-separated) a rollback leaves that it can mark bad: those whose
// record can be read. Each one it cannot (its record is unreadable) does not stop the rollback,
// the one-step way out of an incident, and gets one warning with the mark-bad to run once the
// record is restored; a dry run warns the same, so it predicts what the real run does.
std::string markable_or_warn(Services& services, const std::vector<Pool>& pools, const std::string& labels,
                             const std::string& reason) {
  std::vector<std::string> markable;
  for (const auto& label : util::split(labels, ',')) {
    const Pool* pool = find_pool(pools, label);
    if (pool == nullptr) continue;
    if (pool->readable()) {
      markable.push_back(label);
      continue;
    }
    services.reporter.warning("pool " + label + " cannot be marked bad: its record is unreadable (" + pool->unreadable +
                              "); once it is restored, run: deploy-pipeline mark-bad --label " + label + " --reason " +
                              util::shell_quote(reason));
  }
  return util::join(markable, ",");
}

// A rollback goes to a pool that can take traffic: one marked bad (named with who marked it and
// when, as history has it) or that failed its smoke test needs --force, and whatever plan_switch
// refuses is refused before anything changes.
// A pending verdict left by this rollback's own interrupted wake (`resume_wake`) is no reason to
// refuse: the re-run smoke-tests the pool before it plans.
Status check_rollback_target(Services& services, const Observation& observation, const std::string& target, bool force,
                             bool resume_wake = false) {
  const Pool* pool = find_pool(observation.pools, target);
  const bool unchecked = pool != nullptr && pool->meta.smoke != SmokeVerdict::passed &&
                         !(resume_wake && pool->meta.smoke == SmokeVerdict::pending);
  const std::string way_on = "roll back to another pool, or to this one anyway with --force";
  if (!force) PHX_TRY(check_not_marked_bad(services, observation.pools, target, way_on));
  if (pool != nullptr && pool->readable() && !force && unchecked) {
    return Error{ErrorKind::refused,
                 "pool " + target + " has smoke verdict '" + std::string(to_string(pool->meta.smoke)) + "'; " + way_on};
  }
  for (const auto& balancer : observation.balancers) {
    auto plan =
        plan_switch({.target = target, .force = true, .keep_foreign = balancer.entry.settings->allow_foreign_servers},
                    observation.pools, balancer.members);
    if (!plan) return balancer.entry.name_in(plan.error());
  }
  return {};
}

// Whether the balancer process that answered (its uptime, read with its members where the look
// was a snapshot, else asked now) started during or after `last` (a switch that history
// recorded): it reloaded since that switch began. A balancer that does not say how long it has
// been up never counts as reloaded. Uptime_sec is whole seconds, hence the slack.
bool reloaded_since(Services& services, const BalancerMembers& balancer, const HistoryEvent& last) {
  constexpr std::chrono::seconds kSlack{2};
  auto uptime = balancer.uptime;
  if (!uptime) {
    auto asked = balancer.entry.balancer->uptime();
    if (asked) uptime = *asked;
  }
  if (!uptime) return false;
  const auto switch_began = last.at - std::chrono::milliseconds(last.duration_ms);
  return services.clock.wall_now() - *uptime + kSlack >= switch_began;
}

}  // namespace

std::optional<std::string> restored_by_repair(Services& services, const std::vector<Pool>& pools,
                                              const std::vector<BalancerMembers>& balancers,
                                              const std::vector<std::string>& live,
                                              const std::optional<HistoryEvent>& last) {
  if (!last) return std::nullopt;
  std::optional<std::string> kept;
  for (const auto& balancer : balancers) {
    auto durable = balancer.entry.balancer->durable_members();
    if (!durable) return std::nullopt;
    if (!durable->has_value()) continue;
    const auto labels = live_labels(**durable);
    if (labels.size() != 1 || labels.front() != last->label) return std::nullopt;
    if (!reloaded_since(services, balancer, *last)) return std::nullopt;
    kept = labels.front();
  }
  if (!kept || live == std::vector<std::string>{*kept}) return std::nullopt;
  const Pool* pool = find_pool(pools, *kept);
  if (pool == nullptr || !pool->readable()) return std::nullopt;
  return kept;
}

bool reloaded_since_switch(Services& services, const std::vector<BalancerMembers>& balancers,
                           const std::optional<HistoryEvent>& last) {
  return last && !balancers.empty() &&
         std::all_of(balancers.begin(), balancers.end(),
                     [&](const BalancerMembers& balancer) { return reloaded_since(services, balancer, *last); });
}

namespace {

// The pool repair makes the only live one, chosen among the pools the balancer routes to now:
// repair acts on what is certain (the balancer, the intent), so a missing or stale history
// record never makes it switch production back. With several live, the one the last recorded
// switch made live, else the newest.
std::string repair_target(Services& services, const Observation& observation, const std::vector<std::string>& live) {
  const auto last = last_successful_switch(services);
  return repair_keeps(observation.pools, live, last ? last->label : std::string());
}

// Whether this rollback re-runs the interrupted one (`interrupted`), and so finishes it: a
// rollback with no --to, or with --to its own target.
bool reruns_interrupted_rollback(const std::optional<Intent>& interrupted, const RollbackOptions& options) {
  return interrupted && interrupted->operation == Operation::rollback &&
         (!options.to || *options.to == interrupted->target);
}

// --expect-live: the alert that started this rollback was about pool `expected`; if another
// pool is live meanwhile, the alert is stale and nothing changes. The re-run of an interrupted
// rollback away from `expected` (the alert's own retry: the pipeline's PHOENIX_EXPECT_LIVE does
// not change) is what the alert asked for, however far the switch got: it finishes it.
// `changed` says what the refusal has changed already (a stale lock taken over), if anything.
Status check_expected_live(const Observation& observation, const std::string& expected,
                           const std::optional<Intent>& interrupted, const RollbackOptions& options,
                           const std::string& changed = "nothing was changed") {
  if (reruns_interrupted_rollback(interrupted, options) &&
      std::find(interrupted->from.begin(), interrupted->from.end(), expected) != interrupted->from.end()) {
    return {};
  }
  const auto live = live_labels(observation.members);
  if (live.size() == 1 && live.front() == expected) return {};
  return Error{ErrorKind::refused,
               "--expect-live " + expected + ": pool " + expected +
                   " is not the live pool (live: " + (live.empty() ? std::string("none") : util::join(live, ", ")) +
                   "); a stale alert rolls nothing back, " + changed};
}

// An alert's rollback that may take over a stale lock judges --expect-live first, from what it
// reads without the lock, so that a stale alert leaves the stale lock (and the switch it names)
// as they were for a person to look at. What cannot be read now is judged under the lock.
Status check_expected_live_before_takeover(Services& services, const RollbackOptions& options) {
  if (!options.expect_live || !options.break_lock || options.dry_run) return {};
  auto intent = services.state.read_intent();
  auto observed = observe(services);
  if (!intent || !observed) return {};
  return check_expected_live(*observed, *options.expect_live, *intent, options);
}

// How long an automatic rollback waits for a deploy lock another running command holds (a
// prune, a delete, an archive) before it gives up and leaves the decision to a person.
constexpr std::chrono::seconds kAutomaticRollbackLockWait{120};
constexpr std::chrono::milliseconds kLockRetry{500};

// The automatic rollback after a breach, waiting for the deploy lock while another running
// command holds it (never while a stop was asked for). Only a lock that could not be taken
// from a running holder is waited out (ErrorCode::lock_busy): a stale lock is released by
// nobody, and a rollback that lost its lock mid-switch (lock_held) has changed the balancer
// already; its intent record says how far it got.
Result<SwitchResult> automatic_rollback(Services& services, const RollbackOptions& options) {
  const auto deadline = services.clock.now() + kAutomaticRollbackLockWait;
  bool said = false;
  for (;;) {
    auto back = rollback(services, options);
    if (back || !back.error().is(ErrorCode::lock_busy)) return back;
    if (services.stop_requested && services.stop_requested()) {
      // Stopped while waiting: the breach is still handled (unanswered), and the command ends
      // as a stopped one does (exit 130, 143 or 129).
      return util::stopped_by_signal("while waiting for the deploy lock (" + back.error().message + ")");
    }
    if (services.clock.now() >= deadline) return back;
    if (!said) services.reporter.step("waiting for the deploy lock: " + back.error().message);
    said = true;
    services.clock.sleep_for(kLockRetry);
  }
}

// A watch's breach: the watched pool, what was measured, and the pool the automatic rollback
// was to go back to (none: the rollback's own choice, or there was none).
struct Breach {
  std::string target;
  std::string measured;
  std::optional<std::string> back_to;
  WallTime at{};  // when it was seen

  std::string reason() const { return "automatic: " + measured; }
  std::string headline() const { return "pool " + target + " breached its watch (" + measured + ")"; }
};

// Marks the breached pool bad from the provider's list alone: a balancer that cannot be read
// does not keep it from being marked. A pool marked bad already (by someone else's rollback)
// keeps that verdict and reason. When it cannot be marked: a warning with the command that
// does it, and the same words returned for the final error ("" when marked).
std::string mark_breached_bad(Services& services, const Breach& breach, const Result<std::vector<Pool>>& pools) {
  Status marked = pools ? Status() : Status(pools.error());
  const Pool* pool = pools ? find_pool(*pools, breach.target) : nullptr;
  if (pools && pool == nullptr) marked = Error{ErrorKind::failed, "the provider does not list it"};
  if (pool != nullptr && pool->meta.verdict != LiveVerdict::bad)
    marked = mark_bad(services, *pools, breach.target, breach.reason());
  if (marked.ok()) return "";
  const std::string by_hand = "pool " + breach.target + " is NOT marked bad (" + marked.error().message +
                              "); mark it with: deploy-pipeline mark-bad --label " + breach.target + " --reason " +
                              util::shell_quote(breach.reason());
  services.reporter.warning(by_hand);
  return "; " + by_hand;
}

// The rollback that answers the breach by hand, as one command to run: back to the pool the
// automatic rollback was to go to unless it is marked bad, else to the pool 'rollback' would
// choose, else to a pool the operator names (L). --force where the pool served until a moment
// ago but never passed a smoke test; --break-lock where the deploy lock is stale.
std::string rollback_by_hand(const Breach& breach, const Result<std::vector<Pool>>& pools,
                             const std::vector<Member>& members, const Error& why, RollbackHints hints) {
  std::string to = "L";
  bool force = false;
  const Pool* back = pools && breach.back_to ? find_pool(*pools, *breach.back_to) : nullptr;
  // The pool that was to take traffic back but cannot serve (it just failed to) is never named.
  if (back != nullptr && back->meta.verdict != LiveVerdict::bad && serving_problem(*back, members).empty()) {
    to = back->label();
    force = back->meta.smoke != SmokeVerdict::passed;
  } else if (!pools) {
    to = breach.back_to.value_or(to);
  } else {
    if (breach.back_to) hints.excluded.push_back(*breach.back_to);
    if (auto choice = choose_rollback_target(*pools, members, std::nullopt, hints);
        choice && choice->from == breach.target) {
      to = choice->target;
    }
  }
  return "deploy-pipeline rollback --to " + to + " --reason " + util::shell_quote(breach.reason()) +
         (force ? " --force" : "") + (why.is(ErrorCode::lock_stale) ? " --break-lock" : "");
}

// Whether the automatic rollback recorded its failure already since `since` (a switch that stops
// mid-way records itself as interrupted; one whose target did not become healthy, as failed), so
// the breach is not recorded and paged twice.
bool recorded_already(Services& services, WallTime since, const std::string& target) {
  const auto history = services.state.read_history();
  if (!history) return false;
  for (auto event = history->events.rbegin(); event != history->events.rend() && event->at >= since; ++event) {
    if (event->action == HistoryAction::auto_rollback && event->result != HistoryResult::succeeded &&
        event->from_names(target)) {
      return true;
    }
  }
  return false;
}

void record_unanswered(Services& services, const Breach& breach, const std::string& detail) {
  // Recorded like the rollback it should have been: to `back_to` ("" when there was none), from
  // the watched pool.
  HistoryEvent event =
      new_event(services, HistoryAction::auto_rollback, breach.back_to.value_or(""), HistoryResult::failed);
  event.from = breach.target;
  event.detail = breach.headline() + ": " + detail;
  record_history(services, event);
}

// The breach, in history before its automatic rollback starts: a watch killed from here on
// leaves it behind, and status names it with the rollback to run. Appended without a
// notification (the rollback's own record notifies), so nothing but a local write comes
// between the breach and the switch back; a record that cannot be written is a warning.
void record_breach(Services& services, const Breach& breach) {
  HistoryEvent event = new_event(services, HistoryAction::breach, breach.target, HistoryResult::failed);
  event.at = breach.at;
  event.from = breach.back_to.value_or("");
  event.detail = util::redact(breach.measured);
  if (auto appended = services.state.append_history(event); !appended.ok()) {
    services.reporter.warning("the breach of pool " + breach.target +
                              " is missing from history: " + appended.error().message);
  }
}

// The words for why no automatic rollback answered the breach: `why` itself when none was
// tried; else whether it stopped half-way (the pending intent record is its own) or did not
// happen.
std::string cause_of(const Services& services, const Error& why, bool tried, const std::optional<Intent>& pending) {
  if (!tried) return why.message;
  const bool ours = pending && pending->by.host == services.identity.host && pending->by.pid == services.identity.pid;
  return std::string(ours ? "the automatic rollback stopped half-way: " : "the automatic rollback did not happen: ") +
         why.message;
}

// A breach with a switch left half-done (its intent record pending): 'deploy-pipeline repair'
// is the way on (with --break-lock when the automatic rollback met a stale lock: the half-done
// switch is then a dead command's). Recorded as a failed auto-rollback unless the half-done
// rollback recorded itself already.
Error half_done_breach(Services& services, const Breach& breach, const Intent& pending, const Error& why,
                       const std::string& cause, const std::string& not_marked) {
  const std::string half_done = "the " + std::string(to_string(pending.operation)) + " to pool " + pending.target +
                                " is half done (at step " + std::to_string(pending.step + 1) + " of " +
                                std::to_string(pending.steps) + "): run '" +
                                past_the_lock("deploy-pipeline repair", why.is(ErrorCode::lock_stale)) +
                                "' to finish it; re-running this command does not";
  if (!recorded_already(services, pending.started_at, breach.target)) record_unanswered(services, breach, half_done);
  return Error{why.kind, breach.headline() + "; " + cause + "; " + half_done + not_marked, why.code};
}

// A breach that no automatic rollback answered (`why`; `tried`: one was started). The watched
// pool is marked bad with what was measured either way; then what is true now decides the
// words: a switch left half-done is for 'deploy-pipeline repair' to finish; a watched pool no
// longer live was switched away from by someone else (nothing failed, nothing is recorded); a
// watched pool still live (or a balancer that cannot be read) is recorded as a failed
// auto-rollback and notified, so a person is paged with the facts and the command to run.
Error unanswered_breach(Services& services, const Breach& breach, const Error& why, bool tried) {
  const auto pools = services.provider.list_pools();
  const std::string not_marked = mark_breached_bad(services, breach, pools);
  auto intent = services.state.read_intent();
  const std::optional<Intent> pending = intent ? std::move(*intent) : std::nullopt;
  const std::string cause = cause_of(services, why, tried, pending);
  if (pending) return half_done_breach(services, breach, *pending, why, cause, not_marked);
  const auto members = every_member(services);
  if (members) {
    const auto live = live_labels(*members);
    if (std::find(live.begin(), live.end(), breach.target) == live.end()) {
      const std::string now = live.empty()       ? "no pool is live"
                              : live.size() == 1 ? "pool " + live.front() + " is live"
                                                 : "pools " + util::join(live, ", ") + " are live";
      return Error{ErrorKind::failed,
                   breach.headline() + "; " + now + " already (switched by someone else)" + not_marked};
    }
  }
  const std::string state = members ? " and is still live" : " and may still be live (" + members.error().message + ")";
  const std::string by_hand =
      "roll back with: " +
      rollback_by_hand(breach, pools, members ? *members : std::vector<Member>{}, why, rollback_hints(services));
  // An automatic rollback that ran and failed (its target did not become healthy) recorded
  // itself; the breach it answered is in history already, recorded before it started. One that
  // found no pool to go to is recorded with none, not under the pool it passed over.
  if (!tried || !recorded_already(services, breach.at, breach.target)) {
    Breach recorded = breach;
    if (why.is(ErrorCode::no_candidate)) recorded.back_to.reset();
    record_unanswered(services, recorded, cause + "; " + by_hand);
  }
  return Error{why.kind, breach.headline() + state + ": " + cause + "; " + by_hand + not_marked, why.code};
}

// Where the automatic rollback goes (nothing: the rollback's own choice, the next older
// known-good pool, or nowhere). After a deploy: the pool it replaced. After a deploy that had
// nothing to do (a re-run: the pool was live already): the pool the last successful switch to
// it replaced, as history has it. After a rollback, whose replaced pool it has just marked bad:
// its own choice. A pool named here that is marked bad by the time the rollback holds the lock
// is not gone back to (RollbackOptions::to_replaced_pool).
std::optional<std::string> automatic_target(Services& services, const SwitchResult& result, Operation operation) {
  if (operation == Operation::rollback) return std::nullopt;
  if (result.plan.from.size() == 1) return result.plan.from.front();
  const auto last = rollback_hints(services);
  if (last.last_replaced.empty() || last.last_made_live != result.plan.target) return std::nullopt;
  return last.last_replaced;
}

// A watch that passed is over once its verdict is recorded (a deploy's replaced pool marked
// good; a rollback records none). A stop asked for before that ends it as stopped instead.
Status check_not_stopped_before_verdict(Services& services) {
  if (!services.stop_requested || !services.stop_requested()) return {};
  return Error{ErrorKind::failed,
               std::string("watch stopped by ") + util::interrupt_signal_name() +
                   " after its last check, before its verdict was recorded",
               ErrorCode::interrupted};
}

// After a switch: watch the new pool; on a breach switch back (automatic_target).
Result<SwitchResult> watch_after(Services& services, SwitchResult result, std::chrono::seconds duration,
                                 Operation operation, WatchRecordScope* record) {
  const std::string& target = result.plan.target;
  auto watched = watch_pool(services, {.target = target, .duration = duration});
  if (!watched) {
    // The switch itself finished: say so, whatever ended the watch.
    return watched.error().context("the switch to pool " + target +
                                   " finished; nothing was switched back and no verdict recorded");
  }
  const WatchOutcome& outcome = *watched;
  if (!outcome.breach) {
    services.reporter.step("pool " + target + " passed its watch of " + std::to_string(duration.count()) + " s");
    if (operation == Operation::deploy) {
      PHX_TRY_ASSIGN(const auto observation, observe(services));
      if (auto stopped = check_not_stopped_before_verdict(services); !stopped.ok()) {
        return stopped.error().context("the switch to pool " + target +
                                       " finished; nothing was switched back and no verdict recorded");
      }
      PHX_TRY(mark_replaced_pools_good(services, observation, result.plan));
    }
    result.watched_ms = outcome.watched_ms;
    return result;
  }
  const std::string detected = util::format_duration_ms(outcome.watched_ms);
  services.reporter.warning("pool " + target + " breached its watch after " + detected + ": " + *outcome.breach);
  // The fallback stays protected while the automatic rollback may still wait for the lock.
  if (record != nullptr) {
    record->extend_until(services.clock.wall_now() +
                         std::chrono::duration_cast<WallTime::duration>(kAutomaticRollbackLockWait));
  }
  Breach breach{
      .target = target, .measured = *outcome.breach, .back_to = std::nullopt, .at = services.clock.wall_now()};
  // A deploy that made its pool live in place of none, or of several, has no pool to go back to.
  const bool replaced_none = result.plan.from.empty() && !result.plan.steps.empty();
  if (operation == Operation::deploy && (replaced_none || result.plan.from.size() > 1)) {
    return unanswered_breach(
        services, breach,
        Error{ErrorKind::failed, "no single pool to switch back to (it replaced " +
                                     (replaced_none ? std::string("none") : util::join(result.plan.from, ", ")) + ")"},
        false);
  }
  breach.back_to = automatic_target(services, result, operation);
  record_breach(services, breach);
  // Its target is named by the rollback once judged (a pool marked bad or unable to serve is
  // passed over), not announced here.
  services.reporter.step("answering the breach with an automatic rollback");
  auto back = automatic_rollback(services, {.to = breach.back_to,
                                            .reason = breach.reason(),
                                            .to_replaced_pool = breach.back_to.has_value(),
                                            .expect_live = target,
                                            .automatic = true});
  if (!back) return unanswered_breach(services, breach, back.error(), true);
  const std::string went_to = back->plan.target;
  // Marked by the rollback already, as a rule (no second read of the provider: one API request
  // on a cloud); read and marked once more only where the rollback did not mark it (its marking
  // failed, or it finished an interrupted rollback instead, which marks nothing).
  const auto& marked = back->marked_bad;
  const std::string not_marked = std::find(marked.begin(), marked.end(), target) != marked.end()
                                     ? std::string()
                                     : mark_breached_bad(services, breach, services.provider.list_pools());
  return Error{ErrorKind::failed,
               "pool " + target + " breached its watch after " + detected + ": " + *outcome.breach +
                   "; rolled back to pool " + went_to + " automatically in " +
                   util::format_duration_ms(back->duration_ms) +
                   (not_marked.empty() ? " and marked pool " + target + " bad" : not_marked) +
                   (back->runtime_only.empty() ? "" : runtime_only_words(back->runtime_only, back->restart_pools))};
}

// The target of the interrupted switch `interrupted`, for a switch that does not finish it but
// abandons it (repair --revert, a rollback or deploy elsewhere): never kept hot, whatever
// retention.hot says, when it never served (a deploy of a new pool killed before it routed to
// it leaves its members on standby): a hot standby is a pool that served. Its members leave the
// balancer, and the pool that was on standby before it stays. A target that served, as history
// has it (never_served: unreadable history counts as never), is judged by retention.hot like any
// other (a rollback or deploy back to a hot standby). History is read whole, only on this path:
// an interrupted switch being abandoned.
std::vector<std::string> abandoned_targets(Services& services, const Intent& interrupted) {
  if (!never_served(services, interrupted)) return {};
  return {interrupted.target};
}

// The target as a rollback applies it, judged under the lock: `to` (none: the plain rollback's
// choice), `force`, and the pools the choice must pass over.
struct RollbackTo {
  std::optional<std::string> to;
  bool force = false;
  std::vector<std::string> excluded;
};

// A watch's rollback to the pool the watched switch replaced does not ask for that pool's smoke
// verdict (it served until a moment ago), but never goes back to it when it is marked bad or
// gone, nor when it cannot serve now (its servers are not all running, or its members are all
// down in the balancer's latest check: waiting the health timeout for it would keep the
// breached release serving): it then chooses as a rollback without --to does, without it.
RollbackTo rollback_to(Services& services, const Observation& observation, const RollbackOptions& options) {
  if (!options.to_replaced_pool || !options.to) return {options.to, options.force, {}};
  const Pool* replaced = find_pool(observation.pools, *options.to);
  std::string problem;
  if (replaced == nullptr) {
    problem = "no longer exists";
  } else if (replaced->meta.verdict == LiveVerdict::bad) {
    problem = "is " + describe_bad_mark_briefly(*replaced);
  } else if (const auto serving = serving_problem(*replaced, observation.members); !serving.empty()) {
    problem = "cannot take traffic back (" + serving + ")";
  }
  if (problem.empty()) return {options.to, true, {}};
  services.reporter.warning("pool " + *options.to + " " + problem +
                            "; rolling back to the next known-good pool instead");
  return {std::nullopt, false, {*options.to}};
}

// "the pool the last switch replaced", "the newest known-good pool older than the live one",
// with the release a rebuild carries ("...: release 1, rebuilt as 1.r1, no live verdict").
std::string rule_words(RollbackRule rule, const Pool* target) {
  std::string words;
  if (rule == RollbackRule::last_replaced) words = "the pool the last switch replaced";
  if (rule == RollbackRule::newest_older) words = "the newest known-good pool older than the live one";
  const std::string rebuild = target != nullptr ? describe_rebuild(*target) : std::string();
  if (!rebuild.empty()) words += (words.empty() ? "" : ": ") + rebuild;
  return words.empty() ? "" : " (" + words + ")";
}

// What a rollback knew when it was refused, for its history record: the pool it would have gone
// to ("" when it found none), the pools live then, and whether the refusal is one history keeps.
struct RollbackAttempt {
  std::string target;
  std::string from;
  // A plain rollback found no pool to go to (choose_rollback_target failed): a refusal, exit 3
  // (no_rollback_target); nothing changed, nothing marked.
  bool no_target = false;
  // The rollback passed every check and goes on to mark and switch: what fails from here is the
  // switch's own (recorded by it as failed or interrupted), no refusal.
  bool judged = false;
};

Result<SwitchResult> rollback_locked(Services& services, const RollbackOptions& options, const LockScope& lock,
                                     RollbackAttempt& attempt);

// A rollback that found no pool to go to (`why`, choose_rollback_target's) changed and marked
// nothing. By hand it is refused (exit 3), as history records it; an automatic one is its
// breach's failure (exit 1), recorded by the breach with no target. ErrorCode::no_candidate tells
// it from the other failures of a rollback.
Error no_rollback_target(const Error& why, bool automatic) {
  return Error{automatic ? ErrorKind::failed : ErrorKind::refused, why.message, ErrorCode::no_candidate};
}

// Records a rollback refused under the deploy lock (`why`), as a refused delete is: someone
// tried, and history says who, when and why it was refused (`refused` result, the operator's
// --reason and the refusal in its detail, and notified as every history event is). Only a
// refusal made before anything changed counts: a safety rule's (kind refused; never a lost
// lock, whose new holder owns history now) or no pool to go to. A dry run takes no lock and
// records nothing; an automatic rollback's refusal is recorded by the breach it answers.
void record_refused_rollback(Services& services, const RollbackOptions& options, const RollbackAttempt& attempt,
                             const Error& why, long long duration_ms) {
  const bool refusal = (why.kind == ErrorKind::refused && !why.is(ErrorCode::lock_held)) || attempt.no_target;
  if (!refusal || attempt.judged || options.automatic || options.dry_run) return;
  HistoryEvent event = new_event(services, HistoryAction::rollback, attempt.target, HistoryResult::refused);
  event.from = attempt.from;
  event.duration_ms = duration_ms;
  // The operator's reason first, as a rollback that happened records it; then why it did not.
  event.detail = options.reason.empty() ? why.message : options.reason + "; " + why.message;
  record_history(services, event);
}

// Called with the result of a switch that succeeded, while its deploy lock is still held.
using WhileLocked = std::function<void(const SwitchResult&)>;

// A freeze refuses the switch `command` (as the lock names it); a dry run says that the real run
// would be refused, worded as the lock's refusal is, with the same kind (exit 3).
Status check_switch_allowed(Services& services, Operation operation, const std::string& command, bool dry_run) {
  auto allowed = check_not_frozen(services, operation);
  if (allowed.ok() || !dry_run) return allowed;
  return refused_in_a_real_run(command, allowed.error());
}

// A rollback is the way out of an incident: a balancer.config_file this user cannot write now
// (config management reset its directory, a full /etc) does not stop it. The switch goes ahead
// at runtime, with one warning per balancer that a reload or restart undoes it until the
// membership is written, and the way to write it ('deploy-pipeline repair'), given once the
// rollback starts switching (say_runtime_only): not when it is refused, nor as done by a dry
// run. A deploy is still refused before anything changes. The rollback only allows it: each
// balancer checks whether it can keep its membership itself, once, at its first look, and holds
// the answer with its reason (Balancer::keeping, which the warnings and runtime_only_balancers ask).
void allow_rollback_at_runtime_only(Services& services) {
  for (const auto& entry : balancers_of(services)) entry.balancer->allow_runtime_only();
}

Result<SwitchResult> rollback_switch(Services& services, const RollbackOptions& options,
                                     const WhileLocked& while_locked = nullptr) {
  const std::string command = "rollback" + (options.to ? " --to " + *options.to : "");
  PHX_TRY(check_switch_allowed(services, Operation::rollback, command, options.dry_run));
  allow_rollback_at_runtime_only(services);
  if (options.to) {
    PHX_TRY(check_pool_exists_before_takeover(services, *options.to, options.break_lock && !options.dry_run));
  }
  PHX_TRY(check_expected_live_before_takeover(services, options));
  PHX_TRY_ASSIGN(const auto lock, DeployLock::take_or_look(services, command, options.dry_run, options.break_lock));
  RollbackAttempt attempt{.target = options.to.value_or("")};
  const auto started = services.clock.now();
  auto switched = rollback_locked(services, options, lock, attempt);
  if (!switched && lock.held) {
    record_refused_rollback(services, options, attempt, switched.error(),
                            util::elapsed_ms(started, services.clock.now()));
  }
  if (switched && while_locked) while_locked(*switched);
  return switched;
}

// The rollback itself, under the lock (`lock.held`, perhaps taken over from a stale holder) or as
// a dry run. `attempt` says what it knew if it is refused.
Result<SwitchResult> rollback_locked(Services& services, const RollbackOptions& options, const LockScope& lock,
                                     RollbackAttempt& attempt) {
  const bool locked = lock.held.has_value();
  const std::optional<LockTakeover> taken_over = locked ? lock.held->taken_over() : std::nullopt;
  // A dry run takes no lock; it still looks for the interrupted rollback a real run would finish.
  // An intent is never a switch running now: a dry run is refused while a running holder holds
  // the lock (DeployLock::take_unless_dry_run).
  const auto interrupted = locked || options.dry_run ? interrupted_operation(services) : std::nullopt;
  // An alert's rollback judges the balancer as it is, before anything is finished: with an
  // interrupted switch pending, two pools are live and the alert is not about "the" live one.
  // That look (pools and balancers, each balancer's instance with its members) is the switch's
  // own: the rollback plans from it, so an automatic rollback (always --expect-live) reads the
  // pools and every balancer once.
  std::optional<Observation> observed;
  if (options.expect_live) {
    PHX_TRY_ASSIGN(observed, observe(services, BalancerRead::snapshot));
    attempt.from = util::join(live_labels(observed->members), ",");
    PHX_TRY(check_expected_live(*observed, *options.expect_live, interrupted, options,
                                taken_over ? "nothing was switched; the stale deploy lock it took over (" +
                                                 (taken_over->holder ? taken_over->holder->who()
                                                                     : std::string("its record could not be read")) +
                                                 ") is released"
                                           : std::string("nothing was changed")));
  }
  // Re-running an interrupted rollback (with no --to, or --to its target) finishes it: the
  // target was chosen before the crash, when the live pool was still unambiguous.
  if (reruns_interrupted_rollback(interrupted, options)) {
    if (!observed) {
      PHX_TRY_ASSIGN(observed, observe(services, BalancerRead::snapshot));
    }
    attempt.target = interrupted->target;
    attempt.from = util::join(live_labels(observed->members), ",");
    PHX_TRY(check_finishing(services, *observed, *interrupted, options.force, lock));
    attempt.judged = true;
    services.reporter.step("finishing the interrupted rollback to pool " + interrupted->target);
    return switch_to(services,
                     {.operation = Operation::rollback,
                      .request = {.target = interrupted->target, .force = true},
                      .reason = interrupted->reason,
                      .dry_run = options.dry_run,
                      .watch = options.dry_run ? std::nullopt : options.watch,
                      .resume_wake = interrupted->waking(),
                      .resumed_from = interrupted->from,
                      .pending_before = interrupted},
                     std::move(observed));
  }
  // The switch plans from this same look (taken under the lock; the pools marked bad below are
  // planned as bad), so a rollback reads the pools and the balancer once.
  if (!observed) {
    PHX_TRY_ASSIGN(observed, observe(services, BalancerRead::snapshot));
  }
  Observation observation = std::move(*observed);
  attempt.from = util::join(live_labels(observation.members), ",");
  const auto [to, force, excluded] = rollback_to(services, observation, options);
  // History is read for a plain rollback's choice only: an explicit target ignores the hints.
  auto chosen =
      choose_rollback_target(observation.pools, observation.members, to,
                             to ? RollbackHints{.last_made_live = "", .last_replaced = "", .excluded = excluded}
                                : rollback_hints(services, excluded));
  // A named pool that does not exist is a usage error (exit 2), not a refusal.
  attempt.no_target = !chosen && chosen.error().kind == ErrorKind::failed;
  if (attempt.no_target) return no_rollback_target(chosen.error(), options.automatic);
  PHX_TRY_ASSIGN(const auto choice, std::move(chosen));
  attempt.target = choice.target;
  const std::string reason = options.reason.empty() ? "rolled back to " + choice.target : options.reason;
  // A rollback that is refused changes nothing: the target is judged before anything is marked,
  // and before the rollback is announced.
  const bool resume_wake = resumes_wake(interrupted, Operation::rollback, choice.target);
  PHX_TRY(check_rollback_target(services, observation, choice.target, force, resume_wake));
  if (choice.rule == RollbackRule::named && !resume_wake) {
    PHX_TRY(check_named_target_runs(services, observation, choice.target));
  }
  attempt.judged = true;
  // Nothing else live (choose_rollback_target refuses when nothing is): the target is live already.
  services.reporter.step(choice.from.empty()
                             ? "pool " + choice.target + " is live already; nothing to roll back from"
                             : "rolling back from pool " + choice.from + " to pool " + choice.target +
                                   rule_words(choice.rule, find_pool(observation.pools, choice.target)));
  // A stop asked for before anything changed (possible where the caller made the command
  // stoppable early: a watched rollback) changes nothing.
  if (!options.dry_run && services.stop_requested && services.stop_requested()) {
    return Error{ErrorKind::failed,
                 std::string("rollback stopped by ") + util::interrupt_signal_name() + " before anything changed",
                 ErrorCode::interrupted};
  }
  std::vector<std::string> marked_bad;
  std::vector<PoolMetadata> before_marking;
  // The breach handler of an automatic rollback says what marks the pool when it cannot.
  const std::string markable =
      options.automatic ? choice.from : markable_or_warn(services, observation.pools, choice.from, reason);
  if (!options.dry_run) {
    PHX_TRY(still_holding_lock(services));
    auto marked = mark_bad(services, observation.pools, markable, reason);
    // An automatic rollback answers a breach: the switch back comes first, and the breach's
    // handler marks the pool again (and says so when it cannot) once it is done.
    if (!marked.ok() && !options.automatic) return marked.error();
    if (!marked.ok()) {
      services.reporter.warning("could not mark pool " + choice.from + " bad (" + marked.error().message +
                                "); switching back first");
    } else {
      marked_bad = listed_labels(observation.pools, markable);
      before_marking = records_before_marking(observation.pools, marked_bad);
    }
  }
  auto switched = switch_to(
      services,
      {.operation = Operation::rollback,
       .request = {.target = choice.target,
                   .force = force,
                   .never_hot = interrupted ? abandoned_targets(services, *interrupted) : std::vector<std::string>{}},
       .reason = reason,
       .dry_run = options.dry_run,
       .automatic = options.automatic,
       .planned_as_bad = util::split(choice.from, ','),
       .watch = options.dry_run ? std::nullopt : options.watch,
       .resume_wake = resume_wake,
       .pending_before = interrupted,
       .before_marking = std::move(before_marking)},
      std::move(observation));
  if (switched) switched->marked_bad = std::move(marked_bad);
  return switched;
}

// A watch judges the 5xx ratio between two samples of the balancer's counters: one shorter
// than two intervals could never see a breach, and would still pass the release.
// Nor can one shorter than the window the ratio is judged over: it would end before a single
// full window was judged.
Status check_watch_duration(const Services& services, const std::optional<std::chrono::seconds>& watch) {
  if (!watch) return {};
  const auto window = services.config.watch.thresholds.window;
  if (*watch < window) {
    return Error{ErrorKind::invalid, "--watch " + std::to_string(watch->count()) +
                                         "s is shorter than the watch window (watch.window_s " +
                                         std::to_string(window.count()) +
                                         "), so it would end before judging one full window; watch at least " +
                                         std::to_string(window.count()) + "s, or lower watch.window_s"};
  }
  const auto interval = services.config.watch.thresholds.interval;
  if (*watch >= 2 * interval) return {};
  return Error{ErrorKind::invalid, "--watch " + std::to_string(watch->count()) +
                                       "s is shorter than two watch intervals (watch.interval_ms " +
                                       std::to_string(interval.count()) +
                                       "), so it could never see a breach; watch longer, or lower watch.interval_ms"};
}

// The pool a breach's automatic rollback would switch to, as the watch starts: after a deploy the
// one pool it replaced; after a rollback the next older known-good pool, as 'rollback' would
// choose once the watched pool is marked bad. Nothing when there is none.
std::optional<std::string> watch_fallback(Services& services, const SwitchResult& result, Operation operation) {
  if (operation == Operation::deploy) {
    // As watch_after judges a breach: a deploy in place of none, or of several, has none.
    const bool replaced_none = result.plan.from.empty() && !result.plan.steps.empty();
    if (replaced_none || result.plan.from.size() > 1) return std::nullopt;
    return automatic_target(services, result, operation);
  }
  auto observation = observe(services);
  if (!observation) return std::nullopt;
  auto choice =
      choose_rollback_target(observation->pools, observation->members, std::nullopt, rollback_hints(services));
  if (!choice) return std::nullopt;
  return choice->target;
}

// Writes the record of the watch about to start (while the switch's lock is still held, so the
// next command that takes the lock sees it) into `scope`. A switch whose lock another agent took
// over as it ended writes none: that holder's commands would respect a watch it never started.
// The watch itself still runs (its automatic rollback has to take the lock like anyone).
WhileLocked record_watch(Services& services, std::optional<WatchRecordScope>& scope, std::chrono::seconds duration,
                         Operation operation, const std::string& command) {
  return [&services, &scope, duration, operation, command](const SwitchResult& result) {
    WatchRecord record{.watched = result.plan.target,
                       .fallback = watch_fallback(services, result, operation),  // may read a cloud: seconds
                       .by = make_holder(services, command),
                       .until = services.clock.wall_now() + std::chrono::duration_cast<WallTime::duration>(duration)};
    if (auto held = still_holding_lock(services); !held.ok()) {
      services.reporter.warning("the watch of pool " + result.plan.target +
                                " is not recorded: " + held.error().message);
      return;
    }
    scope.emplace(services, std::move(record));
  };
}

// What a dry run's --watch would do once the switch is done: how long, what a breach is, and
// where its automatic rollback would go, as watch_after decides it.
std::string watch_preview(Services& services, const SwitchResult& result, Operation operation,
                          std::chrono::seconds duration) {
  const std::string& target = result.plan.target;
  const std::string out = "then watch pool " + target + " for " + std::to_string(duration.count()) + " s (" +
                          watch_terms(services.config.watch.thresholds) + "); on a breach, ";
  const bool replaced_none = result.plan.from.empty() && !result.plan.steps.empty();
  const std::string marked = " and mark pool " + target + " bad";
  if (operation == Operation::deploy && (replaced_none || result.plan.from.size() > 1)) {
    return out + "no switch back (no single pool to switch back to): report the breach" + marked;
  }
  const auto back_to = automatic_target(services, result, operation);
  if (!back_to) return out + "roll back to the pool a plain rollback chooses then" + marked;
  // The automatic rollback passes over a pool it cannot go to, as a plain rollback does.
  const auto pools = services.provider.list_pools();
  const Pool* pool = pools ? find_pool(*pools, *back_to) : nullptr;
  const std::string problem = pool != nullptr ? rollback_candidate_problem(*pool, {}) : "gone";
  if (problem.empty()) return out + "roll back to pool " + *back_to + marked;
  return out + "roll back to the pool a plain rollback chooses then (not pool " + *back_to +
         ", which it replaced: " + problem + ")" + marked;
}

std::string watch_words(std::chrono::seconds duration) { return " --watch " + std::to_string(duration.count()) + "s"; }

}  // namespace

Result<SwitchResult> deploy(Services& services, const DeployOptions& options) {
  PHX_TRY(check_watch_duration(services, options.watch));
  const std::string command = "deploy --label " + options.label;
  PHX_TRY(check_switch_allowed(services, Operation::deploy, command, options.dry_run));
  const bool watched = options.watch && !options.dry_run;
  std::optional<WatchRecordScope> watch_record;  // removed when the watch ends, however it ends
  // A watched deploy is stoppable from its switch to its end as one: a signal that comes after
  // the switch's last safe point ends the watch at once instead of being forgotten, and one
  // during the breach's handling (waiting for the lock) ends it as a stop, not as a kill.
  std::optional<util::InterruptScope> stoppable;
  auto switched = [&]() -> Result<SwitchResult> {
    PHX_TRY(check_pool_exists_before_takeover(services, options.label, options.break_lock && !options.dry_run));
    PHX_TRY_ASSIGN(const auto lock, DeployLock::take_or_look(services, command, options.dry_run, options.break_lock));
    const auto interrupted = lock.held ? interrupted_operation(services) : pending_intent(services, options.dry_run);
    std::optional<Observation> first;
    if (reruns_interrupted(interrupted, Operation::deploy, options.label) && !options.force) {
      PHX_TRY_ASSIGN(first, observe(services, BalancerRead::snapshot));
      PHX_TRY(check_finishing(services, *first, *interrupted, options.force, lock));
    }
    if (watched) stoppable.emplace();
    auto result = switch_to(
        services,
        {.operation = Operation::deploy,
         .request = {.target = options.label,
                     .force = options.force,
                     .never_hot = interrupted && interrupted->target != options.label
                                      ? abandoned_targets(services, *interrupted)
                                      : std::vector<std::string>{}},
         .dry_run = options.dry_run,
         .defer_good_verdict = watched,
         .named_target = true,
         .watch = watched ? options.watch : std::nullopt,
         .resume_wake = resumes_wake(interrupted, Operation::deploy, options.label),
         .resumed_from = reruns_interrupted(interrupted, Operation::deploy, options.label) ? interrupted->from
                                                                                           : std::vector<std::string>{},
         .pending_before = interrupted},
        std::move(first));
    if (result && watched) {
      record_watch(services, watch_record, *options.watch, Operation::deploy,
                   "deploy --label " + options.label + watch_words(*options.watch))(*result);
    }
    return result;
  }();  // the lock is released before the watch
  if (switched && options.dry_run && options.watch) {
    switched->watch_preview = watch_preview(services, *switched, Operation::deploy, *options.watch);
  }
  if (!switched || !watched) return switched;
  return watch_after(services, std::move(*switched), *options.watch, Operation::deploy,
                     watch_record ? &*watch_record : nullptr);
}

Result<SwitchResult> rollback(Services& services, const RollbackOptions& options) {
  PHX_TRY(check_watch_duration(services, options.watch));
  const bool watched = options.watch && !options.dry_run;
  std::optional<WatchRecordScope> watch_record;  // removed when the watch ends, however it ends
  // As for a watched deploy; from before the lock, so that the pool marked bad and the switch
  // that follows are never split by a kill.
  std::optional<util::InterruptScope> stoppable;
  if (watched) stoppable.emplace();
  auto switched = rollback_switch(
      services, options,
      watched ? record_watch(services, watch_record, *options.watch, Operation::rollback,
                             "rollback" + (options.to ? " --to " + *options.to : "") + watch_words(*options.watch))
              : WhileLocked{});
  if (switched && options.dry_run && options.watch) {
    switched->watch_preview = watch_preview(services, *switched, Operation::rollback, *options.watch);
  }
  if (!switched || !watched) return switched;
  return watch_after(services, std::move(*switched), *options.watch, Operation::rollback,
                     watch_record ? &*watch_record : nullptr);
}

// After an interrupted switch: back to the one pool that was live when it started. A pool marked
// bad or failed since (a rollback marks the pool it leaves bad before it switches) is refused
// without `force`, as 'rollback --to' of it is, before anything changes; the dry run too. The
// commands a refusal names carry --break-lock where the lock stays stale (`lock`: a dry run past
// a stale one).
Result<SwitchResult> revert_interrupted(Services& services, const Intent& interrupted, bool dry_run, bool force,
                                        const LockScope& lock) {
  if (interrupted.from.size() != 1) {
    return Error{
        ErrorKind::invalid,
        "the interrupted " + std::string(to_string(interrupted.operation)) + " started with " +
            (interrupted.from.empty() ? std::string("no pool live") : util::join(interrupted.from, ", ") + " live") +
            ", so there is no one pool to return to; " +
            finishes_it({past_the_lock("deploy-pipeline repair", lock.left_stale)}) +
            ", or deploy the pool you want with '" +
            past_the_lock("deploy-pipeline deploy --label L", lock.left_stale) + "'"};
  }
  // The switch plans from this same look.
  PHX_TRY_ASSIGN(auto observed, observe(services, BalancerRead::snapshot));
  if (!force && !revert_target_problem(observed.pools, interrupted.from.front()).empty()) {
    const auto history = services.state.read_history();  // only on a refusal: who marked it and when
    PHX_TRY(check_reverting_interrupted(observed.pools, observed.members, interrupted, rollback_hints(services), force,
                                        history ? history->events : std::vector<HistoryEvent>{}, lock.left_stale));
  }
  services.reporter.step("returning to pool " + interrupted.from.front() + ", live before the interrupted " +
                         to_string(interrupted.operation) + " to pool " + interrupted.target);
  return switch_to(services,
                   {.operation = Operation::repair,
                    .request = {.target = interrupted.from.front(),
                                .force = true,
                                .never_hot = abandoned_targets(services, interrupted)},
                    .reason = "reverted the interrupted " + std::string(to_string(interrupted.operation)) +
                              " to pool " + interrupted.target,
                    .dry_run = dry_run,
                    .pending_before = interrupted},
                   std::move(observed));
}

Result<SwitchResult> repair(Services& services, const RepairOptions& options) {
  const std::string command = options.revert ? "repair --revert" : "repair";
  PHX_TRY(check_switch_allowed(services, Operation::repair, command, options.dry_run));
  PHX_TRY_ASSIGN(const auto lock, DeployLock::take_or_look(services, command, options.dry_run, options.break_lock));
  auto interrupted = lock.held ? interrupted_operation(services) : pending_intent(services, options.dry_run);
  if (interrupted && options.revert) {
    return revert_interrupted(services, *interrupted, options.dry_run, options.force, lock);
  }
  if (options.revert) {
    return Error{ErrorKind::invalid,
                 "nothing was interrupted, so there is nothing to revert; 'deploy-pipeline status' shows the state"};
  }
  if (interrupted) {
    PHX_TRY_ASSIGN(auto observed, observe(services, BalancerRead::snapshot));
    PHX_TRY(check_finishing(services, observed, *interrupted, options.force, lock));
    services.reporter.step("finishing the interrupted " + std::string(to_string(interrupted->operation)) + " to pool " +
                           interrupted->target);
    return switch_to(services,
                     {.operation = interrupted->operation,
                      .request = {.target = interrupted->target, .force = true},
                      .reason = interrupted->reason,
                      .dry_run = options.dry_run,
                      .by_repair = true,
                      .resume_wake = interrupted->waking(),
                      .resumed_from = interrupted->from,
                      .pending_before = interrupted},
                     std::move(observed));
  }
  // Each balancer's uptime comes with its members (last_written_pool judges a reload by it).
  PHX_TRY_ASSIGN(const auto observation, observe(services, BalancerRead::snapshot));
  const auto live = live_labels(observation.members);
  const auto restored =
      restored_by_repair(services, observation.pools, observation.balancers, live, last_successful_switch(services));
  if (live.empty() && !restored) {
    return Error{ErrorKind::failed,
                 "no pool is live, so there is nothing to repair; deploy one with "
                 "'deploy-pipeline deploy --label L'"};
  }
  if (restored) {
    // The operator's last switch wins over what a reload brought back.
    const bool several = observation.balancers.size() > 1;
    services.reporter.step(
        std::string(several ? "repair: the balancers route to " : "repair: the balancer routes to ") +
        (live.empty() ? std::string("no pool") : util::join(live, ", ")) + " but the membership " +
        (several ? "they restart" : "it restarts") + " with keeps pool " + *restored +
        ", which the last switch made live (a reload during that switch?); making pool " + *restored +
        " the only live pool again");
    return switch_to(
        services,
        {.operation = Operation::repair, .request = {.target = *restored, .force = true}, .dry_run = options.dry_run});
  }
  const std::string target = repair_target(services, observation, live);
  services.reporter.step("repair: keeping pool " + target + " live and removing every other member");
  return switch_to(
      services,
      {.operation = Operation::repair, .request = {.target = target, .force = true}, .dry_run = options.dry_run});
}

}  // namespace phoenix::ops
