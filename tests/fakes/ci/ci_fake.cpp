// phoenix-ci-fake: contract fakes of the GoCD and Jenkins REST endpoints that
// `deploy-pipeline ci-config` uses, written from their public API documentation and sources,
// for tests only.
//
//   phoenix-ci-fake --kind gocd|jenkins --port-file FILE [--token T] [--user U --password P]
//                   [--seed DIR]
//
// GoCD: bearer or basic auth (401 otherwise); versioned Accept headers (404 for a wrong one,
// as GoCD does); GET pipeline_groups and export/pipelines/<name>?plugin_id=yaml.config.plugin
// (YAML with an ETag), both limited to the groups the caller administers; GET
// security/system_admins (403 unless a system administrator); GET/POST/PUT config_repos (v4;
// rules required; PUT needs If-Match with the current ETag, else 412) and POST
// config_repos/<id>/trigger_update (X-GoCD-Confirm; 409 while an update runs). Like GoCD, a
// config repository is fetched and parsed in the background after it is registered, changed or
// triggered: GET config_repos/<id> shows material_update_in_progress and parse_info (latest
// parsed and last good revision, the error). Parsing is the YAML plugin's
// (gocd_yaml_plugin.py) plus GoCD's checks against the rest of the server: a pipeline name
// defined elsewhere, a dependency on a pipeline that does not exist. A failed parse keeps the
// pipelines of the last good revision.
// Jenkins: basic auth with an API token, sent pre-emptively (403 otherwise); folders
// (com.cloudbees.hudson.plugins.folder.Folder) hold jobs: GET [/job/<f>...]/api/json?tree=jobs[name]
// (with _class), GET/POST /job/<f>/job/<name>/config.xml, POST [/job/<f>...]/createItem?name=<name>
// (names as Jenkins.checkGoodName allows them: spaces and non-ASCII yes, "?*/\%!@#$^&|<>[]:;",
// control codes, "." and ".." and a trailing '.' no (400); the name is then trimmed).
// --seed loads GoCD pipelines from DIR/*.gocd.yaml (and who administers what from
// DIR/users.json: {"<user>": {"groups": [...]}}; users not listed, and the token, are system
// administrators), or Jenkins jobs from DIR/jobs/**/config.xml as JENKINS_HOME lays them out.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fakes/http_server.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "tools/arguments.hpp"

using namespace phoenix;
using fakes::Request;
using fakes::Response;
namespace fs = std::filesystem;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

// How long GoCD takes to start fetching a config repository after it was registered: long
// enough that a client which does not wait for the parse sees it unfinished.
constexpr auto kMaterialUpdateDelay = std::chrono::milliseconds(400);
constexpr const char* kFolderClass = "com.cloudbees.hudson.plugins.folder.Folder";
constexpr const char* kGocdNotFound =
    "Either the resource you requested was not found, or you are not authorized "
    "to perform this action.";

struct Options {
  std::string kind;
  std::string port_file;
  std::string token;
  std::string user;
  std::string password;
  std::string seed;
};

