#include "shared/hcloud/balancer.hpp"

#include "shared/hcloud/labels.hpp"
#include "shared/hcloud/provider.hpp"
#include "shared/http/url.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::hcloud {

HcloudBalancer::HcloudBalancer(Api& api, BalancerSettings settings) : api_(api), settings_(std::move(settings)) {}

std::string HcloudBalancer::describe() const { return "Hetzner load balancer " + settings_.load_balancer; }

Result<long long> HcloudBalancer::load_balancer_id() {
  if (id_) return *id_;
  auto found = api_.list("/load_balancers?name=" + http::url_encode(settings_.load_balancer), "load_balancers");
  if (!found) return found.error();
  if (found->empty()) {
    return Error{ErrorKind::invalid,
                 "there is no Hetzner load balancer named '" + settings_.load_balancer + "' (balancer.load_balancer)"};
  }
  id_ = static_cast<long long>(util::json_number(found->front().get(), "id").value_or(0));
  return *id_;
}

Result<std::vector<Member>> HcloudBalancer::members() {
  auto id = load_balancer_id();
  if (!id) return id.error();
  auto answer = api_.call({"GET", "/load_balancers/" + std::to_string(*id), ""});
  if (!answer) return answer.error();
  const cJSON* load_balancer = cJSON_GetObjectItemCaseSensitive(answer->get(), "load_balancer");
  const cJSON* service = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(load_balancer, "services"), 0);
  const int destination_port = static_cast<int>(util::json_number(service, "destination_port").value_or(0));

  // Which pool each server belongs to, from the servers' own labels.
  auto servers = list_servers(api_, settings_.service);
  if (!servers) return servers.error();
  std::map<long long, std::pair<std::string, std::string>> owners;  // id -> (label, address)
  for (const auto& server : *servers) {
    owners[static_cast<long long>(util::json_number(server.get(), "id").value_or(0))] = {
        label_of(labels_of(server.get()), kLabel), server_address(server.get())};
  }

  // Targets that are not servers of this service: their addresses, for the people reading.
  std::vector<ApiCall> lookups;
  const cJSON* listed = nullptr;
  cJSON_ArrayForEach(listed, cJSON_GetObjectItemCaseSensitive(load_balancer, "targets")) {
    const auto server_id =
        static_cast<long long>(util::json_number(cJSON_GetObjectItemCaseSensitive(listed, "server"), "id").value_or(0));
    if (server_id != 0 && owners.count(server_id) == 0)
      lookups.push_back({"GET", "/servers/" + std::to_string(server_id), ""});
  }
  auto looked_up = api_.call_all(lookups);
  for (auto& result : looked_up) {
    if (!result) {
      if (result.error().is(ErrorCode::not_found)) continue;  // deleted meanwhile
      return result.error().context("reading the targets of load balancer " + settings_.load_balancer);
    }
    const cJSON* server = cJSON_GetObjectItemCaseSensitive(result->get(), "server");
    owners[static_cast<long long>(util::json_number(server, "id").value_or(0))] = {"", server_address(server)};
  }

  std::vector<Member> members;
  server_of_member_.clear();
  const cJSON* target = nullptr;
  cJSON_ArrayForEach(target, cJSON_GetObjectItemCaseSensitive(load_balancer, "targets")) {
    const auto type = util::json_string(target, "type").value_or("");
    Member member;
    member.admin = AdminState::ready;
    member.weight = 1;
    if (type != "server") {
      member.name = type + "-target";
      member.status_text = "not a server target";
      members.push_back(member);
      continue;
    }
    const auto server_id =
        static_cast<long long>(util::json_number(cJSON_GetObjectItemCaseSensitive(target, "server"), "id").value_or(0));
    const auto owner = owners.find(server_id);
    member.name = owner != owners.end() && !owner->second.first.empty()
                      ? member_name(owner->second.first, std::to_string(server_id))
                      : "server-" + std::to_string(server_id);
    if (owner != owners.end()) member.address = owner->second.second + ":" + std::to_string(destination_port);
    // Healthy when every service's check passes on it; "unknown" is not yet checked.
    bool healthy = true;
    bool checked = true;
    std::string status = "healthy";
    const cJSON* health = nullptr;
    cJSON_ArrayForEach(health, cJSON_GetObjectItemCaseSensitive(target, "health_status")) {
      const auto state = util::json_string(health, "status").value_or("unknown");
      if (state != "healthy") {
        healthy = false;
        status = state;
      }
      if (state == "unknown") checked = false;
    }
    if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(target, "health_status")) == 0) {
      healthy = false;
      checked = false;
      status = "unknown";
    }
    member.up = healthy;
    member.check = !checked ? CheckState::pending : healthy ? CheckState::passed : CheckState::failed;
    member.status_text = status;
    server_of_member_[member.name] = std::to_string(server_id);
    members.push_back(member);
  }
  return members;
}

