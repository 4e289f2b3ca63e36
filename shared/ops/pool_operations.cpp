#include "shared/ops/pool_operations.hpp"

#include <algorithm>
#include <functional>

#include "shared/core/label.hpp"
#include "shared/core/status.hpp"
#include "shared/core/verdict_history.hpp"
#include "shared/ops/balancer_set.hpp"
#include "shared/ops/deploy_lock.hpp"
#include "shared/ops/history_log.hpp"
#include "shared/ops/smoke_runner.hpp"
#include "shared/ops/tier_operations.hpp"
#include "shared/ops/watch_record.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix::ops {

namespace {

Error no_such_pool(const Services& services, const std::string& label) {
  return Error{ErrorKind::invalid, "there is no pool '" + label + "' for service " + services.config.service +
                                       "; 'create-pipeline list' shows the pools that exist"};
}

// A pool the command can act on: one that exists and whose record can be read (only delete
// acts on an unreadable pool).
Result<Pool> find_existing_pool(Services& services, const std::string& label) {
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  const Pool* pool = find_pool(pools, label);
  if (pool == nullptr) return no_such_pool(services, label);
  if (!pool->readable()) return Error{ErrorKind::failed, describe_unreadable(*pool)};
  return *pool;
}

}  // namespace

std::string finishes_it(const std::vector<std::string>& commands) {
  std::vector<std::string> quoted;
  quoted.reserve(commands.size());
  for (const auto& command : commands) quoted.push_back("'" + command + "'");
  return util::join(quoted, ", then ") + (commands.size() == 1 ? " finishes it" : " finish it");
}

Status stop_if_requested(Services& services, const std::string& where, const std::string& finishing_command) {
  if (!services.stop_requested || !services.stop_requested()) return {};
  return util::stopped_by_signal(where + "; " + finishes_it({finishing_command}));
}

Status check_pool_exists_before_takeover(Services& services, const std::string& label, bool may_take_over) {
  if (!may_take_over) return {};
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  if (find_pool(pools, label) == nullptr) return no_such_pool(services, label);
  return {};
}

namespace {

HistoryEvent removal_event(Services& services, HistoryAction action, const std::string& label, const Status& removed,
                           long long duration_ms) {
  HistoryEvent event = new_event(services, action, label, history_result(removed));
  event.duration_ms = duration_ms;
  if (!removed.ok()) event.detail = removed.error().message;
  return event;
}

// Takes a hot pool's idle standby members out of the balancer, guarded on the same connection
// as the removal, and keeps the restart copy in step.
Status take_out_of_standby(const BalancerEntry& entry, Services& services, const Pool& pool,
                           const std::vector<std::string>& standby) {
  services.reporter.step(entry.prefix() + "taking pool " + pool.label() + " off standby: removing " +
                         util::plural(standby.size(), "member") + " from the balancer");
  auto change = entry.balancer->remove_idle_standby(standby);
  if (!change) return entry.name_in(change.error());
  if (!change->applied) {
    return entry.name_in(Error{ErrorKind::refused, "pool " + pool.label() + " changed in the balancer meanwhile: " +
                                                       change->refusal + "; nothing was destroyed"});
  }
  auto members = entry.balancer->members();
  if (!members) return entry.name_in(members.error());
  if (auto persisted = entry.balancer->persist(*members); !persisted.ok()) return entry.name_in(persisted.error());
  return {};
}

// Which members of `pool` each balancer holds on standby (to take out before deleting it);
// refused, naming the balancer, while any balancer routes to the pool or holds its connections.
Result<std::vector<std::vector<std::string>>> deletable_everywhere(const Pool& pool,
                                                                   const std::vector<BalancerMembers>& balancers) {
  std::vector<std::vector<std::string>> standby;
  for (const auto& balancer : balancers) {
    auto idle = check_deletable(pool, balancer.members);
    if (!idle) return balancer.entry.name_in(idle.error());
    standby.push_back(std::move(*idle));
  }
  return standby;
}

// Refused, naming the balancer, while any balancer's membership kept for restarts routes to
// `pool` (check_not_kept_for_restarts): read right before destroying, as the members are.
Status not_kept_for_restarts_anywhere(const Pool& pool, const std::vector<BalancerMembers>& balancers) {
  for (const auto& balancer : balancers) {
    auto durable = balancer.entry.balancer->durable_members();
    if (!durable) {
      return balancer.entry.name_in(
          durable.error().context("reading the membership kept for restarts before deleting pool " + pool.label()));
    }
    if (!*durable) continue;
    if (auto kept = check_not_kept_for_restarts(pool, **durable); !kept.ok()) {
      return balancer.entry.name_in(kept.error());
    }
  }
  return {};
}

// A further rule a delete must pass, judged on the members read just before destroying.
using DeleteRule = std::function<Status(const std::vector<Member>& members)>;

// Destroys one pool after re-reading the balancer: the check that keeps invariant 2. Members
// on standby with no connections are taken out first; any other membership refuses.
Status destroy_if_not_member(Services& services, const Pool& pool, const DeleteRule& rule = nullptr) {
  auto balancers = read_every_balancer(services);
  if (!balancers) {
    return balancers.error().context("reading " + every_balancer_words(balancers_of(services).size()) +
                                     " before deleting pool " + pool.label());
  }
  PHX_TRY_ASSIGN(const auto standby, deletable_everywhere(pool, *balancers));
  PHX_TRY(not_kept_for_restarts_anywhere(pool, *balancers));
  if (rule) PHX_TRY(rule(all_members(*balancers)));
  for (std::size_t i = 0; i < balancers->size(); ++i) {
    if (!standby[i].empty()) PHX_TRY(take_out_of_standby((*balancers)[i].entry, services, pool, standby[i]));
  }
  services.reporter.step((pool.deleting ? "finishing the delete of pool " : "destroying pool ") + pool.label() + " (" +
                         util::plural(pool.servers.size(), "server") +
                         (pool.archive ? " and snapshot " + pool.archive->id : std::string()) + ")");
  return services.provider.destroy_pool(pool);
}

}  // namespace

