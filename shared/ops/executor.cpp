#include "shared/ops/executor.hpp"

#include <algorithm>
#include <map>

#include "shared/util/strings.hpp"

namespace phoenix::ops {

namespace {

// The reads around a first check that is due: from a little before (the last member was added
// just before the wait began, and a timer never fires early) until a little after (the check
// itself, and a busy machine's scheduling delay). Outside this window, and where the check is
// late, the wait reads every poll_interval as before.
constexpr std::chrono::milliseconds kFirstCheckLead{10};
constexpr std::chrono::milliseconds kFirstCheckLag{40};

std::map<std::string, Member> by_name(const std::vector<Member>& members) {
  std::map<std::string, Member> map;
  for (const auto& member : members) map.emplace(member.name, member);
  return map;
}

std::string member_state(const Member& member) {
  std::string text = member.name + " " + (member.status_text.empty() ? "unknown" : member.status_text);
  if (!member.check_text.empty()) text += " (check " + member.check_text + ")";
  return text;
}

// A step's words as it runs. A persist step says what the balancer does with the membership now
// (Balancer::keeping, asked only for it): one that writes nothing never says it keeps it.
std::string step_words(const Step& step, Balancer& balancer) {
  return describe(step, step.kind == StepKind::persist ? balancer.keeping().kind : KeepingKind::written);
}

}  // namespace

SwitchExecutor::SwitchExecutor(Balancer& balancer, util::Clock& clock, util::Reporter& reporter,
                               ExecutorOptions options)
    : balancer_(balancer), clock_(clock), reporter_(reporter), options_(options) {}

Status SwitchExecutor::check_stop(const char* where) const {
  if (!options_.stop_requested || !options_.stop_requested()) return {};
  return Error{ErrorKind::failed, std::string("asked to stop ") + where, ErrorCode::interrupted};
}

SwitchOutcome SwitchExecutor::run(const std::vector<Step>& steps, const StepCallback& before_step) {
  SwitchOutcome outcome;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    outcome.status = check_stop("before the next step");
    if (!outcome.status.ok()) return outcome;
    if (before_step) {
      outcome.status = before_step(i, step);
      if (!outcome.status.ok()) return outcome;
    }
    const std::string description = step_words(step, balancer_);
    reporter_.step(options_.message_prefix + description);
    const auto step_started = clock_.now();
    Status status;
    switch (step.kind) {
      case StepKind::add_standby:
        status = balancer_.add_standby(step.additions);
        break;
      case StepKind::standby:
        status = guarded("not putting on standby", balancer_.standby(step.members, step.keep_serving));
        break;
      case StepKind::wait_healthy:
        status = wait_healthy(step, outcome);
        break;
      case StepKind::admit:
        status = balancer_.admit(step.members);
        break;
      case StepKind::drain:
        status = guarded("not draining", balancer_.drain(step.members, step.keep_serving));
        break;
      case StepKind::wait_drained:
        status = wait_drained(step);
        break;
      case StepKind::remove:
        status = remove(step, outcome);
        break;
      case StepKind::persist:
        status = balancer_.persist(step.membership);
        break;
    }
    outcome.timings.push_back({description, util::elapsed_ms(step_started, clock_.now())});
    const bool changes_membership =
        step.kind != StepKind::wait_healthy && step.kind != StepKind::wait_drained && step.kind != StepKind::persist;
    // A change the balancer did not take (unreachable, or a guard that no longer held) may
    // mean it reloaded under us: plan again from what it has now. (A balancer that stays
    // unreachable fails that observation.)
    if (!status.ok() && changes_membership && status.error().kind == ErrorKind::unavailable) {
      outcome.balancer_changed = true;
    }
    if (!status.ok()) {
      outcome.status = status;
      return outcome;
    }
    outcome.steps_done = i + 1;
  }
  return outcome;
}

