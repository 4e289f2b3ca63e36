#include "shared/ops/deploy_lock.hpp"

#include <algorithm>

#include "shared/util/process.hpp"

namespace phoenix::ops {

LockHolder make_holder(const Services& services, const std::string& command) {
  LockHolder holder;
  holder.host = services.identity.host;
  holder.pid = services.identity.pid;
  holder.start_ticks = util::process_start_ticks(static_cast<pid_t>(holder.pid)).value_or(0);
  holder.job = services.identity.job;
  holder.command = command;
  holder.since = services.clock.wall_now();
  return holder;
}

std::optional<std::string> way_out_of_stopped_holder(const Services& services, const LockHolder& holder) {
  if (holder.host != services.identity.host) return std::nullopt;  // only its own host can tell
  if (!util::is_stopped(util::ProcessIdentity{static_cast<pid_t>(holder.pid), holder.start_ticks})) {
    return std::nullopt;
  }
  const std::string pid = std::to_string(holder.pid);
  return "'kill -CONT " + pid + "' lets it finish, 'kill -9 " + pid + "' ends it, then --break-lock";
}

std::optional<std::string> stopped_holder(const Services& services, const LockHolder& holder) {
  const auto way_out = way_out_of_stopped_holder(services, holder);
  if (!way_out) return std::nullopt;
  return "the deploy lock holder pid " + std::to_string(holder.pid) + " is stopped (SIGSTOP/Ctrl-Z): " + *way_out;
}

Error refused_in_a_real_run(const std::string& command, const Error& refusal) {
  return refusal.context("a real '" + command + "' would be refused");
}

namespace {

// A refusal to take the lock, coded for the callers that wait for a lock (the automatic
// rollback): lock_stale when the holder it names is stale (nobody will release it; waiting is
// pointless), else lock_busy. Other failures (the store unreachable) keep their own code.
Error refusal_to_take(Services& services, const Error& refused, std::chrono::seconds stale_after) {
  if (!refused.is(ErrorCode::lock_held)) return refused;
  Error coded = refused;
  coded.code = ErrorCode::lock_busy;
  const auto holder = services.state.read_lock();
  // A record that cannot be read is stale, as the store judged it when it refused (lock_seen).
  if (!holder && !holder.error().retryable()) {
    coded.code = ErrorCode::lock_stale;
  } else if (holder && holder->has_value() && services.state.staleness(**holder, stale_after)) {
    coded.code = ErrorCode::lock_stale;
  } else if (holder && holder->has_value()) {
    // "wait for it to finish" or "stop it first" do not help a holder that is stopped.
    if (auto stopped = stopped_holder(services, **holder)) {
      coded.message = "another deploy holds the lock: " + (*holder)->describe("stopped in") + "; " + *stopped;
    }
  }
  return coded;
}

// The holder of the lock as a dry run reads it, and why it is stale (nothing: it is not).
struct LockSeen {
  std::optional<LockHolder> holder;  // nothing: the record cannot be read
  std::optional<std::string> stale;
};

// What taking the lock would meet now, read without taking it: nothing when it is free. A
// record that cannot be read is stale, as every store judges it when it takes the lock.
Result<std::optional<LockSeen>> lock_seen(Services& services) {
  auto read = services.state.read_lock();
  if (!read && read.error().retryable()) return read.error();  // the real run cannot reach the store either
  if (!read) return std::optional<LockSeen>(LockSeen{.holder = std::nullopt, .stale = read.error().message});
  if (!read->has_value()) return std::optional<LockSeen>{};
  const LockHolder& holder = **read;
  return std::optional<LockSeen>(
      LockSeen{.holder = holder, .stale = services.state.staleness(holder, services.config.lock_stale_after)});
}

// A dry run predicts the real run's refusal to take the lock (with the same kind and code, so the
// same exit code) in one line: which command, which lock and holder, what to do. It reads the
// lock and never takes, breaks or writes it. True when the real run would take over a stale lock
// (`break_lock`): the lock stays stale after the dry run.
Result<bool> check_lock_would_be_taken(Services& services, const std::string& command, bool break_lock) {
  PHX_TRY_ASSIGN(const auto seen, lock_seen(services));
  if (!seen) return false;
  const std::string lock = "the deploy lock of service " + services.config.service;
  if (!seen->stale) {
    const auto stopped = seen->holder ? stopped_holder(services, *seen->holder) : std::nullopt;
    const std::string held_by = seen->holder ? "held by " + seen->holder->describe(stopped ? "stopped in" : "running")
                                             : "its record cannot be read";
    return refused_in_a_real_run(
        command, Error{ErrorKind::refused, lock + " is " + held_by + "; " + stopped.value_or("wait for it to finish"),
                       ErrorCode::lock_busy});
  }
  const std::string held_by =
      seen->holder ? "held by " + seen->holder->describe("left by") : "its record cannot be read";
  if (break_lock) {
    services.reporter.warning("a real '" + command + "' would take over the stale deploy lock (" + *seen->stale + "; " +
                              held_by + ")");
    return true;
  }
  return refused_in_a_real_run(
      command, Error{ErrorKind::refused,
                     lock + " is stale (" + *seen->stale + "; " + held_by +
                         "); once you have checked that its holder is gone, run it with --break-lock to take it over",
                     ErrorCode::lock_stale});
}

// The warning for a stale lock taken over: its holder, or, for a record that could not be read
// (it names nobody: a default holder would read "pid 0 ... since 1970"), that it was unreadable.
std::string describe_takeover(const Services& services, const LockTakeover& takeover) {
  if (!takeover.holder) {
    return "took over the deploy lock of service " + services.config.service +
           ": its record could not be read, so it named no holder";
  }
  return "took over the stale deploy lock of " + takeover.holder->describe("which was running");
}

// The longest a switch waits on one balancer: its health wait plus its drain wait.
std::chrono::seconds longest_switch_wait(const config::Config& config) {
  std::chrono::seconds longest = config.balancer.health_timeout + config.balancer.drain_timeout;
  for (const auto& balancer : config.balancers) {
    longest = std::max(longest, balancer.health_timeout + balancer.drain_timeout);
  }
  return longest;
}

// A lock held from another host is judged by its age alone (whether its holder runs can only be
// told on its own host): with lock.stale_after_s shorter than a switch's own waits, a switch
// running there looks stale while it works, and --break-lock would take its lock. Said once per
// command that takes the lock; the configuration still loads (docs/configuration.md).
void warn_if_lock_ages_before_switch_ends(Services& services) {
  const auto waits = longest_switch_wait(services.config);
  if (services.config.lock_stale_after >= waits) return;
  services.reporter.warning("lock.stale_after_s (" + std::to_string(services.config.lock_stale_after.count()) +
                            ") is shorter than health_timeout_s + drain_timeout_s (" + std::to_string(waits.count()) +
                            "): a switch run from another host looks stale while it waits; raise lock.stale_after_s");
}

}  // namespace

Result<DeployLock> DeployLock::take(Services& services, const std::string& command, bool break_lock) {
  warn_if_lock_ages_before_switch_ends(services);
  LockRequest request;
  request.holder = make_holder(services, command);
  request.break_lock = break_lock;
  request.stale_after = services.config.lock_stale_after;
  auto outcome = services.state.acquire_lock(request);
  if (!outcome) return refusal_to_take(services, outcome.error(), request.stale_after);
  if (outcome->taken_over) services.reporter.warning(describe_takeover(services, *outcome->taken_over));
  services.reporter.detail("holding the deploy lock of service " + services.config.service);
  return DeployLock(&services.state, &services.reporter, request.holder, outcome->taken_over);
}

Result<LockScope> DeployLock::take_or_look(Services& services, const std::string& command, bool dry_run,
                                           bool break_lock) {
  if (dry_run) {
    warn_if_lock_ages_before_switch_ends(services);
    PHX_TRY_ASSIGN(const bool takes_over_stale, check_lock_would_be_taken(services, command, break_lock));
    // Taking the lock is the real run's first write: a state directory that refuses it fails
    // the real run here (exit 1), so the dry run does too.
    if (services.state_writable) {
      if (auto writable = services.state_writable(); !writable.ok()) {
        return writable.error().context("a real '" + command + "' would fail");
      }
    }
    return LockScope{.held = std::nullopt, .left_stale = takes_over_stale};
  }
  PHX_TRY_ASSIGN(auto lock, take(services, command, break_lock));
  return LockScope{.held = std::move(lock), .left_stale = false};
}

Result<std::optional<DeployLock>> DeployLock::take_unless_dry_run(Services& services, const std::string& command,
                                                                  bool dry_run, bool break_lock) {
  PHX_TRY_ASSIGN(auto scope, take_or_look(services, command, dry_run, break_lock));
  return std::move(scope.held);
}

DeployLock::DeployLock(DeployLock&& other) noexcept
    : store_(other.store_),
      reporter_(other.reporter_),
      holder_(std::move(other.holder_)),
      taken_over_(std::move(other.taken_over_)) {
  other.store_ = nullptr;
}

DeployLock::~DeployLock() {
  if (store_ == nullptr) return;
  const auto released = store_->release_lock(holder_);
  if (!released.ok()) reporter_->warning("could not release the deploy lock: " + released.error().message);
}

}  // namespace phoenix::ops
