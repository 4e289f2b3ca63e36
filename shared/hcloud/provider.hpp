#pragma once
// The `hcloud` provider: a pool is Hetzner Cloud servers labelled phoenix-service=<service>
// and phoenix-label=<label>; its metadata lives in more labels, so any CI agent sees it. The
// release is deployed by cloud-init from the user_data template. All the requests of a pool
// (create, delete, power, label updates) go out at once.
//
// Tiers: off works, but Hetzner bills a stopped server like a running one until it is deleted,
// so it saves boot time, never money. The cold tier is a snapshot image (create_image, type
// snapshot, billed per GB) carrying the same labels as the servers; a cold pool is its snapshot
// alone, and waking it creates the servers from the snapshot's id, without user_data.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "shared/core/provider.hpp"
#include "shared/hcloud/api.hpp"
#include "shared/hcloud/labels.hpp"

namespace phoenix::hcloud {

struct ProviderSettings {
  std::string service;
  std::string server_type;
  std::string image;
  std::string location;
  std::string user_data_template;  // {service} {label} {revision} {index} {port} are filled in
  int port = 8080;                 // where the release listens on each server
  std::chrono::milliseconds create_timeout{600000};
  // Asked while a create waits for its servers to start (SIGINT, SIGTERM, SIGHUP): true ends
  // the wait at its next poll with ErrorCode::interrupted, naming the servers that exist.
  std::function<bool()> stop_requested;
};

// The address Phoenix reaches a server at: its public IPv4, else its first private IP.
std::string server_address(const cJSON* server);
// The servers (API objects) of `service`, or of its pool `label` when given.
Result<std::vector<util::Json>> list_servers(Api& api, const std::string& service, const std::string& label = "");

class HcloudProvider final : public Provider {
 public:
  HcloudProvider(Api& api, ProviderSettings settings, util::Reporter& reporter);

  std::string describe() const override;
  Result<std::vector<Pool>> list_pools() override;
  Result<Pool> create_pool(const PoolSpec& spec) override;
  Status destroy_pool(const Pool& pool) override;
  Status update_metadata(const PoolMetadata& meta) override;
  ProviderTiers tiers() const override { return {.off = true, .off_is_billed = true, .cold = true}; }
  Status set_power(const Pool& pool, PowerState power) override;
  Result<Archive> archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) override;
  Result<Pool> restore_pool(const Pool& pool) override;
  Result<std::optional<PriceSheet>> prices() override;

 private:
  Result<std::vector<util::Json>> servers(const std::string& label = "") {
    return list_servers(api_, settings_.service, label);
  }
  // The snapshot images of the service, or of its pool `label`.
  Result<std::vector<util::Json>> images(const std::string& label = "");
  std::vector<Pool> to_pools(const std::vector<util::Json>& servers, const std::vector<util::Json>& images) const;
  Result<Pool> listed_pool(const std::string& label);
  std::string user_data(const PoolSpec& spec, int index) const;
  void say_how_reason_is_kept(const PoolMetadata& meta);
  // The pool's snapshot once it is ready: an existing one (waiting for it while it is being
  // made), else a new one of `pool`'s first server. A failed one is deleted and replaced.
  Result<util::Json> ready_snapshot(const Pool& pool);
  Result<util::Json> make_snapshot(const Pool& pool);
  // Waits for the running actions of an image that is being made, then reads it again.
  Result<util::Json> wait_for_image(long long id, const std::string& what);
  Status delete_servers(const std::vector<util::Json>& servers, const std::string& what);
  // The ids of the actions still running on `server_ids` (servers an interrupted run created).
  Result<std::vector<long long>> running_actions(const std::vector<long long>& server_ids);

  Api& api_;
  ProviderSettings settings_;
  util::Reporter& reporter_;
};

}  // namespace phoenix::hcloud
