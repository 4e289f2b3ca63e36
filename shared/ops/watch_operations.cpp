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
Result<std::vector<Member>> pool_members_everywhere(Services& services, const std::string& label) {
  PHX_TRY_ASSIGN(const auto balancers, read_every_balancer(services));
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

// Sleeps until `until`, in slices, returning early with the interrupted error on a stop request.
Status sleep_until(Services& services, util::Clock::Steady::time_point until) {
  while (services.clock.now() < until) {
    if (services.stop_requested && services.stop_requested()) {
      return Error{ErrorKind::failed, std::string("watch stopped by ") + util::interrupt_signal_name(),
                   ErrorCode::interrupted};
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - services.clock.now());
    services.clock.sleep_for(std::min(left, kStopCheck));
  }
  return {};
}

}  // namespace

Result<WatchOutcome> watch_pool(Services& services, const WatchRequest& request) {
  const auto& thresholds = services.config.watch.thresholds;
  const util::InterruptScope interruptible;
  WatchWindow window(thresholds);
  const auto started = services.clock.now();
  const auto deadline = started + request.duration;
  services.reporter.step("watching pool " + request.target + " for " + std::to_string(request.duration.count()) +
                         " s: at most " + ratio_text(thresholds.max_5xx_ratio) + " failed over " +
                         std::to_string(thresholds.window.count()) + " s, " +
                         std::to_string(thresholds.max_down_members) + " members down");
  int unreadable = 0;
  for (auto next = started + thresholds.interval; next <= deadline; next += thresholds.interval) {
    PHX_TRY(sleep_until(services, next));
    const long long at_ms = util::elapsed_ms(started, services.clock.now());
    auto members = pool_members_everywhere(services, request.target);
    if (!members) {
      services.reporter.warning("watch: cannot read the balancer: " + members.error().message);
      if (++unreadable >= kUnreadableLimit) return members.error().context("watching pool " + request.target);
      continue;
    }
    unreadable = 0;
    window.add(at_ms, *members);
    window.add_checks(failed_checks(services, request.target));
    services.reporter.step(window.progress(at_ms));
    if (auto breach = window.breach()) return WatchOutcome{.breach = breach, .watched_ms = at_ms};
  }
  return WatchOutcome{.watched_ms = util::elapsed_ms(started, services.clock.now())};
}

}  // namespace phoenix::ops
