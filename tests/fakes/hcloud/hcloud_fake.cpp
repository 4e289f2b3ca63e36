// phoenix-hcloud-fake: a stateful contract fake of the Hetzner Cloud API, written from the
// public API reference, for tests and benchmarks only (production code never sees it).
//
//   phoenix-hcloud-fake --port-file FILE --token TOKEN --app PATH [--app-port 8080]
//                       [--latency-ms N] [--action-ms N] [--image-ms N] [--restore-ms N]
//                       [--image-gb X] [--health-interval-ms N]
//
// It serves with cpp-httplib (fakes/http/loopback_server.hpp) and writes its port to
// --port-file once it accepts connections.
//
// What it models: servers (create with labels and user_data, from a system image by name or
// from a snapshot by id; list with label selectors and pagination, update labels, delete, power
// off/on, their actions by status), server types with their disks (a server type whose disk is smaller than a
// snapshot's is refused), snapshot images (create_image, an action that runs --image-ms like the real, asynchronous
// one, with the image "creating" until it finishes; list by type, status and label selector; update labels; delete),
// the pricing endpoint (server types per location, snapshot storage per GB), actions that finish after --action-ms (a
// server created from a snapshot:
// --restore-ms), 423 locked for a server action while another action on that server runs,
// load balancers and their server targets with per-target health_status, placement groups,
// bearer-token auth, RateLimit-* headers, and API errors in the documented shape.
//
// To make smoke tests real, every server it creates is a real phoenix-sample-app process on
// its own loopback address (127.200.x.y:--app-port), running the release named by the server's
// phoenix-label label (with --unhealthy when the user_data contains "phoenix-fake: unhealthy").
// A snapshot keeps what its server ran (its "disk"): a server created from it runs that
// release, whatever its labels say and with no user_data.
// Every load balancer is a real HTTP listener on 127.0.0.1 that forwards each request (method,
// path and query, Host, body) to one healthy target in turn and relays its status and body, so
// probers see what a real one would route.
//
// Test controls (not part of the Hetzner API), under /__fake/:
//   POST /__fake/load_balancers {"name", "destination_port", "health_path"} -> {"id", "port"}
//   POST /__fake/faults {"status", "code", "message", "count", "method", "path_prefix", "hang_ms"}
//   POST /__fake/faults {"action_error": "create_image", "count", "message"}: the next actions
//        of that command end in status "error" (a snapshot that fails is left "unavailable")
//   GET  /__fake/stats -> {"requests", "max_in_flight", "requests_by_route": {...},
//                          "from_snapshot_with_user_data"}

#include <curl/curl.h>
#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/hcloud/label_selector.hpp"
#include "fakes/http/loopback_server.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"
#include "tools/arguments.hpp"

using namespace phoenix;
using phoenix::fakes::hcloud::Labels;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct Options {
  std::string port_file;
  std::string token;
  std::string app;
  int app_port = 8080;
  int latency_ms = 0;
  int action_ms = 300;
  int image_ms = -1;    // create_image; -1: as --action-ms
  int restore_ms = -1;  // creating a server from a snapshot; -1: as --action-ms
  double image_gb = 0.78;
  int health_interval_ms = 100;
};

// The server types the fake knows: their disk and monthly net price in EUR per location, in
// the pricing endpoint's shape (figures of the kind Hetzner publishes, not a price list).
struct ServerType {
  const char* name;
  int disk_gb;
  double monthly_eur;
};
constexpr ServerType kServerTypes[] = {{"cx22", 40, 3.79},    {"cx32", 80, 6.80},  {"cx42", 160, 16.40},
                                       {"cx52", 320, 32.40},  {"cpx11", 40, 4.35}, {"cpx21", 80, 7.55},
                                       {"cpx31", 160, 13.60}, {"cax11", 40, 3.79}};
constexpr const char* kLocations[] = {"fsn1", "nbg1", "hel1"};
constexpr double kSnapshotEurPerGbMonth = 0.011;

const ServerType* find_server_type(const std::string& name) {
  for (const auto& type : kServerTypes) {
    if (name == type.name) return &type;
  }
  return nullptr;
}

using httplib::Request;
using httplib::Response;

// ---------------------------------------------------------------------------------------------
// The world the API describes.

struct Action {
  long long id = 0;
  std::string command;
  std::string started;
  Clock::time_point due;
  bool done = false;
  std::string error;  // when it ends in status "error": the error message
  std::vector<std::pair<long long, std::string>> resources;
  std::function<void()> effect;  // applied once, when the action finishes
  std::function<void()> undo;    // applied instead when it ends in an error
};

struct Server {
  long long id = 0;
  std::string name;
  std::string status = "initializing";
  std::string created;
  Labels labels;
  std::string ip;
  std::string user_data;
  std::string server_type;
  std::string image;
  std::string location;
  long long from_image = 0;  // the snapshot it was created from, or 0
  std::string release;       // what its disk holds: the release it runs
  bool unhealthy = false;    // the release answers 500 (user_data "phoenix-fake: unhealthy")
  util::ProcessIdentity process;
};

struct Image {
  long long id = 0;
  std::string status = "creating";  // available once its create_image action finished
  std::string description;
  std::string created;
  long long created_from = 0;
  std::string created_from_name;
  int disk_gb = 0;
  double size_gb = 0;  // image_size, null while creating
  Labels labels;
  std::string release;  // the disk it holds
  bool unhealthy = false;
};

struct ActionFault {
  std::string command;
  std::string message;
  int count = 1;
};

struct Target {
  long long server = 0;
  bool use_private_ip = false;
  std::string health = "unknown";
  Clock::time_point added;
};

struct LoadBalancer {
  long long id = 0;
  std::string name;
  int listen_port = 0;  // the real listener on 127.0.0.1
  int destination_port = 8080;
  std::string health_path = "/health";
  std::vector<Target> targets;
  std::size_t next = 0;  // round robin
};

struct PlacementGroup {
  long long id = 0;
  std::string name;
  Labels labels;
  std::string created;
};

struct Fault {
  int status = 503;
  std::string code = "unavailable";
  std::string message = "injected fault";  // the error message the API answers with
  int count = 1;
  std::string method;
  std::string path_prefix;
  int hang_ms = 0;
};

class World : public std::enable_shared_from_this<World> {
 public:
  explicit World(Options options) : options_(std::move(options)) {}

  Response handle(const Request& request);
  void tick();
  void stop_everything();

