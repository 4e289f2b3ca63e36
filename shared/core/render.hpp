#pragma once
// The results commands print on stdout: aligned tables for people, stable JSON documents for
// machines (the fields docs/configuration.md and the README list). Pure functions.

#include <optional>
#include <string>
#include <vector>

#include "shared/core/planner.hpp"
#include "shared/core/pool.hpp"
#include "shared/core/provider.hpp"
#include "shared/core/recovery_summary.hpp"
#include "shared/core/state_store.hpp"
#include "shared/core/status.hpp"

namespace phoenix {

struct PoolListing {
  std::string service;
  std::vector<Pool> pools;  // newest first
  std::vector<std::string> live;
  std::vector<std::string> in_balancer;  // labels with a member in any state
  std::vector<std::string> hot;          // labels on standby in the balancer that are hot standbys
  // The target of an interrupted switch whose members are on standby but which never served (a
  // deploy killed before it routed to its new pool), and that switch: no hot standby, so not in
  // `hot`; a switch elsewhere removes it. Nothing when there is none.
  std::optional<std::string> left_on_standby;
  Operation left_by = Operation::deploy;
  std::optional<std::string> balancer_error;  // the balancer could not be read
  ProviderTiers tiers;                        // how the provider bills a stopped server
  std::optional<PriceSheet> prices;           // nothing where the provider has no prices
  std::optional<std::string> prices_error;    // the prices could not be read
};

std::string render_pools_table(const PoolListing& listing);
std::string render_pools_json(const PoolListing& listing);

std::string render_status_table(const StatusReport& report);
std::string render_status_json(const StatusReport& report);
// The end of the error line a status with problems exits with: how many, and where they are to
// be read. The table lists them above it; the JSON document (`json`) on stdout, where stderr has
// nothing above, holds them in its "problems" field. "1 problem found; see above".
std::string status_problems_found(std::size_t problems, bool json);

// Newest first; records that could not be read are listed after the events.
std::string render_history_table(const HistoryLog& log);
std::string render_history_json(const std::string& service, const HistoryLog& log);

// history --summary: per month, deploys, rollbacks and time to recover; newest month first.
std::string render_recovery_table(const RecoverySummary& summary, const std::vector<std::string>& unreadable);
std::string render_recovery_json(const std::string& service, const RecoverySummary& summary,
                                 const std::vector<std::string>& unreadable);

// A time to recover for people: "850 ms", "12.4 s", "4 min 03 s", "2 h 05 min", "3 d 4 h".
std::string format_recovery_time(long long milliseconds);

std::string render_plan(const SwitchPlan& plan);

// Columns padded to the widest cell; the first row is the header.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace phoenix
