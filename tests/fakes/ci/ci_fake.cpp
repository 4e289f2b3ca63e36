// phoenix-ci-fake: contract fakes of the GoCD and Jenkins REST endpoints that
// `deploy-pipeline ci-config` uses, written from their public API documentation (see
// ../shared/reference/ci-servers.md), for tests only.
//
//   phoenix-ci-fake --kind gocd|jenkins --port-file FILE [--token T] [--user U --password P]
//                   [--seed DIR]
//
// GoCD: bearer or basic auth (401 otherwise); versioned Accept headers (404 for a wrong one,
// as GoCD does); GET pipeline_groups; GET export/pipelines/<name>?plugin_id=yaml.config.plugin
// (YAML with an ETag); GET/POST/PUT config_repos (v4; rules required; PUT needs If-Match with
// the current ETag, else 412). Registering a config repository clones it with git and loads
// every *.gocd.yaml file in it, one pipeline per file, as GoCD's YAML plugin would.
// Jenkins: basic auth with an API token, sent pre-emptively (403 otherwise); GET
// /api/json?tree=jobs[name]; GET/POST /job/<name>/config.xml; POST /createItem?name=<name>.
// --seed loads GoCD pipelines from DIR/*.gocd.yaml, or Jenkins jobs from DIR/jobs/*/config.xml.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <string>

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

// The pipeline names a gocd-yaml-config-plugin file defines (keys under "pipelines:").
std::vector<std::string> pipelines_in(const std::string& yaml) {
  std::vector<std::string> names;
  bool inside = false;
  static const std::regex key(R"(^  ([A-Za-z0-9_.-]+):\s*$)");
  for (const auto& line : util::split_lines(yaml)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') inside = line.rfind("pipelines:", 0) == 0;
    std::smatch match;
    if (inside && std::regex_match(line, match, key)) names.push_back(match[1]);
  }
  return names;
}

struct ConfigRepo {
  std::string id;
  std::string url;
  std::string branch;
  std::string etag() const { return etag_of(id + url + branch); }
};

class Fake {
 public:
  explicit Fake(Options options) : options_(std::move(options)) {}

  void seed() {
    if (options_.seed.empty()) return;
    if (options_.kind == "gocd") {
      for (const auto& entry : fs::directory_iterator(options_.seed)) load_gocd_file(entry.path());
    } else {
      for (const auto& entry : fs::directory_iterator(fs::path(options_.seed) / "jobs")) {
        auto xml = util::read_file(entry.path() / "config.xml");
        if (xml) jobs_[entry.path().filename().string()] = *xml;
      }
    }
  }

  Response handle(const Request& request) {
    std::lock_guard lock(mutex_);
    return options_.kind == "gocd" ? gocd(request) : jenkins(request);
  }

 private:
  void load_gocd_file(const fs::path& file) {
    if (!file.string().ends_with(".gocd.yaml")) return;
    auto yaml = util::read_file(file);
    if (!yaml) return;
    for (const auto& name : pipelines_in(*yaml)) pipelines_[name] = *yaml;
  }

  // What GoCD's YAML plugin does with a config repository: clone it, read every *.gocd.yaml.
  std::string load_config_repo(const ConfigRepo& repo) {
    char pattern[] = "/tmp/phoenix-ci-fake-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) return "cannot create a temporary directory";
    const fs::path checkout = fs::path(pattern) / "repo";
    util::CommandRequest clone;
    clone.argv = {"git", "clone", "-q", "--depth", "1", "-b", repo.branch, repo.url, checkout.string()};
    clone.capture_stderr = true;
    auto cloned = util::run_command(clone);
    std::string problem;
    if (!cloned || cloned->exit_code != 0) {
      problem = "cannot clone " + repo.url + ": " + (cloned ? cloned->output : cloned.error().message);
    } else {
      for (const auto& entry : fs::recursive_directory_iterator(checkout)) load_gocd_file(entry.path());
    }
    std::error_code ec;
    fs::remove_all(pattern, ec);
    return problem;
  }

  bool gocd_authorized(const Request& request) const {
    const auto header = request.header("authorization");
    if (!options_.token.empty() && util::to_lower(header) == "bearer " + util::to_lower(options_.token) &&
        header.substr(7) == options_.token) {
      return true;
    }
    return !options_.user.empty() && header == "Basic " + base64(options_.user + ":" + options_.password);
  }