  std::atomic<int> in_flight{0};
  std::atomic<int> max_in_flight{0};

 private:
  Response api(const Request& request);
  Response control(const Request& request);
  Response error(int status, const std::string& code, const std::string& message);
  Response json(int status, const util::Json& body);
  Response list(const std::string& key, std::vector<util::Json> items, const Request& request);
  util::Json action_json(const Action& action) const;
  util::Json server_json(const Server& server) const;
  util::Json load_balancer_json(const LoadBalancer& load_balancer) const;
  util::Json group_json(const PlacementGroup& group) const;
  util::Json image_json(const Image& image) const;
  Action& new_action(const std::string& command, long long resource, const std::string& type,
                     std::function<void()> effect, int duration_ms = -1);
  // Whether an action on `server` is still running: the API answers 423 locked to another one.
  bool server_locked(long long server) const;
  std::optional<Labels> read_labels(const cJSON* object, std::string& problem) const;
  void start_app(Server& server);
  // The next healthy target's address of a load balancer, round robin (for its listener).
  std::optional<std::string> pick_target(long long load_balancer);
  // What a load balancer's listener does with one request.
  void forward(long long load_balancer, const Request& request, Response& response);

  Response servers(const Request& request, const std::vector<std::string>& path);
  Response actions(const Request& request, const std::vector<std::string>& path);
  // GET /servers/{id}/actions, /images/{id}/actions: the actions on one resource, ?status=.
  Response resource_actions(const Request& request, long long id, const std::string& type);
  Response load_balancers(const Request& request, const std::vector<std::string>& path);
  Response placement_groups(const Request& request, const std::vector<std::string>& path);
  Response images(const Request& request, const std::vector<std::string>& path);
  Response pricing();
  Response create_server(const Request& request);
  Response create_image(const Request& request, Server& server);

  Options options_;
  std::mutex mutex_;
  long long next_id_ = 1000;
  long long next_ip_ = 1;
  std::map<long long, Action> actions_;
  std::map<long long, Server> servers_;
  std::map<long long, LoadBalancer> load_balancers_;
  std::vector<std::unique_ptr<fakes::http::LoopbackServer>> listeners_;  // one per load balancer
  std::map<long long, PlacementGroup> groups_;
  std::map<long long, Image> images_;
  std::vector<Fault> faults_;
  std::vector<ActionFault> action_faults_;
  long long requests_ = 0;
  std::map<std::string, long long> requests_by_route_;
  long long rate_remaining_ = 3600;
  long long from_snapshot_with_user_data_ = 0;  // servers a restore should have made without it
};

std::string now_iso() { return util::format_iso8601(std::chrono::system_clock::now()); }

Response World::error(int status, const std::string& code, const std::string& message) {
  util::Json body(cJSON_CreateObject());
  cJSON* object = cJSON_AddObjectToObject(body.get(), "error");
  util::add_string(object, "code", code);
  util::add_string(object, "message", message);
  cJSON_AddNullToObject(object, "details");
  return json(status, body);
}

Response World::json(int status, const util::Json& body) {
  Response response;
  response.status = status;
  response.set_content(util::print_json(body.get()), "application/json");
  return response;
}

Response World::list(const std::string& key, std::vector<util::Json> items, const Request& request) {
  const long long per_page =
      std::clamp<long long>(util::parse_int(request.get_param_value("per_page")).value_or(25), 1, 50);
  const long long page = std::max<long long>(1, util::parse_int(request.get_param_value("page")).value_or(1));
  const long long total = static_cast<long long>(items.size());
  const long long last_page = std::max<long long>(1, (total + per_page - 1) / per_page);
  util::Json body(cJSON_CreateObject());
  cJSON* array = cJSON_AddArrayToObject(body.get(), key.c_str());
  for (long long i = (page - 1) * per_page; i < std::min(total, page * per_page); ++i) {
    cJSON_AddItemToArray(array, items[static_cast<std::size_t>(i)].release());
  }
  cJSON* pagination = cJSON_AddObjectToObject(cJSON_AddObjectToObject(body.get(), "meta"), "pagination");
  util::add_number(pagination, "page", static_cast<double>(page));
  util::add_number(pagination, "per_page", static_cast<double>(per_page));
  util::add_number(pagination, "total_entries", static_cast<double>(total));
  util::add_number(pagination, "last_page", static_cast<double>(last_page));
  if (page > 1)
    util::add_number(pagination, "previous_page", static_cast<double>(page - 1));
  else
    cJSON_AddNullToObject(pagination, "previous_page");
  if (page < last_page)
    util::add_number(pagination, "next_page", static_cast<double>(page + 1));
  else
    cJSON_AddNullToObject(pagination, "next_page");
  return json(200, body);
}

util::Json World::action_json(const Action& action) const {
  util::Json object(cJSON_CreateObject());
  util::add_number(object.get(), "id", static_cast<double>(action.id));
  util::add_string(object.get(), "command", action.command);
  util::add_string(object.get(), "status", !action.done ? "running" : action.error.empty() ? "success" : "error");
  util::add_number(object.get(), "progress", action.done ? 100 : 0);
  util::add_string(object.get(), "started", action.started);
  if (action.done)
    util::add_string(object.get(), "finished", now_iso());
  else
    cJSON_AddNullToObject(object.get(), "finished");
  cJSON* resources = cJSON_AddArrayToObject(object.get(), "resources");
  for (const auto& [id, type] : action.resources) {
    cJSON* resource = cJSON_CreateObject();
    util::add_number(resource, "id", static_cast<double>(id));
    util::add_string(resource, "type", type);
    cJSON_AddItemToArray(resources, resource);
  }
  if (action.done && !action.error.empty()) {
    cJSON* error = cJSON_AddObjectToObject(object.get(), "error");
    util::add_string(error, "code", "action_failed");
    util::add_string(error, "message", action.error);
  } else {
    cJSON_AddNullToObject(object.get(), "error");
  }
  return object;
}

