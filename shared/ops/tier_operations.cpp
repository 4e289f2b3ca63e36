#include "shared/ops/tier_operations.hpp"

#include <algorithm>

#include "shared/config/config.hpp"
#include "shared/core/tiers.hpp"
#include "shared/ops/balancer_set.hpp"
#include "shared/ops/deploy_lock.hpp"
#include "shared/ops/history_log.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/watch_record.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

namespace phoenix::ops {

namespace {

Error no_cold_tier(const Services& services, const std::string& what) {
  return Error{ErrorKind::invalid, services.provider.describe() + " has no cold tier: it cannot " + what +
                                       " (docs/hcloud.md and docs/exec-provider.md say which providers can)"};
}

// Invariant 2 for an archive, which destroys servers: the balancer has none of the pool's
// servers in any state, on standby included (a hot pool stays hot until a switch replaces it).
Status check_not_in_balancer(Services& services, const Pool& pool) {
  auto members = every_member(services);
  if (!members) {
    return members.error().context("reading " + every_balancer_words(balancers_of(services).size()) +
                                   " before archiving pool " + pool.label());
  }
  PHX_TRY_ASSIGN(const auto standby, check_deletable(pool, *members));
  if (!standby.empty()) {
    return Error{ErrorKind::refused, "pool " + pool.label() +
                                         " is on standby in the balancer (hot); archiving it would delete servers "
                                         "the balancer checks. It leaves standby when newer pools replace it "
                                         "(retention.hot), or delete it"};
  }
  return {};
}

// Only a pool a rollback can use is worth its snapshot.
Status check_archivable(const Pool& pool) {
  if (!known_good(pool)) {
    const std::string why = pool.meta.verdict == LiveVerdict::bad
                                ? "is marked bad"
                                : "has smoke verdict '" + std::string(to_string(pool.meta.smoke)) + "'";
    return Error{ErrorKind::refused, "pool " + pool.label() + " " + why +
                                         ": only a known-good pool is archived, because its snapshot is what a "
                                         "rollback wakes; delete it instead"};
  }
  return {};
}

std::string describe_archive(const Archive& archive) {
  std::string text = "snapshot " + archive.id;
  if (archive.size_gb > 0) {
    char size[32];
    std::snprintf(size, sizeof size, " (%.2f GB)", archive.size_gb);
    text += size;
  }
  return text;
}

}  // namespace

Result<ArchiveResult> archive_locked(Services& services, const Pool& pool, const std::string& finishing_command) {
  const std::string& label = pool.label();
  if (!services.provider.tiers().cold) return no_cold_tier(services, "archive pool " + label);
  if (pool.cold() && pool.servers.empty() && pool.archive->ready) {
    services.reporter.step("pool " + label + " is already cold (" + describe_archive(*pool.archive) + ")");
    return ArchiveResult{.archive = *pool.archive, .already_cold = true};
  }
  PHX_TRY(check_archivable(pool));
  PHX_TRY(check_not_in_balancer(services, pool));
  services.reporter.step("archiving pool " + label + ": a snapshot of one of its servers, then its " +
                         util::plural(pool.servers.size(), "server") + " are deleted");
  const auto started = services.clock.now();
  // The last safe point: once the image is ready, before any server goes. From there on the
  // deletion and its history record finish whatever signal comes.
  const BeforeDestroying recheck = [&]() -> Status {
    PHX_TRY(check_not_in_balancer(services, pool));
    return stop_if_requested(services,
                             "before any server of pool " + label +
                                 " was deleted: all of them run, and a snapshot made already is kept for the re-run",
                             finishing_command);
  };
  auto archive = services.provider.archive_pool(pool, recheck);
  const auto elapsed = util::elapsed_ms(started, services.clock.now());
  HistoryEvent event =
      new_event(services, HistoryAction::archive, label, history_result(archive ? Status{} : Status{archive.error()}));
  event.duration_ms = elapsed;
  event.detail = archive ? describe_archive(*archive) + "; " + util::plural(pool.servers.size(), "server") + " deleted"
                         : archive.error().message;
  record_history(services, event);
  if (!archive) return archive.error();
  services.reporter.step("pool " + label + " is cold: " + describe_archive(*archive) + " kept, " +
                         util::plural(pool.servers.size(), "server") + " deleted in " +
                         util::format_duration_ms(elapsed));
  return ArchiveResult{.archive = *archive, .servers_deleted = pool.servers.size(), .duration_ms = elapsed};
}

Result<ArchiveResult> archive_pool(Services& services, const ArchiveOptions& options) {
  if (!services.provider.tiers().cold) return no_cold_tier(services, "archive pools");
  // Archiving holds the deploy lock: a signal stops it at a safe point, never kills it holding
  // the lock (a stale lock refuses the next deploy or rollback until it is broken).
  std::optional<util::InterruptScope> stoppable;
  if (!options.dry_run) stoppable.emplace();
  PHX_TRY(check_pool_exists_before_takeover(services, options.label, options.break_lock && !options.dry_run));
  PHX_TRY_ASSIGN(const auto lock, DeployLock::take_unless_dry_run(services, "archive --label " + options.label,
                                                                  options.dry_run, options.break_lock));
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  const Pool* pool = find_pool(pools, options.label);
  if (pool == nullptr) {
    return Error{ErrorKind::invalid, "there is no pool '" + options.label + "' for service " + services.config.service +
                                         "; 'create-pipeline list' shows the pools that exist"};
  }
  if (!pool->complete && !pool->archive) {
    return Error{ErrorKind::invalid, "pool " + options.label + " was not created completely; nothing to archive"};
  }
  // A running watch's fallback archived would make its automatic rollback wait for a restore.
  PHX_TRY(check_not_needed_by_watch(services, options.label, "archive"));
  if (options.dry_run) {
    if (!pool->cold()) {
      PHX_TRY(check_archivable(*pool));
      PHX_TRY(check_not_in_balancer(services, *pool));
    }
    services.reporter.step("dry run: would snapshot one server of pool " + options.label + " and delete its " +
                           util::plural(pool->servers.size(), "server"));
    return ArchiveResult{};
  }
  const std::string finishing_command = "create-pipeline archive --label " + options.label;
  PHX_TRY(stop_if_requested(services, "before archiving pool " + options.label + ": nothing was changed",
                            finishing_command));
  return archive_locked(services, *pool, finishing_command);
}

std::string expected_wake(const std::vector<Pool>& pools, Tier from) {
  const auto measured = last_wake(pools, from);
  if (!measured) return "not measured yet";
  return "about " + util::format_duration_ms(measured->wake.ms) + " (pool " + measured->pool + " woke from " +
         to_string(from) + " at " + util::format_iso8601(measured->wake.at) + ")";
}

namespace {

// The pool as the provider lists it after a wake: it must be whole, running and not cold, or
// the smoke test would judge the wrong servers (or none).
Result<Pool> check_woken(Services& services, const std::string& label, Tier from) {
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  const Pool* pool = find_pool(pools, label);
  if (pool == nullptr || pool->cold() || !pool->complete || pool->servers.empty() || pool->power != PowerState::on) {
    return Error{ErrorKind::failed, "pool " + label + " is not whole and running after waking it from " +
                                        to_string(from) + "; nothing was switched. Re-run to finish waking it"};
  }
  return *pool;
}

// Powers the pool's servers on, or recreates them from its archive.
Status start_servers(Services& services, const Pool& pool, Tier from) {
  if (from != Tier::cold) return services.provider.set_power(pool, PowerState::on);
  auto restored = services.provider.restore_pool(pool);
  if (!restored) return restored.error();
  return {};
}

void record_wake(Services& services, const Pool& woken, Tier from, long long ms, const std::string& detail) {
  PoolMetadata meta = woken.meta;
  meta.smoke = SmokeVerdict::passed;
  meta.last_wake = WakeRecord{from, ms, services.clock.wall_now()};
  if (auto recorded = services.provider.update_metadata(meta); !recorded.ok()) {
    services.reporter.warning("could not record the wake time on pool " + woken.label() + ": " +
                              recorded.error().message);
  }
  HistoryEvent event = new_event(services, HistoryAction::wake, woken.label(), HistoryResult::succeeded);
  event.duration_ms = ms;
  event.detail = detail;
  record_history(services, event);
}

}  // namespace

void undo_pending_if_nothing_runs(Services& services, const std::string& label, SmokeVerdict before) {
  if (before == SmokeVerdict::pending) return;
  const auto pools = services.provider.list_pools();
  if (!pools) return;
  const Pool* pool = find_pool(*pools, label);
  if (pool == nullptr || !pool->readable()) return;
  const bool may_run = std::any_of(pool->servers.begin(), pool->servers.end(), [](const Server& server) {
    return server.state != ServerState::stopped && server.state != ServerState::dead;
  });
  if (may_run) return;
  PoolMetadata meta = pool->meta;
  meta.smoke = before;
  if (auto restored = services.provider.update_metadata(meta); !restored.ok()) {
    services.reporter.warning("could not restore the smoke verdict of pool " + label +
                              " after the failed wake: " + restored.error().message);
    return;
  }
  services.reporter.step("no server of pool " + label + " was started: its smoke verdict is '" + to_string(before) +
                         "' again");
}

// A stop asked for while a pool wakes (SIGINT, SIGTERM, SIGHUP: a cancelled CI job) ends the command
// between the wake's phases rather than after the smoke test. The pool keeps its pending
// verdict, as after a killed agent, so the next switch to it checks it again.
Status stop_while_waking(Services& services, const std::string& label, const char* where) {
  if (!services.stop_requested || !services.stop_requested()) return {};
  return util::stopped_by_signal("while waking pool " + label + " (" + where +
                                 "); nothing was switched, and its smoke verdict stays pending: the next deploy of it "
                                 "checks it again");
}

bool needs_wake(const Pool& pool, bool resume) {
  if (pool.tier() != Tier::running) return true;
  // A pool whose interrupted wake powered it on (its record says on) but whose servers may not
  // all run: the resumed wake starts those that do not, as from the off tier.
  return resume && pool.readable() && pool.meta.smoke == SmokeVerdict::pending;
}

Result<bool> wake_retained_pool(Services& services, const std::vector<Pool>& pools, const std::string& label,
                                bool resume) {
  const Pool* pool = find_pool(pools, label);
  if (pool == nullptr || !needs_wake(*pool, resume)) return false;
  const bool resumed_on = pool->tier() == Tier::running;
  const Tier from = resumed_on ? Tier::off : pool->tier();
  if (from == Tier::cold && !services.provider.tiers().cold) return no_cold_tier(services, "restore pool " + label);
  const std::string how = from == Tier::cold
                              ? "recreating its " +
                                    util::plural(static_cast<std::size_t>(pool->archive->servers), "server") +
                                    " from its archive (snapshot " + pool->archive->id + ")"
                              : "powering on its " + util::plural(pool->servers.size(), "server");
  if (resumed_on) {
    services.reporter.step("resuming the interrupted wake of pool " + label + ": " +
                           std::to_string(pool->servers.size() - pool->servers_running()) + " of its " +
                           util::plural(pool->servers.size(), "server") +
                           " do not run; starting them, then its smoke test");
  } else {
    services.reporter.step(from == Tier::cold ? "pool " + label + " is cold: " + how + " first"
                                              : "pool " + label + " is powered off: powering it on first (" +
                                                    util::plural(pool->servers.size(), "server") + ")");
  }
  services.reporter.step("expected wake time from " + std::string(to_string(from)) + ": " + expected_wake(pools, from));
  const auto started = services.clock.now();
  // Until its smoke test passes again the pool is not known to work: a wake cut short (a
  // killed agent) leaves its verdict pending, so a re-run refuses to switch to servers nobody
  // checked instead of taking them for the running pool they look like. A wake that fails
  // before any server runs puts the verdict back (undo_pending_if_nothing_runs).
  Pool waking = *pool;
  waking.meta.smoke = SmokeVerdict::pending;
  PHX_TRY(services.provider.update_metadata(waking.meta));
  if (auto started_servers = start_servers(services, waking, from); !started_servers.ok()) {
    undo_pending_if_nothing_runs(services, label, pool->meta.smoke);
    return started_servers.error().context("waking pool " + label + "; nothing was switched");
  }
  if (services.while_waking) services.while_waking();
  PHX_TRY(stop_while_waking(services, label, "its servers were started"));
  auto checked = check_woken(services, label, from);
  if (!checked) {
    undo_pending_if_nothing_runs(services, label, pool->meta.smoke);
    return checked.error();
  }
  const Pool woken = std::move(*checked);
  PHX_TRY(stop_while_waking(services, label, "before its smoke test"));
  auto report = smoke_test(services, label);
  if (!report) {
    // Stopped during the checks: said as for the wake's other safe points.
    const Status stopped = report.error().is(ErrorCode::interrupted)
                               ? stop_while_waking(services, label, "during its smoke test")
                               : Status{};
    return stopped.ok() ? report.error() : stopped.error();
  }
  if (!report->passed()) {
    return Error{ErrorKind::failed, "pool " + label + " failed its smoke test after waking it from " + to_string(from) +
                                        "; nothing was switched"};
  }
  const auto ms = util::elapsed_ms(started, services.clock.now());
  record_wake(
      services, woken, from, ms,
      "from " + std::string(to_string(from)) + ": " + how + ", smoke-tested; expected " + expected_wake(pools, from));
  services.reporter.step("pool " + label + " woke from " + to_string(from) + " in " + util::format_duration_ms(ms) +
                         ", smoke test passed; recorded as its wake time");
  return true;
}

Status tiers_provided(const Services& services, const std::optional<TierCounts>& tiers) {
  if (!tiers) return {};
  const ProviderTiers available = services.provider.tiers();
  if (tiers->off > 0 && !available.off) {
    return config::error_at(services.config, "retention.off",
                            "retention.off is " + std::to_string(tiers->off) + ", but " + services.provider.describe() +
                                " cannot power pools off; set retention.off to 0");
  }
  if (tiers->cold > 0 && !available.cold) {
    return config::error_at(services.config, "retention.cold",
                            "retention.cold is " + std::to_string(tiers->cold) + ", but " +
                                services.provider.describe() +
                                " has no cold tier (it cannot archive pools); set retention.cold to 0");
  }
  return {};
}

Status check_tiers_available(Services& services, const std::optional<TierCounts>& tiers) {
  PHX_TRY(tiers_provided(services, tiers));
  if (tiers && tiers->off > 0 && services.provider.tiers().off_is_billed) {
    services.reporter.warning("retention.off keeps " + util::plural(static_cast<std::size_t>(tiers->off), "pool") +
                              " powered off, and " + services.provider.describe() +
                              " bills a powered-off server like a running one: the off tier saves boot time, not "
                              "money; retention.cold keeps a snapshot instead");
  }
  return {};
}

}  // namespace phoenix::ops