Status SwitchExecutor::wait_healthy(const Step& step, SwitchOutcome& outcome) {
  const auto started = clock_.now();
  const auto deadline = started + options_.health_timeout;
  while (true) {
    const auto read_started = clock_.now();
    auto members = balancer_.members();
    if (!members) return members.error();
    const std::chrono::milliseconds read_took{util::elapsed_ms(read_started, clock_.now())};
    const auto current = by_name(*members);
    std::vector<std::string> waiting;
    std::vector<std::string> missing;
    for (const auto& name : step.members) {
      const auto found = current.find(name);
      if (found == current.end()) {
        missing.push_back(name);
      } else if (!found->second.healthy()) {
        waiting.push_back(member_state(found->second));
      }
    }
    if (!missing.empty()) {
      // Someone removed them, or the balancer reloaded without them: the caller plans again.
      outcome.balancer_changed = true;
      return Error{ErrorKind::unavailable,
                   "members vanished from the balancer while waiting for them: " + util::join(missing, ", ")};
    }
    if (waiting.empty()) {
      reporter_.detail(options_.message_prefix + "healthy after " +
                       util::format_duration_ms(util::elapsed_ms(started, clock_.now())));
      return {};
    }
    if (clock_.now() >= deadline) {
      outcome.unhealthy = true;
      const std::size_t shown = std::min<std::size_t>(waiting.size(), 4);
      std::vector<std::string> examples(waiting.begin(), waiting.begin() + static_cast<long>(shown));
      return Error{ErrorKind::failed, util::plural(waiting.size(), "member") + " did not become healthy within " +
                                          util::format_duration_ms(options_.health_timeout.count()) +
                                          " (balancer.health_timeout_s): " + util::join(examples, ", ") +
                                          (waiting.size() > shown ? ", ..." : "")};
    }
    PHX_TRY(check_stop("while waiting for the new members to become healthy"));
    clock_.sleep_for(health_pause(std::chrono::milliseconds(util::elapsed_ms(started, clock_.now())), read_took));
  }
}

std::chrono::milliseconds SwitchExecutor::health_pause(std::chrono::milliseconds elapsed,
                                                       std::chrono::milliseconds read_took) const {
  const auto due = balancer_.capabilities().first_check_after;
  if (due.count() <= 0) return options_.poll_interval;
  const auto opens = due - kFirstCheckLead;
  if (elapsed < opens) return std::min(options_.poll_interval, opens - elapsed);
  // At most every other moment spent reading: a large backend's read is not repeated back to back.
  if (elapsed < due + kFirstCheckLag) return std::max(options_.first_check_poll, read_took);
  return options_.poll_interval;
}

Status SwitchExecutor::guarded(const char* what, const Result<GuardedChange>& change) {
  if (!change) return change.error();
  if (!change->applied) {
    return Error{ErrorKind::unavailable,
                 std::string(what) + ": " + change->refusal + " (was the balancer reloaded or changed by hand?)"};
  }
  return {};
}

Status SwitchExecutor::wait_drained(const Step& step) {
  const auto started = clock_.now();
  const auto deadline = started + options_.drain_timeout;
  while (true) {
    auto members = balancer_.members();
    if (!members) return members.error();
    const auto current = by_name(*members);
    std::vector<std::string> connected;
    for (const auto& name : step.members) {
      const auto found = current.find(name);
      if (found != current.end() && found->second.sessions > 0) {
        connected.push_back(name + " (" + util::plural(static_cast<std::size_t>(found->second.sessions), "connection") +
                            ")");
      }
    }
    if (connected.empty()) {
      reporter_.detail(options_.message_prefix + "drained after " +
                       util::format_duration_ms(util::elapsed_ms(started, clock_.now())));
      return {};
    }
    if (clock_.now() >= deadline) {
      reporter_.warning(options_.message_prefix + "drain timed out after " +
                        util::format_duration_ms(options_.drain_timeout.count()) +
                        " (balancer.drain_timeout_s); still connected: " + util::join(connected, ", "));
      return {};
    }
    PHX_TRY(check_stop("while the old members drained"));
    clock_.sleep_for(options_.poll_interval);
  }
}

Status SwitchExecutor::remove(const Step& step, SwitchOutcome& outcome) {
  const auto deadline = clock_.now() + options_.removal_grace;
  std::vector<std::string> pending = step.members;
  while (true) {
    auto change = balancer_.remove(pending, step.keep_serving);
    if (!change) return change.error();
    if (!change->applied) {
      return Error{ErrorKind::unavailable,
                   "not removing: " + change->refusal + " (was the balancer reloaded or changed by hand?)"};
    }
    pending = change->still_connected;
    if (pending.empty()) return {};
    if (clock_.now() >= deadline) {
      reporter_.warning(options_.message_prefix + "left in maintenance because connections are still open: " +
                        util::join(pending, ", ") + "; the next deploy or 'deploy-pipeline repair' removes them");
      outcome.left_in_maintenance = pending;
      return {};
    }
    reporter_.detail(options_.message_prefix + "waiting for connections to close before removing " +
                     util::join(pending, ", "));
    PHX_TRY(check_stop("while waiting to remove members with open connections"));
    clock_.sleep_for(options_.poll_interval);
  }
}

}  // namespace phoenix::ops