  Response gocd(const Request& request) {
    if (!gocd_authorized(request)) return gocd_error(401, "You are not authenticated!");
    const std::string accept = request.header("accept");
    const std::string prefix = "/go/api/admin/";
    if (request.path.rfind(prefix, 0) != 0) return gocd_error(404, "not found");
    const auto path = request.path.substr(prefix.size());
    if (path == "pipeline_groups" && request.method == "GET") {
      if (accept != "application/vnd.go.cd.v1+json")
        return gocd_error(404, "The url you are trying to reach appears to be incorrect.");
      util::Json body(cJSON_CreateObject());
      cJSON* groups = cJSON_AddArrayToObject(cJSON_AddObjectToObject(body.get(), "_embedded"), "groups");
      cJSON* group = cJSON_CreateObject();
      util::add_string(group, "name", "default");
      cJSON* pipelines = cJSON_AddArrayToObject(group, "pipelines");
      for (const auto& [name, yaml] : pipelines_) {
        cJSON* pipeline = cJSON_CreateObject();
        util::add_string(pipeline, "name", name);
        cJSON_AddItemToArray(pipelines, pipeline);
      }
      cJSON_AddItemToArray(groups, group);
      return json(200, body, "application/vnd.go.cd.v1+json; charset=utf-8");
    }
    if (path.rfind("export/pipelines/", 0) == 0 && request.method == "GET") {
      if (accept != "application/vnd.go.cd.v1+json")
        return gocd_error(404, "The url you are trying to reach appears to be incorrect.");
      if (request.first("plugin_id") != "yaml.config.plugin") return gocd_error(422, "Unknown plugin_id");
      const auto name = path.substr(std::string("export/pipelines/").size());
      const auto found = pipelines_.find(name);
      if (found == pipelines_.end()) return gocd_error(404, "Pipeline '" + name + "' not found.");
      auto response = text(200, found->second, "application/x-yaml; charset=utf-8");
      response.headers.emplace_back("ETag", etag_of(found->second));
      return response;
    }
    if (path.rfind("config_repos", 0) == 0) {
      if (accept != "application/vnd.go.cd.v4+json")
        return gocd_error(404, "The url you are trying to reach appears to be incorrect.");
      const auto slash = path.find('/');
      const std::string id = slash == std::string::npos ? "" : path.substr(slash + 1);
      if (request.method == "GET" && !id.empty()) {
        const auto found = repos_.find(id);
        if (found == repos_.end()) return gocd_error(404, "Config repo '" + id + "' not found.");
        auto response = json(200, repo_json(found->second), "application/vnd.go.cd.v4+json; charset=utf-8");
        response.headers.emplace_back("ETag", found->second.etag());
        return response;
      }
      if ((request.method == "POST" && id.empty()) || (request.method == "PUT" && !id.empty())) {
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
          if (repos_.count(id) == 0) return gocd_error(404, "not found");
          if (request.header("if-match") != repos_[id].etag())
            return gocd_error(412, "Someone has modified the entity.");
        }
        repos_[repo.id] = repo;
        if (auto problem = load_config_repo(repo); !problem.empty()) return gocd_error(422, problem);
        auto response =
            json(request.method == "POST" ? 200 : 200, repo_json(repo), "application/vnd.go.cd.v4+json; charset=utf-8");
        response.headers.emplace_back("ETag", repo.etag());
        return response;
      }
    }
    return gocd_error(404, "not found");
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
    return body;
  }

  Response jenkins(const Request& request) {
    if (request.header("authorization") != "Basic " + base64(options_.user + ":" + options_.password)) {
      return text(403, "Authentication required\n");
    }
    if (request.path == "/api/json" && request.method == "GET") {
      util::Json body(cJSON_CreateObject());
      util::add_string(body.get(), "_class", "hudson.model.Hudson");
      cJSON* jobs = cJSON_AddArrayToObject(body.get(), "jobs");
      for (const auto& [name, xml] : jobs_) {
        cJSON* job = cJSON_CreateObject();
        util::add_string(job, "_class", "org.jenkinsci.plugins.workflow.job.WorkflowJob");
        util::add_string(job, "name", name);
        cJSON_AddItemToArray(jobs, job);
      }
      return json(200, body);
    }
    if (request.path == "/createItem" && request.method == "POST") {
      const auto name = request.first("name");
      if (request.header("content-type").rfind("application/xml", 0) != 0) return text(415, "XML required\n");
      if (name.empty()) return text(400, "Query parameter 'name' is required\n");
      if (jobs_.count(name) != 0) return text(400, "A job already exists with the name '" + name + "'\n");
      jobs_[name] = request.body;
      return text(200, "");
    }
    static const std::regex job(R"(^/job/([^/]+)/config\.xml$)");
    std::smatch match;
    if (std::regex_match(request.path, match, job)) {
      const std::string name = match[1];
      const auto found = jobs_.find(name);
      if (found == jobs_.end()) return text(404, "Not Found\n");
      if (request.method == "GET") return text(200, found->second, "application/xml");
      if (request.method == "POST") {
        if (request.header("content-type").rfind("application/xml", 0) != 0) return text(415, "XML required\n");
        found->second = request.body;
        return text(200, "");
      }
    }
    return text(404, "Not Found\n");
  }

  Options options_;
  std::mutex mutex_;
  std::map<std::string, std::string> pipelines_;  // name -> YAML
  std::map<std::string, ConfigRepo> repos_;
  std::map<std::string, std::string> jobs_;  // name -> config.xml
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
