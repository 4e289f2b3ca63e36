#include "shared/hcloud/provider.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "shared/hcloud/labels.hpp"
#include "shared/http/url.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::hcloud {

namespace {

long long server_id(const cJSON* server) { return static_cast<long long>(util::json_number(server, "id").value_or(0)); }

ServerState state_of(const std::string& status) {
  if (status == "running") return ServerState::running;
  if (status == "off") return ServerState::stopped;
  if (status == "initializing" || status == "starting") return ServerState::starting;
  return ServerState::unknown;
}

// The first error among results, with context.
Status first_error(std::vector<Result<util::Json>>& results, const std::string& what) {
  for (auto& result : results) {
    if (!result) return result.error().context(what);
  }
  return {};
}

std::vector<long long> all_actions(const std::vector<Result<util::Json>>& results) {
  std::vector<long long> ids;
  for (const auto& result : results) {
    if (!result) continue;
    for (auto id : Api::action_ids(result->get())) ids.push_back(id);
  }
  return ids;
}

}  // namespace

std::string server_address(const cJSON* server) {
  const cJSON* ipv4 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(server, "public_net"), "ipv4");
  if (auto ip = util::json_string(ipv4, "ip"); ip && !ip->empty()) return *ip;
  const cJSON* private_net = cJSON_GetObjectItemCaseSensitive(server, "private_net");
  if (cJSON_GetArraySize(private_net) > 0)
    return util::json_string(cJSON_GetArrayItem(private_net, 0), "ip").value_or("");
  return {};
}

Result<std::vector<util::Json>> list_servers(Api& api, const std::string& service, const std::string& label) {
  std::string selector = std::string(kService) + "=" + service;
  if (!label.empty()) selector += "," + std::string(kLabel) + "=" + label;
  return api.list("/servers?label_selector=" + http::url_encode(selector), "servers");
}

HcloudProvider::HcloudProvider(Api& api, ProviderSettings settings, util::Reporter& reporter)
    : api_(api), settings_(std::move(settings)), reporter_(reporter) {}

std::string HcloudProvider::describe() const {
  return "hcloud provider (" + settings_.server_type + ", " + settings_.image +
         (settings_.location.empty() ? "" : ", " + settings_.location) + ")";
}

std::vector<Pool> HcloudProvider::to_pools(const std::vector<util::Json>& servers) const {
  std::map<std::string, Pool> pools;
  std::map<std::string, int> sizes;
  std::map<std::string, int> powered_off;
  for (const auto& server : servers) {
    const Labels labels = labels_of(server.get());
    const auto meta = metadata_from_labels(labels);
    if (meta.label.empty()) continue;
    Pool& pool = pools[meta.label];
    if (pool.meta.label.empty()) pool.meta = meta;
    // Verdicts are written to every server; the most advanced one wins if an update was cut short.
    if (meta.smoke != SmokeVerdict::pending) pool.meta.smoke = meta.smoke;
    if (meta.verdict != LiveVerdict::unknown) {
      pool.meta.verdict = meta.verdict;
      pool.meta.verdict_reason = meta.verdict_reason;
    }
    const auto status = util::json_string(server.get(), "status").value_or("unknown");
    if (status == "off") ++powered_off[meta.label];
    sizes[meta.label] = static_cast<int>(util::parse_int(label_of(labels, kSize)).value_or(0));
    pool.servers.push_back(
        {std::to_string(server_id(server.get())), server_address(server.get()), settings_.port, state_of(status)});
  }
  std::vector<Pool> out;
  for (auto& [label, pool] : pools) {
    std::sort(pool.servers.begin(), pool.servers.end(),
              [](const Server& a, const Server& b) { return std::stoll(a.id) < std::stoll(b.id); });
    pool.complete = static_cast<int>(pool.servers.size()) >= sizes[label] &&
                    std::none_of(pool.servers.begin(), pool.servers.end(),
                                 [](const Server& s) { return s.state == ServerState::starting || s.host.empty(); });
    pool.power = powered_off[label] == static_cast<int>(pool.servers.size()) ? PowerState::off : PowerState::on;
    out.push_back(std::move(pool));
  }
  return out;
}

Result<std::vector<Pool>> HcloudProvider::list_pools() {
  auto found = servers();
  if (!found) return found.error();
  return to_pools(*found);
}

std::string HcloudProvider::user_data(const PoolSpec& spec, int index) const {
  std::string text = settings_.user_data_template;
  text = util::replace_all(text, "{service}", settings_.service);
  // A rebuild renders the release of the pool it rebuilds: the same label and revision.
  text = util::replace_all(text, "{label}", spec.meta.rebuild_of.empty() ? spec.meta.label : spec.meta.rebuild_of);
  text = util::replace_all(text, "{revision}", spec.meta.revision);
  text = util::replace_all(text, "{index}", std::to_string(index));
  text = util::replace_all(text, "{port}", std::to_string(settings_.port));
  return text;
}