namespace {

// What an operator can do about a label refused by invariant 10, in the order that works:
// the same commit named with --revision; a pool that records no revision deleted and created
// again (or, when complete, tested again as it is); otherwise a label of its own.
std::string way_on_from_refused_label(const Pool& existing, const std::string& revision) {
  if (revision.empty() && !existing.meta.revision.empty()) {
    return "If this is that commit, pass '--revision " + existing.meta.revision + "'; otherwise use a new label";
  }
  if (existing.meta.revision.empty()) {
    const std::string smoke = "'create-pipeline smoke-test --label " + existing.label() + "'";
    const std::string anew =
        "'create-pipeline delete --label " + existing.label() + "', then this command with --revision builds it anew";
    return existing.complete ? smoke + " tests it again as it is; " + anew : anew;
  }
  return "Use a label that cannot repeat for another commit (for example the build number and the short commit "
         "hash)";
}

// The same for a rebuild, which takes its revision from the pool it rebuilds (plan_rebuild lets
// only an earlier rebuild of that pool have its label): a pool that records no revision is
// tested again as it is, or deleted and rebuilt.
std::string way_on_from_refused_rebuild(const Pool& existing) {
  const std::string anew = "'create-pipeline delete --label " + existing.label() + "', then the rebuild again";
  if (!existing.complete) return anew + ", builds it anew";
  return "'create-pipeline smoke-test --label " + existing.label() + "' tests it again as it is; " + anew +
         " builds it anew";
}

// Invariant 10 for a label that exists already.
Status check_same_revision(const Pool& existing, const PoolSpec& spec) {
  const std::string& revision = spec.meta.revision;
  if (!existing.meta.revision.empty() && existing.meta.revision == revision) return {};
  const bool rebuild = !spec.meta.rebuild_of.empty();
  const std::string recorded =
      existing.meta.revision.empty() ? "no recorded revision" : "revision " + existing.meta.revision;
  const std::string none = rebuild ? "no revision (pool " + spec.meta.rebuild_of + " records none)"
                                   : "no revision (set GIT_COMMIT or pass --revision)";
  const std::string wanted = revision.empty() ? none : "revision " + revision;
  return Error{ErrorKind::refused,
               "pool " + existing.label() + " exists with " + recorded + ", and this run builds " + wanted +
                   "; a label names one revision forever, so nothing was changed. " +
                   (rebuild ? way_on_from_refused_rebuild(existing) : way_on_from_refused_label(existing, revision))};
}

// A creation that failed, and the way on once its cause is fixed: a pool left incomplete is
// finished by the same command again (a rebuild named by its label, not given a new one), or
// deleted. One that records no revision refuses every re-run (check_same_revision: a label names
// one revision forever, and none can be compared), so it is deleted and created again: by a run
// given --revision, which a later re-run then finishes.
Error failed_creating(const Error& failure, const PoolSpec& spec) {
  const std::string& label = spec.meta.label;
  const bool rebuild = !spec.meta.rebuild_of.empty();
  const std::string remove = "'create-pipeline delete --label " + label + "'";
  std::string way_on;
  if (spec.meta.revision.empty()) {
    way_on = remove + ", then " +
             (rebuild ? "the rebuild again with --label " + label : std::string("the same command with --revision")) +
             ", builds pool " + label + " anew (it records no revision, so a re-run alone is refused)";
  } else {
    way_on = (rebuild ? "the rebuild again with --label " + label : std::string("the same command again")) +
             " finishes pool " + label + ", or " + remove + " removes it";
  }
  return Error{failure.kind, "creating pool " + label + ": " + failure.message + ". Once that is fixed, " + way_on,
               failure.code};
}

// How many servers pool `pool` runs, or had when it was archived.
int servers_of(const Pool& pool) {
  return pool.archive ? pool.archive->servers : static_cast<int>(pool.servers.size());
}

// A re-run of a create whose pool exists complete keeps it as it is (a CI stage run again goes
// on to its smoke test), but a size that differs from the pool's is not silently dropped.
void warn_if_other_size(Services& services, const Pool& existing, int size) {
  const int servers = servers_of(existing);
  if (servers == size) return;
  services.reporter.warning("pool " + existing.label() + " has " +
                            util::plural(static_cast<std::size_t>(servers), "server") + ", not the " +
                            std::to_string(size) +
                            " asked for: pools are immutable, so it is kept as it is; a pool of another size "
                            "needs a new label");
}

// An interrupted creation resumes only on a pool that is powered on: resuming would start the
// missing servers of a pool recorded as off.
Status check_resumable(const Pool& existing) {
  if (existing.complete || existing.power != PowerState::off) return {};
  const std::string& label = existing.label();
  return Error{ErrorKind::invalid, "pool " + label +
                                       " was not created completely and is powered off, so its creation cannot "
                                       "resume; nothing was started. 'create-pipeline power-on --label " +
                                       label + "', then this command again, finishes it (or delete it)"};
}

// Creates the pool `spec` describes, or reuses the one of the same label and revision.
Result<CreateResult> create_from_spec(Services& services, const PoolSpec& spec) {
  const std::string& label = spec.meta.label;
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  if (const Pool* existing = find_pool(pools, label); existing != nullptr) {
    if (!existing->readable()) return Error{ErrorKind::failed, describe_unreadable(*existing)};
    PHX_TRY(check_same_revision(*existing, spec));
    PHX_TRY(check_resumable(*existing));
    if (existing->complete) {
      services.reporter.step("pool " + label + " already exists with the same revision (created " +
                             util::format_iso8601(existing->meta.created_at) +
                             "); pools are immutable, nothing changed");
      warn_if_other_size(services, *existing, spec.size);
      return CreateResult{*existing, true};
    }
  }
  services.reporter.step("creating pool " + label + " of " +
                         util::plural(static_cast<std::size_t>(spec.size), "server") +
                         (spec.meta.rebuild_of.empty() ? "" : " from the release of pool " + spec.meta.rebuild_of) +
                         " with " + services.provider.describe());
  const auto started = services.clock.now();
  auto pool = services.provider.create_pool(spec);
  // A stop while the servers start says itself where the pool stands.
  if (!pool) return pool.error().is(ErrorCode::interrupted) ? pool.error() : failed_creating(pool.error(), spec);
  services.reporter.step("pool " + label + " created in " +
                         util::format_duration_ms(util::elapsed_ms(started, services.clock.now())));
  return CreateResult{*pool, false};
}

// How far checks that a stop cut short got: "3 of 9 checked, 3 passing". A check counts as
// checked once an answer to it was judged, and as passing only when that answer passed; one
// no round sent is neither (a stop before the first round checks nothing).
std::string checks_so_far(const SmokeReport& report) {
  std::size_t checked = 0;
  std::size_t passing = 0;
  for (const auto& outcome : report.outcomes) {
    if (outcome.attempts == 0) continue;
    ++checked;
    passing += outcome.passed ? 1 : 0;
  }
  return std::to_string(checked) + " of " + std::to_string(report.outcomes.size()) + " checked, " +
         std::to_string(passing) + " passing";
}

}  // namespace

