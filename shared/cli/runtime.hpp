#pragma once
// Wiring: everything a command runs with. The one place that reads the process environment
// (once, at start), builds the real implementation of every core interface from the
// configuration, and holds the clock, the reporter and the HTTP client.

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/ci/ci_context.hpp"
#include "shared/cli/command.hpp"
#include "shared/config/config.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::hcloud {
class Api;
}
namespace phoenix::haproxy {
class RuntimeChannel;
}
namespace phoenix::notify {
class NotifierSet;
}

namespace phoenix::cli {

// Test seams, set only by test builds of the executables (tests/tools): the shipped mains pass
// none, so what tests inject never exists in what users install.
struct RunHooks {
  // Called before each step of a switch with the step's index (crash tests kill the process),
  // and with the number of steps before the switch's end is confirmed.
  std::function<void(std::size_t step)> before_switch_step;
  // Called once a wake of a retained switch target has started its servers (ops::Services).
  std::function<void()> while_waking;
};

class Runtime {
 public:
  Runtime(ci::Environment environment, const GlobalOptions& global, RunHooks hooks);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const ci::Environment& environment() const { return environment_; }
  // A variable of the environment, or nothing when it is unset or empty.
  std::optional<std::string> variable(const std::string& name) const;
  util::Clock& clock() { return *clock_; }
  util::Reporter& reporter() { return *reporter_; }
  HttpClient& http();
  // Loads the configuration (--config, else $PHOENIX_CONFIG, else ./phoenix.json) once and
  // wires the provider, balancer and state store it names.
  Result<ops::Services*> services(const std::optional<std::string>& config_option);
  Result<ci::Credentials> ci_credentials(ci::System system) const;
  // The configuration services() loaded and wired, or nothing before that (or when it failed).
  const config::Config* loaded_config() const { return services_ ? &config_ : nullptr; }

 private:
  Status wire(config::Config config);
  Status wire_provider();
  Status wire_balancers();
  std::vector<ops::NamedBalancer> named_balancers() const;
  Status wire_state();
  void wire_notifiers();

  ci::Environment environment_;
  RunHooks hooks_;
  std::unique_ptr<util::Clock> clock_;
  std::unique_ptr<util::Reporter> reporter_;
  std::string host_;
  config::Config config_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<hcloud::Api> hcloud_api_;
  std::vector<std::unique_ptr<haproxy::RuntimeChannel>> haproxy_channels_;
  std::unique_ptr<Provider> provider_;
  std::vector<std::unique_ptr<Balancer>> balancers_;  // in the configuration's order
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<notify::NotifierSet> notifier_;
  std::unique_ptr<ops::Services> services_;
};

// This host's name, for lock holders and history.
std::string host_name();

// A notifier's URL: the environment variable or the first line of the file `source` names.
// Registered as a secret as soon as it is read, and so is the part after the host when it is
// long enough to be one (a Slack URL's path is its credential), so neither ever reaches
// output. `invalid` (never showing the value) when it is missing or not an http(s) URL.
Result<std::string> notifier_url(const ci::Environment& environment, const config::SecretUrlSource& source);

// The Hetzner Cloud token: HCLOUD_TOKEN, else the first line of `token_file`. Registered as a
// secret so it never reaches output.
Result<std::string> hcloud_token(const ci::Environment& environment,
                                 const std::optional<std::filesystem::path>& token_file);

}  // namespace phoenix::cli
