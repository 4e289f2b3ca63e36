#include "shared/ci/ci_servers.hpp"

#include <algorithm>

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
constexpr const char* kGocdSystemAdmins = "application/vnd.go.cd.v2+json";
constexpr const char* kGocdConfigRepos = "application/vnd.go.cd.v4+json";
constexpr const char* kJenkinsFolder = "com.cloudbees.hudson.plugins.folder.Folder";
constexpr int kMaxApiFolderDepth = 10;

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

const char* display_name(System system) { return system == System::gocd ? "GoCD" : "Jenkins"; }

Error http_error(System system, const HttpRequest& request, const HttpResponse& response) {
  const std::string what = request.method + " " + util::redact_url(request.url);
  if (response.status == 401 || response.status == 403) {
    const std::string hint = system == System::gocd ? "set GOCD_TOKEN, or GOCD_USER and GOCD_PASSWORD"
                                                    : "set JENKINS_USER and JENKINS_TOKEN (an API token)";
    return {ErrorKind::invalid, std::string(display_name(system)) + " refused the credentials (" +
                                    std::to_string(response.status) + " on " + what + "): " + hint};
  }
  const ErrorKind kind = response.status >= 500 ? ErrorKind::unavailable : ErrorKind::failed;
  return {kind, what + ": " + std::to_string(response.status) + " " + util::printable(util::trim(response.body), 200)};
}

// One request with the credentials already on it: a response that is not a success and not
// one of `answers` becomes an error naming the system; those are left to the caller, who
// knows what they mean (404 by default).
Result<HttpResponse> perform(HttpClient& http, System system, HttpRequest request,
                             std::initializer_list<long> answers = {404}) {
  request.timeout = std::chrono::seconds(60);
  auto responses = http.perform({request});
  auto& response = responses.front();
  if (!response) return response.error();
  const bool expected = std::find(answers.begin(), answers.end(), response->status) != answers.end();
  if (response->status >= 300 && !expected) return http_error(system, request, *response);
  return std::move(*response);
}

}  // namespace

GocdServer::GocdServer(HttpClient& http, std::string url, Credentials credentials)
    : http_(http), url_(without_trailing_slash(std::move(url))), credentials_(std::move(credentials)) {}

Result<HttpResponse> GocdServer::send(HttpRequest request, const std::string& accept,
                                      std::initializer_list<long> answers) {
  request.headers.emplace_back("Accept", accept);
  if (!credentials_.bearer_token.empty()) {
    request.headers.emplace_back("Authorization", "bearer " + credentials_.bearer_token);
  } else {
    request.basic_user = credentials_.user;
    request.basic_password = credentials_.password;
  }
  return perform(http_, System::gocd, std::move(request), answers);
}

Result<std::vector<std::string>> GocdServer::pipeline_names() {
  HttpRequest request;
  request.url = url_ + "/go/api/admin/pipeline_groups";
  auto answer = send(request, kGocdV1);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::invalid, "no GoCD API at " + util::redact_url(url_) + " (--url)"};
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
  if (answer->status == 404) {
    return Error{ErrorKind::invalid, "no GoCD config repository API at " + util::redact_url(url_)};
  }
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

Result<ConfigRepoParse> GocdServer::config_repo_parse(const std::string& id) {
  HttpRequest request;
  request.url = url_ + "/go/api/admin/config_repos/" + http::url_encode(id);
  auto answer = send(request, kGocdConfigRepos);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::failed, "GoCD has no config repository '" + id + "'"};
  auto document = util::parse_json(answer->body, "GoCD config repo");
  if (!document) return Error{ErrorKind::unavailable, "GoCD answered config_repos with something that is not JSON"};
  ConfigRepoParse parse;
  const cJSON* in_progress = cJSON_GetObjectItemCaseSensitive(document->get(), "material_update_in_progress");
  parse.update_in_progress = cJSON_IsTrue(in_progress);
  const cJSON* info = cJSON_GetObjectItemCaseSensitive(document->get(), "parse_info");
  const auto revision = [&](const char* name) {
    return util::json_string(cJSON_GetObjectItemCaseSensitive(info, name), "revision").value_or("");
  };
  parse.parsed_revision = revision("latest_parsed_modification");
  parse.good_revision = revision("good_modification");
  parse.error = util::json_string(info, "error").value_or("");
  return parse;
}

