#pragma once
// Judging a watched switch (deploy --watch): samples of the new pool's members as the balancer
// counts them, a sliding window over the latest of them, and the verdict: a breach, with the
// measured reason, or none. Pure: the samples come in, nothing is read here.

#include <algorithm>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/balancer.hpp"
#include "shared/core/smoke.hpp"

namespace phoenix {

struct WatchThresholds {
  std::chrono::milliseconds interval{1000};  // how often the balancer is read
  std::chrono::seconds window{10};           // the ratio is judged over this much of the latest traffic
  long long min_requests = 20;               // fewer in the window judges nothing yet
  double max_5xx_ratio = 0.05;               // failed (5xx, connection and response errors) / all
  int max_down_members = 0;                  // members of the new pool the balancer reports DOWN
  int check_failures = 2;                    // consecutive failing intervals of a watch check
};

// A probe of Phoenix's own during a watch, through the public frontend: the check's status and
// body judged like a smoke check's, its path unused.
struct WatchCheck {
  SmokeCheck check;
  std::string url;  // http:// or https://
};

struct WatchSettings {
  WatchThresholds thresholds;
  std::vector<WatchCheck> checks;
};

// What the window holds: traffic between its oldest and newest sample.
struct WatchFigures {
  long long requests = 0;
  long long failed = 0;                      // 5xx responses, connection and response errors
  double span_s = 0;                         // seconds between the oldest and the newest sample
  std::vector<std::string> failing_members;  // members with failures in the window
  std::vector<std::string> down_members;     // DOWN in the newest sample

  // Failed of all (failed requests may not reach the server's request count: a connection error).
  double ratio() const {
    const long long all = std::max(requests, failed);
    return all == 0 ? 0.0 : static_cast<double>(failed) / static_cast<double>(all);
  }
};

class WatchWindow {
 public:
  explicit WatchWindow(WatchThresholds thresholds) : thresholds_(thresholds) {}

  // The new pool's members as read at `at_ms` (milliseconds since the watch began). Counters
  // that went down (the balancer reloaded) start a new baseline instead of counting negative.
  void add(long long at_ms, const std::vector<Member>& members);
  // The outcome of the watch's own checks in the interval just sampled (none: no checks).
  void add_checks(const std::vector<std::string>& failed_checks);

  WatchFigures figures() const;
  // Requests counted over the whole watch so far (each sample's increase over the one before),
  // not just the window: a watch that never saw `min_requests` of them judged no traffic.
  long long requests_seen() const { return requests_seen_; }
  // The measured reason of a breach ("5xx ratio 0.31 over 10 s (1,204 of 3,880) on 2:1, 2:3"),
  // or nothing while the thresholds hold.
  std::optional<std::string> breach() const;
  // One line per interval: "watch 12 s: 3,880 requests, 12 failed (ratio 0.003), 0 down".
  std::string progress(long long at_ms) const;

 private:
  struct Sample {
    long long at_ms = 0;
    std::vector<Member> members;
  };
  WatchThresholds thresholds_;
  std::deque<Sample> samples_;
  long long requests_seen_ = 0;
  int consecutive_check_failures_ = 0;
  std::vector<std::string> failed_checks_;
};

// "30s", "10m", "1h", "90s": a watch duration; nothing when the text is none of these.
std::optional<std::chrono::seconds> parse_watch_duration(std::string_view text);

}  // namespace phoenix