util::Json World::server_json(const Server& server) const {
  util::Json object(cJSON_CreateObject());
  util::add_number(object.get(), "id", static_cast<double>(server.id));
  util::add_string(object.get(), "name", server.name);
  util::add_string(object.get(), "status", server.status);
  util::add_string(object.get(), "created", server.created);
  cJSON* public_net = cJSON_AddObjectToObject(object.get(), "public_net");
  util::add_string(cJSON_AddObjectToObject(public_net, "ipv4"), "ip", server.ip);
  cJSON_AddNullToObject(public_net, "ipv6");
  cJSON_AddArrayToObject(object.get(), "private_net");
  cJSON* type = cJSON_AddObjectToObject(object.get(), "server_type");
  util::add_string(type, "name", server.server_type);
  if (const auto* known = find_server_type(server.server_type)) util::add_number(type, "disk", known->disk_gb);
  cJSON* datacenter = cJSON_AddObjectToObject(object.get(), "datacenter");
  util::add_string(datacenter, "name", server.location + "-dc3");
  util::add_string(cJSON_AddObjectToObject(datacenter, "location"), "name", server.location);
  cJSON* image = cJSON_AddObjectToObject(object.get(), "image");
  if (server.from_image != 0) {
    util::add_number(image, "id", static_cast<double>(server.from_image));
    util::add_string(image, "type", "snapshot");
    cJSON_AddNullToObject(image, "name");
  } else {
    util::add_string(image, "type", "system");
    util::add_string(image, "name", server.image);
  }
  cJSON* labels = cJSON_AddObjectToObject(object.get(), "labels");
  for (const auto& [key, value] : server.labels) util::add_string(labels, key.c_str(), value);
  return object;
}

util::Json World::load_balancer_json(const LoadBalancer& load_balancer) const {
  util::Json object(cJSON_CreateObject());
  util::add_number(object.get(), "id", static_cast<double>(load_balancer.id));
  util::add_string(object.get(), "name", load_balancer.name);
  cJSON* services = cJSON_AddArrayToObject(object.get(), "services");
  cJSON* service = cJSON_CreateObject();
  util::add_string(service, "protocol", "http");
  util::add_number(service, "listen_port", 80);
  util::add_number(service, "destination_port", load_balancer.destination_port);
  cJSON* check = cJSON_AddObjectToObject(service, "health_check");
  util::add_string(check, "protocol", "http");
  util::add_number(check, "port", load_balancer.destination_port);
  util::add_string(cJSON_AddObjectToObject(check, "http"), "path", load_balancer.health_path);
  cJSON_AddItemToArray(services, service);
  cJSON* targets = cJSON_AddArrayToObject(object.get(), "targets");
  for (const auto& target : load_balancer.targets) {
    cJSON* item = cJSON_CreateObject();
    util::add_string(item, "type", "server");
    util::add_number(cJSON_AddObjectToObject(item, "server"), "id", static_cast<double>(target.server));
    util::add_bool(item, "use_private_ip", target.use_private_ip);
    cJSON* health = cJSON_AddArrayToObject(item, "health_status");
    cJSON* status = cJSON_CreateObject();
    util::add_number(status, "listen_port", 80);
    util::add_string(status, "status", target.health);
    cJSON_AddItemToArray(health, status);
    cJSON_AddItemToArray(targets, item);
  }
  return object;
}

util::Json World::group_json(const PlacementGroup& group) const {
  util::Json object(cJSON_CreateObject());
  util::add_number(object.get(), "id", static_cast<double>(group.id));
  util::add_string(object.get(), "name", group.name);
  util::add_string(object.get(), "type", "spread");
  util::add_string(object.get(), "created", group.created);
  cJSON_AddArrayToObject(object.get(), "servers");
  cJSON* labels = cJSON_AddObjectToObject(object.get(), "labels");
  for (const auto& [key, value] : group.labels) util::add_string(labels, key.c_str(), value);
  return object;
}

util::Json World::image_json(const Image& image) const {
  util::Json object(cJSON_CreateObject());
  util::add_number(object.get(), "id", static_cast<double>(image.id));
  util::add_string(object.get(), "type", "snapshot");
  util::add_string(object.get(), "status", image.status);
  cJSON_AddNullToObject(object.get(), "name");  // snapshots have no name, only an id
  util::add_string(object.get(), "description", image.description);
  if (image.status == "available")
    util::add_number(object.get(), "image_size", image.size_gb);
  else
    cJSON_AddNullToObject(object.get(), "image_size");
  util::add_number(object.get(), "disk_size", image.disk_gb);
  util::add_string(object.get(), "created", image.created);
  cJSON* from = cJSON_AddObjectToObject(object.get(), "created_from");
  util::add_number(from, "id", static_cast<double>(image.created_from));
  util::add_string(from, "name", image.created_from_name);
  cJSON_AddNullToObject(object.get(), "bound_to");
  util::add_string(object.get(), "os_flavor", "ubuntu");
  util::add_string(object.get(), "architecture", "x86");
  util::add_bool(cJSON_AddObjectToObject(object.get(), "protection"), "delete", false);
  cJSON_AddNullToObject(object.get(), "deprecated");
  cJSON_AddNullToObject(object.get(), "deleted");
  cJSON* labels = cJSON_AddObjectToObject(object.get(), "labels");
  for (const auto& [key, value] : image.labels) util::add_string(labels, key.c_str(), value);
  return object;
}

Action& World::new_action(const std::string& command, long long resource, const std::string& type,
                          std::function<void()> effect, int duration_ms) {
  Action action;
  action.id = next_id_++;
  action.command = command;
  action.started = now_iso();
  action.due = Clock::now() + std::chrono::milliseconds(duration_ms >= 0 ? duration_ms : options_.action_ms);
  action.resources = {{resource, type}};
  action.effect = std::move(effect);
  for (auto it = action_faults_.begin(); it != action_faults_.end(); ++it) {
    if (it->command != command) continue;
    action.error = it->message;
    if (--it->count <= 0) action_faults_.erase(it);
    break;
  }
  return actions_[action.id] = std::move(action);
}

bool World::server_locked(long long server) const {
  for (const auto& [id, action] : actions_) {
    if (action.done) continue;
    for (const auto& [resource, type] : action.resources) {
      if (type == "server" && resource == server) return true;
    }
  }
  return false;
}

std::optional<Labels> World::read_labels(const cJSON* object, std::string& problem) const {
  Labels labels;
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, object) {
    if (!cJSON_IsString(item) || !fakes::hcloud::valid_label_key(item->string) ||
        !fakes::hcloud::valid_label_value(item->valuestring)) {
      problem = std::string("invalid label '") + (item->string ? item->string : "") + "'";
      return std::nullopt;
    }
    labels[item->string] = item->valuestring;
  }
  return labels;
}

void World::start_app(Server& server) {
  std::vector<std::string> argv = {options_.app, "--listen", server.ip + ":" + std::to_string(options_.app_port),
                                   "--release", server.release};
  if (server.unhealthy) argv.emplace_back("--unhealthy");
  auto started = util::spawn_detached({argv, {}, {}});
  if (started) server.process = *started;
}