Status GocdServer::trigger_config_repo_update(const std::string& id) {
  HttpRequest request;
  request.method = "POST";
  request.url = url_ + "/go/api/admin/config_repos/" + http::url_encode(id) + "/trigger_update";
  request.headers.emplace_back("X-GoCD-Confirm", "true");
  auto answer = send(request, kGocdConfigRepos, {404, 409});
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::failed, "GoCD has no config repository '" + id + "'"};
  return {};  // 201, or 409 when an update is already running: either way one is coming
}

Result<bool> GocdServer::sees_every_pipeline() {
  HttpRequest request;
  request.url = url_ + "/go/api/admin/security/system_admins";
  auto answer = send(request, kGocdSystemAdmins, {403, 404});
  if (!answer) return answer.error();
  return answer->status < 300;
}

JenkinsServer::JenkinsServer(HttpClient& http, std::string url, Credentials credentials)
    : http_(http), url_(without_trailing_slash(std::move(url))), credentials_(std::move(credentials)) {}

Result<HttpResponse> JenkinsServer::send(HttpRequest request) {
  // API-token requests need no CSRF crumb; basic auth goes with the first request.
  request.basic_user = credentials_.user;
  request.basic_password = credentials_.password;
  return perform(http_, System::jenkins, std::move(request));
}

std::string JenkinsServer::job_url(const std::string& full_name) const {
  std::string url = url_;
  for (const auto& part : util::split(full_name, '/')) url += "/job/" + http::url_encode(part);
  return url;
}

Status JenkinsServer::list_jobs(const std::string& folder, int depth, std::vector<std::string>& names) {
  HttpRequest request;
  request.url = (folder.empty() ? url_ : job_url(folder)) + "/api/json?tree=" + http::url_encode("jobs[name]");
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) {
    if (folder.empty()) return Error{ErrorKind::invalid, "no Jenkins API at " + util::redact_url(url_) + " (--url)"};
    return Error{ErrorKind::failed, "Jenkins folder '" + folder + "' disappeared while it was read"};
  }
  auto document = util::parse_json(answer->body, "Jenkins jobs");
  if (!document) return Error{ErrorKind::unavailable, "Jenkins answered /api/json with something that is not JSON"};
  const cJSON* job = nullptr;
  cJSON_ArrayForEach(job, cJSON_GetObjectItemCaseSensitive(document->get(), "jobs")) {
    const auto name = util::json_string(job, "name");
    if (!name) continue;
    const std::string full_name = folder.empty() ? *name : folder + "/" + *name;
    names.push_back(full_name);
    // Only plain folders: a multibranch project's jobs are made by Jenkins from its branches.
    if (util::json_string(job, "_class").value_or("") == kJenkinsFolder) {
      if (depth >= kMaxApiFolderDepth) {
        return Error{ErrorKind::failed, "Jenkins folders nest deeper than " + std::to_string(kMaxApiFolderDepth) +
                                            " levels at '" + full_name + "'"};
      }
      PHX_TRY(list_jobs(full_name, depth + 1, names));
    }
  }
  return {};
}

Result<std::vector<std::string>> JenkinsServer::job_names() {
  std::vector<std::string> names;
  PHX_TRY(list_jobs("", 0, names));
  return names;
}

Result<std::optional<std::string>> JenkinsServer::job_config(const std::string& full_name) {
  HttpRequest request;
  request.url = job_url(full_name) + "/config.xml";
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) return std::optional<std::string>{};
  return std::optional<std::string>(answer->body);
}

Status JenkinsServer::create_job(const std::string& full_name, const std::string& xml) {
  const auto slash = full_name.rfind('/');
  const std::string folder = slash == std::string::npos ? "" : full_name.substr(0, slash);
  const std::string name = slash == std::string::npos ? full_name : full_name.substr(slash + 1);
  HttpRequest request;
  request.method = "POST";
  request.url = (folder.empty() ? url_ : job_url(folder)) + "/createItem?name=" + http::url_encode(name);
  request.headers.emplace_back("Content-Type", "application/xml");
  request.body = xml;
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) {
    return Error{ErrorKind::failed, "Jenkins could not create job '" + full_name + "'" +
                                        (folder.empty() ? "" : " (no folder '" + folder + "')")};
  }
  return {};
}

Status JenkinsServer::update_job(const std::string& full_name, const std::string& xml) {
  HttpRequest request;
  request.method = "POST";
  request.url = job_url(full_name) + "/config.xml";
  request.headers.emplace_back("Content-Type", "application/xml");
  request.body = xml;
  auto answer = send(request);
  if (!answer) return answer.error();
  if (answer->status == 404) return Error{ErrorKind::failed, "Jenkins has no job '" + full_name + "' to update"};
  return {};
}

}  // namespace phoenix::ci
