#pragma once
// Every balancer of a service (`balancers` in the configuration), as operations see them: each
// with its name and settings, read one by one, every error and message naming the balancer it
// is about when there is more than one (docs/scaling.md).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "shared/config/config.hpp"
#include "shared/core/balancer.hpp"
#include "shared/ops/services.hpp"

namespace phoenix::ops {

struct BalancerEntry {
  std::string name;  // from the configuration ("haproxy-1", or the operator's)
  Balancer* balancer = nullptr;
  const config::BalancerConfig* settings = nullptr;
  bool named = false;  // there are several, so messages name this one

  // "balancer haproxy-2: " when there are several, else "".
  std::string prefix() const;
  // `error` with the balancer named in front when there are several.
  Error name_in(const Error& error) const;
};

// The service's balancers in the configuration's order; just `services.balancer` when
// `services.balancers` is empty.
std::vector<BalancerEntry> balancers_of(Services& services);

struct BalancerMembers {
  BalancerEntry entry;
  std::vector<Member> members;
  std::string instance;                        // read with the members with BalancerRead::snapshot; "" otherwise
  std::optional<std::chrono::seconds> uptime;  // as BalancerSnapshot::uptime; unknown otherwise
};

// How read_every_balancer reads each balancer: its members, or its instance and members in one
// look (Balancer::snapshot, what a switch plans from).
enum class BalancerRead { members, snapshot };

// Every balancer read in order, the ones that answered apart from the ones that did not (each
// error named after its balancer where there are several). Fails only when a stop is asked for
// (ErrorCode::interrupted), which ends the read at once.
struct UnansweredBalancer {
  BalancerEntry entry;
  Error error;  // as the balancer said it, without its name
};
struct BalancerReading {
  std::vector<BalancerMembers> answered;
  std::vector<UnansweredBalancer> unanswered;

  // The one error of the balancers that did not answer (some did not), as read_every_balancer
  // fails with it: each named, joined by "; "; the kind of the first configured wrong, else of
  // the first.
  Error joined_error() const;
};
Result<BalancerReading> read_each_balancer(Services& services, BalancerRead read = BalancerRead::members);

// Every balancer's members, read in order. Every balancer is read, even after one that cannot
// be (unreachable, or configured wrong: a balancer.config_file in a directory this user cannot
// write, a backend that does not exist), so one run says everything there is to fix: the
// error names each balancer that could not be read with its own error, joined by "; ". It is a
// configuration error (`invalid`, exit 2) when any balancer is configured wrong, since waiting
// cannot help then; otherwise the first error's kind (an unreachable balancer: exit 4). A stop
// asked for (ErrorCode::interrupted) ends the read at once.
Result<std::vector<BalancerMembers>> read_every_balancer(Services& services, BalancerRead read = BalancerRead::members);

// "balancer edge-a" where there are several, "the balancer" where there is one.
std::string balancer_words(const BalancerEntry& entry);

// "every balancer" where the service has several (`count`), "the balancer" where it has one: a
// message about all of them never reads as if there were one.
std::string every_balancer_words(std::size_t count);

// The balancers that switch at runtime only now (Balancer::keeping says runtime_only), in the
// configuration's order, as balancer_words names them. What a rollback's last line, result and
// history record name.
std::vector<std::string> runtime_only_balancers(Services& services);

// The members of every balancer in one list (a pool is live when any balancer routes to it).
std::vector<Member> all_members(const std::vector<BalancerMembers>& balancers);

// Every balancer's members in one list, read as read_every_balancer does.
Result<std::vector<Member>> every_member(Services& services);

// Labels live in some balancers and not in others: "pool 2 is live in haproxy-1 but not in
// haproxy-2", one line per pool. Empty with one balancer, or when they agree.
std::vector<std::string> live_divergence(const std::vector<BalancerMembers>& balancers);

}  // namespace phoenix::ops