Status HcloudBalancer::target_calls(const std::string& action, const std::vector<std::string>& server_ids) {
  if (server_ids.empty()) return {};
  auto id = load_balancer_id();
  if (!id) return id.error();
  std::vector<ApiCall> calls;
  for (const auto& server_id : server_ids) {
    const std::string body = std::string("{\"type\":\"server\",\"server\":{\"id\":") + server_id +
                             "},\"use_private_ip\":" + (settings_.use_private_ip ? "true" : "false") + "}";
    calls.push_back({"POST", "/load_balancers/" + std::to_string(*id) + "/actions/" + action, body});
  }
  auto results = api_.call_all(calls);
  std::vector<long long> actions;
  for (std::size_t i = 0; i < results.size(); ++i) {
    auto& result = results[i];
    if (!result) {
      // Adding a target that is there, or removing one that is gone, is what was wanted.
      if (result.error().is(ErrorCode::already_exists) || result.error().is(ErrorCode::not_found)) continue;
      return result.error().context(action + " of server " + server_ids[i] + " on load balancer " +
                                    settings_.load_balancer);
    }
    for (auto action_id : Api::action_ids(result->get())) actions.push_back(action_id);
  }
  return api_.wait_for_actions(actions, settings_.action_timeout,
                               action + " on load balancer " + settings_.load_balancer);
}

Status HcloudBalancer::add_standby(const std::vector<MemberSpec>& members) {
  std::vector<std::string> server_ids;
  for (const auto& member : members) server_ids.push_back(member.server_id);
  return target_calls("add_target", server_ids);
}

BalancerCapabilities HcloudBalancer::capabilities() const { return {.standby = false, .drain = false}; }

// Hetzner has no standby, weight or drain: a target takes traffic exactly when it is healthy.
// No weight 0 either: a member cannot be put on standby, only kept or removed. The guard is
// checked all the same, so a caller that takes capacity away learns when it is unsafe.
Result<GuardedChange> HcloudBalancer::standby(const std::vector<std::string>& /*names*/,
                                              const std::vector<std::string>& keep_serving) {
  return guard(keep_serving);
}
Status HcloudBalancer::admit(const std::vector<std::string>&) { return {}; }

Result<GuardedChange> HcloudBalancer::guard(const std::vector<std::string>& keep_serving) {
  GuardedChange change;
  auto current = members();
  if (!current) return current.error();
  if (auto unsafe = unsafe_to_reduce(*current, keep_serving)) {
    change.applied = false;
    change.refusal = *unsafe;
  }
  return change;
}

// Hetzner has no drain: the guard is all there is to it.
Result<GuardedChange> HcloudBalancer::drain(const std::vector<std::string>&,
                                            const std::vector<std::string>& keep_serving) {
  return guard(keep_serving);
}

Result<GuardedChange> HcloudBalancer::remove(const std::vector<std::string>& names,
                                             const std::vector<std::string>& keep_serving) {
  auto change = guard(keep_serving);
  if (!change || !change->applied) return change;
  // guard() just read the targets: a member that is not among them is gone already (its
  // server may even be deleted, which the API answers as invalid input, not as "not found").
  std::vector<std::string> server_ids;
  for (const auto& name : names) {
    if (const auto found = server_of_member_.find(name); found != server_of_member_.end()) {
      server_ids.push_back(found->second);
    }
  }
  PHX_TRY(target_calls("remove_target", server_ids));
  return change;
}

// Hetzner targets are never on standby (no weight 0): the guard refuses any that is there.
Result<GuardedChange> HcloudBalancer::remove_idle_standby(const std::vector<std::string>& names) {
  GuardedChange change;
  auto current = members();
  if (!current) return current.error();
  if (auto unsafe = not_idle_standby(*current, names)) {
    change.applied = false;
    change.refusal = *unsafe;
    return change;
  }
  return change;  // none of them is there: nothing to remove
}

Status HcloudBalancer::persist(const std::vector<Member>&) { return {}; }
Result<std::optional<std::vector<Member>>> HcloudBalancer::durable_members() {
  return std::optional<std::vector<Member>>{};
}
Result<std::string> HcloudBalancer::instance() { return std::string(); }

}  // namespace phoenix::hcloud
