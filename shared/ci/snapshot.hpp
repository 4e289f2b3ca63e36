#pragma once
// A CI server's configuration as files (relative path -> content), compared and summarised
// for a commit. Pure functions.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::ci {

using Snapshot = std::map<std::string, std::string>;

struct SnapshotChange {
  std::vector<std::string> added;
  std::vector<std::string> modified;
  std::vector<std::string> removed;
  bool empty() const { return added.empty() && modified.empty() && removed.empty(); }
};

SnapshotChange diff(const Snapshot& before, const Snapshot& after);

// "ci-config backup from gocd https://ci.example/go: 1 added, 2 changed, 0 removed" and the
// files, one per line.
std::string commit_message(const std::string& source, const SnapshotChange& change);

// Where each kind of file lives in the backup repository. A Jenkins job's full name has its
// folders ("team/web-create"); the repository mirrors JENKINS_HOME's layout:
// jenkins/jobs/team/config.xml (the folder) and jenkins/jobs/team/jobs/web-create/config.xml.
// Jenkins allows more in a name than a file name should hold (spaces, quotes, non-ASCII), so
// each part is stored as job_file_name() gives it.
std::string gocd_pipeline_path(std::string_view name);  // gocd/pipelines/<name>.gocd.yaml
// jenkins/jobs/<a>/jobs/<b>/config.xml; nothing when a part of the name cannot be stored.
std::optional<std::string> jenkins_job_path(std::string_view full_name);
// The full name of the job whose config.xml is at `path`; nothing when `path` is not one or a
// part of it is not a job_file_name().
std::optional<std::string> jenkins_job_name(std::string_view path);

// One part of a job's name as a file name: every byte outside [A-Za-z0-9._-] percent-encoded
// ("my job" -> "my%20job"; Jenkins forbids '%' in names), so the name reads back unchanged.
// Nothing when the name cannot be a file name at all: empty, "." or "..", or longer encoded
// than a file name may be (255 bytes).
std::optional<std::string> job_file_name(std::string_view name);
// The name `file` is the job_file_name() of; nothing when it is not one.
std::optional<std::string> job_name_of_file(std::string_view file);
inline constexpr std::string_view kGocdPipelinesDir = "gocd/pipelines";
inline constexpr std::string_view kGocdServerDir = "gocd/server";
inline constexpr std::string_view kJenkinsJobsDir = "jenkins/jobs";

// A Jenkins folder (the Folders plugin's item holding other jobs), judged by its config.xml.
bool is_jenkins_folder(std::string_view config_xml);

// The mask every clear-text secret is replaced with.
inline constexpr std::string_view kSecretMask = "****";

// Jenkins job XML with clear-text secrets (password, secret, token, passphrase elements whose
// value is not Jenkins' encrypted "{...}" form) replaced by "****". `masked` counts them.
std::string mask_clear_secrets(std::string_view xml, int& masked);

// cruise-config.xml with every secret GoCD's schema names replaced by "****": the clear-text
// attributes agentAutoRegisterKey, webhookSecret, tokenGenerationKey and password, the value of
// a variable marked secure, and encryptedPassword attributes and encryptedValue elements that
// are not encrypted with the server's key ("AES:..."; those stay, cipher.aes is kept apart).
// `masked` counts them.
std::string mask_gocd_secrets(std::string_view xml, int& masked);

// Where `content` (a file about to be committed) still holds something that is a secret by
// its form, as "line N: <what>": a private key, credentials in a URL, a clear GoCD secret
// attribute or unencrypted value, a clear Jenkins secret element, a GitHub, GitLab, Slack or
// AWS access token. Nothing when it holds none.
std::optional<std::string> find_known_secret(std::string_view content, bool xml);

// Jenkins restore: `backup` (a job's config.xml with masked secrets) with each "****" secret
// element replaced by the server's value of the element at the same place in `server` (the
// element path and its rank there), so a restore never writes a mask over a real secret. A
// place the server masks too stays masked. `missing` names the places the server has no
// value for: writing the job could drop a secret the server keeps elsewhere, so it must not be.
struct SecretMerge {
  std::string xml;
  int kept = 0;
  std::vector<std::string> missing;
};
SecretMerge keep_server_secrets(std::string_view backup, std::string_view server);
// How many secret elements of a Jenkins config.xml hold the mask.
int masked_secret_count(std::string_view xml);

// A name that is safe as a file name and as a URL path segment: [A-Za-z0-9._-], not "." or "..".
bool safe_name(std::string_view name);

}  // namespace phoenix::ci
