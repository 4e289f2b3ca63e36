#pragma once
// The parts of the GoCD and Jenkins REST APIs that backup and restore use (see
// ../shared/reference/ci-servers.md), over HttpClient.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/http_client.hpp"

namespace phoenix::ci {

// The CI servers Phoenix integrates with.
enum class System { gocd, jenkins };
const char* to_string(System system);  // "gocd", "jenkins"
std::optional<System> parse_system(std::string_view text);

struct Credentials {
  std::string bearer_token;  // GoCD: GOCD_TOKEN
  std::string user;          // GoCD: GOCD_USER; Jenkins: JENKINS_USER
  std::string password;      // GoCD: GOCD_PASSWORD; Jenkins: JENKINS_TOKEN (an API token)
};

struct ConfigRepo {
  std::string id;
  std::string url;
  std::string branch;
  std::string etag;  // from GET, sent back as If-Match on update
};

class GocdServer {
 public:
  GocdServer(HttpClient& http, std::string url, Credentials credentials);

  Result<std::vector<std::string>> pipeline_names();
  // The pipeline exported as gocd-yaml-config-plugin YAML.
  Result<std::string> export_pipeline(const std::string& name);
  Result<std::optional<ConfigRepo>> config_repo(const std::string& id);
  Status create_config_repo(const ConfigRepo& repo);
  Status update_config_repo(const ConfigRepo& repo);

 private:
  Result<HttpResponse> send(HttpRequest request, const std::string& accept);

  HttpClient& http_;
  std::string url_;
  Credentials credentials_;
};

class JenkinsServer {
 public:
  JenkinsServer(HttpClient& http, std::string url, Credentials credentials);

  Result<std::vector<std::string>> job_names();
  Result<std::optional<std::string>> job_config(const std::string& name);
  Status create_job(const std::string& name, const std::string& xml);
  Status update_job(const std::string& name, const std::string& xml);

 private:
  Result<HttpResponse> send(HttpRequest request);

  HttpClient& http_;
  std::string url_;
  Credentials credentials_;
};

}  // namespace phoenix::ci