std::string base64(const std::string& text) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const unsigned n = (static_cast<unsigned char>(text[i]) << 16) | (static_cast<unsigned char>(text[i + 1]) << 8) |
                       static_cast<unsigned char>(text[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += alphabet[(n >> shift) & 63];
  }
  if (i < text.size()) {
    unsigned n = static_cast<unsigned char>(text[i]) << 16;
    if (i + 1 < text.size()) n |= static_cast<unsigned char>(text[i + 1]) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += i + 1 < text.size() ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Response text(int status, std::string body, const std::string& type = "text/plain") {
  Response response;
  response.status = status;
  response.body = std::move(body);
  response.headers.emplace_back("Content-Type", type);
  return response;
}

Response json(int status, const util::Json& body, const std::string& type = "application/json") {
  return text(status, util::print_json(body.get()), type);
}

Response gocd_error(int status, const std::string& message) {
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "message", message);
  return json(status, body);
}

std::string etag_of(const std::string& content) {
  return "\"" + std::to_string(std::hash<std::string>{}(content)) + "\"";
}

// ---- GoCD --------------------------------------------------------------------------------------

struct GocdPipeline {
  std::string yaml;
  std::string group;
  std::string origin;  // "" for the server's own config, else the config repository's id
};

// A config repository and what GoCD made of it.
struct ConfigRepo {
  std::string id;
  std::string url;
  std::string branch;
  bool update_in_progress = false;
  std::string parsed_revision;
  std::string good_revision;
  std::string error;
  std::string etag() const { return etag_of(id + url + branch); }
};

// What the YAML plugin made of a checkout (gocd_yaml_plugin.py's answer).
struct PluginResult {
  struct Pipeline {
    std::string name;
    std::string group;
    std::string yaml;
    std::vector<std::string> upstreams;
  };
  std::vector<Pipeline> pipelines;
  std::vector<std::string> errors;
};

PluginResult run_yaml_plugin(const fs::path& checkout) {
  util::CommandRequest request;
  request.argv = {"python3", PHOENIX_GOCD_YAML_PLUGIN, checkout.string()};
  auto ran = util::run_command(request);
  PluginResult result;
  if (!ran || ran->exit_code != 0) {
    result.errors.push_back("the YAML plugin failed: " + (ran ? ran->output : ran.error().message));
    return result;
  }
  auto document = util::parse_json(ran->output, "plugin");
  if (!document) {
    result.errors.push_back("the YAML plugin answered something that is not JSON");
    return result;
  }
  const cJSON* item = nullptr;
  cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(document->get(), "pipelines")) {
    PluginResult::Pipeline pipeline{util::json_string(item, "name").value_or(""),
                                    util::json_string(item, "group").value_or(""),
                                    util::json_string(item, "yaml").value_or(""),
                                    {}};
    const cJSON* upstream = nullptr;
    cJSON_ArrayForEach(upstream, cJSON_GetObjectItemCaseSensitive(item, "upstreams")) {
      if (cJSON_IsString(upstream)) pipeline.upstreams.emplace_back(upstream->valuestring);
    }
    result.pipelines.push_back(std::move(pipeline));
  }
  cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(document->get(), "errors")) {
    if (cJSON_IsString(item)) result.errors.emplace_back(item->valuestring);
  }
  return result;
}

// ---- Jenkins -----------------------------------------------------------------------------------

bool jenkins_folder(const std::string& xml) {
  const auto root = xml.find("<com.cloudbees.hudson.plugins.folder.Folder");
  return root != std::string::npos &&
         xml.find_first_not_of(" \t\r\n", xml.find("?>") == std::string::npos ? 0 : xml.find("?>") + 2) == root;
}

// "/job/a/job/b/config.xml" -> {"a/b", "/config.xml"}; the path outside any job -> {"", path}.
std::pair<std::string, std::string> jenkins_item(const std::string& path) {
  std::string name;
  std::size_t at = 0;
  while (path.compare(at, 5, "/job/") == 0) {
    const std::size_t end = path.find('/', at + 5);
    const std::string part = path.substr(at + 5, end == std::string::npos ? std::string::npos : end - at - 5);
    name += (name.empty() ? "" : "/") + part;
    if (end == std::string::npos) return {name, ""};
    at = end;
  }
  return {name, path.substr(at)};
}

// Jenkins.checkGoodName, which createItem applies before it trims the name: what it refuses.
std::optional<std::string> bad_job_name(const std::string& name) {
  if (name.empty()) return "No name is specified";
  const std::string trimmed(util::trim(name));
  if (trimmed == "." || trimmed == "..") return "\u201c" + trimmed + "\u201d is not an allowed name";
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool c1_control = c == 0xC2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) < 0xA0;
    if (c < 0x20 || c == 0x7F || c1_control) return "No control code is allowed";
    if (std::string_view("?*/\\%!@#$^&|<>[]:;").find(name[i]) != std::string_view::npos) {
      return std::string("\u2018") + name[i] + "\u2019 is an unsafe character";
    }
  }
  if (trimmed.ends_with('.')) return "A name cannot end with \u2018.\u2019";
  return std::nullopt;
}