std::string revision_to_record(const Services& services, const std::optional<std::string>& revision) {
  return revision.value_or(services.identity.revision);
}

Result<CreateResult> create_pool(Services& services, const CreateOptions& options) {
  PoolSpec spec;
  spec.meta.label = options.label;
  spec.meta.created_at = services.clock.wall_now();
  spec.meta.revision = revision_to_record(services, options.revision);
  spec.meta.triggered_by = services.identity.user;
  spec.size = options.size.value_or(services.config.pool_size);
  return create_from_spec(services, spec);
}

std::string next_rebuild_label(const std::string& from, const std::vector<Pool>& pools) {
  const auto rebuild_number = [](const std::string& label, const std::string& base) -> std::optional<long long> {
    if (label.size() <= base.size() + 2 || label.compare(0, base.size() + 2, base + ".r") != 0) return std::nullopt;
    return util::parse_int(label.substr(base.size() + 2));
  };
  std::string base = from;
  if (const auto dot = from.rfind(".r"); dot != std::string::npos && rebuild_number(from, from.substr(0, dot))) {
    base = from.substr(0, dot);
  }
  long long highest = 0;
  for (const auto& pool : pools) {
    if (const auto number = rebuild_number(pool.label(), base)) highest = std::max(highest, *number);
  }
  return base + ".r" + std::to_string(highest + 1);
}

namespace {

// "is marked bad (checkout errors)", "failed its smoke test", "is a rebuild of pool 42 (marked bad)"
std::string describe_mark(const Pool& from, RebuildSource source) {
  if (from.meta.verdict == LiveVerdict::bad) return "is " + describe_bad_mark_briefly(from);
  if (from.meta.smoke == SmokeVerdict::failed) return "failed its smoke test";
  return "is a rebuild of pool " + from.meta.rebuild_of + " (" + describe(source) + ")";
}

// A rebuild's --label names fresh servers: never the pool it rebuilds, nor another pool than
// an earlier (perhaps interrupted) rebuild of the same one, which the rebuild then finishes.
Status check_rebuild_label(const Pool& from, const Pool* existing) {
  const std::string& label = from.label();
  const std::string way_on = "; leave out --label ('create-pipeline rebuild --from " + label +
                             "' picks the next free L.rN) or name a label no pool has";
  if (existing == &from) {
    return Error{ErrorKind::invalid, "the rebuild's --label " + label +
                                         " is the pool it rebuilds, and a rebuild needs new servers; nothing was "
                                         "changed" +
                                         way_on};
  }
  if (existing == nullptr || (existing->readable() && existing->meta.rebuild_of == label)) return {};
  const std::string what = !existing->readable()               ? "an unreadable record"
                           : existing->meta.rebuild_of.empty() ? "no rebuild recorded"
                                                               : "a rebuild of pool " + existing->meta.rebuild_of;
  return Error{ErrorKind::invalid, "the rebuild's --label " + existing->label() + " names an existing pool (" + what +
                                       "), not a rebuild of pool " + label + "; nothing was changed" + way_on};
}

}  // namespace

