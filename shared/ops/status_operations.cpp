#include "shared/ops/status_operations.hpp"

#include <algorithm>
#include <optional>
#include <string_view>

#include "shared/ops/balancer_set.hpp"
#include "shared/ops/deploy_lock.hpp"
#include "shared/ops/history_log.hpp"
#include "shared/ops/switch_operations.hpp"
#include "shared/ops/tier_operations.hpp"
#include "shared/ops/watch_record.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ops {

namespace {

// A record status reads besides the balancer and the provider. One that cannot be read (a
// corrupt file, a store that does not answer) becomes a problem of the report, with what to
// do about it, and status goes on: it is the first command an operator runs in an incident.
template <class T>
std::optional<T> read_or_report(Result<std::optional<T>> read, std::vector<std::string>& problems,
                                const std::string& what, const std::string& remedy) {
  if (read) return std::move(*read);
  problems.push_back("cannot read " + what + ": " + read.error().message + "; " + remedy);
  return std::nullopt;
}

// The records status reads besides the balancers, read once.
struct SharedRecords {
  std::optional<Intent> intent;
  std::optional<LockHolder> lock;
  std::optional<std::string> lock_staleness;
  bool lock_unreadable = false;  // taking the lock needs --break-lock, as for a stale one
  bool operation_in_progress = false;
  bool lock_holder_stopped = false;  // SIGSTOP, Ctrl-Z (stopped_holder): reported as a problem
  std::optional<HistoryEvent> last_switch;
  std::optional<Freeze> freeze;
  std::optional<WatchRecord> watch;
  std::optional<std::string> watch_staleness;
  // What repair would make live again after a reload with an older membership (restored_by_repair):
  // found once for all balancers, from every one that answered.
  std::optional<std::string> repair_restores;
  // Every balancer that answered reloaded since the last switch (reloaded_since_switch).
  bool reloaded_since_last_switch = false;

  // The first error of a read the store did not answer (unavailable, timeout): StatusReport::state_store_error.
  std::optional<std::string> store_unanswered;

  bool lock_stale() const { return deploy_lock_stale(lock_staleness, lock_unreadable); }
};

// One record of the store, read with `read` unless the store did not answer an earlier read: then
// it is not asked for (each would wait out the same timeouts; StatusReport::state_store_error says
// why). A record the store did not answer for is a problem with no remedy of its own: the record
// may be fine, and the advice for a record that cannot be read (take the lock over, unfreeze,
// repair) would do harm while the store is out of reach.
template <class Read>
auto read_record(SharedRecords& records, std::vector<std::string>& problems, Read read, const std::string& what,
                 const std::string& remedy) -> decltype(read_or_report(read(), problems, what, remedy)) {
  if (records.store_unanswered) {
    problems.push_back("cannot read " + what + ": not asked, since the state store did not answer");
    return std::nullopt;
  }
  auto result = read();
  if (!result && result.error().retryable()) {
    records.store_unanswered = result.error().message;
    problems.push_back("cannot read " + what + ": " + result.error().message +
                       "; status reads it again once the state store answers");
    return std::nullopt;
  }
  return read_or_report(std::move(result), problems, what, remedy);
}

SharedRecords read_shared(Services& services, std::vector<std::string>& unreadable) {
  SharedRecords records;
  // The lock first, unreported: whether it is stale decides how the intent's remedy is worded.
  auto lock = services.state.read_lock();
  records.lock_unreadable = !lock && !lock.error().retryable();
  if (lock && lock->has_value()) {
    records.lock_staleness = services.state.staleness(**lock, services.config.lock_stale_after);
  }
  const auto read = [&](auto reader, const std::string& what, const std::string& remedy) {
    return read_record(records, unreadable, reader, what, remedy);
  };
  records.lock =
      read([&] { return std::move(lock); }, "the deploy lock", "the next deploy must take it over with --break-lock");
  records.intent = read(
      [&] { return services.state.read_intent(); }, "the intent record",
      "if no deploy is running, '" + past_the_lock("deploy-pipeline repair", records.lock_stale()) + "' replaces it");
  records.last_switch = read([&] { return services.state.last_switch(); }, "the last switch in history",
                             "'deploy-pipeline history' shows what can be read");
  records.freeze =
      read([&] { return services.state.read_freeze(); }, "the freeze record", "'deploy-pipeline unfreeze' removes it");
  records.watch = read([&] { return services.state.read_watch(); }, "the record of a running watch",
                       unreadable_watch_record_remedy());
  if (records.watch) records.watch_staleness = watch_record_staleness(services, *records.watch);
  if (records.lock && !records.lock_staleness) {
    if (auto stopped = stopped_holder(services, *records.lock)) {
      records.lock_holder_stopped = true;
      unreadable.push_back(std::move(*stopped));
    }
  }
  if (records.lock && records.intent) {
    records.operation_in_progress = switch_running(*records.intent, *records.lock, records.lock_staleness.has_value());
  }
  return records;
}

// History, read only when status needs it to explain what it sees (status_needs_history), and
// at most once per status however many balancers need it: it can be long, and status is read
// often. One that cannot be read explains less, nothing more.
class HistoryOnce {
 public:
  std::vector<HistoryEvent> if_needed(Services& services, const std::vector<Pool>& pools,
                                      const std::vector<Member>& members, const SharedRecords& records) {
    // Not asked of a store that did not answer (read_record): it would wait out the same timeouts.
    if (records.store_unanswered ||
        !status_needs_history(pools, members, records.watch, records.watch_staleness.has_value(), records.intent)) {
      return {};
    }
    if (!events_) {
      auto history = services.state.read_history();
      events_ = history ? std::move(history->events) : std::vector<HistoryEvent>{};
    }
    return *events_;
  }

