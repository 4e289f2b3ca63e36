#include "shared/core/recovery_summary.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>

#include "shared/util/strings.hpp"

namespace phoenix {

namespace {

// "2026-11": the UTC calendar month of `time`.
std::string month_of(WallTime time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm calendar{};
  ::gmtime_r(&seconds, &calendar);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d", calendar.tm_year + 1900, calendar.tm_mon + 1);
  return buffer;
}

bool is_rollback(HistoryAction action) {
  return action == HistoryAction::rollback || action == HistoryAction::auto_rollback;
}

// When the newest of `labels` went live, among the switches seen so far.
std::optional<WallTime> bad_release_live_since(const std::map<std::string, WallTime>& live_since,
                                               const std::string& labels) {
  std::optional<WallTime> newest;
  for (const auto& label : util::split(labels, ',')) {
    const auto found = live_since.find(label);
    if (found != live_since.end() && (!newest || found->second > *newest)) newest = found->second;
  }
  return newest;
}

struct MonthFigures {
  MonthSummary summary;
  std::vector<long long> recoveries_ms;
};

}  // namespace

std::optional<long long> median(std::vector<long long> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const std::size_t middle = values.size() / 2;
  if (values.size() % 2 == 1) return values[middle];
  return (values[middle - 1] + values[middle]) / 2;
}

RecoverySummary summarize_recovery(const std::vector<HistoryEvent>& events) {
  RecoverySummary summary;
  summary.events = events.size();
  std::map<std::string, MonthFigures> months;
  std::map<std::string, WallTime> live_since;  // label -> when a successful switch made it live
  for (const auto& event : events) {
    if (!summary.since || event.at < *summary.since) summary.since = event.at;
    if (!is_switch(event.action) || event.result != HistoryResult::succeeded) continue;
    if (event.action == HistoryAction::deploy || is_rollback(event.action)) {
      const std::string month = month_of(event.at);
      MonthFigures& figures = months[month];
      figures.summary.month = month;
      if (event.action == HistoryAction::deploy) ++figures.summary.deploys;
      if (event.action == HistoryAction::rollback) ++figures.summary.rollbacks;
      if (event.action == HistoryAction::auto_rollback) ++figures.summary.auto_rollbacks;
      const auto bad_since = is_rollback(event.action) ? bad_release_live_since(live_since, event.from) : std::nullopt;
      if (bad_since && *bad_since <= event.at) {
        figures.recoveries_ms.push_back(
            std::chrono::duration_cast<std::chrono::milliseconds>(event.at - *bad_since).count());
      }
    }
    // A repair makes a pool live too: a later rollback from it recovers from that moment.
    live_since[event.label] = event.at;
  }
  for (auto it = months.rbegin(); it != months.rend(); ++it) {
    MonthSummary month = it->second.summary;
    const auto& recoveries = it->second.recoveries_ms;
    month.recoveries = recoveries.size();
    month.median_recovery_ms = median(recoveries);
    if (!recoveries.empty()) month.worst_recovery_ms = *std::max_element(recoveries.begin(), recoveries.end());
    summary.months.push_back(std::move(month));
  }
  return summary;
}

}  // namespace phoenix