Result<PoolSpec> plan_rebuild(Services& services, const RebuildOptions& options) {
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  const Pool* from = find_pool(pools, options.from);
  if (from == nullptr) return no_such_pool(services, options.from);
  if (!from->readable()) return Error{ErrorKind::failed, describe_unreadable(*from)};
  if (!from->complete) {
    return Error{ErrorKind::invalid, "pool " + options.from +
                                         " was not created completely, so its release cannot be rebuilt; " +
                                         finish_creating_advice(*from)};
  }
  const auto source = rebuild_source_of(*from);
  if (source != RebuildSource::unflagged && !options.force) {
    return Error{ErrorKind::refused, "pool " + options.from + " " + describe_mark(*from, source) +
                                         ": a rebuild runs the same release, which is for failures that are not the "
                                         "code's; rebuild it anyway with --force (the new pool is recorded as a "
                                         "rebuild of a bad release)"};
  }
  PoolSpec spec;
  spec.meta.rebuild_source = source;
  spec.meta.label = options.label.value_or(next_rebuild_label(options.from, pools));
  PHX_TRY(validate_label(spec.meta.label, "the rebuild's label"));
  PHX_TRY(check_rebuild_label(*from, find_pool(pools, spec.meta.label)));
  spec.meta.created_at = services.clock.wall_now();
  spec.meta.revision = from->meta.revision;
  spec.meta.triggered_by = services.identity.user;
  spec.meta.rebuild_of = from->label();
  spec.size = options.size.value_or(servers_of(*from));
  return spec;
}

Result<CreateResult> create_rebuild(Services& services, const PoolSpec& spec) {
  return create_from_spec(services, spec);
}

Result<CreateResult> rebuild_pool(Services& services, const RebuildOptions& options) {
  PHX_TRY_ASSIGN(const auto spec, plan_rebuild(services, options));
  return create_rebuild(services, spec);
}

Result<SmokeReport> smoke_test(Services& services, const std::string& label) {
  auto pool = find_existing_pool(services, label);
  if (!pool) return pool.error();
  if (pool->cold()) {
    return Error{ErrorKind::invalid, "pool " + label +
                                         " is cold (only its snapshot is kept), so it has no servers to test; "
                                         "'deploy-pipeline deploy --label " +
                                         label + "' wakes it and smoke-tests it"};
  }
  if (pool->power == PowerState::off) {
    return Error{ErrorKind::invalid,
                 "pool " + label + " is powered off; 'create-pipeline power-on --label " + label + "' first"};
  }
  SmokeSettings settings;
  settings.service = services.config.service;
  settings.checks = services.config.smoke_test.checks;
  settings.timeout = services.config.smoke_test.timeout;
  settings.stop_requested = services.stop_requested;
  services.reporter.step("smoke-testing " + util::plural(pool->servers.size(), "server") + " of pool " + label +
                         " with " + util::plural(settings.checks.size(), "check") + " each, all at once");
  PHX_TRY(services.http.usable());  // no verdict from a client that cannot send a request
  SmokeReport report = run_smoke_checks(services.http, services.clock, services.reporter, *pool, settings);
  // Checks cut short by a stop judge nothing: the verdict is not recorded (never "passed").
  if (services.stop_requested && services.stop_requested()) {
    return util::stopped_by_signal("during the smoke test of pool " + label + " (" + checks_so_far(report) +
                                   "); its smoke verdict stays '" + to_string(pool->meta.smoke) + "'");
  }

  PoolMetadata meta = pool->meta;
  meta.smoke = report.passed() ? SmokeVerdict::passed : SmokeVerdict::failed;
  PHX_TRY(services.provider.update_metadata(meta));
  services.reporter.step("smoke test " + std::string(report.passed() ? "passed" : "failed") + " for pool " + label +
                         ": " + std::to_string(report.outcomes.size() - report.failures()) + " of " +
                         std::to_string(report.outcomes.size()) + " checks passed in " +
                         util::format_duration_ms(report.duration_ms));
  return report;
}

namespace {

// The interrupted switch's target, when it is among the pools on standby (`standby`) but never
// served (ops::never_served), and that switch. The intent is read only when some pool is on
// standby, history only when the target is. That read cannot be narrowed further: a pool kept
// hot (it served; a rollback to it is instant) and the new pool of a switch killed after adding
// it on standby look the same in the balancer, and nothing in a pool's record says it served
// (a verdict can be given by hand), so only the intent names the pool to show as left behind.
std::optional<Intent> never_served_standby(Services& services, const std::vector<std::string>& standby) {
  if (standby.empty()) return std::nullopt;
  auto intent = services.state.read_intent();
  if (!intent || !intent->has_value() || !has_label(standby, (*intent)->target)) return std::nullopt;
  if (!never_served(services, **intent)) return std::nullopt;
  return **intent;
}

}  // namespace

