#pragma once
// One service of the local provider behind one real HAProxy, in a private directory: what most
// end-to-end tests of switches, rollbacks, watches and verdicts start from, and the questions
// they ask of it (which release answers, a pool's fields in the listing, its servers, history).
// Each test file states only what differs (pool size, retention.hot, the watch) through
// ServiceOptions.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/harness.hpp"

namespace phoenix::testing {

// A watch that judges 2-second windows, sampled every 200 ms, of at least 20 requests, and
// breaches above 5 % 5xx: short enough for a test, long enough to see real traffic.
inline constexpr const char* kTwoSecondWatch =
    R"({ "interval_ms": 200, "window_s": 2, "min_requests": 20, "max_5xx_ratio": 0.05 })";

// A server of a pool, from the local provider's record.
struct PoolServer {
  std::string address;  // host:port
  pid_t pid = 0;        // 0 when the record names none
};

struct ServiceRig {
  // Writes the service configuration; with `pools`, creates pools 1 and 2 and does what it says.
  explicit ServiceRig(const ServiceOptions& options, std::optional<ThenDeploy> pools = std::nullopt);
  ServiceRig(const ServiceRig&) = delete;
  ServiceRig& operator=(const ServiceRig&) = delete;

  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string service;
  std::string config;

  // build/bin/<tool> with `arguments` and this service's --config.
  ToolResult run(const std::string& tool, std::vector<std::string> arguments) const;
  // The same; fails the test (with the command and its stderr) unless it exits 0.
  void ok(const std::string& tool, const std::vector<std::string>& arguments) const;
  void create(const std::string& label) const;  // create-pipeline run --label
  void deploy(const std::string& label) const;  // deploy-pipeline deploy --label

  // The local provider's state of this service, and the files in it a test looks at.
  fs::path state() const;
  fs::path watch_record() const { return state() / "watch.json"; }
  fs::path deploy_lock() const { return state() / "deploy.lock"; }
  // A watch is recorded and the switch before it is over (the deploy lock is released).
  bool watch_recorded() const;

  // What the frontend answers on /: "2\n" from pool 2, "release 2 is failing\n" once it turned bad.
  std::string live() const;
  // `deploy-pipeline status --output json`, parsed.
  util::Json status_json() const;

  // Whether `create-pipeline list --output json` lists pool `label`.
  bool listed(const std::string& label) const;
  // A string field of pool `label` in that listing; "" when the pool or the field is not there.
  std::string pool_field(const std::string& label, const char* field) const;
  // The details of the history events of `action`, newest first.
  std::vector<std::string> history_details(const std::string& action) const;

  // The servers of pool `label` and their pids, from its record; fails the test when it cannot be read.
  std::vector<PoolServer> servers(const std::string& label) const;
  std::vector<pid_t> pids(const std::string& label) const;
  // SIGKILL to every server of `label` (each must have a pid), then until none answers /health; bounded.
  void kill_servers(const std::string& label) const;
  // Turns every server of `label` bad: 500 on every path but /health (the failure health checks miss).
  void turn_bad(const std::string& label) const;

  // Starts `deploy-pipeline deploy --label <label> --watch <duration>` on a thread of its own
  // (`result` and then `done` set when it ends) and returns once the frontend answers from
  // `label` or the deploy ended, at most 5 s later. The caller joins the thread.
  std::thread start_watched_deploy(const std::string& label, const std::string& duration, ToolResult& result,
                                   std::atomic<bool>& done) const;
};

}  // namespace phoenix::testing
