#pragma once
// Everything an operation works through. Every side effect sits behind one of these
// interfaces; the CLI layer wires real implementations, tests wire fakes.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "shared/config/config.hpp"
#include "shared/core/balancer.hpp"
#include "shared/core/http_client.hpp"
#include "shared/core/notifier.hpp"
#include "shared/core/provider.hpp"
#include "shared/core/state_store.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::ops {

// Who runs this command, for the lock, history and pool metadata.
struct Identity {
  std::string host;
  long pid = 0;
  std::string user;      // the CI trigger user, or the login name
  std::string job;       // the CI job identity, or ""
  std::string revision;  // the source revision being built
};

// One of several balancers the service sits behind, with its name from the configuration.
struct NamedBalancer {
  std::string name;
  Balancer* balancer = nullptr;
};

struct Services {
  const config::Config& config;
  Provider& provider;
  // The first (or only) balancer. Operations reach every balancer through ops/balancer_set.
  Balancer& balancer;
  // Every balancer, in the configuration's order, `balancer` first, when there are several;
  // empty when `balancer` is the only one. A switch acts on all of them as one unit.
  std::vector<NamedBalancer> balancers;
  StateStore& state;
  HttpClient& http;
  util::Clock& clock;
  util::Reporter& reporter;
  // Where notifications go (the configuration's notify list); never fails an operation.
  Notifier& notifier;
  Identity identity;
  // Whether SIGINT, SIGTERM or SIGHUP asked the command to stop (util::interrupt_requested in the
  // executables); switches poll it at their safe points. Empty: never.
  std::function<bool()> stop_requested;
  // A test seam: called before each step of a switch with the step's index (crash tests kill
  // the process there), and with the number of steps once the switch is recorded, before its
  // end is confirmed against the balancer. Empty in the shipped executables.
  std::function<void(std::size_t step)> before_switch_step;
  // A test seam: called once the wake of a retained switch target has started its servers,
  // before it checks and smoke-tests them (crash tests kill the process there). Empty in the
  // shipped executables.
  std::function<void()> while_waking;
  // Whether the deploy lock could be created now, asked by a dry run (which takes no lock, and
  // creates nothing to ask) where the real run's first write, the lock, would be: an error saying
  // it could not (the executables add which directory, its key and the fix), so the dry run fails
  // as the real run would. Empty: not checked.
  std::function<Status()> state_writable;
};

}  // namespace phoenix::ops
