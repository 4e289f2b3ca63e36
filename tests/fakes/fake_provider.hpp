#pragma once
// An in-memory Provider recording its calls. Pools get servers at 10.0.<pool>.<n>:8080, <pool>
// counting every pool ever added, so a pool never gets the addresses of another.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/provider.hpp"

namespace phoenix::fakes {

class FakeProvider final : public Provider {
 public:
  std::string describe() const override { return "fake provider"; }
  Result<std::vector<Pool>> list_pools() override;
  Result<Pool> create_pool(const PoolSpec& spec) override;
  Status destroy_pool(const Pool& pool) override;
  Status update_metadata(const PoolMetadata& meta) override;
  ProviderTiers tiers() const override { return tier_support; }
  Status set_power(const Pool& pool, PowerState power) override;
  // Keeps an image record and drops the servers; calls `before_destroying` in between, as the
  // contract says. Failures: fail_next["archive_pool"] before the image, ["archive_destroy"]
  // after it (the servers stay), ["restore_pool"].
  Result<Archive> archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) override;
  // Recreates the servers at new addresses, as a cloud would.
  Result<Pool> restore_pool(const Pool& pool) override;
  Result<std::optional<PriceSheet>> prices() override;

  // Test setup: a complete pool of `size` running servers, created `age_minutes` ago
  // relative to a fixed epoch (larger age = older).
  Pool& add_pool(const std::string& label, int size, int age_minutes, SmokeVerdict smoke = SmokeVerdict::passed);
  // Test setup: a pool whose record cannot be read, as Provider::list_pools returns one: only
  // its label, incomplete, and `size` servers found running. Metadata changes, power changes
  // and creates of it fail, as with a real provider; destroy_pool removes it.
  Pool& add_unreadable_pool(const std::string& label, int size);

  std::vector<Pool> pools;
  std::vector<std::string> calls;
  // How many times list_pools was called (not in `calls`, whose order tests compare): each is
  // one API request on a cloud, so tests count the reads a path costs.
  int list_pools_calls = 0;
  std::map<std::string, Error> fail_next;
  ProviderTiers tier_support{.off = true, .off_is_billed = false, .cold = true};
  // Runs in archive_pool once the image exists, before `before_destroying`: tests change the
  // world there (a server joins the balancer while the snapshot is made).
  std::function<void()> on_image_ready;
  // Runs once restore_pool has recreated the servers: tests lose the agent right there.
  std::function<void()> on_restored;
  std::optional<PriceSheet> price_sheet;

 private:
  std::optional<Error> take_failure(const std::string& kind);
  std::vector<Server> new_servers(int size);
  int next_pool_ = 0;  // the last pool index handed out (servers are at 10.0.<index>.<n>)
  int next_image_ = 0;
};

}  // namespace phoenix::fakes
