#include "shared/ops/watch_operations.hpp"

#include <algorithm>
#include <cstdio>

#include "shared/core/watch.hpp"
#include "shared/ops/balancer_set.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ops {

namespace {

constexpr int kUnreadableLimit = 3;

std::string ratio_text(double ratio) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", ratio);
  return text;
}
constexpr std::chrono::milliseconds kStopCheck{50};

std::vector<Member> members_of_pool(const std::vector<Member>& members, const std::string& label) {
  std::vector<Member> pool;
  for (const auto& member : members) {
    const auto owner = parse_member_name(member.name);
    if (owner && owner->label == label) pool.push_back(member);
  }
  return pool;
}

// The pool's members in every balancer. With several, each balancer's are told apart by its
// name ("2:1 (haproxy-2)"), so the window adds up the traffic of all of them.
std::vector<Member> pool_members_everywhere(const std::vector<BalancerMembers>& balancers, const std::string& label) {
  std::vector<Member> pool;
  for (const auto& balancer : balancers) {
    for (auto member : members_of_pool(balancer.members, label)) {
      if (balancer.entry.named) member.name += " (" + balancer.entry.name + ")";
      pool.push_back(std::move(member));
    }
  }
  return pool;
}

// The watch's own checks through the public frontend, all at once: the names of those that
// failed, with what came back.
std::vector<std::string> failed_checks(Services& services, const std::string& label) {
  const auto& checks = services.config.watch.checks;
  if (checks.empty()) return {};
  std::vector<HttpRequest> requests;
  for (const auto& check : checks) {
    HttpRequest request;
    request.url = check.url;
    request.timeout = check.check.timeout;
    requests.push_back(std::move(request));
  }
  const auto answers = services.http.perform(requests);
  std::vector<std::string> failed;
  for (std::size_t i = 0; i < checks.size() && i < answers.size(); ++i) {
    if (auto problem = evaluate_check(checks[i].check, label, answers[i])) {
      failed.push_back(checks[i].check.name + ": " + *problem);
    }
  }
  return failed;
}

Status stopped_if_asked(Services& services) {
  if (services.stop_requested && services.stop_requested()) {
    return Error{ErrorKind::failed, std::string("watch stopped by ") + util::interrupt_signal_name(),
                 ErrorCode::interrupted};
  }
  return {};
}

// Sleeps until `until`, in slices, returning early with the interrupted error on a stop request
// (checked at least once, even when `until` has passed: a slow check must not hide a signal).
Status sleep_until(Services& services, util::Clock::Steady::time_point until) {
  PHX_TRY(stopped_if_asked(services));
  while (services.clock.now() < until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - services.clock.now());
    services.clock.sleep_for(std::min(left, kStopCheck));
    PHX_TRY(stopped_if_asked(services));
  }
  return {};
}

// The watched pool must stay the live one: a person who switched meanwhile (a rollback by hand)
// decides, and the watch neither goes on judging a pool that serves nothing nor switches back.
Status still_live(const std::vector<Member>& members, const std::string& target) {
  const auto live = live_labels(members);
  if (std::find(live.begin(), live.end(), target) != live.end()) return {};
  return Error{ErrorKind::failed, "pool " + target + " is no longer live (live: " +
                                      (live.empty() ? std::string("none") : util::join(live, ", ")) +
                                      "): someone switched during the watch; the watch stopped, nothing was switched"};
}

// A watch that saw no breach passes only when it has figures for all of it: two readable
// samples at least (the ratio is judged between two), and the last one readable (its end was
// seen). Otherwise it ends `unavailable` with no verdict, so a pool nobody could measure is
// neither passed nor its predecessor judged good.
Status check_figures(const std::string& target, int readable, int samples,
                     const std::optional<Error>& last_unreadable) {
  if (readable >= 2 && !last_unreadable) return {};
  std::string why =
      std::to_string(readable) + " of " + util::plural(static_cast<std::size_t>(samples), "sample") + " could be read";
  if (last_unreadable) why += ", not the last (" + last_unreadable->message + ")";
  return Error{ErrorKind::unavailable, "the watch ended without figures to judge pool " + target + " by (" + why + ")"};
}

// A watch that saw no breach passes only when the pool served real traffic: at least
// watch.min_requests requests over the whole watch. Otherwise (no traffic: a quiet hour, an
// outage upstream of the balancer) a clean window proves nothing, and the watch ends as one
// without figures does: `unavailable`, no verdict.
Status check_traffic(const std::string& target, long long seen, long long min_requests) {
  if (seen >= min_requests) return {};
  return Error{ErrorKind::unavailable, "the watch ended without figures to judge pool " + target + " by: it saw " +
                                           util::plural(static_cast<std::size_t>(seen), "request") +
                                           " in all, fewer than watch.min_requests (" + std::to_string(min_requests) +
                                           "); a watch judges only a pool clients use: watch while they send "
                                           "traffic, or lower watch.min_requests"};
}

}  // namespace

std::string watch_terms(const WatchThresholds& thresholds) {
  return "at most " + ratio_text(thresholds.max_5xx_ratio) + " failed over " +
         std::to_string(thresholds.window.count()) + " s, " + std::to_string(thresholds.max_down_members) +
         " members down";
}

Result<WatchOutcome> watch_pool(Services& services, const WatchRequest& request) {
  const auto& thresholds = services.config.watch.thresholds;
  const util::InterruptScope interruptible;
  WatchWindow window(thresholds);
  const auto started = services.clock.now();
  const auto deadline = started + request.duration;
  services.reporter.step("watching pool " + request.target + " for " + std::to_string(request.duration.count()) +
                         " s: " + watch_terms(thresholds));
  int unreadable = 0;  // in a row
  int readable = 0;
  int samples = 0;
  std::optional<Error> last_unreadable;
  // The schedule follows the clock: a sample that took longer than the interval (a slow watch
  // check) delays the next one instead of queueing samples behind it, and the watch ends at
  // its deadline whatever its samples cost.
  for (auto next = started + thresholds.interval; next <= deadline;
       next = std::max(next + thresholds.interval, services.clock.now())) {
    PHX_TRY(sleep_until(services, next));
    const long long at_ms = util::elapsed_ms(started, services.clock.now());
    auto balancers = read_every_balancer(services);
    ++samples;
    if (!balancers) {
      services.reporter.warning("watch: cannot read the balancer: " + balancers.error().message);
      if (++unreadable >= kUnreadableLimit) return balancers.error().context("watching pool " + request.target);
      last_unreadable = balancers.error();
      continue;
    }
    unreadable = 0;
    last_unreadable.reset();
    ++readable;
    for (const auto& balancer : *balancers) {
      const Status live = still_live(balancer.members, request.target);
      if (live.ok()) continue;
      return balancer.entry.named ? live.error().context("balancer " + balancer.entry.name) : live.error();
    }
    window.add(at_ms, pool_members_everywhere(*balancers, request.target));
    window.add_checks(failed_checks(services, request.target));
    services.reporter.step(window.progress(at_ms));
    if (auto breach = window.breach()) return WatchOutcome{.breach = breach, .watched_ms = at_ms};
  }
  // A stop asked for during the last sample or after it ends the watch as stopped: until the
  // caller records the verdict, the watch is not over, and a stop is never lost.
  PHX_TRY(stopped_if_asked(services));
  PHX_TRY(check_figures(request.target, readable, samples, last_unreadable));
  PHX_TRY(check_traffic(request.target, window.requests_seen(), thresholds.min_requests));
  return WatchOutcome{.watched_ms = util::elapsed_ms(started, services.clock.now())};
}

}  // namespace phoenix::ops
