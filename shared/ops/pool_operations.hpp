#pragma once
// create-pipeline's commands as library calls: create, smoke-test, list, smart delete, prune
// and power. Each takes a plain option struct (the CLI layer builds it) and works only through
// Services, so tests run them against fakes.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/core/render.hpp"
#include "shared/core/smoke.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

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
  bool force = false;  // delete even the last known-good pools (retention.keep_good)
};
// Smart delete: under the deploy lock, re-reads the balancer immediately before destroying.
// Refuses (`refused`) while any server of the pool takes traffic or holds connections, and
// when the pool is one of the last retention.keep_good known-good ones (unless `force`). A hot
// pool's idle standby members are taken out of the balancer first.
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

}  // namespace phoenix::ops
