#include "shared/ops/verdict_operations.hpp"

#include <algorithm>
#include <chrono>

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

// Attempts at a freeze or unfreeze whose write found the record changed since it was read.
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
};

// Reads the freeze record, lets `decide` say what replaces it (or refuse), and writes that on
// the condition that the record is still the one read (StateStore::replace_freeze). When
// another command wrote it meanwhile, reads it again and decides again, so the rule is applied
// to the record in place; at most kFreezeAttempts times. Writes nothing when nothing changes.
template <class Decide>
Result<FreezeChange> change_freeze(Services& services, Decide decide) {
  for (int attempt = 1;; ++attempt) {
    PHX_TRY_ASSIGN(auto current, services.state.read_freeze());
    PHX_TRY_ASSIGN(auto next, decide(current));
    if (next == current) return FreezeChange{std::move(current), std::move(next)};
    const Status replaced = services.state.replace_freeze(current, next);
    if (replaced.ok()) return FreezeChange{std::move(current), std::move(next)};
    if (!replaced.error().is(ErrorCode::changed_concurrently)) return replaced.error();
    if (attempt == kFreezeAttempts) {
      return Error{ErrorKind::refused,
                   "the freeze record kept changing while this command ran (" + std::to_string(attempt) +
                       " attempts, each finding another command's write); nothing was changed. "
                       "'deploy-pipeline status' shows the freeze in place; run this again",
                   ErrorCode::changed_concurrently};
    }
    services.clock.sleep_for(freeze_backoff(attempt));
  }
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
  return {};
}

Result<std::optional<Freeze>> unfreeze(Services& services) {
  PHX_TRY_ASSIGN(const auto change, change_freeze(services, [](const std::optional<Freeze>&) {
                   return Result<std::optional<Freeze>>(std::optional<Freeze>{});
                 }));
  if (!change.before) return change.before;
  HistoryEvent event = new_event(services, HistoryAction::unfreeze, "", HistoryResult::succeeded);
  event.detail = "lifted: " + change.before->reason;
  record_history(services, event);
  return change.before;
}

Status check_not_frozen(Services& services, Operation operation) {
  PHX_TRY_ASSIGN(const auto current, services.state.read_freeze());
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
