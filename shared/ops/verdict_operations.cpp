#include "shared/ops/verdict_operations.hpp"

#include <algorithm>
#include <chrono>

#include "shared/ops/deploy_lock.hpp"
#include "shared/ops/history_log.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix::ops {

namespace {

std::string person(const Services& services) {
  return services.identity.user.empty() ? services.identity.host : services.identity.user;
}

std::string describe(const Freeze& freeze) {
  return std::string(freeze.all ? "deploys, rollbacks and repairs" : "deploys") + " are frozen since " +
         util::format_iso8601(freeze.since) + " by " + (freeze.by.empty() ? "someone" : freeze.by) +
         (freeze.job.empty() ? "" : " (job " + freeze.job + ")") + ": " + freeze.reason;
}

// A freeze in place is someone's decision, and one `unfreeze` lifts the whole record: a new
// freeze may widen it (deploys only, to rollbacks and repairs too), never narrow it nor replace
// its reason unasked. Anything else is refused, naming the freeze in place and the way on.
Status check_may_replace(const std::optional<Freeze>& current, const FreezeOptions& options) {
  if (!current || (options.all && !current->all)) return {};
  const std::string narrower =
      current->all && !options.all ? " (a freeze without --all would allow rollbacks and repairs again)" : "";
  return Error{ErrorKind::refused, "already frozen: " + describe(*current) + "; nothing was changed" + narrower +
                                       ". 'deploy-pipeline unfreeze' lifts it, then freeze again"};
}

// Attempts at a freeze or unfreeze whose write found the record changed since it was read, or
// its guard held by another process.
constexpr int kFreezeAttempts = 10;

// The wait before attempt `attempt` + 1: a little longer each time, at most a second (a store
// whose writes take a guard may be busy with another command's write for a while).
std::chrono::milliseconds freeze_backoff(int attempt) {
  return std::min(std::chrono::milliseconds(100) * attempt, std::chrono::milliseconds(1000));
}

// The freeze `options` asks for; widening `current`, it keeps why it was frozen in the first
// place: "incident 42; widening: code freeze (by ops-a since T)".
Freeze new_freeze(const Services& services, const FreezeOptions& options, const std::optional<Freeze>& current) {
  Freeze record{.reason = options.reason,
                .all = options.all,
                .by = person(services),
                .job = services.identity.job,
                .since = services.clock.wall_now()};
  if (current) {
    record.reason += "; widening: " + current->reason + " (by " + (current->by.empty() ? "someone" : current->by) +
                     " since " + util::format_iso8601(current->since) + ")";
  }
  return record;
}

struct FreezeChange {
  std::optional<Freeze> before;  // the record replaced
  std::optional<Freeze> after;   // the record written in its place (nothing: removed)
  // Why the record replaced could not be read, when it was one that could not (removed then).
  std::optional<std::string> unreadable;
};

// What a freeze record that cannot be read (`read`, naming where) stops, and the way out.
Error unreadable_freeze_record(const Error& read) {
  return Error{read.kind,
               "the freeze record cannot be read (" + read.message +
                   "); nothing was changed. 'deploy-pipeline unfreeze' clears it, then freeze again if needed",
               read.code};
}

// The write attempts of one freeze or unfreeze that wrote nothing, and why: each failed write
// counted, the last kept, so that giving up says what really stood in the way.
class FreezeAttempts {
 public:
  // A write that wrote nothing: counted when it may succeed later, otherwise the error to stop with.
  Status count(const Error& error) {
    if (!error.is(ErrorCode::changed_concurrently) && !error.is(ErrorCode::guard_busy)) return error;
    (error.is(ErrorCode::guard_busy) ? busy_ : changed_)++;
    last_ = error;
    return {};
  }
  bool exhausted() const { return busy_ + changed_ == kFreezeAttempts; }
  // Why this command gives up: the guard held by another process (nobody wrote the record: wait
  // for that process or stop it), or the record written by other commands each time.
  Error give_up() const {
    const std::string attempts = std::to_string(kFreezeAttempts);
    if (last_.is(ErrorCode::guard_busy)) {
      const std::string others =
          changed_ == 0 ? "" : ", and " + std::to_string(changed_) + " found the record changed by another command";
      return Error{ErrorKind::refused,
                   last_.message + " (" + std::to_string(busy_) + " of " + attempts + " attempts found it held" +
                       others +
                       "); nothing was changed. Wait for that process to end, or stop it if it is stuck, "
                       "then run this again",
                   ErrorCode::guard_busy};
    }
    const std::string held = busy_ == 0 ? "each finding another command's write"
                                        : std::to_string(changed_) + " finding another command's write, " +
                                              std::to_string(busy_) + " the freeze guard held";
    return Error{ErrorKind::refused,
                 "the freeze record kept changing while this command ran (" + attempts + " attempts, " + held +
                     "); nothing was changed. 'deploy-pipeline status' shows the record as it is now; run this again",
                 ErrorCode::changed_concurrently};
  }

