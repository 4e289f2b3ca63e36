#include "shared/ci/ci_servers.hpp"

#include "shared/http/url.hpp"
#include "shared/util/json.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ci {

const char* to_string(System system) { return system == System::gocd ? "gocd" : "jenkins"; }

std::optional<System> parse_system(std::string_view text) {
  for (auto system : {System::gocd, System::jenkins}) {
    if (text == to_string(system)) return system;
  }
  return std::nullopt;
}

namespace {

constexpr const char* kGocdV1 = "application/vnd.go.cd.v1+json";
constexpr const char* kGocdConfigRepos = "application/vnd.go.cd.v4+json";

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

Error http_error(const std::string& system, const HttpRequest& request, const HttpResponse& response) {
  const std::string what = request.method + " " + util::redact(request.url);
  if (response.status == 401 || response.status == 403) {
    const std::string hint = system == "GoCD" ? "set GOCD_TOKEN, or GOCD_USER and GOCD_PASSWORD"
                                              : "set JENKINS_USER and JENKINS_TOKEN (an API token)";
    return {ErrorKind::invalid,
            system + " refused the credentials (" + std::to_string(response.status) + " on " + what + "): " + hint};
  }
  const ErrorKind kind = response.status >= 500 ? ErrorKind::unavailable : ErrorKind::failed;
  return {kind, what + ": " + std::to_string(response.status) + " " + util::printable(util::trim(response.body), 200)};
}

// One request with the credentials already on it: a response that is not 404 and not a
// success becomes an error naming the system; 404 is left to the caller, who knows what it means.
Result<HttpResponse> perform(HttpClient& http, const std::string& system, HttpRequest request) {
  request.timeout = std::chrono::seconds(60);
  auto answers = http.perform({request});
  auto& answer = answers.front();
  if (!answer) return answer.error();
  if (answer->status >= 300 && answer->status != 404) return http_error(system, request, *answer);
  return std::move(*answer);
}

}  // namespace

GocdServer::GocdServer(HttpClient& http, std::string url, Credentials credentials)
    : http_(http), url_(without_trailing_slash(std::move(url))), credentials_(std::move(credentials)) {}

Result<HttpResponse> GocdServer::send(HttpRequest request, const std::string& accept) {
  request.headers.emplace_back("Accept", accept);
  if (!credentials_.bearer_token.empty()) {
    request.headers.emplace_back("Authorization", "bearer " + credentials_.bearer_token);
  } else {
    request.basic_user = credentials_.user;
    request.basic_password = credentials_.password;
  }
  return perform(http_, "GoCD", std::move(request));
}

Result<std::vector<std::string>> GocdServer::pipeline_names() {
  HttpRequest request;
  request.url = url_ + "/go/api/admin/pipeline_groups";
  auto answer = send(request, kGocdV1);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::invalid, "no GoCD API at " + util::redact(url_) + " (--url)"};
  auto document = util::parse_json(answer->body, "GoCD pipeline groups");
  if (!document) return Error{ErrorKind::unavailable, "GoCD answered pipeline_groups with something that is not JSON"};
  std::vector<std::string> names;
  const cJSON* groups =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(document->get(), "_embedded"), "groups");
  const cJSON* group = nullptr;
  cJSON_ArrayForEach(group, groups) {
    const cJSON* pipeline = nullptr;
    cJSON_ArrayForEach(pipeline, cJSON_GetObjectItemCaseSensitive(group, "pipelines")) {
      if (auto name = util::json_string(pipeline, "name")) names.push_back(*name);
    }
  }
  return names;
}

Result<std::string> GocdServer::export_pipeline(const std::string& name) {
  HttpRequest request;
  request.url = url_ + "/go/api/admin/export/pipelines/" + http::url_encode(name) + "?plugin_id=yaml.config.plugin";
  auto answer = send(request, kGocdV1);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::failed, "GoCD has no pipeline '" + name + "' to export"};
  return answer->body;
}

Result<std::optional<ConfigRepo>> GocdServer::config_repo(const std::string& id) {
  HttpRequest request;
  request.url = url_ + "/go/api/admin/config_repos/" + http::url_encode(id);
  auto answer = send(request, kGocdConfigRepos);
  if (!answer) return answer.error();
  if (answer->status == 404) return std::optional<ConfigRepo>{};
  auto document = util::parse_json(answer->body, "GoCD config repo");
  if (!document) return Error{ErrorKind::unavailable, "GoCD answered config_repos with something that is not JSON"};
  ConfigRepo repo;
  repo.id = id;
  const cJSON* attributes =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(document->get(), "material"), "attributes");
  repo.url = util::json_string(attributes, "url").value_or("");
  repo.branch = util::json_string(attributes, "branch").value_or("");
  repo.etag = answer->header("etag");
  return std::optional<ConfigRepo>(repo);
}

