#pragma once
// Retention tiers as `list` and a wake see them: which tier a pool is in, what keeping it there
// costs per month, and how long waking a pool from its tier took the last time. Pure.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/pool.hpp"
#include "shared/core/provider.hpp"

namespace phoenix {

// The tier of `pool`: hot when the balancer keeps it on standby, else the provider's tier.
Tier tier_of(const Pool& pool, const std::vector<std::string>& standby_labels);

struct MonthlyCost {
  double amount = 0;
  std::string currency;
  std::string basis;  // "3 x cx22", "3 x cx22, stopped and billed as running", "snapshot 0.81 GB"
};

// What keeping `pool` as it is costs per month: its servers at their type's price (a stopped
// one only where the provider bills it), and its archive by the GB. Nothing when a price the
// estimate needs is not on the sheet.
std::optional<MonthlyCost> estimate_monthly_cost(const Pool& pool, const PriceSheet& prices,
                                                 const ProviderTiers& tiers);

// "EUR 11.37"
std::string format_cost(const MonthlyCost& cost);

// The newest wake from `from` recorded in the pools' metadata, and the pool it woke.
struct MeasuredWake {
  WakeRecord wake;
  std::string pool;
};
std::optional<MeasuredWake> last_wake(const std::vector<Pool>& pools, Tier from);

}  // namespace phoenix
