#pragma once
// The `exec` provider: pools on any infrastructure, through the operator's own command (a
// terraform wrapper, a cloud CLI script). The command runs without a shell as
//   <command...> <operation>
// with a JSON request on stdin, and answers JSON on stdout; its stderr passes through to the
// operator. docs/exec-provider.md is the protocol; pipeline-configs/exec-example/ a working one.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/provider.hpp"
#include "shared/util/json.hpp"

namespace phoenix::providers {

struct ExecProviderSettings {
  std::string service;
  std::vector<std::string> command;
  std::chrono::milliseconds timeout{600000};
  bool supports_power = false;
  bool supports_archive = false;  // the command has the `archive` and `restore` verbs
  // While `create` runs: the signal that asked Phoenix to stop, or 0 (util::interrupt_signal).
  // It is passed on to the command's process group, which has `stop_grace` to end before it is
  // killed; the create then ends with ErrorCode::interrupted unless the command still answered
  // a whole pool. The other verbs run to their end (bounded by `timeout`): they run where a
  // command that stopped would leave half a change (destroy, archive, power-off) or are short.
  std::function<int()> stop_signal;
  std::chrono::milliseconds stop_grace{10000};
};

class ExecProvider final : public Provider {
 public:
  explicit ExecProvider(ExecProviderSettings settings);

  std::string describe() const override;
  Result<std::vector<Pool>> list_pools() override;
  Result<Pool> create_pool(const PoolSpec& spec) override;
  Status destroy_pool(const Pool& pool) override;
  Status update_metadata(const PoolMetadata& meta) override;
  // What the operator declared; Phoenix knows nothing of the command's prices.
  ProviderTiers tiers() const override {
    return {.off = settings_.supports_power, .off_is_billed = false, .cold = settings_.supports_archive};
  }
  Status set_power(const Pool& pool, PowerState power) override;
  // The `archive` verb makes the image and then removes the servers in one step, so the
  // balancer check (`before_destroying`) runs before it.
  Result<Archive> archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) override;
  Result<Pool> restore_pool(const Pool& pool) override;
  Result<std::optional<PriceSheet>> prices() override { return std::optional<PriceSheet>(); }

 private:
  // Runs one operation: `request` gets "service" added; the answer must be a JSON object.
  // With `stopping_pool` (the label of the pool a `create` makes), a stop request is passed on
  // to the command (ExecProviderSettings), and a command it ends leaves that pool incomplete.
  Result<util::Json> run(const std::string& operation, util::Json request,
                         const std::optional<std::string>& stopping_pool = std::nullopt);

  ExecProviderSettings settings_;
};

// The pool an exec command described ("pools" entries and the "pool" of a create answer).
Result<Pool> pool_from_exec_json(const cJSON* object, const std::string& origin);
// The "archive" an exec command described (of a pool, or the answer of `archive`).
Result<Archive> archive_from_exec_json(const cJSON* object, const std::string& origin);

}  // namespace phoenix::providers