Result<PoolListing> list_pools(Services& services) {
  auto pools = services.provider.list_pools();
  if (!pools) return pools.error();
  PoolListing listing;
  listing.service = services.config.service;
  listing.pools = std::move(*pools);
  sort_newest_first(listing.pools);
  listing.tiers = services.provider.tiers();
  if (auto prices = services.provider.prices()) {
    listing.prices = *prices;
  } else {
    listing.prices_error = prices.error().message;
    services.reporter.warning("cannot estimate what the pools cost: " + prices.error().message);
  }
  auto members = every_member(services);
  if (members) {
    listing.live = live_labels(*members);
    listing.in_balancer = member_labels(*members);
    listing.hot = standby_labels(*members);
    if (const auto left = never_served_standby(services, listing.hot)) {
      std::erase(listing.hot, left->target);
      listing.left_on_standby = left->target;
      listing.left_by = left->operation;
    }
  } else {
    listing.balancer_error = members.error().message;
    services.reporter.warning("cannot tell which pool is live: " + members.error().message);
  }
  return listing;
}

namespace {

// Delete of a label the provider does not list: what a create that failed before recording the
// pool left is removed (it has no servers, no verdict, no member), else there is no such pool.
Status delete_unrecorded(Services& services, const DeleteOptions& options) {
  PHX_TRY_ASSIGN(const bool leftover, services.provider.remove_unrecorded(options.label, true));
  if (!leftover) return no_such_pool(services, options.label);
  const std::string what =
      "what a create that failed before recording pool " + options.label + " left (no record, no process)";
  if (options.dry_run) {
    services.reporter.step("dry run: would remove " + what);
    return {};
  }
  const auto started = services.clock.now();
  PHX_TRY_ASSIGN(const bool removed, services.provider.remove_unrecorded(options.label, false));
  if (!removed) return no_such_pool(services, options.label);
  services.reporter.step("removed " + what);
  record_history(services, removal_event(services, HistoryAction::delete_pool, options.label, Status(),
                                         util::elapsed_ms(started, services.clock.now())));
  return {};
}

}  // namespace

Status delete_pool(Services& services, const DeleteOptions& options) {
  PHX_TRY_ASSIGN(auto pools, services.provider.list_pools());
  const Pool* pool = find_pool(pools, options.label);
  if (pool == nullptr) return delete_unrecorded(services, options);
  // A running watch's pools, then the rollback targets that stay (docs/safety.md, "Rollback
  // targets"), judged on the balancer as it is when the delete happens (the watch record is
  // written under the deploy lock, which the delete holds by then).
  // --force lets a delete take a rollback target (never a running watch's pool).
  const auto keeps_rollback_target = [&](const std::vector<Member>& members) -> Status {
    if (options.force) return {};
    return check_keeps_rollback_target(options.label, pools, members, services.config.retention_keep_good);
  };
  const DeleteRule deletable_now = [&](const std::vector<Member>& members) -> Status {
    PHX_TRY(check_not_needed_by_watch(services, options.label, "delete"));
    return keeps_rollback_target(members);
  };
  if (options.dry_run) {
    PHX_TRY_ASSIGN(const auto balancers, read_every_balancer(services));
    PHX_TRY_ASSIGN(const auto standby, deletable_everywhere(*pool, balancers));
    PHX_TRY(check_not_needed_by_watch(services, options.label, "delete"));
    if (const auto kept = keeps_rollback_target(all_members(balancers)); !kept.ok()) {
      return refused_in_a_real_run("delete --label " + options.label, kept.error());
    }
    const bool on_standby =
        std::any_of(standby.begin(), standby.end(), [](const auto& names) { return !names.empty(); });
    services.reporter.step("dry run: would " +
                           (!on_standby ? std::string() : "take pool " + options.label + " off standby and ") +
                           (pool->deleting ? "finish the delete of pool " : "destroy pool ") + options.label + " (" +
                           util::plural(pool->servers.size(), "server") + ")");
    return {};
  }
  // A signal (an ssh session that dropped: SIGHUP; a cancelled CI job: SIGTERM) must not kill
  // the delete while it holds the deploy lock: the lock would be left stale, and the next deploy
  // or rollback refused until it is broken. It stops before the destroy, or lets the destroy and
  // its history record finish.
  const util::InterruptScope stoppable;
  auto lock = DeployLock::take(services, "delete --label " + options.label, options.break_lock);
  if (!lock) return lock.error();
  // The pools as they are under the lock: the one to delete may have gone (or changed) since.
  PHX_TRY_ASSIGN(pools, services.provider.list_pools());
  pool = find_pool(pools, options.label);
  if (pool == nullptr) return no_such_pool(services, options.label);
  PHX_TRY(stop_if_requested(services, "before deleting pool " + options.label + ": nothing was changed",
                            "create-pipeline delete --label " + options.label + (options.force ? " --force" : "")));
  const auto started = services.clock.now();
  const Status destroyed = destroy_if_not_member(services, *pool, deletable_now);
  record_history(services, removal_event(services, HistoryAction::delete_pool, options.label, destroyed,
                                         util::elapsed_ms(started, services.clock.now())));
  return destroyed;
}

