#include "shared/ops/verdict_operations.hpp"

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
  PHX_TRY_ASSIGN(const auto current, services.state.read_freeze());
  PHX_TRY(check_may_replace(current, options));
  const Freeze record{.reason = options.reason,
                      .all = options.all,
                      .by = person(services),
                      .job = services.identity.job,
                      .since = services.clock.wall_now()};
  PHX_TRY(services.state.write_freeze(record));
  services.reporter.step(describe(record));
  HistoryEvent event = new_event(services, HistoryAction::freeze, "", HistoryResult::succeeded);
  event.detail = (options.all ? "all: " : "") + options.reason;
  if (current) {
    const std::string widened = "widened from deploys only, frozen since " + util::format_iso8601(current->since) +
                                " by " + (current->by.empty() ? "someone" : current->by) + ": " + current->reason;
    services.reporter.step(widened);
    event.detail += " (" + widened + ")";
  }
  record_history(services, event);
  return {};
}

Result<std::optional<Freeze>> unfreeze(Services& services) {
  PHX_TRY_ASSIGN(auto current, services.state.read_freeze());
  if (!current) return current;
  PHX_TRY(services.state.clear_freeze());
  HistoryEvent event = new_event(services, HistoryAction::unfreeze, "", HistoryResult::succeeded);
  event.detail = "lifted: " + current->reason;
  record_history(services, event);
  return current;
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
