#include "shared/ops/watch_record.hpp"

#include "shared/util/process.hpp"

namespace phoenix::ops {

WatchRecordScope::WatchRecordScope(Services& services, WatchRecord record)
    : services_(services), record_(std::move(record)) {
  const Status written = services_.state.write_watch(record_);
  if (!written.ok()) {
    services_.reporter.warning("could not record the running watch (" + written.error().message +
                               "); prune, delete and archive will not know to keep " +
                               (record_.fallback ? "pool " + *record_.fallback : std::string("its pools")));
    return;
  }
  written_ = true;
  services_.reporter.detail("recorded the running watch: " + describe(record_));
}

WatchRecordScope::~WatchRecordScope() {
  if (!written_) return;
  const Status cleared = services_.state.clear_watch(record_.by);
  if (!cleared.ok()) {
    services_.reporter.warning("could not remove the record of the watch (" + cleared.error().message +
                               "); it stops counting " + std::to_string(kWatchRecordMargin.count()) + " s after " +
                               clock_time_utc(record_.until));
  }
}

void WatchRecordScope::extend_until(WallTime until) {
  if (!written_ || until <= record_.until) return;
  record_.until = until;
  const Status written = services_.state.write_watch(record_);
  if (!written.ok()) services_.reporter.warning("could not extend the record of the watch: " + written.error().message);
}

std::optional<std::string> watch_record_staleness(const Services& services, const WatchRecord& record) {
  // Whether the holder still runs can only be told on its own host; elsewhere its end decides.
  const bool running =
      record.by.host != services.identity.host ||
      util::is_running(util::ProcessIdentity{static_cast<pid_t>(record.by.pid), record.by.start_ticks});
  return watch_staleness(record, services.identity.host, services.clock.wall_now(), running);
}

std::string unreadable_watch_record_remedy() {
  return "if no watched deploy or rollback is running (a 'deploy-pipeline deploy' or 'rollback' with --watch; "
         "'deploy-pipeline history' names the last switch and its job), remove the record it names";
}

Result<std::optional<WatchRecord>> watch_in_force(Services& services) {
  auto read = services.state.read_watch();
  if (!read) {
    const Error& why = read.error();
    // A store that does not answer may answer later; a record that cannot be parsed needs a person.
    if (why.retryable()) return why.context("reading the record of a running watch");
    return Error{why.kind,
                 "cannot read the record of a running watch (" + why.message +
                     "), so which pools a running watch needs is unknown; " + unreadable_watch_record_remedy() +
                     " and run the command again",
                 why.code};
  }
  if (!read->has_value()) return std::optional<WatchRecord>{};
  const WatchRecord& record = **read;
  if (const auto stale = watch_record_staleness(services, record)) {
    services.reporter.detail("ignoring a stale watch record (" + describe(record) + "): " + *stale);
    return std::optional<WatchRecord>{};
  }
  return std::move(*read);
}

std::vector<ProtectedPool> pools_protected_by(const WatchRecord& record) {
  const std::string until = " until " + clock_time_utc(record.until);
  std::vector<ProtectedPool> pools{{record.watched, "watched by a running watch" + until}};
  if (record.fallback) pools.push_back({*record.fallback, "fallback of a running watch" + until});
  return pools;
}

Status check_not_needed_by_watch(Services& services, const std::string& label, const std::string& action) {
  PHX_TRY_ASSIGN(const auto watch, watch_in_force(services));
  if (!watch || (watch->watched != label && watch->fallback != label)) return {};
  const std::string until = clock_time_utc(watch->until);
  const std::string what =
      watch->watched == label
          ? "pool " + label + " is watched by a running watch: " + watch->by.who() + " watches it until " + until
          : "pool " + label + " is the fallback of a running watch: " + watch->by.who() + " watches pool " +
                watch->watched + " until " + until + " and switches back to pool " + label + " on a breach";
  return Error{ErrorKind::refused, what + "; wait for the watch to end, or stop it (SIGINT or SIGTERM to pid " +
                                       std::to_string(watch->by.pid) + " on " + watch->by.host +
                                       " ends it at once, switching nothing), then " + action +
                                       " again (--force does not override a running watch)"};
}

}  // namespace phoenix::ops