std::string parent_of(const std::string& full_name) {
  const auto slash = full_name.rfind('/');
  return slash == std::string::npos ? "" : full_name.substr(0, slash);
}

class Fake {
 public:
  explicit Fake(Options options) : options_(std::move(options)) {}
  ~Fake() {
    for (auto& thread : updates_) thread.join();
  }
  Fake(const Fake&) = delete;
  Fake& operator=(const Fake&) = delete;

  void seed() {
    if (options_.seed.empty()) return;
    if (options_.kind == "gocd") {
      seed_gocd(options_.seed);
    } else {
      seed_jenkins(fs::path(options_.seed) / "jobs", "");
    }
  }

  Response handle(const Request& request) {
    std::lock_guard lock(mutex_);
    return options_.kind == "gocd" ? gocd(request) : jenkins(request);
  }

 private:
  // ---- GoCD ----

  struct Caller {
    bool admin = true;
    std::set<std::string> groups;  // the groups a group administrator administers
    bool administers(const std::string& group) const { return admin || groups.count(group) != 0; }
  };

  void seed_gocd(const fs::path& directory) {
    for (const auto& entry : fs::directory_iterator(directory)) {
      if (entry.path().filename() == "users.json") load_users(entry.path());
    }
    const auto parsed = run_yaml_plugin(directory);
    for (const auto& error : parsed.errors) std::fprintf(stderr, "seed: %s\n", error.c_str());
    for (const auto& pipeline : parsed.pipelines) pipelines_[pipeline.name] = {pipeline.yaml, pipeline.group, ""};
  }

  void load_users(const fs::path& file) {
    auto text = util::read_file(file);
    auto document = text ? util::parse_json(*text, file.string()) : Result<util::Json>(text.error());
    if (!document) return;
    const cJSON* user = nullptr;
    cJSON_ArrayForEach(user, document->get()) {
      Caller caller{false, {}};
      const cJSON* group = nullptr;
      cJSON_ArrayForEach(group, cJSON_GetObjectItemCaseSensitive(user, "groups")) {
        if (cJSON_IsString(group)) caller.groups.insert(group->valuestring);
      }
      users_[user->string] = caller;
    }
  }

  std::optional<Caller> gocd_caller(const Request& request) const {
    const auto header = request.header("authorization");
    if (!options_.token.empty() && util::to_lower(header.substr(0, 7)) == "bearer " &&
        header.substr(7) == options_.token) {
      return Caller{};
    }
    if (!options_.user.empty() && header == "Basic " + base64(options_.user + ":" + options_.password)) {
      const auto found = users_.find(options_.user);
      return found == users_.end() ? Caller{} : found->second;
    }
    return std::nullopt;
  }