 private:
  std::optional<std::vector<HistoryEvent>> events_;  // read already (empty when unreadable)
};

// The inputs every status report shares, whatever the balancer answered: the service, the pools,
// the balancer's members (none when it did not answer) and the records read once for all
// balancers.
StatusInputs inputs_from_records(const Services& services, const std::vector<Pool>& pools,
                                 const std::vector<Member>& members, const SharedRecords& records) {
  return StatusInputs{.service = services.config.service,
                      .pools = pools,
                      .members = members,
                      .intent = records.intent,
                      .lock = records.lock,
                      .lock_staleness = records.lock_staleness,
                      .lock_unreadable = records.lock_unreadable,
                      .operation_in_progress = records.operation_in_progress,
                      .lock_holder_stopped = records.lock_holder_stopped,
                      .last_switch = records.last_switch,
                      .reloaded_since_last_switch = records.reloaded_since_last_switch,
                      .freeze = records.freeze,
                      .watch = records.watch,
                      .watch_staleness = records.watch_staleness};
}

// The balancer did not answer: what status can say without it (the lock, an interrupted switch,
// a running watch, the freeze, the last switch, the pools), with the balancer's error a problem.
StatusReport without_balancer(Services& services, const std::vector<Pool>& pools, const SharedRecords& records,
                              const Error& why) {
  const std::vector<Member> none;
  auto inputs = inputs_from_records(services, pools, none, records);
  inputs.balancer_error = why.message;
  auto report = build_status(inputs);
  report.balancer_error_kind = why.kind;
  return report;
}

StatusReport balancer_report(Services& services, const BalancerMembers& balancer, const std::vector<Pool>& pools,
                             const SharedRecords& records, HistoryOnce& history, std::vector<std::string>& unreadable) {
  const BalancerEntry& entry = balancer.entry;
  auto inputs = inputs_from_records(services, pools, balancer.members, records);
  inputs.repair_restores = records.repair_restores;
  inputs.durable =
      read_or_report(entry.balancer->durable_members(), unreadable,
                     entry.prefix() + "the membership the balancer restarts with", "fix the file it names");
  inputs.foreign_allowed = entry.settings->allow_foreign_servers;
  inputs.standby_supported = entry.balancer->capabilities().standby;
  inputs.hot = inputs.standby_supported ? services.config.retention_hot : 0;
  inputs.balancer = entry.balancer->describe();
  inputs.history = history.if_needed(services, pools, balancer.members, records);
  const auto persistable = entry.balancer->persistable();
  inputs.durable_unwritable = !persistable.ok();
  auto report = build_status(inputs);
  // Deploys and repairs refuse to start while membership could not be kept durable; a rollback
  // goes ahead at runtime only (the running membership then differs from the file, reported above).
  if (!persistable.ok()) {
    report.problems.push_back(persistable.error().message +
                              "; every deploy and repair is refused until it is, and a rollback goes ahead at "
                              "runtime only (a HAProxy reload or restart undoes it)");
  }
  return report;
}

// Several balancers: every balancer's members and findings, named after it; a finding every
// balancer makes alike (the intent record, the lock) is said once; a pool live in one balancer
// and not in another is a problem of its own (a switch left half done: 'deploy-pipeline
// repair' converges them).
StatusReport several_balancers(Services& services, const std::vector<BalancerMembers>& balancers,
                               const std::vector<Pool>& pools, const SharedRecords& records, HistoryOnce& history,
                               std::vector<std::string>& unreadable) {
  std::vector<StatusReport> reports;
  for (const auto& balancer : balancers)
    reports.push_back(balancer_report(services, balancer, pools, records, history, unreadable));
  StatusReport report = reports.front();
  report.members.clear();
  report.live.clear();
  report.standby.clear();
  report.notes.clear();
  report.problems.clear();
  for (const auto& line : live_divergence(balancers)) {
    report.problems.push_back("the balancers differ: " + line + "; '" +
                              past_the_lock("deploy-pipeline repair", records.lock_stale()) +
                              "' makes the same pool live in all of them");
  }
  const auto everywhere = [&](const std::string& line, std::vector<std::string> StatusReport::*field) {
    return std::all_of(reports.begin(), reports.end(),
                       [&](const StatusReport& other) { return has_label(other.*field, line); });
  };
  for (const auto& problem : reports.front().problems) {
    if (everywhere(problem, &StatusReport::problems)) report.problems.push_back(problem);
  }
  for (const auto& note : reports.front().notes) {
    if (everywhere(note, &StatusReport::notes)) report.notes.push_back(note);
  }
  for (std::size_t i = 0; i < balancers.size(); ++i) {
    const auto& own = reports[i];
    const auto& entry = balancers[i].entry;
    for (auto row : own.members) {
      row.balancer = entry.name;
      report.members.push_back(std::move(row));
    }
    for (const auto& label : own.live) {
      if (!has_label(report.live, label)) report.live.push_back(label);
    }
    for (auto pool : own.standby) {
      pool.label += " in " + entry.name;
      report.standby.push_back(std::move(pool));
    }
    report.notes.push_back(entry.prefix() + entry.balancer->describe() + ", live " +
                           (own.live.empty() ? std::string("none") : util::join(own.live, ", ")));
    for (const auto& note : own.notes) {
      if (!everywhere(note, &StatusReport::notes)) report.notes.push_back(entry.prefix() + note);
    }
    for (const auto& problem : own.problems) {
      if (!everywhere(problem, &StatusReport::problems)) report.problems.push_back(entry.prefix() + problem);
    }
  }
  std::sort(report.live.begin(), report.live.end());
  return report;
}

// What ends a problem that refuses every switch until it is fixed: the commands other problems
// name come after that fix, so it is said first.
constexpr std::string_view kFirst = "; do that first: the commands named below are refused until then";

// Of several balancers, those that did not answer while others did: each a note and a problem
// naming it, the report being what the others say; their error's kind gives status its exit code.
// The problems are returned, to go first.
std::vector<std::string> report_unanswered(const BalancerReading& reading, ErrorKind kind, StatusReport& report) {
  report.balancer_error_kind = kind;
  std::vector<std::string> first;
  for (const auto& failed : reading.unanswered) {
    const bool misconfigured = failed.error.kind == ErrorKind::invalid;
    const std::string state = misconfigured ? "cannot be used" : "unavailable";
    report.unanswered.push_back({failed.entry.name, failed.error.message});
    report.notes.push_back(failed.entry.prefix() + state + ", live unknown");
    first.push_back(failed.entry.prefix() + state + " (" + failed.error.message +
                    "); what it routes to is unknown, the rest of this report is what the other balancers "
                    "say, and every switch, delete and prune is refused until it answers: " +
                    (misconfigured ? "fix its configuration" : "check that it runs and can be reached") +
                    std::string(kFirst));
  }
  return first;
}

// The balancers that answer but refuse every change through the access Phoenix has
// (Balancer::changes_allowed): each a problem naming it and the fix, to go first, since every
// deploy, rollback and repair is refused until it is made.
std::vector<std::string> changes_refused(const std::vector<BalancerMembers>& answered) {
  std::vector<std::string> first;
  for (const auto& balancer : answered) {
    const auto allowed = balancer.entry.balancer->changes_allowed();
    if (allowed.ok() || !allowed.error().is(ErrorCode::changes_not_allowed)) continue;
    first.push_back(balancer.entry.prefix() + allowed.error().message +
                    "; do that first: every deploy, rollback and repair is refused until then");
  }
  return first;
}

// The report from the pools, every balancer and the state store's records.
Result<StatusReport> status_of_pools_and_balancers(Services& services) {
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  PHX_TRY_ASSIGN(const auto reading, read_each_balancer(services));
  // A balancer configured wrong (balancer.socket a regular file) answers as little as one that
  // is down: the report is still printed (monitoring parses its JSON), and the exit code says
  // which it was (StatusReport::balancer_error_kind).
  const std::optional<Error> unanswered =
      reading.unanswered.empty() ? std::nullopt : std::optional<Error>(reading.joined_error());
  if (unanswered && unanswered->kind != ErrorKind::unavailable && unanswered->kind != ErrorKind::timeout &&
      unanswered->kind != ErrorKind::invalid) {
    return *unanswered;
  }
  std::vector<std::string> unreadable;
  auto records = read_shared(services, unreadable);
  const auto live = live_labels(all_members(reading.answered));
  // Repair restores a pool only with no switch pending; it finishes a pending one first.
  if (!records.intent) {
    records.repair_restores = restored_by_repair(services, pools, reading.answered, live, records.last_switch);
  }
  // Asked only where it explains something: the balancers route elsewhere than the last switch left them.
  if (records.last_switch && std::find(live.begin(), live.end(), records.last_switch->label) == live.end()) {
    records.reloaded_since_last_switch = reloaded_since_switch(services, reading.answered, records.last_switch);
  }
  if (reading.answered.empty()) {
    auto report = without_balancer(services, pools, records, *unanswered);
    report.problems.insert(report.problems.end(), unreadable.begin(), unreadable.end());
    report.state_store_error = records.store_unanswered;
    return report;
  }
  // Several balancers configured, some of which answered: what those say, each named.
  HistoryOnce history;
  const auto& answered = reading.answered;
  auto report = answered.front().entry.named
                    ? several_balancers(services, answered, pools, records, history, unreadable)
                    : balancer_report(services, answered.front(), pools, records, history, unreadable);
  auto first = changes_refused(answered);
  if (unanswered) {
    const auto lines = report_unanswered(reading, unanswered->kind, report);
    first.insert(first.begin(), lines.begin(), lines.end());
  }
  report.problems.insert(report.problems.begin(), first.begin(), first.end());
  report.problems.insert(report.problems.end(), unreadable.begin(), unreadable.end());
  report.state_store_error = records.store_unanswered;
  return report;
}

}  // namespace

Result<StatusReport> status(Services& services) {
  auto report = status_of_pools_and_balancers(services);
  if (!report) return report;
  // A retention tier the provider lacks stops prune only; said here, so it is fixed before then.
  if (const auto tiers = tiers_provided(services, services.config.retention_tiers); !tiers.ok()) {
    report->problems.push_back(tiers.error().message + " ('create-pipeline prune' refuses to run until then)");
  }
  return report;
}

Result<HistoryLog> history(Services& services) { return services.state.read_history(); }

}  // namespace phoenix::ops
