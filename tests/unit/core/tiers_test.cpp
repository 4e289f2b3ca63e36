#include "shared/core/tiers.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_provider.hpp"

using namespace phoenix;
using phoenix::fakes::FakeProvider;

namespace {

PriceSheet sheet() {
  return {.currency = "EUR",
          .servers = {{"cx22", "nbg1", 3.79}, {"cx22", "hel1", 3.49}, {"cx32", "nbg1", 6.80}},
          .archive_per_gb_month = 0.011};
}

}  // namespace

TEST_CASE(
    "a pool costs its servers at their type's price, a stopped one only where it is billed, and its snapshot "
    "by the GB",
    "[tiers][cost]") {
  FakeProvider provider;
  Pool& pool = provider.add_pool("1", 3, 10);
  pool.server_type = "cx22";
  pool.location = "nbg1";
  const ProviderTiers hetzner{.off = true, .off_is_billed = true, .cold = true};
  const ProviderTiers frugal{.off = true, .off_is_billed = false, .cold = false};

  auto cost = estimate_monthly_cost(pool, sheet(), hetzner);
  REQUIRE(cost.has_value());
  CHECK(cost->amount == Approx(3 * 3.79));
  CHECK(cost->basis == "3 x cx22");
  CHECK(format_cost(*cost) == "EUR 11.37");

  for (auto& server : pool.servers) server.state = ServerState::stopped;
  pool.power = PowerState::off;
  cost = estimate_monthly_cost(pool, sheet(), hetzner);
  CHECK(cost->amount == Approx(3 * 3.79));  // powered off saves nothing on Hetzner
  CHECK(cost->basis == "3 x cx22, 3 stopped and billed as running");
  CHECK(estimate_monthly_cost(pool, sheet(), frugal)->amount == Approx(0));

  pool.servers.clear();
  pool.archive = Archive{.id = "9", .ready = true, .size_gb = 0.78, .servers = 3};
  cost = estimate_monthly_cost(pool, sheet(), hetzner);
  CHECK(cost->amount == Approx(0.78 * 0.011));
  CHECK(cost->basis == "snapshot 0.78 GB");
  CHECK(format_cost(*cost) == "EUR 0.01");

  // Another location's price when the pool's is not listed (the highest); nothing for a type
  // the sheet does not know.
  Pool& elsewhere = provider.add_pool("2", 1, 5);
  elsewhere.server_type = "cx22";
  elsewhere.location = "ash";
  CHECK(estimate_monthly_cost(elsewhere, sheet(), hetzner)->amount == Approx(3.79));
  elsewhere.server_type = "ccx63";
  CHECK_FALSE(estimate_monthly_cost(elsewhere, sheet(), hetzner).has_value());
}

TEST_CASE("the last wake from a tier is the newest any pool recorded", "[tiers][wake]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30).meta.last_wake = WakeRecord{Tier::cold, 40000, WallTime(std::chrono::hours(10))};
  provider.add_pool("2", 1, 20).meta.last_wake = WakeRecord{Tier::cold, 35000, WallTime(std::chrono::hours(20))};
  provider.add_pool("3", 1, 10).meta.last_wake = WakeRecord{Tier::off, 6000, WallTime(std::chrono::hours(30))};
  const auto cold = last_wake(provider.pools, Tier::cold);
  REQUIRE(cold.has_value());
  CHECK(cold->pool == "2");
  CHECK(cold->wake.ms == 35000);
  CHECK(last_wake(provider.pools, Tier::off)->pool == "3");
  CHECK_FALSE(last_wake(provider.pools, Tier::hot).has_value());

  // The tier of a pool: hot from the balancer, the rest from the provider.
  CHECK(tier_of(provider.pools[0], {"1"}) == Tier::hot);
  CHECK(tier_of(provider.pools[0], {}) == Tier::running);
  provider.pools[0].power = PowerState::off;
  CHECK(tier_of(provider.pools[0], {}) == Tier::off);
  provider.pools[0].archive = Archive{.id = "7", .ready = true, .servers = 1};
  CHECK(tier_of(provider.pools[0], {}) == Tier::off);  // an archive beside whole servers: still off
  provider.pools[0].servers.clear();
  CHECK(tier_of(provider.pools[0], {}) == Tier::cold);
}
