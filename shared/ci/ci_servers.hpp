#pragma once
// The parts of the GoCD and Jenkins REST APIs that backup and restore use, over HttpClient.

#include <initializer_list>
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

// How far GoCD got with a config repository: it clones and parses asynchronously, after a
// repository is registered or changed and whenever its material polls.
struct ConfigRepoParse {
  bool update_in_progress = false;  // material_update_in_progress
  std::string parsed_revision;      // parse_info.latest_parsed_modification.revision ("" if none yet)
  std::string good_revision;        // parse_info.good_modification.revision
  std::string error;                // parse_info.error of the latest parse ("" when it succeeded)
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
  Result<ConfigRepoParse> config_repo_parse(const std::string& id);
  // Asks GoCD to fetch and parse the repository now rather than at its next poll.
  Status trigger_config_repo_update(const std::string& id);
  // Whether the credentials are a system administrator's, who sees every pipeline group. A
  // group administrator sees only the groups they administer.
  Result<bool> sees_every_pipeline();

 private:
  // `answers`: statuses the caller interprets; any other failure is an error.
  Result<HttpResponse> send(HttpRequest request, const std::string& accept,
                            std::initializer_list<long> answers = {404});

  HttpClient& http_;
  std::string url_;
  Credentials credentials_;
};

// Jobs are named by their full name: "team/web-create" is the job web-create in the folder team.
class JenkinsServer {
 public:
  JenkinsServer(HttpClient& http, std::string url, Credentials credentials);

  // Every job the credentials can read, folders and the jobs inside them (folders first).
  Result<std::vector<std::string>> job_names();
  Result<std::optional<std::string>> job_config(const std::string& full_name);
  // Creates the job in its folder, which must exist.
  Status create_job(const std::string& full_name, const std::string& xml);
  Status update_job(const std::string& full_name, const std::string& xml);

 private:
  Result<HttpResponse> send(HttpRequest request);
  std::string job_url(const std::string& full_name) const;
  Status list_jobs(const std::string& folder, int depth, std::vector<std::string>& names);

  HttpClient& http_;
  std::string url_;
  Credentials credentials_;
};

}  // namespace phoenix::ci