Result<Pool> HcloudProvider::create_pool(const PoolSpec& spec) {
  auto existing = servers(spec.meta.label);
  if (!existing) return existing.error();
  std::set<long long> present;
  for (const auto& server : *existing) {
    if (auto index = util::parse_int(label_of(labels_of(server.get()), kIndex))) present.insert(*index);
  }
  // A pool whose creation was cut short keeps its metadata; missing servers are added to it.
  PoolMetadata meta = spec.meta;
  if (!existing->empty()) meta = metadata_from_labels(labels_of(existing->front().get()));

  std::vector<ApiCall> calls;
  for (int index = 1; index <= spec.size; ++index) {
    if (present.count(index) != 0) continue;
    util::Json body(cJSON_CreateObject());
    util::add_string(body.get(), "name", server_name(settings_.service, meta.label, index));
    util::add_string(body.get(), "server_type", settings_.server_type);
    util::add_string(body.get(), "image", settings_.image);
    if (!settings_.location.empty()) util::add_string(body.get(), "location", settings_.location);
    util::add_bool(body.get(), "start_after_create", true);
    const std::string rendered = user_data(spec, index);
    if (rendered.size() > 32 * 1024) {
      return Error{ErrorKind::invalid, "provider.user_data_file renders to more than 32 KiB, Hetzner's limit"};
    }
    if (!rendered.empty()) util::add_string(body.get(), "user_data", rendered);
    cJSON* labels = cJSON_AddObjectToObject(body.get(), "labels");
    for (const auto& [key, value] : pool_labels(settings_.service, meta, index, spec.size)) {
      util::add_string(labels, key.c_str(), value);
    }
    calls.push_back({"POST", "/servers", util::print_json(body.get())});
  }
  if (!calls.empty()) {
    reporter_.step("requesting " + util::plural(calls.size(), "server") + " from Hetzner Cloud at once");
    auto created = api_.call_all(calls);
    PHX_TRY(first_error(created, "creating pool " + meta.label));
    reporter_.step("waiting for Hetzner Cloud to start them");
    PHX_TRY(api_.wait_for_actions(all_actions(created), settings_.create_timeout, "creating pool " + meta.label));
  }
  auto listed = servers(meta.label);
  if (!listed) return listed.error();
  auto pools = to_pools(*listed);
  if (pools.empty()) return Error{ErrorKind::failed, "pool " + meta.label + " has no servers after creating it"};
  return pools.front();
}

Status HcloudProvider::destroy_pool(const Pool& pool) {
  auto found = servers(pool.label());
  if (!found) return found.error();
  std::vector<ApiCall> calls;
  for (const auto& server : *found)
    calls.push_back({"DELETE", "/servers/" + std::to_string(server_id(server.get())), ""});
  auto deleted = api_.call_all(calls);
  PHX_TRY(first_error(deleted, "deleting pool " + pool.label()));
  return api_.wait_for_actions(all_actions(deleted), settings_.create_timeout, "deleting pool " + pool.label());
}

Status HcloudProvider::update_metadata(const PoolMetadata& meta) {
  auto found = servers(meta.label);
  if (!found) return found.error();
  std::vector<ApiCall> calls;
  for (const auto& server : *found) {
    Labels labels = labels_of(server.get());
    const int index = static_cast<int>(util::parse_int(label_of(labels, kIndex)).value_or(0));
    const int size = static_cast<int>(util::parse_int(label_of(labels, kSize)).value_or(0));
    // PUT replaces the whole map: keep labels that are not Phoenix's.
    for (const auto& [key, value] : pool_labels(settings_.service, meta, index, size)) labels[key] = value;
    if (label_value(meta.verdict_reason).empty()) labels.erase(kReason);
    calls.push_back(
        {"PUT", "/servers/" + std::to_string(server_id(server.get())), "{\"labels\":" + labels_json(labels) + "}"});
  }
  auto updated = api_.call_all(calls);
  return first_error(updated, "recording the verdict of pool " + meta.label);
}

Status HcloudProvider::set_power(const Pool& pool, PowerState power) {
  auto found = servers(pool.label());
  if (!found) return found.error();
  const std::string action = power == PowerState::on ? "poweron" : "poweroff";
  std::vector<ApiCall> calls;
  for (const auto& server : *found) {
    const auto status = util::json_string(server.get(), "status").value_or("");
    if ((power == PowerState::on && status == "running") || (power == PowerState::off && status == "off")) continue;
    calls.push_back({"POST", "/servers/" + std::to_string(server_id(server.get())) + "/actions/" + action, ""});
  }
  auto done = api_.call_all(calls);
  PHX_TRY(first_error(done, "powering " + std::string(to_string(power)) + " pool " + pool.label()));
  return api_.wait_for_actions(all_actions(done), settings_.create_timeout,
                               "powering " + std::string(to_string(power)) + " pool " + pool.label());
}

}  // namespace phoenix::hcloud