namespace {
std::string config_repo_body(const ConfigRepo& repo) {
  util::Json body(cJSON_CreateObject());
  util::add_string(body.get(), "id", repo.id);
  util::add_string(body.get(), "plugin_id", "yaml.config.plugin");
  cJSON* material = cJSON_AddObjectToObject(body.get(), "material");
  util::add_string(material, "type", "git");
  cJSON* attributes = cJSON_AddObjectToObject(material, "attributes");
  util::add_string(attributes, "url", repo.url);
  util::add_string(attributes, "branch", repo.branch);
  util::add_bool(attributes, "auto_update", true);
  cJSON_AddArrayToObject(body.get(), "configuration");
  // Rules are required since GoCD 20.2: let the repository define pipelines in any group.
  cJSON* rule = cJSON_CreateObject();
  util::add_string(rule, "directive", "allow");
  util::add_string(rule, "action", "refer");
  util::add_string(rule, "type", "pipeline_group");
  util::add_string(rule, "resource", "*");
  cJSON_AddItemToArray(cJSON_AddArrayToObject(body.get(), "rules"), rule);
  return util::print_json(body.get());
}
}  // namespace

Status GocdServer::create_config_repo(const ConfigRepo& repo) {
  HttpRequest request;
  request.method = "POST";
  request.url = url_ + "/go/api/admin/config_repos";
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = config_repo_body(repo);
  auto answer = send(request, kGocdConfigRepos);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::invalid, "no GoCD config repository API at " + util::redact(url_)};
  return {};
}

Status GocdServer::update_config_repo(const ConfigRepo& repo) {
  HttpRequest request;
  request.method = "PUT";
  request.url = url_ + "/go/api/admin/config_repos/" + http::url_encode(repo.id);
  request.headers.emplace_back("Content-Type", "application/json");
  request.headers.emplace_back("If-Match", repo.etag);
  request.body = config_repo_body(repo);
  auto answer = send(request, kGocdConfigRepos);
  if (!answer) return answer.error();
  if (answer->status == 404) {
    return Error{ErrorKind::failed, "GoCD has no config repository '" + repo.id + "' to update (removed meanwhile?)"};
  }
  return {};
}

JenkinsServer::JenkinsServer(HttpClient& http, std::string url, Credentials credentials)
    : http_(http), url_(without_trailing_slash(std::move(url))), credentials_(std::move(credentials)) {}

Result<HttpResponse> JenkinsServer::send(HttpRequest request) {
  // API-token requests need no CSRF crumb; basic auth goes with the first request.
  request.basic_user = credentials_.user;
  request.basic_password = credentials_.password;
  return perform(http_, "Jenkins", std::move(request));
}

Result<std::vector<std::string>> JenkinsServer::job_names() {
  HttpRequest request;
  request.url = url_ + "/api/json?tree=" + http::url_encode("jobs[name]");
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::invalid, "no Jenkins API at " + util::redact(url_) + " (--url)"};
  auto document = util::parse_json(answer->body, "Jenkins jobs");
  if (!document) return Error{ErrorKind::unavailable, "Jenkins answered /api/json with something that is not JSON"};
  std::vector<std::string> names;
  const cJSON* job = nullptr;
  cJSON_ArrayForEach(job, cJSON_GetObjectItemCaseSensitive(document->get(), "jobs")) {
    if (auto name = util::json_string(job, "name")) names.push_back(*name);
  }
  return names;
}

Result<std::optional<std::string>> JenkinsServer::job_config(const std::string& name) {
  HttpRequest request;
  request.url = url_ + "/job/" + http::url_encode(name) + "/config.xml";
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) return std::optional<std::string>{};
  return std::optional<std::string>(answer->body);
}

Status JenkinsServer::create_job(const std::string& name, const std::string& xml) {
  HttpRequest request;
  request.method = "POST";
  request.url = url_ + "/createItem?name=" + http::url_encode(name);
  request.headers.emplace_back("Content-Type", "application/xml");
  request.body = xml;
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::failed, "Jenkins could not create job '" + name + "'"};
  return {};
}

Status JenkinsServer::update_job(const std::string& name, const std::string& xml) {
  HttpRequest request;
  request.method = "POST";
  request.url = url_ + "/job/" + http::url_encode(name) + "/config.xml";
  request.headers.emplace_back("Content-Type", "application/xml");
  request.body = xml;
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::failed, "Jenkins has no job '" + name + "' to update"};
  return {};
}

}  // namespace phoenix::ci
