#include "shared/core/balancer.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace phoenix {

const char* to_string(AdminState state) {
  switch (state) {
    case AdminState::ready:
      return "ready";
    case AdminState::drain:
      return "drain";
    case AdminState::maint:
      return "maint";
  }
  return "ready";
}

const char* to_string(CheckState state) {
  switch (state) {
    case CheckState::unknown:
      return "unknown";
    case CheckState::pending:
      return "pending";
    case CheckState::passed:
      return "passed";
    case CheckState::failed:
      return "failed";
    case CheckState::off:
      return "off";
  }
  return "unknown";
}

std::string member_name(std::string_view label, std::string_view server_id) {
  return std::string(label) + ":" + std::string(server_id);
}

std::optional<MemberOwner> parse_member_name(std::string_view name) {
  const auto colon = name.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == name.size()) return std::nullopt;
  if (name.find(':', colon + 1) != std::string_view::npos) return std::nullopt;
  return MemberOwner{std::string(name.substr(0, colon)), std::string(name.substr(colon + 1))};
}

bool added_by_phoenix(const Member& member) { return parse_member_name(member.name).has_value(); }

std::vector<std::string> routed_by_phoenix(const std::vector<Member>& members) {
  std::vector<std::string> names;
  for (const auto& member : members) {
    if (member.admitted() && added_by_phoenix(member)) names.push_back(member.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {
std::vector<std::string> labels_where(const std::vector<Member>& members, bool admitted_only) {
  std::set<std::string> labels;
  for (const auto& member : members) {
    if (admitted_only && !member.admitted()) continue;
    if (auto owner = parse_member_name(member.name)) labels.insert(owner->label);
  }
  return {labels.begin(), labels.end()};
}
}  // namespace

void RuntimeOnlyKeeping::allow() {
  if (state_ == State::required) state_ = State::undecided;
}

Status RuntimeOnlyKeeping::check(const Check& writable) {
  if (state_ == State::required) return writable();
  decide(writable);
  return {};
}

bool RuntimeOnlyKeeping::runtime_only(const Check& writable) {
  decide(writable);
  return state_ == State::runtime_only;
}

MembershipKeeping RuntimeOnlyKeeping::keeping(const Check& writable) {
  if (!runtime_only(writable)) return {};
  return {.kind = KeepingKind::runtime_only, .why = why_};
}

void RuntimeOnlyKeeping::decide(const Check& writable) {
  if (state_ != State::undecided) return;
  const auto answer = writable();
  state_ = answer.ok() ? State::kept : State::runtime_only;
  if (!answer.ok()) why_ = answer.error().message;
}

Result<BalancerSnapshot> Balancer::snapshot() {
  PHX_TRY_ASSIGN(auto id, instance());
  auto up = uptime();
  PHX_TRY_ASSIGN(auto read, members());
  return BalancerSnapshot{.instance = std::move(id),
                          .members = std::move(read),
                          .uptime = up ? *up : std::optional<std::chrono::seconds>{}};
}

std::optional<std::string> unsafe_to_reduce(const std::vector<Member>& members,
                                            const std::vector<std::string>& keep_serving) {
  if (keep_serving.empty()) return std::nullopt;
  bool any_up = false;
  for (const auto& name : keep_serving) {
    const auto found = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.name == name; });
    if (found == members.end()) return "member " + name + " is no longer in the balancer";
    if (!found->admitted()) return "member " + name + " is no longer admitted";
    any_up = any_up || found->up;
  }
  if (!any_up) return "no member of the new pool is up";
  return std::nullopt;
}

std::optional<std::string> not_idle_standby(const std::vector<Member>& members, const std::vector<std::string>& names) {
  for (const auto& name : names) {
    const auto found = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.name == name; });
    if (found == members.end()) continue;
    if (!on_standby(*found)) return "member " + name + " takes traffic again";
    if (found->sessions > 0) return "member " + name + " has " + std::to_string(found->sessions) + " open connections";
  }
  return std::nullopt;
}

bool only_live(const std::string& target, const std::vector<std::string>& target_members,
               const std::vector<Member>& members) {
  std::set<std::string> expected(target_members.begin(), target_members.end());
  for (const auto& member : members) {
    const auto owner = parse_member_name(member.name);
    if (!owner) continue;
    if (owner->label == target) {
      if (!member.admitted() || expected.erase(member.name) == 0) return false;
    } else if (member.admitted()) {
      return false;  // another pool takes traffic; one left in maintenance or on standby does not
    }
  }
  return expected.empty();
}

bool has_label(const std::vector<std::string>& labels, const std::string& label) {
  return std::find(labels.begin(), labels.end(), label) != labels.end();
}

std::vector<std::string> live_labels(const std::vector<Member>& members) { return labels_where(members, true); }
std::vector<std::string> member_labels(const std::vector<Member>& members) { return labels_where(members, false); }

std::vector<std::string> standby_labels(const std::vector<Member>& members) {
  std::map<std::string, bool> all_on_standby;
  for (const auto& member : members) {
    const auto owner = parse_member_name(member.name);
    if (!owner) continue;
    const auto [entry, added] = all_on_standby.emplace(owner->label, true);
    entry->second = entry->second && on_standby(member);
  }
  std::vector<std::string> labels;
  for (const auto& [label, standby] : all_on_standby) {
    if (standby) labels.push_back(label);
  }
  return labels;
}

}  // namespace phoenix
