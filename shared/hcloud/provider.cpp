#include "shared/hcloud/provider.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <map>
#include <set>

#include "shared/hcloud/labels.hpp"
#include "shared/http/url.hpp"
#include "shared/util/interrupt.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

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

const cJSON* item(const cJSON* object, const char* key) { return cJSON_GetObjectItemCaseSensitive(object, key); }

// A snapshot's status: "available", "creating", or "unavailable" (making it failed).
std::string image_status(const cJSON* image) { return util::json_string(image, "status").value_or("unavailable"); }

Archive archive_of(const cJSON* image) {
  Archive archive;
  archive.id = std::to_string(server_id(image));
  archive.ready = image_status(image) == "available";
  archive.size_gb = util::json_number(image, "image_size").value_or(0);  // null while it is made
  archive.servers = static_cast<int>(util::parse_int(label_of(labels_of(image), kSize)).value_or(0));
  archive.created_at = util::parse_iso8601(util::json_string(image, "created").value_or("")).value_or(WallTime{});
  return archive;
}

// The image that stands for a pool's archive: an available one before one being made, the
// newest first. Failed ones never.
const cJSON* best_image(const std::vector<util::Json>& images) {
  const cJSON* best = nullptr;
  const auto rank = [](const cJSON* image) { return image_status(image) == "available" ? 2 : 1; };
  for (const auto& image : images) {
    const auto status = image_status(image.get());
    if (status != "available" && status != "creating") continue;
    if (best == nullptr || rank(image.get()) > rank(best) ||
        (rank(image.get()) == rank(best) && server_id(image.get()) > server_id(best))) {
      best = image.get();
    }
  }
  return best;
}

// A price as the pricing endpoint gives it: {"net": "3.7900000000", "gross": "..."}.
double net_price(const cJSON* price) {
  return std::strtod(util::json_string(price, "net").value_or("0").c_str(), nullptr);
}

std::vector<long long> all_actions(const std::vector<Result<util::Json>>& results) {
  std::vector<long long> ids;
  for (const auto& result : results) {
    if (!result) continue;
    for (auto id : Api::action_ids(result->get())) ids.push_back(id);
  }
  return ids;
}

// "web-1-2 (id 4711)": how the operator finds a server in the Hetzner console.
std::string name_and_id(const cJSON* server) {
  return util::json_string(server, "name").value_or("?") + " (id " + std::to_string(server_id(server)) + ")";
}