Response World::servers(const Request& request, const std::vector<std::string>& path) {
  if (path.size() == 1 && request.method == "GET") {
    auto selector = fakes::hcloud::parse_selector(request.get_param_value("label_selector"));
    if (!selector) return error(422, "invalid_input", "invalid label_selector");
    std::vector<util::Json> items;
    for (const auto& [id, server] : servers_) {
      if (selector->matches(server.labels) &&
          (request.get_param_value("name").empty() || request.get_param_value("name") == server.name)) {
        items.push_back(server_json(server));
      }
    }
    return list("servers", std::move(items), request);
  }
  if (path.size() == 1 && request.method == "POST") return create_server(request);
  const auto id = util::parse_int(path.size() > 1 ? path[1] : "");
  if (!id || servers_.count(*id) == 0) return error(404, "not_found", "server not found");
  Server& server = servers_[*id];
  if (path.size() == 2 && request.method == "GET") {
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "server", server_json(server).release());
    return json(200, response);
  }
  if (path.size() == 2 && request.method == "PUT") {
    auto body = util::parse_json(request.body, "body");
    if (!body) return error(400, "json_error", "invalid JSON");
    if (const cJSON* labels = cJSON_GetObjectItemCaseSensitive(body->get(), "labels")) {
      std::string problem;
      auto parsed = read_labels(labels, problem);
      if (!parsed) return error(422, "invalid_input", problem);
      server.labels = *parsed;  // PUT replaces the whole map
    }
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "server", server_json(server).release());
    return json(200, response);
  }
  if (path.size() == 2 && request.method == "DELETE") {
    server.status = "deleting";
    const long long server_id = *id;
    Action& action = new_action("delete_server", server_id, "server", [this, server_id] {
      if (servers_.count(server_id) == 0) return;
      util::stop_process(servers_[server_id].process, std::chrono::seconds(2));
      servers_.erase(server_id);
      for (auto& [lb_id, load_balancer] : load_balancers_) {
        std::erase_if(load_balancer.targets, [&](const Target& target) { return target.server == server_id; });
      }
    });
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "action", action_json(action).release());
    return json(200, response);
  }
  if (path.size() == 3 && path[2] == "actions" && request.method == "GET")
    return resource_actions(request, *id, "server");
  if (path.size() == 4 && path[2] == "actions" && request.method == "POST") {
    const long long server_id = *id;
    if (server_locked(server_id)) return error(423, "locked", "another action on this server is still running");
    if (path[3] == "create_image") return create_image(request, server);
    std::function<void()> effect;
    if (path[3] == "poweroff" || path[3] == "shutdown") {
      server.status = "stopping";
      effect = [this, server_id] {
        util::stop_process(servers_[server_id].process, std::chrono::seconds(2));
        servers_[server_id].status = "off";
      };
    } else if (path[3] == "poweron") {
      server.status = "starting";
      start_app(server);
      effect = [this, server_id] { servers_[server_id].status = "running"; };
    } else {
      return error(404, "not_found", "unknown action");
    }
    Action& action = new_action(path[3] == "poweron" ? "start_server" : "stop_server", server_id, "server", effect);
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "action", action_json(action).release());
    return json(201, response);
  }
  return error(404, "not_found", "no such route");
}

Response World::create_server(const Request& request) {
  auto body = util::parse_json(request.body, "body");
  if (!body) return error(400, "json_error", "invalid JSON");
  Server server;
  server.name = util::json_string(body->get(), "name").value_or("");
  server.server_type = util::json_string(body->get(), "server_type").value_or("");
  server.location = util::json_string(body->get(), "location").value_or("fsn1");
  server.user_data = util::json_string(body->get(), "user_data").value_or("");
  // "image": the name of a system image, or the id of a snapshot (as a string or a number).
  const cJSON* image_field = cJSON_GetObjectItemCaseSensitive(body->get(), "image");
  if (cJSON_IsString(image_field)) server.image = image_field->valuestring;
  if (cJSON_IsNumber(image_field)) server.image = std::to_string(static_cast<long long>(image_field->valuedouble));
  if (server.name.empty() || server.server_type.empty() || server.image.empty()) {
    return error(422, "invalid_input", "name, server_type and image are required");
  }
  const ServerType* type = find_server_type(server.server_type);
  if (type == nullptr) return error(422, "invalid_input", "server type " + server.server_type + " not found");
  if (server.user_data.size() > 32 * 1024) return error(422, "invalid_input", "user_data is larger than 32 KiB");
  for (const auto& [id, existing] : servers_) {
    if (existing.name == server.name) return error(409, "uniqueness_error", "server name is already used");
  }
  std::string problem;
  auto labels = read_labels(cJSON_GetObjectItemCaseSensitive(body->get(), "labels"), problem);
  if (!labels) return error(422, "invalid_input", problem);
  server.labels = *labels;
  int duration_ms = -1;
  if (const auto image_id = util::parse_int(server.image)) {
    const auto found = images_.find(*image_id);
    if (found == images_.end()) return error(422, "invalid_input", "image " + server.image + " not found");
    const Image& image = found->second;
    if (image.status != "available") {
      return error(422, "invalid_input", "image " + server.image + " is " + image.status + ", not available");
    }
    if (image.disk_gb > type->disk_gb) {
      return error(422, "invalid_input",
                   "image " + server.image + " needs a disk of " + std::to_string(image.disk_gb) + " GB; server type " +
                       server.server_type + " has " + std::to_string(type->disk_gb) + " GB");
    }
    // The disk is the snapshot's: its release, not what the labels or user_data say.
    server.from_image = image.id;
    if (!server.user_data.empty()) ++from_snapshot_with_user_data_;
    server.release = image.release;
    server.unhealthy = image.unhealthy;
    duration_ms = options_.restore_ms;
  } else {
    server.release = server.labels.count("phoenix-label") != 0 ? server.labels.at("phoenix-label") : "unknown";
    server.unhealthy = server.user_data.find("phoenix-fake: unhealthy") != std::string::npos;
  }
  server.id = next_id_++;
  server.created = now_iso();
  const long long n = next_ip_++;
  server.ip = "127.200." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1);
  const bool start = util::json_bool(body->get(), "start_after_create").value_or(true);
  if (start) start_app(server);
  const long long id = server.id;
  servers_[id] = server;
  Action& create = new_action(
      "create_server", id, "server",
      [this, id, start] {
        if (servers_.count(id) != 0) servers_[id].status = start ? "running" : "off";
      },
      duration_ms);
  util::Json response(cJSON_CreateObject());
  cJSON_AddItemToObject(response.get(), "server", server_json(servers_[id]).release());
  cJSON_AddItemToObject(response.get(), "action", action_json(create).release());
  cJSON* next = cJSON_AddArrayToObject(response.get(), "next_actions");
  if (start) {
    cJSON_AddItemToArray(next, action_json(new_action("start_server", id, "server", nullptr, duration_ms)).release());
  }
  cJSON_AddNullToObject(response.get(), "root_password");
  return json(201, response);
}

