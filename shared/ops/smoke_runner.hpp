#pragma once
// Runs the smoke checks against every server of a pool at once, retrying failed ones until
// the pool's deadline: a server that is still starting gets the time the config allows.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "shared/core/http_client.hpp"
#include "shared/core/pool.hpp"
#include "shared/core/smoke.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::ops {

struct SmokeSettings {
  std::string service;
  std::vector<SmokeCheck> checks;
  std::chrono::milliseconds timeout{30000};  // for the whole pool
  std::chrono::milliseconds retry_interval{200};
  // True once SIGINT, SIGTERM or SIGHUP asked to stop: no further round is started, not even
  // the first (the caller asks it again and records no verdict). A check of no round stays
  // unanswered (`attempts` 0). Empty: never.
  std::function<bool()> stop_requested;
};

SmokeReport run_smoke_checks(HttpClient& http, util::Clock& clock, util::Reporter& reporter, const Pool& pool,
                             const SmokeSettings& settings);

}  // namespace phoenix::ops
