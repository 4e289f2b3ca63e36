#pragma once
// deploy-pipeline's read-only commands: status and history.

#include <vector>

#include "shared/core/status.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

// The live pool, every member as the balancer sees it, and the problems found by comparing
// the balancer, the provider, the intent record, the lock and history.
// A balancer that does not answer (unavailable, timeout) is no error here: the report holds
// what can be read without it and names it (StatusReport::balancer_error).
Result<StatusReport> status(Services& services);

// Oldest first, with the records that could not be read.
Result<HistoryLog> history(Services& services);

}  // namespace phoenix::ops
