#pragma once
// The `hcloud` balancer: the server targets of a Hetzner Load Balancer. Hetzner routes only to
// targets whose health check passes, so a new target is "standby" until healthy by itself;
// there is no drain (remove_target takes a target out) and no weight, and membership is
// durable by nature. Targets are mapped back to pools through the servers' labels.

#include <map>
#include <optional>
#include <string>

#include "shared/core/balancer.hpp"
#include "shared/hcloud/api.hpp"

namespace phoenix::hcloud {

struct BalancerSettings {
  std::string service;
  std::string load_balancer;  // its name
  bool use_private_ip = false;
  std::chrono::milliseconds action_timeout{120000};
};

class HcloudBalancer final : public Balancer {
 public:
  HcloudBalancer(Api& api, BalancerSettings settings);

  std::string describe() const override;
  BalancerCapabilities capabilities() const override;
  Result<std::vector<Member>> members() override;
  Status add_standby(const std::vector<MemberSpec>& members) override;
  Result<GuardedChange> standby(const std::vector<std::string>& names,
                                const std::vector<std::string>& keep_serving) override;
  Status admit(const std::vector<std::string>& names) override;
  Result<GuardedChange> drain(const std::vector<std::string>& names,
                              const std::vector<std::string>& keep_serving) override;
  Result<GuardedChange> remove(const std::vector<std::string>& names,
                               const std::vector<std::string>& keep_serving) override;
  Result<GuardedChange> remove_idle_standby(const std::vector<std::string>& names) override;
  Status persist(const std::vector<Member>& members) override;
  // The load balancer keeps its targets itself.
  MembershipKeeping keeping() override { return {.kind = KeepingKind::by_balancer}; }
  Result<std::optional<std::vector<Member>>> durable_members() override;
  Result<std::string> instance() override;

 private:
  Result<long long> load_balancer_id();
  Status target_calls(const std::string& action, const std::vector<std::string>& server_ids);
  // Reads the targets (refreshing the member-to-server map) and checks `keep_serving`.
  Result<GuardedChange> guard(const std::vector<std::string>& keep_serving);

  Api& api_;
  BalancerSettings settings_;
  std::optional<long long> id_;
  std::map<std::string, std::string> server_of_member_;  // member name -> server id, from members()
};

}  // namespace phoenix::hcloud
