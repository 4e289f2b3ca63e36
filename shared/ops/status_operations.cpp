#include "shared/ops/status_operations.hpp"

#include "shared/ops/history_log.hpp"

namespace phoenix::ops {

Result<StatusReport> status(Services& services) {
  PHX_TRY_ASSIGN(const auto pools, services.provider.list_pools());
  PHX_TRY_ASSIGN(const auto members, services.balancer.members());
  PHX_TRY_ASSIGN(auto intent, services.state.read_intent());
  PHX_TRY_ASSIGN(auto lock, services.state.read_lock());
  PHX_TRY_ASSIGN(auto durable, services.balancer.durable_members());
  StatusInputs inputs{.service = services.config.service,
                      .pools = pools,
                      .members = members,
                      .intent = std::move(intent),
                      .lock = std::move(lock),
                      .durable = std::move(durable),
                      .last_switch = last_successful_switch(services)};
  if (inputs.lock) {
    inputs.lock_staleness = services.state.staleness(*inputs.lock, services.config.lock_stale_after);
    inputs.operation_in_progress = inputs.intent.has_value() && !inputs.lock_staleness;
  }
  return build_status(inputs);
}

Result<std::vector<HistoryEvent>> history(Services& services) { return services.state.read_history(); }

}  // namespace phoenix::ops
