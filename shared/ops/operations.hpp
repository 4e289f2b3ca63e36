#pragma once
// The commands of both pipelines as library calls. Each takes plain option structs (the CLI
// layer builds them) and works only through Services, so tests run them against fakes.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/core/render.hpp"
#include "shared/core/smoke.hpp"
#include "shared/core/status.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

// ---- create-pipeline ----

struct CreateOptions {
  std::string label;
  std::optional<int> size;  // default: pool.size of the config
};
struct CreateResult {
  Pool pool;
  bool already_existed = false;
};
Result<CreateResult> create_pool(Services& services, const CreateOptions& options);

// Runs the smoke checks and records the verdict on the pool. A failing check is not an error
// here: the report says so, and the caller decides the exit code after writing JUnit.
Result<SmokeReport> smoke_test(Services& services, const std::string& label);

Result<PoolListing> list_pools(Services& services);

struct DeleteOptions {
  std::string label;
  bool dry_run = false;
  bool break_lock = false;
};
// Smart delete: under the deploy lock, re-reads the balancer immediately before destroying,
// and refuses (`refused`) while any server of the pool is a member in any state.
Status delete_pool(Services& services, const DeleteOptions& options);

struct PruneOptions {
  int keep = 3;
  bool dry_run = false;
  bool break_lock = false;
};
struct PruneResult {
  PruneDecision decision;
  std::vector<std::string> deleted;
  std::vector<std::string> refused;  // became members between planning and deleting
};
Result<PruneResult> prune_pools(Services& services, const PruneOptions& options);

Status set_pool_power(Services& services, const std::string& label, PowerState power);

// ---- deploy-pipeline ----

struct DeployOptions {
  std::string label;
  bool force = false;
  bool dry_run = false;
  bool break_lock = false;
};
struct SwitchResult {
  SwitchPlan plan;
  bool dry_run = false;
  long long duration_ms = 0;
  std::vector<std::string> left_in_maintenance;
};
Result<SwitchResult> deploy(Services& services, const DeployOptions& options);

struct RollbackOptions {
  std::optional<std::string> to;
  std::string reason;
  bool force = false;
  bool dry_run = false;
  bool break_lock = false;
};
Result<SwitchResult> rollback(Services& services, const RollbackOptions& options);

struct RepairOptions {
  bool dry_run = false;
  bool break_lock = false;
};
// Finishes an interrupted deploy or rollback, or else makes exactly one pool live again: the
// last one a deploy or rollback put live, when it is still live, else the newest live one.
Result<SwitchResult> repair(Services& services, const RepairOptions& options);

Result<StatusReport> status(Services& services);
Result<std::vector<HistoryEvent>> history(Services& services);

}  // namespace phoenix::ops