namespace {

void record_prune(Services& services, const std::string& label, const Status& done, long long duration_ms,
                  const std::string& what) {
  HistoryEvent event = removal_event(services, HistoryAction::prune, label, done, duration_ms);
  if (done.ok()) event.detail = what;
  record_history(services, event);
}

// Where prune stands after one pool: a refusal (the pool joined the balancer meanwhile) is
// recorded and prune goes on; any other failure stops it.
Status note_outcome(const Status& done, const std::string& label, std::vector<std::string>& succeeded,
                    std::vector<std::string>& refused) {
  if (!done.ok() && done.error().kind != ErrorKind::refused) return done.error();
  (done.ok() ? succeeded : refused).push_back(label);
  return {};
}

Status power_pool(Services& services, const Pool& pool, PowerState power);

// Down the tiers: power-offs, then archives, each judged against the balancer as it is then.
Status move_down_tiers(Services& services, const std::vector<Pool>& pools, PruneResult& result,
                       const std::string& finishing_command) {
  if (!result.decision.power_off.empty() && services.provider.tiers().off_is_billed) {
    services.reporter.warning(services.provider.describe() +
                              " bills a powered-off server like a running one: powering pools off saves boot time "
                              "on a rollback, not money (retention.cold keeps a snapshot instead)");
  }
  for (const auto& label : result.decision.power_off) {
    const auto started = services.clock.now();
    const Status done = power_pool(services, *find_pool(pools, label), PowerState::off);
    record_prune(services, label, done, util::elapsed_ms(started, services.clock.now()), "powered off (retention.off)");
    PHX_TRY(note_outcome(done, label, result.powered_off, result.refused));
  }
  for (const auto& label : result.decision.archive) {
    auto archived = archive_locked(services, *find_pool(pools, label), finishing_command);
    const Status done = archived ? Status{} : Status{archived.error()};
    PHX_TRY(note_outcome(done, label, result.archived, result.refused));
  }
  return {};
}

}  // namespace

namespace {

// The command that finishes a prune stopped part-way.
std::string prune_command(const PruneOptions& options) {
  return "create-pipeline prune" + (options.tiers ? std::string() : " --keep " + std::to_string(options.keep));
}

// What prune did before it stopped: "after powering off pool 5 and deleting pools 4, 2", or
// "before deleting any pool".
std::string pruned_so_far(const PruneResult& result) {
  std::vector<std::string> done;
  const auto add = [&done](const std::string& verb, const std::vector<std::string>& labels) {
    if (labels.empty()) return;
    done.push_back(verb + (labels.size() == 1 ? " pool " : " pools ") + util::join(labels, ", "));
  };
  add("powering off", result.powered_off);
  add("archiving", result.archived);
  add("deleting", result.deleted);
  return done.empty() ? "before deleting any pool" : "after " + util::join(done, " and ");
}

// A stop asked for (SIGINT, SIGTERM, SIGHUP) before pool `next` of the pools prune removes: the
// pools deleted so far stay deleted and recorded, the rest are named with the command that
// finishes the prune. Nothing otherwise.
Status stop_pruning(Services& services, const PruneOptions& options, const PruneResult& result, std::size_t next) {
  if (!services.stop_requested || !services.stop_requested()) return {};
  const auto& remove = result.decision.remove;
  const std::vector<std::string> left(remove.begin() + static_cast<std::ptrdiff_t>(next), remove.end());
  return stop_if_requested(services,
                           pruned_so_far(result) + "; " + (left.size() == 1 ? "pool " : "pools ") +
                               util::join(left, ", ") + (left.size() == 1 ? " was" : " were") + " not pruned",
                           prune_command(options));
}

// A failure that stopped prune part-way (the balancer stopped answering, a destroy failed),
// naming what was done before it and how to finish; a stop by a signal says so itself.
Error failed_part_way(const Error& failure, const PruneOptions& options, const PruneResult& result) {
  if (failure.is(ErrorCode::interrupted)) return failure;
  return Error{failure.kind,
               failure.message + "; prune stopped " + pruned_so_far(result) + ": once that is fixed, " +
                   finishes_it({prune_command(options)}),
               failure.code};
}

// What prune does with the unreadable `pool`: it finishes the delete of a half-deleted one the
// balancer does not route to (that delete was decided already), and keeps any other, saying the
// way out that is not refused.
PruneVerdict unreadable_prune_verdict(const Pool& pool, const std::vector<Pool>& pools,
                                      const std::vector<Member>& members) {
  const auto way_out = unreadable_way_out(pool, pools, members);
  if (!way_out.routed && pool.deleting) {
    return {pool.label(), PruneAction::remove, "half deleted: a delete of it stopped part-way, prune finishes it"};
  }
  if (!way_out.routed) {
    return {pool.label(), PruneAction::keep,
            "its record cannot be read; 'create-pipeline delete --label " + pool.label() + "' removes it"};
  }
  const std::string other = way_out.make_live ? "'deploy-pipeline deploy --label " + *way_out.make_live + "'"
                                              : "'deploy-pipeline deploy --label L' of a known-good pool L";
  return {pool.label(), PruneAction::keep,
          std::string(pool.deleting ? "half deleted" : "its record cannot be read") +
              " and the balancer routes to it: " + (pool.deleting ? "" : "restore its record, or ") +
              "make another pool live first (" + other + ")"};
}

// Carries out what prune decided about `pools`, down the tiers before anything is deleted: a
// move that fails stops prune there.
Status carry_out_prune(Services& services, const PruneOptions& options, const std::vector<Pool>& pools,
                       PruneResult& result) {
  PHX_TRY(move_down_tiers(services, pools, result, prune_command(options)));
  for (std::size_t next = 0; next < result.decision.remove.size(); ++next) {
    PHX_TRY(stop_pruning(services, options, result, next));
    const std::string& label = result.decision.remove[next];
    const Pool* pool = find_pool(pools, label);
    const auto started = services.clock.now();
    const Status destroyed = destroy_if_not_member(services, *pool);
    record_prune(services, label, destroyed, util::elapsed_ms(started, services.clock.now()), "");
    PHX_TRY(note_outcome(destroyed, label, result.deleted, result.refused));
  }
  return {};
}

}  // namespace

