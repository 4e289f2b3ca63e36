#include "fakes/fake_provider.hpp"

#include <algorithm>

namespace phoenix::fakes {

std::optional<Error> FakeProvider::take_failure(const std::string& kind) {
  const auto found = fail_next.find(kind);
  if (found == fail_next.end()) return std::nullopt;
  Error error = found->second;
  fail_next.erase(found);
  return error;
}

Result<std::vector<Pool>> FakeProvider::list_pools() {
  ++list_pools_calls;
  if (auto error = take_failure("list_pools")) return *error;
  return pools;
}

Pool& FakeProvider::add_pool(const std::string& label, int size, int age_minutes, SmokeVerdict smoke) {
  Pool pool;
  pool.meta.label = label;
  pool.meta.created_at = WallTime(std::chrono::hours(500000)) - std::chrono::minutes(age_minutes);
  pool.meta.smoke = smoke;
  pool.servers = new_servers(size);
  pools.push_back(pool);
  return pools.back();
}

std::vector<Server> FakeProvider::new_servers(int size) {
  // Never the index of a pool that lives, also after destroy_pool: addresses stay unique.
  next_pool_ = std::max(next_pool_, static_cast<int>(pools.size())) + 1;
  const int index = next_pool_;
  std::vector<Server> servers;
  for (int i = 1; i <= size; ++i) {
    servers.push_back(
        {std::to_string(i), "10.0." + std::to_string(index) + "." + std::to_string(i), 8080, ServerState::running});
  }
  return servers;
}

Pool& FakeProvider::add_unreadable_pool(const std::string& label, int size) {
  Pool& pool = add_pool(label, size, 0);
  pool.meta = PoolMetadata{.label = label};
  pool.complete = false;
  pool.unreadable = "pools/" + label + "/record: not valid JSON";
  return pool;
}

Result<Pool> FakeProvider::create_pool(const PoolSpec& spec) {
  calls.push_back("create_pool " + spec.meta.label + " " + std::to_string(spec.size));
  if (auto error = take_failure("create_pool")) return *error;
  // Re-running it for a pool that exists completes that pool; it creates no more servers.
  for (auto& existing : pools) {
    if (existing.label() != spec.meta.label) continue;
    if (!existing.readable()) return Error{ErrorKind::failed, existing.unreadable};
    existing.complete = true;
    if (on_restored) on_restored();
    return existing;
  }
  Pool& pool = add_pool(spec.meta.label, spec.size, 0, SmokeVerdict::pending);
  pool.meta = spec.meta;
  return pool;
}

Status FakeProvider::destroy_pool(const Pool& pool) {
  calls.push_back("destroy_pool " + pool.label());
  if (auto error = take_failure("destroy_pool")) return *error;
  pools.erase(std::remove_if(pools.begin(), pools.end(), [&](const Pool& p) { return p.label() == pool.label(); }),
              pools.end());
  return {};
}

Status FakeProvider::update_metadata(const PoolMetadata& meta) {
  calls.push_back("update_metadata " + meta.label + " smoke=" + to_string(meta.smoke) +
                  " verdict=" + to_string(meta.verdict));
  if (auto error = take_failure("update_metadata")) return *error;
  for (auto& pool : pools) {
    if (pool.label() != meta.label) continue;
    if (!pool.readable()) return Error{ErrorKind::failed, pool.unreadable};
    pool.meta = meta;
  }
  return {};
}

Status FakeProvider::set_power(const Pool& pool, PowerState power) {
  calls.push_back(std::string("set_power ") + pool.label() + " " + to_string(power));
  if (auto error = take_failure("set_power")) return *error;
  for (auto& existing : pools) {
    if (existing.label() != pool.label()) continue;
    if (!existing.readable()) return Error{ErrorKind::failed, existing.unreadable};
    existing.power = power;
    for (auto& server : existing.servers)
      server.state = power == PowerState::on ? ServerState::running : ServerState::stopped;
  }
  return {};
}

Result<Archive> FakeProvider::archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) {
  calls.push_back("archive_pool " + pool.label());
  if (auto error = take_failure("archive_pool")) return *error;
  Pool* existing = nullptr;
  for (auto& candidate : pools) {
    if (candidate.label() == pool.label()) existing = &candidate;
  }
  if (existing == nullptr) return Error{ErrorKind::failed, "no pool " + pool.label()};
  if (!existing->archive) {
    existing->archive = Archive{.id = "image-" + std::to_string(++next_image_),
                                .ready = true,
                                .size_gb = 1.5,
                                .servers = static_cast<int>(existing->servers.size()),
                                .created_at = existing->meta.created_at};
  }
  if (on_image_ready) on_image_ready();
  if (before_destroying) {
    if (auto checked = before_destroying(); !checked.ok()) return checked.error();
  }
  if (auto error = take_failure("archive_destroy")) return *error;
  calls.push_back("drop_servers " + pool.label());
  existing->servers.clear();
  existing->power = PowerState::off;
  return *existing->archive;
}

Result<Pool> FakeProvider::restore_pool(const Pool& pool) {
  calls.push_back("restore_pool " + pool.label());
  if (auto error = take_failure("restore_pool")) return *error;
  for (auto& existing : pools) {
    if (existing.label() != pool.label()) continue;
    if (!existing.archive) return Error{ErrorKind::failed, "pool " + pool.label() + " has no archive"};
    existing.servers = new_servers(existing.archive->servers);
    existing.power = PowerState::on;
    existing.complete = true;
    if (on_restored) on_restored();
    return existing;
  }
  return Error{ErrorKind::failed, "no pool " + pool.label()};
}

Result<std::optional<PriceSheet>> FakeProvider::prices() {
  if (auto error = take_failure("prices")) return *error;
  return price_sheet;
}

}  // namespace phoenix::fakes