Response World::create_image(const Request& request, Server& server) {
  auto body = util::parse_json(request.body.empty() ? "{}" : request.body, "body");
  if (!body) return error(400, "json_error", "invalid JSON");
  const auto type = util::json_string(body->get(), "type").value_or("snapshot");
  if (type == "backup") return error(422, "invalid_input", "backups are not enabled for this server");
  if (type != "snapshot") return error(422, "invalid_input", "type must be snapshot or backup");
  if (server.status != "running" && server.status != "off") {
    return error(422, "invalid_input", "the server is " + server.status);
  }
  std::string problem;
  auto labels = read_labels(cJSON_GetObjectItemCaseSensitive(body->get(), "labels"), problem);
  if (!labels) return error(422, "invalid_input", problem);
  Image image;
  image.id = next_id_++;
  image.description = util::json_string(body->get(), "description").value_or(server.name + "-" + now_iso());
  image.created = now_iso();
  image.created_from = server.id;
  image.created_from_name = server.name;
  const ServerType* server_type = find_server_type(server.server_type);
  image.disk_gb = server_type != nullptr ? server_type->disk_gb : 40;
  image.labels = *labels;
  image.release = server.release;
  image.unhealthy = server.unhealthy;
  const long long image_id = image.id;
  images_[image_id] = image;
  Action& action = new_action(
      "create_image", server.id, "server",
      [this, image_id] {
        if (images_.count(image_id) == 0) return;
        images_[image_id].status = "available";
        images_[image_id].size_gb = options_.image_gb;
      },
      options_.image_ms);
  action.resources.emplace_back(image_id, "image");
  action.undo = [this, image_id] {
    if (images_.count(image_id) != 0) images_[image_id].status = "unavailable";
  };
  util::Json response(cJSON_CreateObject());
  cJSON_AddItemToObject(response.get(), "image", image_json(images_[image_id]).release());
  cJSON_AddItemToObject(response.get(), "action", action_json(action).release());
  return json(201, response);
}

Response World::images(const Request& request, const std::vector<std::string>& path) {
  if (path.size() == 1 && request.method == "GET") {
    auto selector = fakes::hcloud::parse_selector(request.get_param_value("label_selector"));
    if (!selector) return error(422, "invalid_input", "invalid label_selector");
    std::set<std::string> types;
    const auto wanted = request.params.equal_range("type");
    for (auto it = wanted.first; it != wanted.second; ++it) {
      if (it->second != "system" && it->second != "snapshot" && it->second != "backup" && it->second != "app") {
        return error(422, "invalid_input", "invalid type " + it->second);
      }
      types.insert(it->second);
    }
    const auto status = request.get_param_value("status");
    std::vector<util::Json> items;
    for (const auto& [id, image] : images_) {
      if ((types.empty() || types.count("snapshot") != 0) && selector->matches(image.labels) &&
          (status.empty() || status == image.status)) {
        items.push_back(image_json(image));
      }
    }
    return list("images", std::move(items), request);
  }
  const auto id = util::parse_int(path.size() > 1 ? path[1] : "");
  if (!id || images_.count(*id) == 0) return error(404, "not_found", "image not found");
  Image& image = images_[*id];
  if (path.size() == 2 && request.method == "GET") {
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "image", image_json(image).release());
    return json(200, response);
  }
  if (path.size() == 2 && request.method == "PUT") {
    auto body = util::parse_json(request.body, "body");
    if (!body) return error(400, "json_error", "invalid JSON");
    if (const cJSON* labels = cJSON_GetObjectItemCaseSensitive(body->get(), "labels")) {
      std::string problem;
      auto parsed = read_labels(labels, problem);
      if (!parsed) return error(422, "invalid_input", problem);
      image.labels = *parsed;  // PUT replaces the whole map
    }
    if (auto description = util::json_string(body->get(), "description")) image.description = *description;
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "image", image_json(image).release());
    return json(200, response);
  }
  if (path.size() == 2 && request.method == "DELETE") {
    if (image.status == "creating") return error(423, "locked", "the image is still being created");
    images_.erase(*id);
    Response response;
    response.status = 204;
    return response;
  }
  if (path.size() == 3 && path[2] == "actions" && request.method == "GET")
    return resource_actions(request, *id, "image");
  return error(404, "not_found", "no such route");
}

Response World::resource_actions(const Request& request, long long id, const std::string& type) {
  const auto status = request.get_param_value("status");
  if (!status.empty() && status != "running" && status != "success" && status != "error") {
    return error(400, "invalid_input", "status must be running, success or error");
  }
  std::vector<util::Json> items;
  for (const auto& [action_id, action] : actions_) {
    const bool concerns = std::any_of(action.resources.begin(), action.resources.end(), [&](const auto& resource) {
      return resource.first == id && resource.second == type;
    });
    const auto json_status = !action.done ? "running" : action.error.empty() ? "success" : "error";
    if (concerns && (status.empty() || status == json_status)) items.push_back(action_json(action));
  }
  return list("actions", std::move(items), request);
}