Result<PruneResult> prune_pools(Services& services, const PruneOptions& options) {
  PHX_TRY(check_tiers_available(services, options.tiers));
  // A signal (an ssh session that dropped: SIGHUP) must not kill prune while it holds the deploy
  // lock: that leaves the lock stale, and the next deploy or rollback refused until it is broken.
  // Prune stops between two pools instead.
  std::optional<util::InterruptScope> stoppable;
  if (!options.dry_run) stoppable.emplace();
  PHX_TRY_ASSIGN(const auto lock,
                 DeployLock::take_unless_dry_run(services, "prune --keep " + std::to_string(options.keep),
                                                 options.dry_run, options.break_lock));
  auto pools = services.provider.list_pools();
  if (!pools) return pools.error();
  auto members = every_member(services);
  if (!members) return members.error();
  // Prune deletes by age and verdict, and an unreadable pool has neither: it stays until an
  // operator deletes it by label (status reports it), which the balancer may route to first.
  // A half-deleted one was deleted already: prune finishes that.
  std::vector<Pool> readable;
  std::vector<PruneVerdict> unreadable;
  std::vector<Pool> half_deleted;
  for (const auto& pool : *pools) {
    if (pool.readable()) continue;
    unreadable.push_back(unreadable_prune_verdict(pool, *pools, *members));
    if (!unreadable.back().kept()) half_deleted.push_back(pool);
  }
  for (auto& pool : *pools) {
    if (pool.readable()) readable.push_back(std::move(pool));
  }
  // A running watch's pools stay as they are: its automatic rollback switches to the fallback.
  PHX_TRY_ASSIGN(const auto watch, watch_in_force(services));
  if (watch) services.reporter.step("keeping the pools of a running watch: " + describe(*watch));
  PruneResult result;
  result.decision = plan_prune(readable, *members,
                               {.keep = options.keep,
                                .keep_good = services.config.retention_keep_good,
                                .hot = services.config.retention_hot,
                                .tiers = options.tiers,
                                .available = services.provider.tiers(),
                                .now = services.clock.wall_now(),
                                .run_bound = config::longest_run(services.config)},
                               watch ? pools_protected_by(*watch) : std::vector<ProtectedPool>{});
  result.decision.pools.insert(result.decision.pools.end(), unreadable.begin(), unreadable.end());
  for (const auto& pool : half_deleted) result.decision.remove.push_back(pool.label());
  if (options.dry_run) return result;
  readable.insert(readable.end(), half_deleted.begin(), half_deleted.end());
  if (auto done = carry_out_prune(services, options, readable, result); !done.ok()) {
    return failed_part_way(done.error(), options, result);
  }
  return result;
}

