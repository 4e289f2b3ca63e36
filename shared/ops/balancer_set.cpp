#include "shared/ops/balancer_set.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "shared/util/strings.hpp"

namespace phoenix::ops {

std::string BalancerEntry::prefix() const { return named ? "balancer " + name + ": " : std::string(); }

Error BalancerEntry::name_in(const Error& error) const { return named ? error.context("balancer " + name) : error; }

std::vector<BalancerEntry> balancers_of(Services& services) {
  const auto settings_at = [&](std::size_t index) -> const config::BalancerConfig* {
    return index < services.config.balancers.size() ? &services.config.balancers[index] : &services.config.balancer;
  };
  if (services.balancers.empty()) {
    return {BalancerEntry{.name = services.config.balancer.name,
                          .balancer = &services.balancer,
                          .settings = settings_at(0),
                          .named = false}};
  }
  std::vector<BalancerEntry> entries;
  const bool several = services.balancers.size() > 1;
  for (std::size_t i = 0; i < services.balancers.size(); ++i) {
    entries.push_back({.name = services.balancers[i].name,
                       .balancer = services.balancers[i].balancer,
                       .settings = settings_at(i),
                       .named = several});
  }
  return entries;
}

namespace {

// A look without the instance: one read of the members.
Result<BalancerSnapshot> members_only(Balancer& balancer) {
  PHX_TRY_ASSIGN(auto members, balancer.members());
  return BalancerSnapshot{.instance = "", .members = std::move(members)};
}

}  // namespace

// Every error in order, joined by "; ". Its kind and code are the first misconfigured balancer's
// (`invalid`) if there is one: waiting for an unreachable balancer cannot help while another is
// configured wrong, so the command ends as a configuration error (exit 2, not retryable) and
// `status` says "cannot be used"; otherwise the first error's (an unreachable balancer: exit 4).
Error BalancerReading::joined_error() const {
  const auto misconfigured = std::find_if(unanswered.begin(), unanswered.end(), [](const UnansweredBalancer& failed) {
    return failed.error.kind == ErrorKind::invalid;
  });
  const auto& first = misconfigured != unanswered.end() ? *misconfigured : unanswered.front();
  Error joined = first.entry.name_in(first.error);
  std::vector<std::string> messages;
  for (const auto& failed : unanswered) messages.push_back(failed.entry.name_in(failed.error).message);
  joined.message = util::join(messages, "; ");
  return joined;
}

Result<BalancerReading> read_each_balancer(Services& services, BalancerRead read) {
  BalancerReading reading;
  for (const auto& entry : balancers_of(services)) {
    auto look = read == BalancerRead::snapshot ? entry.balancer->snapshot() : members_only(*entry.balancer);
    if (look) {
      reading.answered.push_back({entry, std::move(look->members), std::move(look->instance), look->uptime});
      continue;
    }
    // A stop asked for ends the read now.
    if (look.error().is(ErrorCode::interrupted)) return entry.name_in(look.error());
    reading.unanswered.push_back({entry, look.error()});
  }
  return reading;
}

Result<std::vector<BalancerMembers>> read_every_balancer(Services& services, BalancerRead read) {
  PHX_TRY_ASSIGN(auto reading, read_each_balancer(services, read));
  if (!reading.unanswered.empty()) return reading.joined_error();
  return std::move(reading.answered);
}

std::string balancer_words(const BalancerEntry& entry) {
  return entry.named ? "balancer " + entry.name : "the balancer";
}

std::string every_balancer_words(std::size_t count) { return count > 1 ? "every balancer" : "the balancer"; }

std::vector<std::string> runtime_only_balancers(Services& services) {
  std::vector<std::string> which;
  for (const auto& entry : balancers_of(services)) {
    if (entry.balancer->keeping().runtime_only()) which.push_back(balancer_words(entry));
  }
  return which;
}

std::vector<Member> all_members(const std::vector<BalancerMembers>& balancers) {
  std::vector<Member> members;
  for (const auto& balancer : balancers)
    members.insert(members.end(), balancer.members.begin(), balancer.members.end());
  return members;
}

Result<std::vector<Member>> every_member(Services& services) {
  PHX_TRY_ASSIGN(const auto balancers, read_every_balancer(services));
  return all_members(balancers);
}

std::vector<std::string> live_divergence(const std::vector<BalancerMembers>& balancers) {
  if (balancers.size() < 2) return {};
  std::map<std::string, std::vector<std::string>> live_in;  // label -> balancers routing to it
  for (const auto& balancer : balancers) {
    for (const auto& label : live_labels(balancer.members)) live_in[label].push_back(balancer.entry.name);
  }
  std::vector<std::string> lines;
  for (const auto& [label, names] : live_in) {
    if (names.size() == balancers.size()) continue;
    std::vector<std::string> missing;
    for (const auto& balancer : balancers) {
      if (std::find(names.begin(), names.end(), balancer.entry.name) == names.end()) {
        missing.push_back(balancer.entry.name);
      }
    }
    lines.push_back("pool " + label + " is live in " + util::join(names, ", ") + " but not in " +
                    util::join(missing, ", "));
  }
  return lines;
}

}  // namespace phoenix::ops