  Response gocd(const Request& request) {
    const auto caller = gocd_caller(request);
    if (!caller) return gocd_error(401, "You are not authenticated!");
    const std::string accept = request.header("accept");
    const std::string prefix = "/go/api/admin/";
    if (request.path.rfind(prefix, 0) != 0) return gocd_error(404, "not found");
    const auto path = request.path.substr(prefix.size());
    const auto wrong_version = gocd_error(404, "The url you are trying to reach appears to be incorrect.");
    if (path == "security/system_admins" && request.method == "GET") {
      if (accept != "application/vnd.go.cd.v2+json") return wrong_version;
      if (!caller->admin) return gocd_error(403, "You are not authorized to perform this action.");
      util::Json body(cJSON_CreateObject());
      cJSON_AddArrayToObject(body.get(), "roles");
      cJSON_AddArrayToObject(body.get(), "users");
      return json(200, body, "application/vnd.go.cd.v2+json; charset=utf-8");
    }
    if (path == "pipeline_groups" && request.method == "GET") {
      if (accept != "application/vnd.go.cd.v1+json") return wrong_version;
      return json(200, pipeline_groups(*caller), "application/vnd.go.cd.v1+json; charset=utf-8");
    }
    if (path.rfind("export/pipelines/", 0) == 0 && request.method == "GET") {
      if (accept != "application/vnd.go.cd.v1+json") return wrong_version;
      if (request.first("plugin_id") != "yaml.config.plugin") return gocd_error(422, "Unknown plugin_id");
      const auto name = path.substr(std::string("export/pipelines/").size());
      const auto found = pipelines_.find(name);
      if (found == pipelines_.end() || !caller->administers(found->second.group)) return gocd_error(404, kGocdNotFound);
      auto response = text(200, found->second.yaml, "application/x-yaml; charset=utf-8");
      response.headers.emplace_back("ETag", etag_of(found->second.yaml));
      return response;
    }
    if (path.rfind("config_repos", 0) == 0) {
      if (accept != "application/vnd.go.cd.v4+json") return wrong_version;
      if (!caller->admin) return gocd_error(403, "You are not authorized to perform this action.");
      return config_repos(request, path);
    }
    return gocd_error(404, "not found");
  }

  util::Json pipeline_groups(const Caller& caller) const {
    std::map<std::string, std::vector<std::string>> groups;
    for (const auto& [name, pipeline] : pipelines_) {
      if (caller.administers(pipeline.group)) groups[pipeline.group].push_back(name);
    }
    util::Json body(cJSON_CreateObject());
    cJSON* list = cJSON_AddArrayToObject(cJSON_AddObjectToObject(body.get(), "_embedded"), "groups");
    for (const auto& [group_name, names] : groups) {
      cJSON* group = cJSON_CreateObject();
      util::add_string(group, "name", group_name);
      cJSON* pipelines = cJSON_AddArrayToObject(group, "pipelines");
      for (const auto& name : names) {
        cJSON* pipeline = cJSON_CreateObject();
        util::add_string(pipeline, "name", name);
        cJSON_AddItemToArray(pipelines, pipeline);
      }
      cJSON_AddItemToArray(list, group);
    }
    return body;
  }

  Response config_repos(const Request& request, const std::string& path) {
    const auto parts = util::split(path, '/');  // config_repos[/<id>[/trigger_update]]
    const std::string id = parts.size() > 1 ? parts[1] : "";
    if (parts.size() == 3 && parts[2] == "trigger_update" && request.method == "POST") {
      if (request.header("x-gocd-confirm") != "true") {
        return gocd_error(400, "Missing required header 'X-GoCD-Confirm' with value 'true'");
      }
      const auto found = repos_.find(id);
      if (found == repos_.end()) return gocd_error(404, kGocdNotFound);
      if (found->second.update_in_progress) return gocd_error(409, "Update already in progress.");
      schedule_update(id);
      return gocd_error(201, "OK");
    }
    if (parts.size() > 2) return gocd_error(404, "not found");
    if (request.method == "GET" && !id.empty()) {
      const auto found = repos_.find(id);
      if (found == repos_.end()) return gocd_error(404, kGocdNotFound);
      auto response = json(200, repo_json(found->second), "application/vnd.go.cd.v4+json; charset=utf-8");
      response.headers.emplace_back("ETag", found->second.etag());
      return response;
    }
    if ((request.method == "POST" && id.empty()) || (request.method == "PUT" && !id.empty())) {
      return save_config_repo(request, id);
    }
    return gocd_error(404, "not found");
  }

