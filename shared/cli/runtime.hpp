#pragma once
// Wiring: the real implementations of every core interface, built from a configuration.

#include <memory>

#include "shared/config/config.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::hcloud {
class Api;
}
namespace phoenix::haproxy {
class RuntimeChannel;
}

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
  Status wire_provider(util::Clock& clock, util::Reporter& reporter);
  Status wire_balancer();

  config::Config config_;
  std::string host_;
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<hcloud::Api> hcloud_api_;
  std::unique_ptr<haproxy::RuntimeChannel> haproxy_channel_;
  std::unique_ptr<Provider> provider_;
  std::unique_ptr<Balancer> balancer_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<ops::Services> services_;
};

// This host's name, for lock holders and history.
std::string host_name();

// The Hetzner Cloud token: HCLOUD_TOKEN, else the first line of `token_file`. Registered as a
// secret so it never reaches output.
Result<std::string> hcloud_token(const std::optional<std::filesystem::path>& token_file);

}  // namespace phoenix::cli
