// deploy-pipeline's operations: deploy, rollback, repair, status and history.

#include <algorithm>

#include "shared/ops/deploy_lock.hpp"
#include "shared/ops/executor.hpp"
#include "shared/ops/operations.hpp"
#include "shared/ops/smoke_runner.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ops {

namespace {

using util::Clock;

struct SwitchRequestFull {
  std::string operation;  // deploy, rollback, repair
  SwitchRequest request;
  std::string reason;
  bool dry_run = false;
};

SwitchRequestFull request(const std::string& operation, const std::string& target, bool force,
                          const std::string& reason, bool dry_run) {
  SwitchRequestFull full;
  full.operation = operation;
  full.request.target = target;
  full.request.force = force;
  full.reason = reason;
  full.dry_run = dry_run;
  return full;
}

struct Observation {
  std::vector<Pool> pools;
  std::vector<Member> members;
};

Result<Observation> observe(Services& services) {
  Observation observation;
  auto pools = services.provider.list_pools();
  if (!pools) return pools.error();
  observation.pools = std::move(*pools);
  auto members = services.balancer.members();
  if (!members) return members.error();
  observation.members = std::move(*members);
  return observation;
}

std::string by(const Services& services) {
  return services.identity.user.empty() ? services.identity.host : services.identity.user;
}

void record(Services& services, const std::string& action, const std::string& label,
            const std::vector<std::string>& from, const std::string& result, long long duration_ms,
            const std::string& detail) {
  HistoryEvent event;
  event.at = services.clock.wall_now();
  event.action = action;
  event.label = label;
  event.from = util::join(from, ",");
  event.result = result;
  event.duration_ms = duration_ms;
  event.by = by(services);
  event.detail = detail;
  const auto appended = services.state.append_history(event);
  if (!appended.ok()) services.reporter.warning("could not record history: " + appended.error().message);
}

// A powered-off target is powered on and smoke-tested before it may take traffic.
Status wake_if_powered_off(Services& services, const std::string& label, Observation& observation) {
  const Pool* pool = find_pool(observation.pools, label);
  if (pool == nullptr || pool->power == PowerState::on) return {};
  services.reporter.step("pool " + label + " is powered off: powering it on first");
  PHX_TRY(services.provider.set_power(*pool, PowerState::on));
  auto report = smoke_test(services, label);
  if (!report) return report.error();
  if (!report->passed()) {
    return Error{ErrorKind::failed, "pool " + label + " failed its smoke test after powering on; nothing was switched"};
  }
  auto again = observe(services);
  if (!again) return again.error();
  observation = std::move(*again);
  return {};
}

Status mark_replaced_pools_good(Services& services, const Observation& observation, const SwitchPlan& plan) {
  for (const auto& label : plan.from) {
    const Pool* pool = find_pool(observation.pools, label);
    if (pool == nullptr || pool->meta.verdict != LiveVerdict::unknown) continue;
    PoolMetadata meta = pool->meta;
    meta.verdict = LiveVerdict::good;
    meta.verdict_reason = "served until pool " + plan.target + " replaced it";
    PHX_TRY(services.provider.update_metadata(meta));
  }
  return {};
}

ExecutorOptions executor_options(const Services& services) {
  ExecutorOptions options;
  options.health_timeout = services.config.balancer.health_timeout;
  options.drain_timeout = services.config.balancer.drain_timeout;
  options.kill_before_step = services.kill_before_step;
  return options;
}

// After the last step the balancer must show exactly the target live. When the balancer
// reloaded during the switch, the reload gets time to settle before the last look: a reload
// that read its config file mid-switch comes up with the membership of a moment earlier.
Status verify_end_state(Services& services, const std::string& target, const std::vector<std::string>& target_members,
                        const std::string& instance_at_start, bool& replan) {
  constexpr std::chrono::milliseconds kSettle{1000};
  auto instance = services.balancer.instance();
  if (!instance) return instance.error();
  if (*instance != instance_at_start) {
    services.reporter.step("the balancer restarted or reloaded during the switch; checking again in " +
                           util::format_duration_ms(kSettle.count()));
    services.clock.sleep_for(kSettle);
  }
  auto members = services.balancer.members();
  if (!members) return members.error();
  if (only_live(target, target_members, *members)) return {};
  replan = true;
  return Error{ErrorKind::unavailable, "the balancer does not show pool " + target + " as the only live pool"};
}

// One plan-and-execute pass of a switch. The caller holds the deploy lock.
Result<SwitchResult> switch_once(Services& services, const SwitchRequestFull& full, Clock::Steady::time_point started,
                                 bool& replan) {
  replan = false;
  const std::string& target = full.request.target;
  auto instance_at_start = services.balancer.instance();
  if (!instance_at_start) return instance_at_start.error();
  auto observation = observe(services);
  if (!observation) return observation.error();
  if (!full.dry_run) PHX_TRY(wake_if_powered_off(services, target, *observation));

  auto plan = plan_switch(full.request, observation->pools, observation->members);
  if (!plan) return plan.error();
  SwitchResult result;
  result.plan = *plan;
  result.dry_run = full.dry_run;
  if (full.dry_run) return result;

  if (plan->steps.empty()) {
    services.reporter.step("pool " + target + " is the only live pool; nothing to switch");
    PHX_TRY(services.balancer.persist(observation->members));
    // Nothing left to do may mean this command (an earlier attempt, or the interrupted run it
    // re-runs) did the work: then it is a switch that succeeded, and history says so.
    auto pending = services.state.read_intent();
    if (!pending) return pending.error();
    PHX_TRY(services.state.clear_intent());
    if (pending->has_value() && (*pending)->target == target) {
      record(services, full.operation, target, (*pending)->from, "succeeded",
             util::elapsed_ms(started, services.clock.now()), full.reason);
    }
    return result;
  }

  Intent intent;
  intent.operation = full.operation;
  intent.target = target;
  intent.from = plan->from;
  intent.reason = full.reason;
  intent.by = make_holder(services, full.operation + " " + target);
  intent.started_at = services.clock.wall_now();
  intent.steps = static_cast<int>(plan->steps.size());
  PHX_TRY(services.state.write_intent(intent));
  services.reporter.step(full.operation + ": making pool " + target + " live" +
                         (plan->from.empty() ? "" : " in place of " + util::join(plan->from, ", ")) + " in " +
                         util::plural(plan->steps.size(), "step"));

  SwitchExecutor executor(services.balancer, services.clock, services.reporter, executor_options(services));
  const auto outcome = executor.run(plan->steps, [&](std::size_t index, const Step& step) {
    intent.step = static_cast<int>(index);
    intent.current = describe(step);
    return services.state.write_intent(intent);
  });
  const auto elapsed = [&] { return util::elapsed_ms(started, services.clock.now()); };

  if (outcome.unhealthy) {
    // Invariant 1: take the target out again; whatever served before keeps serving.
    services.reporter.warning(outcome.status.error().message);
    services.reporter.step("taking pool " + target + " out again; the previous pool keeps serving");
    auto members = services.balancer.members();
    if (!members) return members.error().context("reverting after the health timeout");
    const auto revert = executor.run(plan_revert(target, *members), {});
    if (!revert.status.ok()) return revert.status.error().context("reverting after the health timeout");
    PHX_TRY(services.state.clear_intent());
    record(services, full.operation, target, plan->from, "failed", elapsed(), outcome.status.error().message);
    return Error{ErrorKind::failed, "pool " + target + " did not become healthy: " + outcome.status.error().message +
                                        "; it was taken out again and " +
                                        (plan->from.empty() ? std::string("nothing else was live")
                                                            : util::join(plan->from, ", ") + " still serves")};
  }
  if (outcome.balancer_changed) {
    services.reporter.warning(outcome.status.error().message + "; planning again from what the balancer has now");
    replan = true;
    return outcome.status.error();
  }
  if (!outcome.status.ok()) {
    // The intent record stays: status explains the state and a re-run completes it.
    record(services, full.operation, target, plan->from, "interrupted", elapsed(), outcome.status.error().message);
    return outcome.status.error().context(full.operation + " of pool " + target + " stopped after step " +
                                          std::to_string(outcome.steps_done) + " of " +
                                          std::to_string(plan->steps.size()) + "; re-run it to finish");
  }

  std::vector<std::string> target_members;
  for (const auto& server : find_pool(observation->pools, target)->servers)
    target_members.push_back(member_name(target, server.id));
  if (const auto verified = verify_end_state(services, target, target_members, *instance_at_start, replan);
      !verified.ok()) {
    if (replan) services.reporter.warning(verified.error().message + "; planning again from what the balancer has now");
    return verified.error();
  }

  PHX_TRY(services.state.clear_intent());
  if (full.operation == "deploy") {
    const auto marked = mark_replaced_pools_good(services, *observation, *plan);
    if (!marked.ok())
      services.reporter.warning("could not record the verdict of the replaced pool: " + marked.error().message);
  }
  result.duration_ms = elapsed();
  result.left_in_maintenance = outcome.left_in_maintenance;
  record(services, full.operation, target, plan->from, "succeeded", result.duration_ms, full.reason);
  services.reporter.step("pool " + target + " is live (" + util::format_duration_ms(result.duration_ms) + ")");
  return result;
}

// The shared core of deploy, rollback and repair: plan from what is observed, execute, and
// plan again when the balancer undid steps under us (a reload, a hand-made change).
Result<SwitchResult> switch_to(Services& services, const SwitchRequestFull& full) {
  constexpr int kAttempts = 3;
  const auto started = services.clock.now();
  for (int attempt = 1;; ++attempt) {
    bool replan = false;
    auto result = switch_once(services, full, started, replan);
    if (!replan || attempt == kAttempts) {
      if (!result.ok() && replan) {
        return result.error().context(full.operation + " of pool " + full.request.target +
                                      ": the balancer kept changing under it; re-run it to finish");
      }
      return result;
    }
  }
}

// The newest deploy, rollback or repair that succeeded: the pool the operator last made live.
// Unreadable history counts as none; the callers only use it to explain or to choose.
std::optional<HistoryEvent> last_successful_switch(Services& services) {
  auto events = services.state.read_history();
  if (!events) return std::nullopt;
  for (auto it = events->rbegin(); it != events->rend(); ++it) {
    const bool switch_action = it->action == "deploy" || it->action == "rollback" || it->action == "repair";
    if (switch_action && it->result == "succeeded") return *it;
  }
  return std::nullopt;
}

// An interrupted operation found when starting another one, reported once.
std::optional<Intent> interrupted_operation(Services& services) {
  auto intent = services.state.read_intent();
  if (!intent || !intent->has_value()) return std::nullopt;
  const Intent& found = **intent;
  services.reporter.warning("found an interrupted " + found.operation + " to pool " + found.target + " (at step " +
                            std::to_string(found.step + 1) + " of " + std::to_string(found.steps) + ")");
  return found;
}

}  // namespace