Response World::pricing() {
  util::Json body(cJSON_CreateObject());
  cJSON* pricing = cJSON_AddObjectToObject(body.get(), "pricing");
  util::add_string(pricing, "currency", "EUR");
  util::add_string(pricing, "vat_rate", "19.00");
  const auto price = [](cJSON* parent, const char* key, double net) {
    cJSON* object = cJSON_AddObjectToObject(parent, key);
    char text[32];
    std::snprintf(text, sizeof text, "%.10f", net);
    util::add_string(object, "net", text);
    std::snprintf(text, sizeof text, "%.10f", net * 1.19);
    util::add_string(object, "gross", text);
  };
  price(cJSON_AddObjectToObject(pricing, "image"), "price_per_gb_month", kSnapshotEurPerGbMonth);
  cJSON* types = cJSON_AddArrayToObject(pricing, "server_types");
  long long type_id = 1;
  for (const auto& type : kServerTypes) {
    cJSON* item = cJSON_CreateObject();
    util::add_number(item, "id", static_cast<double>(type_id++));
    util::add_string(item, "name", type.name);
    cJSON* prices = cJSON_AddArrayToObject(item, "prices");
    for (const char* location : kLocations) {
      cJSON* entry = cJSON_CreateObject();
      util::add_string(entry, "location", location);
      price(entry, "price_hourly", type.monthly_eur / 730.0);
      price(entry, "price_monthly", type.monthly_eur);
      util::add_number(entry, "included_traffic", 21990232555520.0);
      price(entry, "price_per_tb_traffic", 1.0);
      cJSON_AddItemToArray(prices, entry);
    }
    cJSON_AddItemToArray(types, item);
  }
  return json(200, body);
}

Response World::actions(const Request& request, const std::vector<std::string>& path) {
  if (path.size() == 1 && request.method == "GET") {
    const auto ids = request.params.equal_range("id");
    if (ids.first == ids.second) return error(400, "invalid_input", "listing all actions was removed; pass id");
    std::vector<util::Json> items;
    for (auto it = ids.first; it != ids.second; ++it) {
      const auto id = util::parse_int(it->second);
      if (id && actions_.count(*id) != 0) items.push_back(action_json(actions_[*id]));
    }
    return list("actions", std::move(items), request);
  }
  const auto id = util::parse_int(path.size() > 1 ? path[1] : "");
  if (!id || actions_.count(*id) == 0) return error(404, "not_found", "action not found");
  util::Json response(cJSON_CreateObject());
  cJSON_AddItemToObject(response.get(), "action", action_json(actions_[*id]).release());
  return json(200, response);
}

Response World::load_balancers(const Request& request, const std::vector<std::string>& path) {
  if (path.size() == 1 && request.method == "GET") {
    std::vector<util::Json> items;
    for (const auto& [id, load_balancer] : load_balancers_) {
      if (request.get_param_value("name").empty() || request.get_param_value("name") == load_balancer.name) {
        items.push_back(load_balancer_json(load_balancer));
      }
    }
    return list("load_balancers", std::move(items), request);
  }
  const auto id = util::parse_int(path.size() > 1 ? path[1] : "");
  if (!id || load_balancers_.count(*id) == 0) return error(404, "not_found", "load balancer not found");
  LoadBalancer& load_balancer = load_balancers_[*id];
  if (path.size() == 2 && request.method == "GET") {
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "load_balancer", load_balancer_json(load_balancer).release());
    return json(200, response);
  }
  if (path.size() == 4 && path[2] == "actions" && request.method == "POST" &&
      (path[3] == "add_target" || path[3] == "remove_target")) {
    auto body = util::parse_json(request.body, "body");
    if (!body) return error(400, "json_error", "invalid JSON");
    if (util::json_string(body->get(), "type").value_or("") != "server") {
      return error(422, "invalid_input", "only server targets are modelled");
    }
    const auto server_id = static_cast<long long>(
        util::json_number(cJSON_GetObjectItemCaseSensitive(body->get(), "server"), "id").value_or(0));
    if (servers_.count(server_id) == 0) return error(422, "invalid_input", "server not found");
    auto existing = std::find_if(load_balancer.targets.begin(), load_balancer.targets.end(),
                                 [&](const Target& target) { return target.server == server_id; });
    if (path[3] == "add_target") {
      if (existing != load_balancer.targets.end())
        return error(422, "target_already_defined", "target already defined");
      load_balancer.targets.push_back(
          {server_id, util::json_bool(body->get(), "use_private_ip").value_or(false), "unknown", Clock::now()});
    } else {
      if (existing == load_balancer.targets.end()) {
        return error(422, "load_balancer_target_not_found", "target not found");
      }
      load_balancer.targets.erase(existing);
    }
    Action& action = new_action(path[3], *id, "load_balancer", nullptr);
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "action", action_json(action).release());
    return json(201, response);
  }
  return error(404, "not_found", "no such route");
}

Response World::placement_groups(const Request& request, const std::vector<std::string>& path) {
  if (path.size() == 1 && request.method == "GET") {
    auto selector = fakes::hcloud::parse_selector(request.get_param_value("label_selector"));
    if (!selector) return error(422, "invalid_input", "invalid label_selector");
    std::vector<util::Json> items;
    for (const auto& [id, group] : groups_) {
      if ((request.get_param_value("name").empty() || request.get_param_value("name") == group.name) &&
          selector->matches(group.labels)) {
        items.push_back(group_json(group));
      }
    }
    return list("placement_groups", std::move(items), request);
  }
  if (path.size() == 1 && request.method == "POST") {
    auto body = util::parse_json(request.body, "body");
    if (!body) return error(400, "json_error", "invalid JSON");
    PlacementGroup group;
    group.name = util::json_string(body->get(), "name").value_or("");
    if (group.name.empty() || util::json_string(body->get(), "type").value_or("") != "spread") {
      return error(422, "invalid_input", "name and type spread are required");
    }
    for (const auto& [id, existing] : groups_) {
      if (existing.name == group.name) return error(409, "uniqueness_error", "placement group name is already used");
    }
    std::string problem;
    auto labels = read_labels(cJSON_GetObjectItemCaseSensitive(body->get(), "labels"), problem);
    if (!labels) return error(422, "invalid_input", problem);
    group.labels = *labels;
    group.id = next_id_++;
    group.created = now_iso();
    groups_[group.id] = group;
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "placement_group", group_json(group).release());
    cJSON_AddNullToObject(response.get(), "action");
    return json(201, response);
  }
  const auto id = util::parse_int(path.size() > 1 ? path[1] : "");
  if (!id || groups_.count(*id) == 0) return error(404, "not_found", "placement group not found");
  if (path.size() == 2 && request.method == "DELETE") {
    groups_.erase(*id);
    Response response;
    response.status = 204;
    return response;
  }
  if (path.size() == 2 && request.method == "PUT") {
    auto body = util::parse_json(request.body, "body");
    if (!body) return error(400, "json_error", "invalid JSON");
    std::string problem;
    auto labels = read_labels(cJSON_GetObjectItemCaseSensitive(body->get(), "labels"), problem);
    if (!labels) return error(422, "invalid_input", problem);
    groups_[*id].labels = *labels;
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "placement_group", group_json(groups_[*id]).release());
    return json(200, response);
  }
  if (path.size() == 2 && request.method == "GET") {
    util::Json response(cJSON_CreateObject());
    cJSON_AddItemToObject(response.get(), "placement_group", group_json(groups_[*id]).release());
    return json(200, response);
  }
  return error(404, "not_found", "no such route");
}

