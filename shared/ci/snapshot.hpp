#pragma once
// A CI server's configuration as files (relative path -> content), compared and summarised
// for a commit. Pure functions.

#include <map>
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

// Where each kind of file lives in the backup repository.
std::string gocd_pipeline_path(std::string_view name);  // gocd/pipelines/<name>.gocd.yaml
std::string jenkins_job_path(std::string_view name);    // jenkins/jobs/<name>/config.xml
inline constexpr std::string_view kGocdPipelinesDir = "gocd/pipelines";
inline constexpr std::string_view kGocdServerDir = "gocd/server";
inline constexpr std::string_view kJenkinsJobsDir = "jenkins/jobs";

// Jenkins job XML with clear-text secrets (password, secret, token, passphrase elements whose
// value is not Jenkins' encrypted "{...}" form) replaced by "****". `masked` counts them.
std::string mask_clear_secrets(std::string_view xml, int& masked);

// A name that is safe as a file name and as a URL path segment: [A-Za-z0-9._-], not "." or "..".
bool safe_name(std::string_view name);

}  // namespace phoenix::ci
