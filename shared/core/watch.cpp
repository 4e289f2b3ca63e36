#include "shared/core/watch.hpp"

#include <algorithm>
#include <cstdio>
#include <map>

#include "shared/util/strings.hpp"

namespace phoenix {

namespace {

long long failures(const MemberCounters& counters) {
  return counters.http_5xx + counters.connection_errors + counters.response_errors;
}

// 1204 -> "1,204": counts people read at a glance.
std::string grouped(long long value) {
  const std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out = value < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string two_decimals(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

// The counters of each member that has them, by name: what later samples are counted from.
std::map<std::string, MemberCounters> counters_by_name(const std::vector<Member>& members) {
  std::map<std::string, MemberCounters> counters;
  for (const auto& member : members) {
    if (member.counters) counters[member.name] = *member.counters;
  }
  return counters;
}

struct Counted {
  long long requests = 0;
  long long failed = 0;
};

// What `member` counted since `baseline` was taken: a member new since then counts from 0, as
// does one whose balancer restarted (a counter went down): then everything it counted is new.
// Nothing for a member without counters.
Counted counted_since(const std::map<std::string, MemberCounters>& baseline, const Member& member) {
  if (!member.counters) return {};
  const auto found = baseline.find(member.name);
  MemberCounters from = found == baseline.end() ? MemberCounters{} : found->second;
  if (member.counters->requests < from.requests || failures(*member.counters) < failures(from)) from = {};
  return {member.counters->requests - from.requests, failures(*member.counters) - failures(from)};
}

// The requests `members` counted since `before` (counted_since, member by member).
long long requests_since(const std::vector<Member>& before, const std::vector<Member>& members) {
  const auto baseline = counters_by_name(before);
  long long requests = 0;
  for (const auto& member : members) requests += counted_since(baseline, member).requests;
  return requests;
}

}  // namespace

void WatchWindow::add(long long at_ms, const std::vector<Member>& members) {
  // The first sample is the baseline: what was counted before the watch is not its traffic.
  if (!samples_.empty()) requests_seen_ += requests_since(samples_.back().members, members);
  samples_.push_back({at_ms, members});
  // Keep the newest sample at least `window` older than the newest one, so the window is full.
  const long long window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(thresholds_.window).count();
  while (samples_.size() > 2 && samples_.back().at_ms - samples_[1].at_ms >= window_ms) samples_.pop_front();
}

void WatchWindow::add_checks(const std::vector<std::string>& failed_checks) {
  failed_checks_ = failed_checks;
  consecutive_check_failures_ = failed_checks.empty() ? 0 : consecutive_check_failures_ + 1;
}

WatchFigures WatchWindow::figures() const {
  WatchFigures figures;
  if (samples_.empty()) return figures;
  const Sample& newest = samples_.back();
  const Sample& oldest = samples_.front();
  figures.span_s = static_cast<double>(newest.at_ms - oldest.at_ms) / 1000.0;
  const auto baseline = counters_by_name(oldest.members);
  for (const auto& member : newest.members) {
    if (!member.up)
      figures.down_members.push_back(member.name + " " + (member.status_text.empty() ? "DOWN" : member.status_text));
    const Counted counted = counted_since(baseline, member);
    figures.requests += counted.requests;
    figures.failed += counted.failed;
    if (counted.failed > 0) figures.failing_members.push_back(member.name);
  }
  return figures;
}

std::optional<std::string> WatchWindow::breach() const {
  const auto now = figures();
  if (static_cast<int>(now.down_members.size()) > thresholds_.max_down_members) {
    return util::plural(now.down_members.size(), "member") + " of the new pool DOWN in the balancer (max " +
           std::to_string(thresholds_.max_down_members) + "): " + util::join(now.down_members, ", ");
  }
  if (now.requests >= thresholds_.min_requests && now.ratio() > thresholds_.max_5xx_ratio) {
    return "5xx ratio " + two_decimals(now.ratio()) + " over " +
           util::format_duration_ms(static_cast<long long>(now.span_s * 1000)) + " (" + grouped(now.failed) + " of " +
           grouped(now.requests) + ") on " + util::join(now.failing_members, ", ");
  }
  if (consecutive_check_failures_ >= thresholds_.check_failures) {
    return "watch checks failed " + std::to_string(consecutive_check_failures_) +
           " times in a row: " + util::join(failed_checks_, "; ");
  }
  return std::nullopt;
}

std::string WatchWindow::progress(long long at_ms) const {
  const auto now = figures();
  std::string line = "watch " + std::to_string(at_ms / 1000) + " s: " + grouped(now.requests) + " requests, " +
                     grouped(now.failed) + " failed (ratio " + two_decimals(now.ratio()) + "), " +
                     std::to_string(now.down_members.size()) + " down";
  if (!failed_checks_.empty()) line += ", checks failing: " + util::join(failed_checks_, "; ");
  return line;
}

std::optional<std::chrono::seconds> parse_watch_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char unit = text.back();
  const auto number = util::parse_int(text.substr(0, text.size() - 1));
  if (!number || *number <= 0) return std::nullopt;
  const long long factor = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : 0;
  if (factor == 0 || *number > 24 * 3600 / factor) return std::nullopt;
  return std::chrono::seconds(*number * factor);
}

}  // namespace phoenix
