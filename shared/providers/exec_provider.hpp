#pragma once
// The `exec` provider: pools on any infrastructure, through the operator's own command (a
// terraform wrapper, a cloud CLI script). The command runs without a shell as
//   <command...> <operation>
// with a JSON request on stdin, and answers JSON on stdout; its stderr passes through to the
// operator. docs/exec-provider.md is the protocol; pipeline-configs/exec-example/ a working one.

#include <chrono>
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
};

class ExecProvider final : public Provider {
 public:
  explicit ExecProvider(ExecProviderSettings settings);

  std::string describe() const override;
  Result<std::vector<Pool>> list_pools() override;
  Result<Pool> create_pool(const PoolSpec& spec) override;
  Status destroy_pool(const Pool& pool) override;
  Status update_metadata(const PoolMetadata& meta) override;
  bool supports_power() const override { return settings_.supports_power; }
  Status set_power(const Pool& pool, PowerState power) override;

 private:
  // Runs one operation: `request` gets "service" added; the answer must be a JSON object.
  Result<util::Json> run(const std::string& operation, util::Json request);

  ExecProviderSettings settings_;
};

// The pool an exec command described ("pools" entries and the "pool" of a create answer).
Result<Pool> pool_from_exec_json(const cJSON* object, const std::string& origin);

}  // namespace phoenix::providers