 private:
  int busy_ = 0;
  int changed_ = 0;
  Error last_;
};

// One attempt: reads the freeze record and writes what `decide` makes of it, on the condition
// that the record is still the one read (StateStore::replace_freeze). A record that cannot be
// read is removed when `clear_unreadable` (StateStore::clear_unreadable_freeze), and otherwise
// stops the command, naming the way out.
template <class Decide>
Result<FreezeChange> try_change_freeze(Services& services, Decide& decide, bool clear_unreadable) {
  auto current = services.state.read_freeze();
  if (!current) {
    if (!current.error().is(ErrorCode::unreadable_record)) return current.error();
    if (!clear_unreadable) return unreadable_freeze_record(current.error());
    PHX_TRY(services.state.clear_unreadable_freeze());
    return FreezeChange{.unreadable = current.error().message};
  }
  PHX_TRY_ASSIGN(auto next, decide(*current));
  if (next == *current) return FreezeChange{std::move(*current), std::move(next)};
  const Status replaced = services.state.replace_freeze(*current, next);
  if (!replaced.ok() && replaced.error().is(ErrorCode::unreadable_record)) {
    // Garbled since it was read: written meanwhile, as any change; the next attempt reads it.
    return Error{ErrorKind::refused, replaced.error().message, ErrorCode::changed_concurrently};
  }
  if (!replaced.ok()) return replaced.error();
  return FreezeChange{std::move(*current), std::move(next)};
}

// Changes the freeze record as try_change_freeze does. When another command wrote it
// meanwhile, reads it again and decides again, so the rule is applied to the record in place;
// when its guard is held by another process, tries again after a while; at most
// kFreezeAttempts times. Writes nothing when nothing changes.
template <class Decide>
Result<FreezeChange> change_freeze(Services& services, Decide decide, bool clear_unreadable = false) {
  FreezeAttempts attempts;
  for (int attempt = 1;; ++attempt) {
    auto change = try_change_freeze(services, decide, clear_unreadable);
    if (change) return change;
    PHX_TRY(attempts.count(change.error()));
    if (attempts.exhausted()) return attempts.give_up();
    services.clock.sleep_for(freeze_backoff(attempt));
  }
}

// A freeze stops commands that start after it, not one running: when another live process
// holds the deploy lock (a deploy, a rollback...), a warning names it and the way on; one that
// is stopped (SIGSTOP, Ctrl-Z) does not finish by itself, and its warning says so.
void warn_of_running_command(Services& services) {
  const auto lock = services.state.read_lock();
  if (!lock) {
    services.reporter.warning("cannot read the deploy lock (" + lock.error().message +
                              "): a command running now is not stopped by this freeze; 'deploy-pipeline status' "
                              "shows whether one runs");
    return;
  }
  if (!*lock || services.state.staleness(**lock, services.config.lock_stale_after)) return;
  if (auto way_out = way_out_of_stopped_holder(services, **lock)) {
    // Stopped (SIGSTOP, Ctrl-Z), it is not stale, yet it does not finish by itself.
    services.reporter.warning(
        "a command already running is not stopped by this freeze: " + (*lock)->describe("stopped (SIGSTOP/Ctrl-Z) in") +
        " (it holds the deploy lock), so it will not finish until it is continued: " + *way_out);
    return;
  }
  services.reporter.warning("a command already running is not stopped by this freeze: " + (*lock)->describe() +
                            " (it holds the deploy lock) and will finish. Wait for it to end ('deploy-pipeline "
                            "status' shows it), then 'deploy-pipeline rollback' if what it made live must not stay");
}

// A pool whose creation did not finish (and that is not cold: an archive stands for a pool that
// was whole) has a release nobody saw serve: a good mark would make it a rollback target.
Status check_may_mark_good(const Pool& pool) {
  if (pool.complete || pool.archive) return {};
  std::string way_on = finish_creating_advice(pool);
  if (!pool.meta.revision.empty()) way_on += ", or 'create-pipeline delete --label " + pool.label() + "' removes it";
  return Error{ErrorKind::refused, "pool " + pool.label() +
                                       " was not created completely (its create was interrupted), so it cannot be "
                                       "marked good; nothing was changed: " +
                                       way_on};
}

// What a good mark by hand records: who gave it, and why when they said.
std::string good_reason(const Services& services, const std::string& reason) {
  const std::string by = "marked good by " + person(services);
  return reason.empty() ? by : by + ": " + reason;
}

}  // namespace