Result<SwitchResult> deploy(Services& services, const DeployOptions& options) {
  std::optional<DeployLock> lock;
  if (!options.dry_run) {
    auto taken = DeployLock::take(services, "deploy --label " + options.label, options.break_lock);
    if (!taken) return taken.error();
    lock.emplace(std::move(*taken));
    interrupted_operation(services);
  }
  return switch_to(services, request("deploy", options.label, options.force, "", options.dry_run));
}

Result<SwitchResult> rollback(Services& services, const RollbackOptions& options) {
  std::optional<DeployLock> lock;
  std::optional<Intent> interrupted;
  if (!options.dry_run) {
    auto taken = DeployLock::take(services, "rollback" + (options.to ? " --to " + *options.to : std::string()),
                                  options.break_lock);
    if (!taken) return taken.error();
    lock.emplace(std::move(*taken));
    interrupted = interrupted_operation(services);
  }
  // Re-running an interrupted rollback finishes it: the target was chosen before the crash,
  // when the live pool was still unambiguous.
  if (interrupted && interrupted->operation == "rollback" && !options.to) {
    services.reporter.step("finishing the interrupted rollback to pool " + interrupted->target);
    return switch_to(services, request("rollback", interrupted->target, true, interrupted->reason, false));
  }
  auto observation = observe(services);
  if (!observation) return observation.error();
  auto choice = choose_rollback_target(observation->pools, observation->members, options.to);
  if (!choice) return choice.error();
  const std::string reason = options.reason.empty() ? "rolled back to " + choice->target : options.reason;
  services.reporter.step("rolling back from pool " + (choice->from.empty() ? std::string("(none)") : choice->from) +
                         " to pool " + choice->target);
  if (!options.dry_run) {
    for (const auto& label : util::split(choice->from, ',')) {
      const Pool* from = find_pool(observation->pools, label);
      if (from == nullptr) continue;
      PoolMetadata meta = from->meta;
      meta.verdict = LiveVerdict::bad;
      meta.verdict_reason = reason;
      PHX_TRY(services.provider.update_metadata(meta));
      services.reporter.step("marked pool " + label + " bad: " + reason);
    }
  }
  return switch_to(services, request("rollback", choice->target, options.force, reason, options.dry_run));
}