  Response save_config_repo(const Request& request, const std::string& id) {
    if (request.header("content-type").rfind("application/json", 0) != 0) return gocd_error(415, "JSON required");
    auto body = util::parse_json(request.body, "body");
    if (!body) return gocd_error(400, "invalid JSON");
    ConfigRepo repo;
    repo.id = util::json_string(body->get(), "id").value_or("");
    const cJSON* attributes =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body->get(), "material"), "attributes");
    repo.url = util::json_string(attributes, "url").value_or("");
    repo.branch = util::json_string(attributes, "branch").value_or("master");
    if (repo.id.empty() || repo.url.empty() ||
        util::json_string(body->get(), "plugin_id").value_or("") != "yaml.config.plugin") {
      return gocd_error(422, "id, plugin_id and material url are required");
    }
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(body->get(), "rules"))) {
      return gocd_error(422, "rules are required");
    }
    if (request.method == "POST" && repos_.count(repo.id) != 0) return gocd_error(422, "already exists");
    if (request.method == "PUT") {
      if (repos_.count(id) == 0) return gocd_error(404, kGocdNotFound);
      if (request.header("if-match") != repos_[id].etag()) return gocd_error(412, "Someone has modified the entity.");
      const auto& old = repos_[id];
      repo.parsed_revision = old.parsed_revision;
      repo.good_revision = old.good_revision;
      repo.error = old.error;
    }
    repos_[repo.id] = repo;
    schedule_update(repo.id);
    auto response = json(200, repo_json(repos_[repo.id]), "application/vnd.go.cd.v4+json; charset=utf-8");
    response.headers.emplace_back("ETag", repo.etag());
    return response;
  }

  util::Json repo_json(const ConfigRepo& repo) const {
    util::Json body(cJSON_CreateObject());
    util::add_string(body.get(), "id", repo.id);
    util::add_string(body.get(), "plugin_id", "yaml.config.plugin");
    cJSON* material = cJSON_AddObjectToObject(body.get(), "material");
    util::add_string(material, "type", "git");
    cJSON* attributes = cJSON_AddObjectToObject(material, "attributes");
    util::add_string(attributes, "url", repo.url);
    util::add_string(attributes, "branch", repo.branch);
    cJSON_AddArrayToObject(body.get(), "configuration");
    cJSON_AddArrayToObject(body.get(), "rules");
    util::add_bool(body.get(), "material_update_in_progress", repo.update_in_progress);
    cJSON* info = cJSON_AddObjectToObject(body.get(), "parse_info");
    const auto modification = [&](const char* name, const std::string& revision) {
      if (revision.empty()) {
        cJSON_AddNullToObject(info, name);
        return;
      }
      cJSON* item = cJSON_AddObjectToObject(info, name);
      util::add_string(item, "username", "phoenix-tests <phoenix@localhost>");
      util::add_string(item, "revision", revision);
      util::add_string(item, "comment", "ci-config backup");
    };
    modification("latest_parsed_modification", repo.parsed_revision);
    modification("good_modification", repo.good_revision);
    if (repo.error.empty()) {
      cJSON_AddNullToObject(info, "error");
    } else {
      util::add_string(info, "error", repo.error);
    }
    return body;
  }

  // GoCD fetches and parses in the background; the API answers meanwhile.
  void schedule_update(const std::string& id) {
    repos_[id].update_in_progress = true;
    updates_.emplace_back([this, id] {
      std::this_thread::sleep_for(kMaterialUpdateDelay);
      update_config_repo(id);
    });
  }

  void update_config_repo(const std::string& id) {
    std::string url;
    std::string branch;
    {
      std::lock_guard lock(mutex_);
      url = repos_[id].url;
      branch = repos_[id].branch;
    }
    char pattern[] = "/tmp/phoenix-ci-fake-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return finish_update(id, "", {}, {"cannot create a temporary directory"});
    const fs::path checkout = fs::path(pattern) / "repo";
    util::CommandRequest clone;
    clone.argv = {"git", "clone", "-q", "--depth", "1", "-b", branch, url, checkout.string()};
    clone.capture_stderr = true;
    auto cloned = util::run_command(clone);
    std::string revision;
    PluginResult parsed;
    if (!cloned || cloned->exit_code != 0) {
      parsed.errors.push_back("cannot clone " + url + ": " + (cloned ? cloned->output : cloned.error().message));
    } else {
      util::CommandRequest head;
      head.argv = {"git", "-C", checkout.string(), "rev-parse", "HEAD"};
      auto ran = util::run_command(head);
      revision = ran && ran->exit_code == 0 ? std::string(util::trim(ran->output)) : "";
      parsed = run_yaml_plugin(checkout);
    }
    std::error_code ec;
    fs::remove_all(pattern, ec);
    finish_update(id, revision, parsed.pipelines, parsed.errors);
  }

  // What GoCD checks of a repository's pipelines against the rest of the server.
  std::vector<std::string> server_errors(const std::string& id, const std::vector<PluginResult::Pipeline>& pipelines) {
    std::vector<std::string> errors;
    std::set<std::string> defined;
    for (const auto& pipeline : pipelines) defined.insert(pipeline.name);
    for (const auto& pipeline : pipelines) {
      const auto found = pipelines_.find(pipeline.name);
      if (found != pipelines_.end() && found->second.origin != id) {
        const std::string where =
            found->second.origin.empty() ? "cruise-config.xml" : "config repository " + found->second.origin;
        errors.push_back("You have defined multiple pipelines named '" + pipeline.name +
                         "'. Pipeline names must be unique. Source(s): [" + where + ", config repository " + id + "]");
      }
      for (const auto& upstream : pipeline.upstreams) {
        const auto elsewhere = pipelines_.find(upstream);
        if (defined.count(upstream) == 0 && (elsewhere == pipelines_.end() || elsewhere->second.origin == id)) {
          errors.push_back("Pipeline '" + upstream + "' does not exist. It is used from pipeline '" + pipeline.name +
                           "'.");
        }
      }
    }
    return errors;
  }

  void finish_update(const std::string& id, const std::string& revision,
                     const std::vector<PluginResult::Pipeline>& pipelines, std::vector<std::string> errors) {
    std::lock_guard lock(mutex_);
    auto& repo = repos_[id];
    repo.update_in_progress = false;
    if (revision.empty()) {  // the material could not be fetched: nothing was parsed
      std::fprintf(stderr, "config repo %s: %s\n", id.c_str(), util::join(errors, "; ").c_str());
      return;
    }
    if (errors.empty()) errors = server_errors(id, pipelines);
    repo.parsed_revision = revision;
    if (!errors.empty()) {
      repo.error = std::to_string(errors.size()) + "+ errors :: " + util::join(errors, ";; ");
      return;  // the pipelines of the last good revision stay
    }
    repo.error.clear();
    repo.good_revision = revision;
    std::erase_if(pipelines_, [&](const auto& entry) { return entry.second.origin == id; });
    for (const auto& pipeline : pipelines) pipelines_[pipeline.name] = {pipeline.yaml, pipeline.group, id};
  }

  // ---- Jenkins ----

  void seed_jenkins(const fs::path& jobs, const std::string& folder) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(jobs, ec)) {
      auto xml = util::read_file(entry.path() / "config.xml");
      if (!xml) continue;
      const std::string name = (folder.empty() ? "" : folder + "/") + entry.path().filename().string();
      jobs_[name] = *xml;
      if (jenkins_folder(*xml)) seed_jenkins(entry.path() / "jobs", name);
    }
  }

  util::Json job_list(const std::string& folder) const {
    util::Json body(cJSON_CreateObject());
    const auto found = jobs_.find(folder);
    const bool is_folder = folder.empty() || jenkins_folder(found->second);
    util::add_string(body.get(), "_class",
                     folder.empty() ? "hudson.model.Hudson"
                                    : (is_folder ? kFolderClass : "org.jenkinsci.plugins.workflow.job.WorkflowJob"));
    if (!is_folder) return body;
    cJSON* jobs = cJSON_AddArrayToObject(body.get(), "jobs");
    for (const auto& [name, xml] : jobs_) {
      if (parent_of(name) != folder) continue;
      cJSON* job = cJSON_CreateObject();
      util::add_string(job, "_class",
                       jenkins_folder(xml) ? kFolderClass : "org.jenkinsci.plugins.workflow.job.WorkflowJob");
      util::add_string(job, "name", folder.empty() ? name : name.substr(folder.size() + 1));
      cJSON_AddItemToArray(jobs, job);
    }
    return body;
  }

  Response jenkins(const Request& request) {
    if (request.header("authorization") != "Basic " + base64(options_.user + ":" + options_.password)) {
      return text(403, "Authentication required\n");
    }
    const auto [item, rest] = jenkins_item(request.path);
    const bool exists = item.empty() || jobs_.count(item) != 0;
    if (!exists) return text(404, "Not Found\n");
    if (rest == "/api/json" && request.method == "GET") return json(200, job_list(item));
    if (rest == "/createItem" && request.method == "POST") {
      if (!item.empty() && !jenkins_folder(jobs_[item])) return text(404, "Not Found\n");
      if (request.header("content-type").rfind("application/xml", 0) != 0) return text(415, "XML required\n");
      if (request.query.count("name") == 0) return text(400, "Query parameter 'name' is required\n");
      if (auto refused = bad_job_name(request.first("name"))) return text(400, *refused + "\n");
      const std::string name(util::trim(request.first("name")));
      const std::string full_name = item.empty() ? name : item + "/" + name;
      if (jobs_.count(full_name) != 0) return text(400, "A job already exists with the name '" + name + "'\n");
      jobs_[full_name] = request.body;
      return text(200, "");
    }
    if (rest == "/config.xml" && !item.empty()) {
      if (request.method == "GET") return text(200, jobs_[item], "application/xml");
      if (request.method == "POST") {
        if (request.header("content-type").rfind("application/xml", 0) != 0) return text(415, "XML required\n");
        jobs_[item] = request.body;
        return text(200, "");
      }
    }
    return text(404, "Not Found\n");
  }

  Options options_;
  std::mutex mutex_;
  std::map<std::string, GocdPipeline> pipelines_;
  std::map<std::string, ConfigRepo> repos_;
  std::map<std::string, Caller> users_;  // group administrators; everyone else administers the server
  std::vector<std::thread> updates_;
  std::map<std::string, std::string> jobs_;  // full name -> config.xml
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  tools::Arguments arguments(
      "phoenix-ci-fake",
      "usage: phoenix-ci-fake --kind gocd|jenkins --port-file FILE [--token T] [--user U --password P] [--seed DIR]\n"
      "A contract fake of the GoCD or Jenkins endpoints ci-config uses, on 127.0.0.1 (tests only); writes its port\n"
      "to FILE. --seed loads GoCD pipelines from DIR/*.gocd.yaml, or Jenkins jobs from DIR/jobs/*/config.xml.\n");
  arguments.choice("--kind", options.kind, {"gocd", "jenkins"}, true)
      .text("--port-file", options.port_file, true)
      .text("--token", options.token)
      .text("--user", options.user)
      .text("--password", options.password)
      .text("--seed", options.seed);
  arguments.parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  Fake fake(options);
  fake.seed();
  const int listener = fakes::listen_on("127.0.0.1", 0);
  if (!util::write_file_atomic(options.port_file, std::to_string(fakes::bound_port(listener)) + "\n").ok()) return 1;
  fakes::accept_loop(listener, g_stop, [&fake](int client) {
    fakes::serve_connection(client, g_stop, [&fake](const Request& request) { return fake.handle(request); });
  });
  ::close(listener);
  return 0;
}