Status freeze(Services& services, const FreezeOptions& options) {
  PHX_TRY_ASSIGN(const auto change,
                 change_freeze(services, [&](const std::optional<Freeze>& current) -> Result<std::optional<Freeze>> {
                   PHX_TRY(check_may_replace(current, options));
                   return std::optional<Freeze>(new_freeze(services, options, current));
                 }));
  services.reporter.step(describe(*change.after));
  HistoryEvent event = new_event(services, HistoryAction::freeze, "", HistoryResult::succeeded);
  event.detail = (options.all ? "all: " : "") + change.after->reason;
  record_history(services, event);
  warn_of_running_command(services);
  return {};
}

Result<Unfreezing> unfreeze(Services& services) {
  PHX_TRY_ASSIGN(
      const auto change,
      change_freeze(
          services, [](const std::optional<Freeze>&) { return Result<std::optional<Freeze>>(std::optional<Freeze>{}); },
          true));
  if (!change.before && !change.unreadable) return Unfreezing{};
  HistoryEvent event = new_event(services, HistoryAction::unfreeze, "", HistoryResult::succeeded);
  event.detail = change.before ? "lifted: " + change.before->reason
                               : "cleared a freeze record that could not be read: " + *change.unreadable;
  record_history(services, event);
  return Unfreezing{.lifted = change.before, .unreadable = change.unreadable};
}

Status check_not_frozen(Services& services, Operation operation) {
  auto read = services.state.read_freeze();
  if (!read && read.error().is(ErrorCode::unreadable_record)) {
    // Whether it freezes this command is not known: refused, with the way out.
    return Error{read.error().kind,
                 "the freeze record cannot be read (" + read.error().message + "), so whether '" +
                     to_string(operation) +
                     "' is frozen is not known; nothing was changed. 'deploy-pipeline unfreeze' clears it (ask "
                     "whoever froze first), then run this again",
                 ErrorCode::unreadable_record};
  }
  PHX_TRY_ASSIGN(const auto current, std::move(read));
  if (!current || (operation != Operation::deploy && !current->all)) return {};
  return Error{ErrorKind::refused, describe(*current) + "; 'deploy-pipeline unfreeze' lifts it" +
                                       (current->all ? "" : " (rollback and repair stay allowed)")};
}

Status set_verdict(Services& services, const VerdictOptions& options) {
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  const Pool* pool = find_pool(pools, options.label);
  if (pool == nullptr) {
    return Error{ErrorKind::invalid,
                 "there is no pool '" + options.label + "'; 'create-pipeline list' shows the pools that exist"};
  }
  if (!pool->readable()) {
    // Its verdict lives in the record that cannot be read: nothing to write it into.
    return Error{ErrorKind::failed, "pool " + options.label + " cannot be marked " + to_string(options.verdict) +
                                        ": its record is unreadable (" + pool->unreadable +
                                        "); nothing was changed. Restore that file, then run this again"};
  }
  if (options.verdict == LiveVerdict::good) PHX_TRY(check_may_mark_good(*pool));
  PoolMetadata meta = pool->meta;
  give_verdict(services, meta, options.verdict,
               options.verdict == LiveVerdict::good ? good_reason(services, options.reason) : options.reason);
  PHX_TRY(services.provider.update_metadata(meta));
  const bool bad = options.verdict == LiveVerdict::bad;
  services.reporter.step(
      "pool " + options.label + " is marked " +
      (bad ? "bad: " + options.reason : "good" + (options.reason.empty() ? "" : ": " + options.reason)));
  if (!bad && meta.smoke != SmokeVerdict::passed) {
    // The verdict by hand lifts a bad mark, not a smoke test that did not pass.
    services.reporter.warning("pool " + options.label + " is marked good, but its smoke verdict is '" +
                              to_string(meta.smoke) + "': a deploy or rollback to it is still refused without " +
                              "--force; 'create-pipeline smoke-test --label " + options.label + "' tests it again");
  }
  HistoryEvent event = new_event(services, bad ? HistoryAction::mark_bad : HistoryAction::mark_good, options.label,
                                 HistoryResult::succeeded);
  event.detail = meta.verdict_reason;
  record_history(services, event);
  return {};
}

}  // namespace phoenix::ops
