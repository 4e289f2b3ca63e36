#pragma once
// An in-memory Balancer that records every call in order, so tests assert the order of steps.
// Health is simulated: a member added on standby turns healthy after `polls_until_healthy`
// reads of members(), unless its address is marked unhealthy; drained members lose one
// connection per read.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "shared/core/balancer.hpp"

namespace phoenix::fakes {

class FakeBalancer final : public Balancer {
 public:
  std::string describe() const override { return "fake balancer"; }
  BalancerCapabilities capabilities() const override { return capabilities_; }
  Result<std::vector<Member>> members() override;
  Status add_standby(const std::vector<MemberSpec>& members) override;
  Result<GuardedChange> standby(const std::vector<std::string>& names,
                                const std::vector<std::string>& keep_serving) override;
  Status admit(const std::vector<std::string>& names) override;
  Result<GuardedChange> drain(const std::vector<std::string>& names,
                              const std::vector<std::string>& keep_serving) override;
  Result<GuardedChange> remove(const std::vector<std::string>& names,
                               const std::vector<std::string>& keep_serving) override;
  Result<GuardedChange> remove_idle_standby(const std::vector<std::string>& names) override;
  Status persist(const std::vector<Member>& members) override;
  Result<std::optional<std::vector<Member>>> durable_members() override { return durable; }
  Result<std::string> instance() override {
    if (auto error = take_failure("instance")) return *error;
    ++instance_reads;
    return instance_id;
  }
  Result<std::optional<std::chrono::seconds>> uptime() override { return uptime_s; }
  // As HAProxy with a config_file it cannot write: persistable() fails with `unpersistable`, and
  // snapshot(), add_standby() and persist() refuse with it. Once allow_runtime_only() was called,
  // the first of them (or keeping()) checks `unpersistable` once and holds to the answer: when it
  // was set, keeping() says runtime_only with its message, and persist() writes nothing (durable
  // stays as it was) and succeeds.
  Status persistable() override;
  void allow_runtime_only() override;
  // written (into `durable`), or runtime_only with `unpersistable`'s message. persist() obeys it.
  MembershipKeeping keeping() override;
  Result<BalancerSnapshot> snapshot() override;
  // As HAProxy at a stats socket below 'level admin': `changes_refused`, which snapshot() refuses with too.
  Status changes_allowed() override;

  // Test setup: a member already serving.
  void put_live(const std::string& name, const std::string& address, int sessions = 0);
  // The calls so far, as "add_standby 42:1,42:2" and so on ("members" reads excluded).
  std::vector<std::string> calls;
  std::set<std::string> unhealthy_addresses;
  int polls_until_healthy = 1;
  int member_reads = 0;
  int instance_reads = 0;
  int persists = 0;
  std::optional<std::vector<Member>> durable;  // what persist() wrote last
  std::string instance_id = "1";
  std::optional<std::chrono::seconds> uptime_s;  // unknown unless a test sets it
  std::optional<Error> unpersistable;            // the durable copy cannot be written
  std::optional<Error> changes_refused;          // every change refused (changes_allowed)
  int persistable_asked = 0;                     // persistable() calls (status asks; a switch does not)
  int own_checks = 0;                            // the checks of `unpersistable` the balancer made itself
  // Fail the next call of this kind ("add_standby", "admit", "members", ...) with this error.
  std::map<std::string, Error> fail_next;
  // Fail every call of this kind with this error.
  std::map<std::string, Error> fail_always;
  // Members that keep this many connections forever (removal is refused while they do).
  std::map<std::string, int> stuck_connections;
  std::map<std::string, Member> state;
  BalancerCapabilities capabilities_;

  // Runs after each recorded call: tests use it to change the balancer under the caller (a
  // reload, a hand-made change).
  std::function<void(FakeBalancer&, const std::string& call)> after_call;
  // Runs before each read of members(): tests use it to move traffic counters along.
  std::function<void(FakeBalancer&)> before_read;

  // The names of admitted members.
  std::vector<std::string> admitted() const;
  // Counts `requests` more requests on every member of pool `label`, `failed` of them 5xx (the
  // traffic a watch judges; tests call it from before_read).
  void add_traffic(const std::string& label, long long requests, long long failed);

 private:
  std::optional<Error> take_failure(const std::string& kind);
  Status persistable_or_runtime_only();
  // `unpersistable`, as keeping_ asks it (counted in own_checks).
  RuntimeOnlyKeeping::Check writable();
  RuntimeOnlyKeeping keeping_;
  void record(std::string call);
  void changed();
  std::optional<std::string> guard(const std::vector<std::string>& keep_serving) const;
  std::map<std::string, int> polls_since_added_;
};

}  // namespace phoenix::fakes