Response World::control(const Request& request) {
  auto body = util::parse_json(request.body.empty() ? "{}" : request.body, "body");
  if (!body) return error(400, "json_error", "invalid JSON");
  if (request.path == "/__fake/faults" && request.method == "POST" && util::json_string(body->get(), "action_error")) {
    action_faults_.push_back({*util::json_string(body->get(), "action_error"),
                              util::json_string(body->get(), "message").value_or("injected action failure"),
                              static_cast<int>(util::json_number(body->get(), "count").value_or(1))});
    return json(200, util::Json(cJSON_CreateObject()));
  }
  if (request.path == "/__fake/faults" && request.method == "POST") {
    Fault fault;
    fault.status = static_cast<int>(util::json_number(body->get(), "status").value_or(503));
    fault.code = util::json_string(body->get(), "code").value_or("unavailable");
    fault.message = util::json_string(body->get(), "message").value_or("injected fault");
    fault.count = static_cast<int>(util::json_number(body->get(), "count").value_or(1));
    fault.method = util::json_string(body->get(), "method").value_or("");
    fault.path_prefix = util::json_string(body->get(), "path_prefix").value_or("");
    fault.hang_ms = static_cast<int>(util::json_number(body->get(), "hang_ms").value_or(0));
    faults_.push_back(fault);
    return json(200, util::Json(cJSON_CreateObject()));
  }
  if (request.path == "/__fake/load_balancers" && request.method == "POST") {
    LoadBalancer load_balancer;
    load_balancer.id = next_id_++;
    load_balancer.name = util::json_string(body->get(), "name").value_or("lb");
    load_balancer.destination_port =
        static_cast<int>(util::json_number(body->get(), "destination_port").value_or(options_.app_port));
    load_balancer.health_path = util::json_string(body->get(), "health_path").value_or("/health");
    const long long id = load_balancer.id;
    auto listener = std::make_unique<fakes::http::LoopbackServer>(
        [world = weak_from_this(), id](const Request& incoming, Response& outgoing) {
          if (auto alive = world.lock()) alive->forward(id, incoming, outgoing);
        });
    load_balancer.listen_port = listener->port();
    listener->start();
    listeners_.push_back(std::move(listener));
    load_balancers_[id] = load_balancer;
    util::Json response(cJSON_CreateObject());
    util::add_number(response.get(), "id", static_cast<double>(id));
    util::add_number(response.get(), "port", load_balancers_[id].listen_port);
    return json(201, response);
  }
  if (request.path == "/__fake/stats" && request.method == "GET") {
    util::Json response(cJSON_CreateObject());
    util::add_number(response.get(), "requests", static_cast<double>(requests_));
    util::add_number(response.get(), "max_in_flight", max_in_flight.load());
    util::add_number(response.get(), "from_snapshot_with_user_data",
                     static_cast<double>(from_snapshot_with_user_data_));
    cJSON* routes = cJSON_AddObjectToObject(response.get(), "requests_by_route");
    for (const auto& [route, count] : requests_by_route_)
      util::add_number(routes, route.c_str(), static_cast<double>(count));
    return json(200, response);
  }
  return error(404, "not_found", "no such control");
}

Response World::handle(const Request& request) {
  const int now_in_flight = ++in_flight;
  for (int seen = max_in_flight.load();
       now_in_flight > seen && !max_in_flight.compare_exchange_weak(seen, now_in_flight);) {
  }
  Response response;
  std::optional<Fault> fault;
  if (request.path.rfind("/__fake/", 0) == 0) {
    std::lock_guard lock(mutex_);
    response = control(request);
  } else {
    {
      std::lock_guard lock(mutex_);
      ++requests_;
      ++requests_by_route_[request.method + " " + request.path.substr(0, request.path.find('/', 4))];
      for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if ((it->method.empty() || it->method == request.method) && request.path.rfind(it->path_prefix, 0) == 0) {
          fault = *it;
          if (--it->count <= 0) faults_.erase(it);
          break;
        }
      }
    }
    // The latency every request pays, like a real API a few hops away; requests that arrive
    // together wait together.
    if (options_.latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options_.latency_ms));
    if (fault && fault->hang_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault->hang_ms));
    std::lock_guard lock(mutex_);
    if (request.get_header_value("Authorization") != "Bearer " + options_.token) {
      response = error(401, "unauthorized", "unable to authenticate");
    } else if (fault && fault->hang_ms == 0) {
      response = error(fault->status, fault->code, fault->message);
    } else {
      response = api(request);
    }
    if (fault && fault->status == 429) rate_remaining_ = 0;
    const auto reset =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() +
        1;
    response.set_header("RateLimit-Limit", "3600");
    response.set_header("RateLimit-Remaining", std::to_string(rate_remaining_ > 0 ? rate_remaining_-- : 0));
    response.set_header("RateLimit-Reset", std::to_string(reset));
    if (rate_remaining_ <= 0) rate_remaining_ = 3600;  // the window resets within a second here
  }
  --in_flight;
  return response;
}

Response World::api(const Request& request) {
  if (request.path.rfind("/v1/", 0) != 0) return error(404, "not_found", "no such route");
  const auto path = util::split(request.path.substr(4), '/');
  if (path[0] == "servers") return servers(request, path);
  if (path[0] == "actions") return actions(request, path);
  if (path[0] == "load_balancers") return load_balancers(request, path);
  if (path[0] == "placement_groups") return placement_groups(request, path);
  if (path[0] == "images") return images(request, path);
  if (path[0] == "pricing" && path.size() == 1 && request.method == "GET") return pricing();
  return error(404, "not_found", "no such route");
}