namespace {

// Why powering off pool `label` is refused while the balancer holds it on standby, and the way
// on. A pool that an unfinished switch (its intent record) involves, as its target or as a pool
// it replaces, waits there for that switch: 'deploy-pipeline repair' finishes it, and for its
// target 'repair --revert' (where it can return to one pool; with --force where that pool is
// marked bad or failed) takes the pool out of the balancer.
// Any other is kept hot by retention.hot.
std::string standby_refusal(Services& services, const std::string& label) {
  const std::string on_standby = "pool " + label + " is on standby in the balancer";
  const std::string harm = "; powering it off would leave the balancer checking servers that are down";
  const auto intent = services.state.read_intent();
  const Intent* pending = intent && intent->has_value() ? &**intent : nullptr;
  const bool target = pending != nullptr && pending->target == label;
  const bool replaced =
      pending != nullptr && std::find(pending->from.begin(), pending->from.end(), label) != pending->from.end();
  if (!target && !replaced)
    return on_standby + " (hot)" + harm + ". Delete it, or deploy another pool with retention.hot 0";
  const std::string finish = finishes_it({"deploy-pipeline repair"});
  std::string undo;
  if (target && pending->from.size() == 1) {
    // repair --revert returns to a pool marked bad or failed only with --force (a rollback marks
    // the pool it leaves bad): named as it must be run.
    const auto pools = services.provider.list_pools();
    const std::string problem = pools ? revert_target_problem(*pools, pending->from.front()) : std::string();
    undo = "'deploy-pipeline repair --revert" + std::string(problem.empty() ? "" : " --force") +
           "' undoes it (taking pool " + label + " out of the balancer" +
           (problem.empty() ? "" : "; pool " + pending->from.front() + ", which it returns to, " + problem) + ") or ";
  }
  return on_standby + " for the " + to_string(pending->operation) + " to pool " + pending->target +
         " that was interrupted at step " + std::to_string(pending->step + 1) + " of " +
         std::to_string(pending->steps) + harm + ". " + undo + finish;
}

// Starts the servers of a pool (off, or on with servers that do not run) as a wake does: its
// smoke verdict is `pending` from before they start until a smoke test passes, so servers nobody
// checked (restarted after they died, or a start cut short) never pass for the running pool they
// look like; one that failed before any server ran gets its verdict back. A failed smoke test
// stays failed: restarting servers is no reason to try the release again.
Status power_on_unchecked(Services& services, const Pool& pool) {
  const std::string& label = pool.label();
  const SmokeVerdict before = pool.meta.smoke;
  if (before == SmokeVerdict::failed) return services.provider.set_power(pool, PowerState::on);
  Pool starting = pool;
  starting.meta.smoke = SmokeVerdict::pending;
  if (before != SmokeVerdict::pending) PHX_TRY(services.provider.update_metadata(starting.meta));
  if (auto started = services.provider.set_power(starting, PowerState::on); !started.ok()) {
    undo_pending_if_nothing_runs(services, label, before);
    return started.error();
  }
  services.reporter.step("pool " + label + "'s smoke verdict is 'pending' until 'create-pipeline smoke-test --label " +
                         label + "' passes (a deploy or rollback to it is refused until then)");
  return {};
}

// Powers a pool the caller has listed; powering off is refused while the balancer has it.
Status power_pool(Services& services, const Pool& pool, PowerState power) {
  const std::string& label = pool.label();
  if (pool.cold()) {
    if (power == PowerState::off) {
      services.reporter.step("pool " + label + " is cold: it has no servers to power off");
      return {};
    }
    return Error{ErrorKind::invalid, "pool " + label +
                                         " is cold (only its snapshot is kept); 'deploy-pipeline deploy --label " +
                                         label + "' or 'rollback --to " + label + "' wakes it"};
  }
  if (power == PowerState::off) {
    // Powering off a pool the balancer routes to would take servers out from under traffic.
    auto members = every_member(services);
    if (!members) return members.error();
    auto deletable = check_deletable(pool, *members);
    if (!deletable) return deletable.error();
    if (!deletable->empty()) return Error{ErrorKind::refused, standby_refusal(services, label)};
  }
  // A record that says "on" is not servers that run (a wake killed half-way, a server that
  // died): powering on starts every recorded server that does not run.
  const std::size_t stopped = pool.servers.size() - pool.servers_running();
  if (pool.power == power && (power == PowerState::off || stopped == 0)) {
    services.reporter.step("pool " + label + " is already powered " + to_string(power));
    return {};
  }
  if (pool.power == power) {
    services.reporter.step("pool " + label + " is powered on, but " + std::to_string(stopped) + " of its " +
                           util::plural(pool.servers.size(), "server") + " do not run: starting them");
  } else {
    services.reporter.step("powering " + std::string(to_string(power)) + " pool " + label + " (" +
                           util::plural(pool.servers.size(), "server") + ")");
  }
  if (power == PowerState::off) return services.provider.set_power(pool, power);
  return power_on_unchecked(services, pool);
}

// What ends paying for a pool a provider bills while it is powered off: its snapshot where a
// rollback could use one (only a known-good pool is archived: check_archivable), else deleting it.
std::string cheaper_than_off(const Services& services, const Pool& pool) {
  const std::string& label = pool.label();
  if (services.provider.tiers().cold && known_good(pool)) {
    return "'create-pipeline archive --label " + label + "' keeps only a snapshot, billed per GB";
  }
  return "'create-pipeline delete --label " + label + "' ends the bill" +
         (known_good(pool) ? "" : " (it is not known-good, so it is not archived)");
}

}  // namespace

Status set_pool_power(Services& services, const std::string& label, PowerState power, bool break_lock) {
  if (!services.provider.tiers().off) {
    return Error{ErrorKind::invalid, services.provider.describe() + " cannot power pools off and on"};
  }
  // Checked under the lock: a switch holds it from its look at the balancer to its end, and a
  // watch writes its record before the switch lets it go.
  std::optional<DeployLock> lock;
  // Powering off holds the deploy lock: a signal stops it before the servers stop, or lets that
  // finish, never kills it holding the lock (see delete_pool).
  std::optional<util::InterruptScope> stoppable;
  if (power == PowerState::off) {
    stoppable.emplace();
    PHX_TRY(check_pool_exists_before_takeover(services, label, break_lock));
    auto taken = DeployLock::take(services, "power-off --label " + label, break_lock);
    if (!taken) return taken.error();
    lock.emplace(std::move(*taken));
  }
  auto pool = find_existing_pool(services, label);
  if (!pool) return pool.error();
  // A running watch's fallback powered off would make its automatic rollback wait for a boot.
  if (power == PowerState::off) {
    PHX_TRY(check_not_needed_by_watch(services, label, "power it off"));
    PHX_TRY(stop_if_requested(services, "before powering off pool " + label + ": nothing was changed",
                              "create-pipeline power-off --label " + label));
  }
  PHX_TRY(power_pool(services, *pool, power));
  if (power == PowerState::off && services.provider.tiers().off_is_billed) {
    services.reporter.warning(services.provider.describe() +
                              " bills a powered-off server like a running one until "
                              "it is deleted: pool " +
                              label +
                              " now costs what it did running, and a rollback to it "
                              "waits for its boot. " +
                              cheaper_than_off(services, *pool));
  }
  return {};
}

}  // namespace phoenix::ops
