#pragma once
// Watching a pool after a switch (deploy --watch, rollback --watch): every watch.interval_ms
// the balancer's own figures for the new pool's members, and the watch's own checks, judged by
// core/watch over a sliding window. The watch holds no lock: a person may still roll back, and
// an automatic rollback takes the lock and expects the watched pool to be live (--expect-live),
// so it never undoes a switch made meanwhile.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "shared/ops/services.hpp"

namespace phoenix::ops {

struct WatchRequest {
  std::string target;  // the pool now live
  std::chrono::seconds duration{0};
};

struct WatchOutcome {
  std::optional<std::string> breach;  // the measured reason, or nothing: a clean window
  long long watched_ms = 0;           // from the watch's start to its end or the breach
};

// Watches until `duration` passed or a threshold broke. SIGINT, SIGTERM and SIGHUP end it at once with
// ErrorCode::interrupted, switching nothing. A balancer that cannot be read three intervals in
// a row ends it with its error. A watch that reaches its end without a breach but with fewer
// than two readable samples, or with its last sample unreadable, or having seen fewer than
// watch.min_requests requests in all, ends `unavailable` ("the watch ended without figures
// ..."): it judged nothing.
// What a watch holds a pool to: "at most 0.05 failed over 10 s, 0 members down".
std::string watch_terms(const WatchThresholds& thresholds);

Result<WatchOutcome> watch_pool(Services& services, const WatchRequest& request);

}  // namespace phoenix::ops
