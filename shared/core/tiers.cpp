#include "shared/core/tiers.hpp"

#include <algorithm>
#include <cstdio>

namespace phoenix {

namespace {

// The monthly price of `server_type` at `location`; where the sheet has no price for that
// location (or the pool's location is unknown), the highest price of the type anywhere.
std::optional<double> server_price(const PriceSheet& prices, const std::string& server_type,
                                   const std::string& location) {
  std::optional<double> anywhere;
  for (const auto& price : prices.servers) {
    if (price.server_type != server_type) continue;
    if (!location.empty() && price.location == location) return price.monthly;
    anywhere = std::max(anywhere.value_or(0.0), price.monthly);
  }
  return anywhere;
}

std::string format_gb(double gb) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f GB", gb);
  return buffer;
}

}  // namespace

Tier tier_of(const Pool& pool, const std::vector<std::string>& standby_labels) {
  if (std::find(standby_labels.begin(), standby_labels.end(), pool.label()) != standby_labels.end()) return Tier::hot;
  return pool.tier();
}

std::optional<MonthlyCost> estimate_monthly_cost(const Pool& pool, const PriceSheet& prices,
                                                 const ProviderTiers& tiers) {
  MonthlyCost cost{.amount = 0, .currency = prices.currency, .basis = ""};
  std::vector<std::string> parts;
  if (!pool.servers.empty()) {
    const auto price = server_price(prices, pool.server_type, pool.location);
    if (!price) return std::nullopt;
    std::size_t billed = 0;
    std::size_t stopped = 0;
    for (const auto& server : pool.servers) {
      const bool is_stopped = server.state == ServerState::stopped;
      stopped += is_stopped ? 1 : 0;
      billed += (!is_stopped || tiers.off_is_billed) ? 1 : 0;
    }
    cost.amount += static_cast<double>(billed) * *price;
    std::string servers = std::to_string(pool.servers.size()) + " x " + pool.server_type;
    if (stopped > 0) {
      servers += tiers.off_is_billed ? ", " + std::to_string(stopped) + " stopped and billed as running"
                                     : ", " + std::to_string(stopped) + " stopped and not billed";
    }
    parts.push_back(servers);
  }
  if (pool.archive) {
    cost.amount += pool.archive->size_gb * prices.archive_per_gb_month;
    parts.push_back(pool.archive->size_gb > 0 ? "snapshot " + format_gb(pool.archive->size_gb)
                                              : std::string("snapshot (size not known yet)"));
  }
  for (const auto& part : parts) cost.basis += (cost.basis.empty() ? "" : " + ") + part;
  return cost;
}

std::string format_cost(const MonthlyCost& cost) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.2f", cost.amount);
  return cost.currency + " " + buffer;
}

std::optional<MeasuredWake> last_wake(const std::vector<Pool>& pools, Tier from) {
  std::optional<MeasuredWake> newest;
  for (const auto& pool : pools) {
    const auto& wake = pool.meta.last_wake;
    if (!wake || wake->from != from) continue;
    if (!newest || wake->at > newest->wake.at) newest = MeasuredWake{*wake, pool.label()};
  }
  return newest;
}

}  // namespace phoenix
