#pragma once
// An in-memory Provider recording its calls. Pools get servers at 10.0.<pool>.<n>:8080, <pool>
// counting every pool ever added, so a pool never gets the addresses of another.

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
  bool supports_power() const override { return true; }
  Status set_power(const Pool& pool, PowerState power) override;

  // Test setup: a complete pool of `size` running servers, created `age_minutes` ago
  // relative to a fixed epoch (larger age = older).
  Pool& add_pool(const std::string& label, int size, int age_minutes, SmokeVerdict smoke = SmokeVerdict::passed);
  // Test setup: a pool whose record cannot be read, as Provider::list_pools returns one: only
  // its label, incomplete, and `size` servers found running. Metadata changes, power changes
  // and creates of it fail, as with a real provider; destroy_pool removes it.
  Pool& add_unreadable_pool(const std::string& label, int size);

  std::vector<Pool> pools;
  std::vector<std::string> calls;
  std::map<std::string, Error> fail_next;

 private:
  std::optional<Error> take_failure(const std::string& kind);
  int next_pool_ = 0;  // the last pool index handed out (servers are at 10.0.<index>.<n>)
};

}  // namespace phoenix::fakes
