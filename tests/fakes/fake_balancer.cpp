#include "fakes/fake_balancer.hpp"

#include "shared/util/strings.hpp"

namespace phoenix::fakes {

std::optional<Error> FakeBalancer::take_failure(const std::string& kind) {
  if (const auto always = fail_always.find(kind); always != fail_always.end()) return always->second;
  const auto found = fail_next.find(kind);
  if (found == fail_next.end()) return std::nullopt;
  Error error = found->second;
  fail_next.erase(found);
  return error;
}

void FakeBalancer::record(std::string call) { calls.push_back(std::move(call)); }

void FakeBalancer::changed() {
  if (after_call) after_call(*this, calls.back());
}

Result<std::vector<Member>> FakeBalancer::members() {
  if (auto error = take_failure("members")) return *error;
  ++member_reads;
  if (before_read) before_read(*this);
  std::vector<Member> out;
  for (auto& [name, member] : state) {
    if (member.admin == AdminState::ready && member.check != CheckState::passed &&
        unhealthy_addresses.count(member.address) == 0) {
      if (++polls_since_added_[name] >= polls_until_healthy) {
        member.up = true;
        member.check = CheckState::passed;
        member.status_text = "UP";
        member.check_text = "L7OK";
      }
    }
    if (unhealthy_addresses.count(member.address) != 0) {
      member.up = false;
      member.check = CheckState::failed;
      member.status_text = "DOWN";
      member.check_text = "L7STS";
    }
    if (member.admin != AdminState::ready || member.weight == 0) {
      const auto stuck = stuck_connections.find(name);
      const int floor = stuck == stuck_connections.end() ? 0 : stuck->second;
      if (member.sessions > floor) --member.sessions;
    }
    out.push_back(member);
  }
  return out;
}

Status FakeBalancer::add_standby(const std::vector<MemberSpec>& members) {
  std::vector<std::string> names;
  for (const auto& spec : members) names.push_back(spec.name);
  record("add_standby " + util::join(names, ","));
  if (auto error = take_failure("add_standby")) return *error;
  PHX_TRY(persistable_or_runtime_only());
  // Like HAProxy, refuse a server without an address; nothing of the batch is applied then.
  for (const auto& spec : members) {
    if (spec.host.empty() || spec.port <= 0 || spec.port > 65535) {
      return Error{ErrorKind::unavailable, "fake balancer refused to add " + spec.name + ": no valid address"};
    }
  }
  for (const auto& spec : members) {
    // A member that is there already keeps its state (it may be admitted, or draining).
    if (state.count(spec.name) != 0) continue;
    Member member;
    member.name = spec.name;
    member.address = spec.host + ":" + std::to_string(spec.port);
    member.admin = AdminState::ready;
    member.weight = 0;
    member.up = true;
    member.status_text = "UP 1/2";
    member.check_text = "INI";
    member.check = CheckState::pending;
    state[spec.name] = member;
    polls_since_added_[spec.name] = 0;
  }
  changed();
  return {};
}

Result<GuardedChange> FakeBalancer::standby(const std::vector<std::string>& names,
                                            const std::vector<std::string>& keep_serving) {
  record("standby " + util::join(names, ","));
  if (auto error = take_failure("standby")) return *error;
  GuardedChange change;
  if (auto unsafe = guard(keep_serving)) {
    change.applied = false;
    change.refusal = *unsafe;
    return change;
  }
  for (const auto& name : names) {
    state[name].admin = AdminState::ready;
    state[name].weight = 0;
  }
  changed();
  return change;
}

Status FakeBalancer::admit(const std::vector<std::string>& names) {
  record("admit " + util::join(names, ","));
  if (auto error = take_failure("admit")) return *error;
  for (const auto& name : names) state[name].weight = 1;
  changed();
  return {};
}

std::optional<std::string> FakeBalancer::guard(const std::vector<std::string>& keep_serving) const {
  std::vector<Member> current;
  for (const auto& [name, member] : state) current.push_back(member);
  return unsafe_to_reduce(current, keep_serving);
}

Result<GuardedChange> FakeBalancer::drain(const std::vector<std::string>& names,
                                          const std::vector<std::string>& keep_serving) {
  record("drain " + util::join(names, ","));
  if (auto error = take_failure("drain")) return *error;
  GuardedChange change;
  if (auto unsafe = guard(keep_serving)) {
    change.applied = false;
    change.refusal = *unsafe;
    return change;
  }
  for (const auto& name : names) state[name].admin = AdminState::drain;
  changed();
  return change;
}

Result<GuardedChange> FakeBalancer::remove(const std::vector<std::string>& names,
                                           const std::vector<std::string>& keep_serving) {
  record("remove " + util::join(names, ","));
  if (auto error = take_failure("remove")) return *error;
  GuardedChange change;
  if (auto unsafe = guard(keep_serving)) {
    change.applied = false;
    change.refusal = *unsafe;
    return change;
  }
  for (const auto& name : names) {
    const auto found = state.find(name);
    if (found == state.end()) continue;
    found->second.admin = AdminState::maint;
    if (found->second.sessions > 0) {
      change.still_connected.push_back(name);
      continue;
    }
    state.erase(found);
  }
  changed();
  return change;
}

Result<GuardedChange> FakeBalancer::remove_idle_standby(const std::vector<std::string>& names) {
  record("remove_idle_standby " + util::join(names, ","));
  if (auto error = take_failure("remove_idle_standby")) return *error;
  std::vector<Member> current;
  for (const auto& [name, member] : state) current.push_back(member);
  GuardedChange change;
  if (auto unsafe = not_idle_standby(current, names)) {
    change.applied = false;
    change.refusal = *unsafe;
    return change;
  }
  for (const auto& name : names) state.erase(name);
  changed();
  return change;
}

Status FakeBalancer::persist(const std::vector<Member>& members) {
  std::vector<std::string> names;
  for (const auto& member : members) names.push_back(member.name);
  record("persist " + util::join(names, ","));
  if (auto error = take_failure("persist")) return *error;
  PHX_TRY(persistable_or_runtime_only());
  if (keeping().kind != KeepingKind::written) return {};  // kept at runtime only
  ++persists;
  durable = members;
  return {};
}

Status FakeBalancer::persistable() {
  ++persistable_asked;
  if (unpersistable) return *unpersistable;
  return {};
}

void FakeBalancer::allow_runtime_only() { keeping_.allow(); }

MembershipKeeping FakeBalancer::keeping() { return keeping_.keeping(writable()); }

RuntimeOnlyKeeping::Check FakeBalancer::writable() {
  return [this]() -> Status {
    ++own_checks;
    if (unpersistable) return *unpersistable;
    return {};
  };
}

Status FakeBalancer::changes_allowed() {
  if (changes_refused) return *changes_refused;
  return {};
}

Result<BalancerSnapshot> FakeBalancer::snapshot() {
  if (auto error = take_failure("snapshot")) return *error;
  PHX_TRY(persistable_or_runtime_only());
  PHX_TRY(changes_allowed());
  return Balancer::snapshot();
}

Status FakeBalancer::persistable_or_runtime_only() { return keeping_.check(writable()); }

void FakeBalancer::put_live(const std::string& name, const std::string& address, int sessions) {
  Member member;
  member.name = name;
  member.address = address;
  member.admin = AdminState::ready;
  member.weight = 1;
  member.up = true;
  member.check = CheckState::passed;
  member.status_text = "UP";
  member.check_text = "L7OK";
  member.sessions = sessions;
  state[name] = member;
}

void FakeBalancer::add_traffic(const std::string& label, long long requests, long long failed) {
  for (auto& [name, member] : state) {
    if (name.rfind(label + ":", 0) != 0) continue;
    auto counters = member.counters.value_or(MemberCounters{});
    counters.requests += requests;
    counters.http_5xx += failed;
    member.counters = counters;
  }
}

std::vector<std::string> FakeBalancer::admitted() const {
  std::vector<std::string> names;
  for (const auto& [name, member] : state) {
    if (member.admitted()) names.push_back(name);
  }
  return names;
}

}  // namespace phoenix::fakes
