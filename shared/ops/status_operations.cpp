#include "shared/ops/status_operations.hpp"

#include "shared/ops/history_log.hpp"

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

}  // namespace

Result<StatusReport> status(Services& services) {
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  PHX_TRY_ASSIGN(const auto members, services.balancer.members());
  std::vector<std::string> unreadable;
  StatusInputs inputs{
      .service = services.config.service,
      .pools = pools,
      .members = members,
      .intent = read_or_report(services.state.read_intent(), unreadable, "the intent record",
                               "if no deploy is running, 'deploy-pipeline repair' replaces it"),
      .lock = read_or_report(services.state.read_lock(), unreadable, "the deploy lock",
                             "the next deploy must take it over with --break-lock"),
      .durable = read_or_report(services.balancer.durable_members(), unreadable,
                                "the membership the balancer restarts with", "fix the file it names"),
      .last_switch = read_or_report(services.state.last_switch(), unreadable, "the last switch in history",
                                    "'deploy-pipeline history' shows what can be read"),
      .foreign_allowed = services.config.balancer.allow_foreign_servers,
      .standby_supported = services.balancer.capabilities().standby,
      .balancer = services.balancer.describe(),
      .freeze = read_or_report(services.state.read_freeze(), unreadable, "the freeze record",
                               "'deploy-pipeline unfreeze' removes it")};
  if (inputs.lock) {
    inputs.lock_staleness = services.state.staleness(*inputs.lock, services.config.lock_stale_after);
    inputs.operation_in_progress = inputs.intent.has_value() && !inputs.lock_staleness;
  }
  auto report = build_status(inputs);
  report.problems.insert(report.problems.end(), unreadable.begin(), unreadable.end());
  return report;
}

Result<HistoryLog> history(Services& services) { return services.state.read_history(); }

}  // namespace phoenix::ops
