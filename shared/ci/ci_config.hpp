#pragma once
// deploy-pipeline ci-config backup|restore: the CI server's pipeline configuration to git and
// back, so the CI server itself can be rebuilt. Secrets never enter the repository in clear.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shared/ci/ci_servers.hpp"
#include "shared/ci/snapshot.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::ci {

struct BackupOptions {
  System system = System::gocd;
  std::optional<std::string> url;            // the server's API, or
  std::optional<std::filesystem::path> dir;  // its own files (GoCD config dir, JENKINS_HOME)
  std::filesystem::path repo;
  // The backup is pushed whenever the repository has a remote; with this, a repository
  // without one is an error rather than a local-only backup.
  bool require_remote = false;
};

struct BackupResult {
  SnapshotChange change;
  bool committed = false;
  bool pushed = false;
  int masked_secrets = 0;
};

Result<BackupResult> backup(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                            const BackupOptions& options);

struct RestoreOptions {
  System system = System::gocd;
  std::string url;
  std::filesystem::path repo;
  bool dry_run = false;
  std::string config_repo_id = "phoenix-ci-config";  // GoCD
  std::optional<std::string> repo_url;               // GoCD: default the repository's remote
};

struct RestoreResult {
  std::vector<std::string> plan;  // one line per change, in order
  std::vector<std::string> unchanged;
  bool applied = false;
};

Result<RestoreResult> restore(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                              const RestoreOptions& options);

}  // namespace phoenix::ci
