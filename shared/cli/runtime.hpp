#pragma once
// Wiring: the real implementations of every core interface, built from a configuration.

#include <memory>

#include "shared/config/config.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::cli {

class Runtime {
 public:
  // Builds the provider, balancer, state store and HTTP client the configuration names.
  static Result<std::unique_ptr<Runtime>> create(config::Config config, util::Clock& clock, util::Reporter& reporter);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  ops::Services& services() { return *services_; }

 private:
  Runtime() = default;

  config::Config config_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<Provider> provider_;
  std::shared_ptr<void> balancer_parts_;  // what the balancer talks through (channel, API client)
  std::unique_ptr<Balancer> balancer_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<ops::Services> services_;
};

// This host's name, for lock holders and history.
std::string host_name();

}  // namespace phoenix::cli