// A create stopped while its servers start: they exist at Hetzner (their labels carry the
// pool's metadata, so nothing else needs recording), keep starting, and a re-run of the create
// waits for them and adds any that are missing.
Error stopped_while_starting(const std::string& label, const std::vector<std::string>& existing, int size) {
  return util::stopped_by_signal("while the servers of pool " + label + " were starting at Hetzner Cloud: " +
                                 std::to_string(existing.size()) + " of " + std::to_string(size) + " exist (" +
                                 util::join(existing, ", ") + ") and keep starting; the pool is not complete");
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

Result<std::vector<util::Json>> HcloudProvider::images(const std::string& label) {
  std::string selector = std::string(kService) + "=" + settings_.service;
  if (!label.empty()) selector += "," + std::string(kLabel) + "=" + label;
  return api_.list("/images?type=snapshot&label_selector=" + http::url_encode(selector), "images");
}

std::vector<Pool> HcloudProvider::to_pools(const std::vector<util::Json>& servers,
                                           const std::vector<util::Json>& images) const {
  std::map<std::string, Pool> pools;
  std::map<std::string, int> sizes;
  std::map<std::string, int> powered_off;
  // Snapshots first: a cold pool is its snapshot alone. Where servers exist, their labels are
  // the pool's metadata (update_metadata writes both).
  std::map<std::string, std::vector<util::Json>> images_of;
  for (const auto& image : images) {
    const auto label = label_of(labels_of(image.get()), kLabel);
    if (!label.empty()) images_of[label].emplace_back(cJSON_Duplicate(image.get(), 1));
  }
  for (const auto& [label, candidates] : images_of) {
    const cJSON* image = best_image(candidates);
    if (image == nullptr) continue;
    Pool& pool = pools[label];
    pool.meta = metadata_from_labels(labels_of(image));
    pool.archive = archive_of(image);
    sizes[label] = pool.archive->servers;
  }
  std::set<std::string> with_servers;
  for (const auto& server : servers) {
    const Labels labels = labels_of(server.get());
    const auto meta = metadata_from_labels(labels);
    if (meta.label.empty()) continue;
    Pool& pool = pools[meta.label];
    if (with_servers.insert(meta.label).second) {
      pool.meta = meta;
      pool.server_type = util::json_string(item(server.get(), "server_type"), "name").value_or("");
      pool.location = util::json_string(item(item(server.get(), "datacenter"), "location"), "name").value_or("");
    }
    // Verdicts are written to every server; the most advanced one wins if an update was cut short.
    if (meta.smoke != SmokeVerdict::pending) pool.meta.smoke = meta.smoke;
    if (meta.verdict != LiveVerdict::unknown) {
      pool.meta.verdict = meta.verdict;
      pool.meta.verdict_reason = meta.verdict_reason;
      pool.meta.verdict_by = meta.verdict_by;
      pool.meta.verdict_at = meta.verdict_at;
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
    // A snapshot alone is a whole pool, kept cold.
    pool.complete = pool.servers.empty() ||
                    (static_cast<int>(pool.servers.size()) >= sizes[label] &&
                     std::none_of(pool.servers.begin(), pool.servers.end(),
                                  [](const Server& s) { return s.state == ServerState::starting || s.host.empty(); }));
    pool.power = powered_off[label] == static_cast<int>(pool.servers.size()) ? PowerState::off : PowerState::on;
    out.push_back(std::move(pool));
  }
  return out;
}

Result<std::vector<Pool>> HcloudProvider::list_pools() {
  PHX_TRY_ASSIGN(const auto found, servers());
  PHX_TRY_ASSIGN(const auto snapshots, images());
  return to_pools(found, snapshots);
}

Result<Pool> HcloudProvider::listed_pool(const std::string& label) {
  PHX_TRY_ASSIGN(const auto found, servers(label));
  PHX_TRY_ASSIGN(const auto snapshots, images(label));
  auto pools = to_pools(found, snapshots);
  if (pools.empty()) return Error{ErrorKind::failed, "pool " + label + " has neither servers nor a snapshot"};
  return pools.front();
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

Result<std::vector<long long>> HcloudProvider::running_actions(const std::vector<long long>& server_ids) {
  std::vector<ApiCall> calls;
  for (const auto id : server_ids) {
    calls.push_back({"GET", "/servers/" + std::to_string(id) + "/actions?status=running&per_page=50", ""});
  }
  auto answers = api_.call_all(calls);
  PHX_TRY(first_error(answers, "reading the actions of the servers still starting"));
  std::vector<long long> ids;
  for (const auto& answer : answers) {
    const cJSON* action = nullptr;
    cJSON_ArrayForEach(action, item(answer->get(), "actions")) ids.push_back(server_id(action));
  }
  return ids;
}

Result<Pool> HcloudProvider::create_pool(const PoolSpec& spec) {
  auto existing = servers(spec.meta.label);
  if (!existing) return existing.error();
  std::set<long long> present;
  std::vector<std::string> names;   // every server of the pool that exists
  std::vector<long long> starting;  // those an interrupted run requested that still start
  for (const auto& server : *existing) {
    if (auto index = util::parse_int(label_of(labels_of(server.get()), kIndex))) present.insert(*index);
    names.push_back(name_and_id(server.get()));
    if (state_of(util::json_string(server.get(), "status").value_or("")) == ServerState::starting) {
      starting.push_back(server_id(server.get()));
    }
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
  std::vector<long long> actions;
  if (!starting.empty()) {
    reporter_.step("resuming the interrupted creation of pool " + meta.label + ": " +
                   util::plural(starting.size(), "server") + " it requested " + (starting.size() == 1 ? "is" : "are") +
                   " still starting");
    PHX_TRY_ASSIGN(actions, running_actions(starting));
  }
  if (!calls.empty()) {
    reporter_.step("requesting " + util::plural(calls.size(), "server") + " from Hetzner Cloud at once");
    auto created = api_.call_all(calls);
    PHX_TRY(first_error(created, "creating pool " + meta.label));
    for (const auto& server : created) names.push_back(name_and_id(item(server->get(), "server")));
    for (const auto id : all_actions(created)) actions.push_back(id);
  }
  if (!actions.empty()) {
    reporter_.step("waiting for Hetzner Cloud to start them");
    const Status started = api_.wait_for_actions(actions, settings_.create_timeout, "creating pool " + meta.label,
                                                 settings_.stop_requested);
    if (!started.ok()) {
      if (started.error().is(ErrorCode::interrupted)) return stopped_while_starting(meta.label, names, spec.size);
      return started.error();
    }
  }
  return listed_pool(meta.label);
}

Status HcloudProvider::delete_servers(const std::vector<util::Json>& servers, const std::string& what) {
  std::vector<ApiCall> calls;
  for (const auto& server : servers)
    calls.push_back({"DELETE", "/servers/" + std::to_string(server_id(server.get())), ""});
  auto deleted = api_.call_all(calls);
  PHX_TRY(first_error(deleted, what));
  return api_.wait_for_actions(all_actions(deleted), settings_.create_timeout, what);
}

Status HcloudProvider::destroy_pool(const Pool& pool) {
  PHX_TRY_ASSIGN(const auto found, servers(pool.label()));
  PHX_TRY(delete_servers(found, "deleting pool " + pool.label()));
  // The snapshot last: a delete cut short leaves the pool listed (cold), and a re-run finishes it.
  PHX_TRY_ASSIGN(const auto snapshots, images(pool.label()));
  std::vector<ApiCall> calls;
  for (const auto& image : snapshots)
    calls.push_back({"DELETE", "/images/" + std::to_string(server_id(image.get())), ""});
  auto deleted = api_.call_all(calls);
  return first_error(deleted, "deleting the snapshot of pool " + pool.label());
}

// A reason labels cannot hold as given is said: in -v output when only characters were
// replaced, in the progress when it was cut or nothing of it was left (docs/hcloud.md).
void HcloudProvider::say_how_reason_is_kept(const PoolMetadata& meta) {
  const std::string kept = label_value(meta.verdict_reason);
  if (kept == meta.verdict_reason) return;
  const std::string message = "the reason of pool " + meta.label + " is kept in its labels as " +
                              (kept.empty() ? "nothing" : "'" + kept + "'") +
                              " (a label value holds 63 characters of A-Z a-z 0-9 . _ -); history keeps it whole";
  if (kept.empty() || meta.verdict_reason.size() > kMaxLabelValue) {
    reporter_.step(message);
  } else {
    reporter_.detail(message);
  }
}

Status HcloudProvider::update_metadata(const PoolMetadata& meta) {
  PHX_TRY_ASSIGN(const auto found, servers(meta.label));
  PHX_TRY_ASSIGN(const auto snapshots, images(meta.label));
  std::vector<ApiCall> calls;
  const auto relabel = [&](const util::Json& object, const std::string& path) {
    Labels labels = labels_of(object.get());
    const int index = static_cast<int>(util::parse_int(label_of(labels, kIndex)).value_or(0));
    const int size = static_cast<int>(util::parse_int(label_of(labels, kSize)).value_or(0));
    // PUT replaces the whole map: keep labels that are not Phoenix's.
    for (const auto& [key, value] : pool_labels(settings_.service, meta, index, size)) labels[key] = value;
    if (label_value(meta.verdict_reason).empty()) labels.erase(kReason);
    if (label_value(meta.verdict_by).empty()) labels.erase(kVerdictBy);
    if (!meta.verdict_at) labels.erase(kVerdictAt);
    if (!meta.last_wake) {
      for (const char* key : {kWakeFrom, kWakeMs, kWakeAt}) labels.erase(key);
    }
    calls.push_back(
        {"PUT", path + std::to_string(server_id(object.get())), "{\"labels\":" + labels_json(labels) + "}"});
  };
  for (const auto& server : found) relabel(server, "/servers/");
  for (const auto& image : snapshots) relabel(image, "/images/");
  auto updated = api_.call_all(calls);
  PHX_TRY(first_error(updated, "recording the metadata of pool " + meta.label));
  say_how_reason_is_kept(meta);
  return {};
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

Result<util::Json> HcloudProvider::wait_for_image(long long id, const std::string& what) {
  const std::string path = "/images/" + std::to_string(id);
  PHX_TRY_ASSIGN(const auto running, api_.list(path + "/actions?status=running", "actions"));
  std::vector<long long> ids;
  for (const auto& action : running) ids.push_back(server_id(action.get()));
  PHX_TRY(api_.wait_for_actions(ids, settings_.create_timeout, what));
  PHX_TRY_ASSIGN(const auto answer, api_.call({"GET", path, ""}));
  return util::Json(cJSON_Duplicate(item(answer.get(), "image"), 1));
}

Result<util::Json> HcloudProvider::make_snapshot(const Pool& pool) {
  const std::string what = "snapshotting pool " + pool.label();
  PHX_TRY_ASSIGN(const auto found, servers(pool.label()));
  // The server with the lowest index that runs or is stopped: its disk is the pool's release.
  const cJSON* source = nullptr;
  long long source_index = LLONG_MAX;
  int size = 0;
  for (const auto& server : found) {
    const auto status = util::json_string(server.get(), "status").value_or("");
    const Labels labels = labels_of(server.get());
    const auto index = util::parse_int(label_of(labels, kIndex)).value_or(LLONG_MAX);
    size = std::max(size, static_cast<int>(util::parse_int(label_of(labels, kSize)).value_or(0)));
    if ((status == "running" || status == "off") && index < source_index) {
      source = server.get();
      source_index = index;
    }
  }
  if (source == nullptr) return Error{ErrorKind::failed, what + ": no server runs or is stopped to snapshot"};
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "type", "snapshot");
  util::add_string(body.get(), "description",
                   "phoenix " + settings_.service + " pool " + pool.label() +
                       (pool.meta.revision.empty() ? "" : " revision " + pool.meta.revision));
  cJSON* labels = cJSON_AddObjectToObject(body.get(), "labels");
  for (const auto& [key, value] : pool_labels(settings_.service, pool.meta, 0, std::max(size, 1))) {
    util::add_string(labels, key.c_str(), value);
  }
  reporter_.step("snapshotting server " + util::json_string(source, "name").value_or("?") + " of pool " + pool.label() +
                 " (create_image, type snapshot)");
  PHX_TRY_ASSIGN(const auto answer,
                 api_.call({"POST", "/servers/" + std::to_string(server_id(source)) + "/actions/create_image",
                            util::print_json(body.get())}));
  const long long id = server_id(item(answer.get(), "image"));
  PHX_TRY(api_.wait_for_actions(Api::action_ids(answer.get()), settings_.create_timeout, what));
  PHX_TRY_ASSIGN(const auto image, api_.call({"GET", "/images/" + std::to_string(id), ""}));
  return util::Json(cJSON_Duplicate(item(image.get(), "image"), 1));
}

Result<util::Json> HcloudProvider::ready_snapshot(const Pool& pool) {
  const std::string what = "snapshotting pool " + pool.label();
  PHX_TRY_ASSIGN(const auto found, images(pool.label()));
  std::vector<ApiCall> failed;
  for (const auto& image : found) {
    if (image_status(image.get()) == "unavailable")
      failed.push_back({"DELETE", "/images/" + std::to_string(server_id(image.get())), ""});
  }
  if (!failed.empty()) {
    reporter_.step("deleting " + util::plural(failed.size(), "failed snapshot") + " of pool " + pool.label());
    auto deleted = api_.call_all(failed);
    PHX_TRY(first_error(deleted, what));
  }
  util::Json image;
  if (const cJSON* existing = best_image(found)) {
    image = util::Json(cJSON_Duplicate(existing, 1));
    if (image_status(image.get()) == "creating") {
      reporter_.step("waiting for the snapshot of pool " + pool.label() + " an earlier run started");
      PHX_TRY_ASSIGN(image, wait_for_image(server_id(existing), what));
    }
  } else {
    PHX_TRY_ASSIGN(image, make_snapshot(pool));
  }
  if (image_status(image.get()) != "available") {
    return Error{ErrorKind::failed, what + ": snapshot " + std::to_string(server_id(image.get())) + " is " +
                                        image_status(image.get()) + ", not available"};
  }
  return image;
}

Result<Archive> HcloudProvider::archive_pool(const Pool& pool, const BeforeDestroying& before_destroying) {
  const std::string what = "archiving pool " + pool.label();
  auto image = ready_snapshot(pool);
  if (!image) return image.error().context(what + " (no server was deleted)");
  const Archive archive = archive_of(image->get());
  if (before_destroying) PHX_TRY(before_destroying());
  PHX_TRY_ASSIGN(const auto found, servers(pool.label()));
  if (!found.empty()) {
    reporter_.step("snapshot " + archive.id + " of pool " + pool.label() + " is ready; deleting its " +
                   util::plural(found.size(), "server"));
    PHX_TRY(delete_servers(found, what));
  }
  return archive;
}

Result<Pool> HcloudProvider::restore_pool(const Pool& pool) {
  const std::string what = "restoring pool " + pool.label() + " from its snapshot";
  PHX_TRY_ASSIGN(const auto snapshots, images(pool.label()));
  const cJSON* best = best_image(snapshots);
  if (best == nullptr) return Error{ErrorKind::failed, what + ": pool " + pool.label() + " has no snapshot"};
  util::Json image(cJSON_Duplicate(best, 1));
  if (image_status(image.get()) == "creating") {
    PHX_TRY_ASSIGN(image, wait_for_image(server_id(best), what));
  }
  if (image_status(image.get()) != "available") {
    return Error{ErrorKind::failed, what + ": the snapshot is " + image_status(image.get()) + ", not available"};
  }
  const Archive archive = archive_of(image.get());
  if (archive.servers < 1) return Error{ErrorKind::failed, what + ": the snapshot does not say how many servers"};
  PHX_TRY_ASSIGN(const auto existing, servers(pool.label()));
  std::set<long long> present;
  for (const auto& server : existing) {
    if (auto index = util::parse_int(label_of(labels_of(server.get()), kIndex))) present.insert(*index);
  }
  std::vector<ApiCall> calls;
  for (int index = 1; index <= archive.servers; ++index) {
    if (present.count(index) != 0) continue;
    util::Json body(cJSON_CreateObject());
    util::add_string(body.get(), "name", server_name(settings_.service, pool.label(), index));
    util::add_string(body.get(), "server_type", settings_.server_type);
    // The release is on the snapshot's disk: no user_data, nothing fetched from mirrors.
    util::add_string(body.get(), "image", archive.id);
    if (!settings_.location.empty()) util::add_string(body.get(), "location", settings_.location);
    util::add_bool(body.get(), "start_after_create", true);
    cJSON* labels = cJSON_AddObjectToObject(body.get(), "labels");
    for (const auto& [key, value] : pool_labels(settings_.service, pool.meta, index, archive.servers)) {
      util::add_string(labels, key.c_str(), value);
    }
    calls.push_back({"POST", "/servers", util::print_json(body.get())});
  }
  if (!calls.empty()) {
    reporter_.step("creating " + util::plural(calls.size(), "server") + " of pool " + pool.label() + " from snapshot " +
                   archive.id + " at once");
    auto created = api_.call_all(calls);
    // The servers that were created are waited for even when others were refused, so a re-run
    // finds them whole and creates only the missing ones.
    const Status started = api_.wait_for_actions(all_actions(created), settings_.create_timeout, what);
    PHX_TRY(first_error(created, what));
    if (!started.ok()) return started.error();
  }
  return listed_pool(pool.label());
}

Result<std::optional<PriceSheet>> HcloudProvider::prices() {
  PHX_TRY_ASSIGN(const auto answer, api_.call({"GET", "/pricing", ""}));
  const cJSON* pricing = item(answer.get(), "pricing");
  if (!cJSON_IsObject(pricing)) return Error{ErrorKind::unavailable, "GET /pricing: the answer has no 'pricing'"};
  PriceSheet sheet;
  sheet.currency = util::json_string(pricing, "currency").value_or("");
  sheet.archive_per_gb_month = net_price(item(item(pricing, "image"), "price_per_gb_month"));
  const cJSON* type = nullptr;
  cJSON_ArrayForEach(type, item(pricing, "server_types")) {
    const auto name = util::json_string(type, "name").value_or("");
    const cJSON* price = nullptr;
    cJSON_ArrayForEach(price, item(type, "prices")) {
      sheet.servers.push_back(
          {name, util::json_string(price, "location").value_or(""), net_price(item(price, "price_monthly"))});
    }
  }
  return std::optional<PriceSheet>(std::move(sheet));
}

}  // namespace phoenix::hcloud