Result<SwitchResult> repair(Services& services, const RepairOptions& options) {
  std::optional<DeployLock> lock;
  std::optional<Intent> interrupted;
  if (!options.dry_run) {
    auto taken = DeployLock::take(services, "repair", options.break_lock);
    if (!taken) return taken.error();
    lock.emplace(std::move(*taken));
    interrupted = interrupted_operation(services);
  }
  if (interrupted) {
    services.reporter.step("finishing the interrupted " + interrupted->operation + " to pool " + interrupted->target);
    return switch_to(services,
                     request(interrupted->operation, interrupted->target, true, interrupted->reason, options.dry_run));
  }
  auto observation = observe(services);
  if (!observation) return observation.error();
  const auto live = live_labels(observation->members);
  if (live.empty()) {
    return Error{ErrorKind::failed,
                 "no pool is live, so there is nothing to repair; deploy one with "
                 "'deploy-pipeline deploy --label L'"};
  }
  // The pool the last successful switch made live is what the operator wants live (a reload
  // that read a stale config can have undone it); else the newest live pool.
  std::string target;
  if (const auto last = last_successful_switch(services); last && find_pool(observation->pools, last->label)) {
    target = last->label;
  }
  if (target.empty()) {
    std::vector<Pool> candidates;
    for (const auto& pool : observation->pools) {
      if (std::find(live.begin(), live.end(), pool.label()) != live.end()) candidates.push_back(pool);
    }
    sort_newest_first(candidates);
    target = candidates.empty() ? live.back() : candidates.front().label();
  }
  services.reporter.step("repair: keeping pool " + target + " live and removing every other member");
  return switch_to(services, request("repair", target, true, "", options.dry_run));
}

Result<StatusReport> status(Services& services) {
  auto observation = observe(services);
  if (!observation) return observation.error();
  auto intent = services.state.read_intent();
  if (!intent) return intent.error();
  auto lock = services.state.read_lock();
  if (!lock) return lock.error();
  auto durable = services.balancer.durable_members();
  if (!durable) return durable.error();
  StatusInputs inputs{services.config.service, observation->pools, observation->members, *intent, *lock, {}, false};
  inputs.durable = *durable;
  inputs.last_switch = last_successful_switch(services);
  if (lock->has_value()) {
    inputs.lock_staleness = services.state.staleness(**lock, services.config.lock_stale_after);
    inputs.operation_in_progress = intent->has_value() && !inputs.lock_staleness;
  }
  return build_status(inputs);
}

Result<std::vector<HistoryEvent>> history(Services& services) { return services.state.read_history(); }

}  // namespace phoenix::ops