void World::tick() {
  std::vector<std::function<void()>> effects;
  std::vector<std::tuple<long long, std::size_t, std::string>> checks;  // lb, target index, url
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    for (auto& [id, action] : actions_) {
      if (!action.done && now >= action.due) {
        action.done = true;
        const auto& apply = action.error.empty() ? action.effect : action.undo;
        if (apply) effects.push_back(apply);
      }
    }
    for (auto& effect : effects) effect();
    for (auto& [id, load_balancer] : load_balancers_) {
      for (std::size_t i = 0; i < load_balancer.targets.size(); ++i) {
        const auto& target = load_balancer.targets[i];
        if (now - target.added < std::chrono::milliseconds(options_.health_interval_ms)) continue;
        const auto server = servers_.find(target.server);
        if (server == servers_.end()) continue;
        checks.emplace_back(id, i,
                            "http://" + server->second.ip + ":" + std::to_string(load_balancer.destination_port) +
                                load_balancer.health_path);
      }
    }
  }
  // Health checks happen outside the lock: they are network calls.
  std::vector<std::string> results;
  for (const auto& [lb, index, url] : checks) {
    CURL* easy = curl_easy_init();
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 500L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(
        easy, CURLOPT_WRITEFUNCTION, +[](char*, std::size_t size, std::size_t count, void*) { return size * count; });
    long status = 0;
    if (curl_easy_perform(easy) == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(easy);
    results.push_back(status == 200 ? "healthy" : "unhealthy");
  }
  std::lock_guard lock(mutex_);
  for (std::size_t k = 0; k < checks.size(); ++k) {
    const auto& [lb, index, url] = checks[k];
    auto found = load_balancers_.find(lb);
    if (found == load_balancers_.end() || index >= found->second.targets.size()) continue;
    found->second.targets[index].health = results[k];
  }
}

void World::forward(long long load_balancer, const Request& request, Response& response) {
  const auto target = pick_target(load_balancer);
  if (!target) {
    response.status = 503;
    response.body = "no healthy target\n";
    return;
  }
  // A fresh connection per request, the answer relayed whole (status and body).
  const auto colon = target->rfind(':');
  httplib::Client upstream(target->substr(0, colon), std::stoi(target->substr(colon + 1)));
  upstream.set_connection_timeout(5);
  upstream.set_read_timeout(60);
  upstream.set_url_encode(false);  // the target is relayed as it came
  upstream.set_tcp_nodelay(true);
  httplib::Request relayed;
  relayed.method = request.method;
  relayed.path = request.target;
  if (request.has_header("Host")) relayed.set_header("Host", request.get_header_value("Host"));
  if (request.has_header("Content-Type")) relayed.set_header("Content-Type", request.get_header_value("Content-Type"));
  relayed.body = request.body;
  const auto answer = upstream.send(relayed);
  if (!answer) {
    response.status = 502;
    response.body = "bad gateway\n";
    return;
  }
  response.status = answer->status;
  response.body = answer->body;
}

std::optional<std::string> World::pick_target(long long id) {
  std::lock_guard lock(mutex_);
  auto found = load_balancers_.find(id);
  if (found == load_balancers_.end()) return std::nullopt;
  LoadBalancer& load_balancer = found->second;
  for (std::size_t tries = 0; tries < load_balancer.targets.size(); ++tries) {
    const auto& target = load_balancer.targets[load_balancer.next++ % load_balancer.targets.size()];
    const auto server = servers_.find(target.server);
    if (target.health == "healthy" && server != servers_.end() && server->second.status == "running") {
      return server->second.ip + ":" + std::to_string(load_balancer.destination_port);
    }
  }
  return std::nullopt;
}

void World::stop_everything() {
  std::vector<std::unique_ptr<fakes::http::LoopbackServer>> listeners;
  {
    std::lock_guard lock(mutex_);
    listeners.swap(listeners_);
  }
  for (auto& listener : listeners) listener->stop();  // outside the lock: a forward may be waiting for it
  std::lock_guard lock(mutex_);
  for (auto& [id, server] : servers_) util::stop_process(server.process, std::chrono::seconds(2));
}

const char* const kUsage =
    "usage: phoenix-hcloud-fake --port-file FILE --token TOKEN --app PATH [--app-port N] [--latency-ms N]\n"
    "                           [--action-ms N] [--image-ms N] [--restore-ms N] [--image-gb X]\n"
    "                           [--health-interval-ms N]\n"
    "A contract fake of the Hetzner Cloud API on 127.0.0.1 (tests only); writes its port to FILE.\n"
    "  --token TOKEN            the bearer token it accepts\n"
    "  --app PATH               the server program every created server runs (phoenix-sample-app)\n"
    "  --app-port N             the port servers listen on, each on its own 127.200.x.y (8080)\n"
    "  --latency-ms N           added to every API request (0)\n"
    "  --action-ms N            how long actions run (300)\n"
    "  --image-ms N             how long create_image runs (as --action-ms)\n"
    "  --restore-ms N           how long creating a server from a snapshot runs (as --action-ms)\n"
    "  --image-gb X             the image_size of every snapshot (0.78)\n"
    "  --health-interval-ms N   load balancer health checks (100)\n"
    "Test controls: POST /__fake/load_balancers, POST /__fake/faults, GET /__fake/stats.\n";

}  // namespace

int main(int argc, char** argv) {
  Options options;
  tools::Arguments arguments("phoenix-hcloud-fake", kUsage);
  arguments.text("--port-file", options.port_file, true)
      .text("--token", options.token, true)
      .text("--app", options.app, true)
      .number("--app-port", options.app_port, 1, 65535)
      .number("--latency-ms", options.latency_ms, 0, 600000)
      .number("--action-ms", options.action_ms, 0, 600000)
      .number("--image-ms", options.image_ms, 0, 3600000)
      .number("--restore-ms", options.restore_ms, 0, 3600000)
      .number("--health-interval-ms", options.health_interval_ms, 1, 600000);
  std::string image_gb = "0.78";
  arguments.text("--image-gb", image_gb, false);
  arguments.parse(argc, argv);
  options.image_gb = std::strtod(image_gb.c_str(), nullptr);
  if (options.image_gb <= 0) {
    std::fprintf(stderr, "phoenix-hcloud-fake: --image-gb must be a positive number of GB\n");
    return 2;
  }
  if (options.image_ms < 0) options.image_ms = options.action_ms;
  if (options.restore_ms < 0) options.restore_ms = options.action_ms;
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto world = std::make_shared<World>(options);
  fakes::http::LoopbackServer api(
      [world](const Request& request, Response& response) { response = world->handle(request); });
  api.start();
  if (!util::write_file_atomic(options.port_file, std::to_string(api.port()) + "\n").ok()) return 1;
  while (!g_stop) {
    world->tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(options.health_interval_ms, 20)));
  }
  api.stop();
  world->stop_everything();
  return 0;
}
