#pragma once
// The `local` provider, the embedded default: every server is a real process of the release's
// artifact on its own loopback address and port. Each pool gets its own copy of the artifact,
// so a retained pool keeps running its own release whatever later builds do (invariant 7).
//
// State directory layout, per service:
//   pools/<label>/pool.json        metadata and servers (pid, address), written atomically
//   pools/<label>/release/<name>   the pool's copy of the artifact
//   pools/<label>/logs/<id>.log    each server's stdout and stderr
//   address-counter                the last loopback address handed out

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "shared/core/provider.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/process.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::providers {

struct LocalProviderSettings {
  std::string service;
  std::filesystem::path state_dir;
  std::filesystem::path artifact;
  std::vector<std::string> command;  // {artifact} {host} {port} {label}
  std::chrono::seconds start_timeout{30};
  // Servers start with a clean environment, never the CI job's (it holds secrets): PATH,
  // HOME (the pool's directory), LANG=C.UTF-8, then these NAME, value pairs.
  std::vector<std::pair<std::string, std::string>> environment;
};

struct LocalServerRecord {
  std::string id;
  std::string host;
  int port = 0;
  util::ProcessIdentity process;
};

struct LocalPoolRecord {
  PoolMetadata meta;
  PowerState power = PowerState::on;
  bool complete = false;
  std::string artifact;  // path of the pool's copy, relative to the pool directory
  std::vector<LocalServerRecord> servers;
};

class LocalProvider final : public Provider {
 public:
  LocalProvider(LocalProviderSettings settings, util::Clock& clock, util::Reporter& reporter);

  std::string describe() const override;
  Result<std::vector<Pool>> list_pools() override;
  Result<Pool> create_pool(const PoolSpec& spec) override;
  Status destroy_pool(const Pool& pool) override;
  Status update_metadata(const PoolMetadata& meta) override;
  bool supports_power() const override { return true; }
  Status set_power(const Pool& pool, PowerState power) override;

  std::filesystem::path service_directory() const { return settings_.state_dir / settings_.service; }

 private:
  std::filesystem::path pool_directory(const std::string& label) const;
  Result<LocalPoolRecord> load(const std::string& label) const;
  Status save(const LocalPoolRecord& record) const;
  Pool to_pool(const LocalPoolRecord& record) const;
  // Starts the servers at `indices` (all at once) and waits until each accepts connections.
  Status start_servers(LocalPoolRecord& record, const std::vector<std::size_t>& indices);
  Result<std::vector<std::string>> allocate_hosts(std::size_t count) const;
  std::vector<std::string> server_environment(const std::filesystem::path& pool_directory) const;

  LocalProviderSettings settings_;
  util::Clock& clock_;
  util::Reporter& reporter_;
};

}  // namespace phoenix::providers
