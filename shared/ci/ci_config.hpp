#pragma once
// deploy-pipeline ci-config backup|restore: the CI server's pipeline configuration to git and
// back, so the CI server itself can be rebuilt. Secrets never enter the repository in clear.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shared/ci/ci_servers.hpp"
#include "shared/ci/snapshot.hpp"
#include "shared/util/clock.hpp"
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
  // GoCD parses a config repository asynchronously; restore waits this long for it to parse
  // the repository's HEAD (its material update runs at once after registering; polls are 1 min).
  std::chrono::milliseconds parse_timeout{std::chrono::seconds(180)};
};

struct RestoreResult {
  std::vector<std::string> plan;  // one line per change, in order
  std::vector<std::string> unchanged;
  bool applied = false;
};

// GoCD: registers (or repoints) the repository as a config repository and waits until GoCD
// has parsed its HEAD; parse errors are `failed`. Jenkins: creates and updates each job,
// folders first; a job whose backup masks a secret keeps the server's value, and one whose
// server has no value there is left alone (`refused`, after the others are restored).
Result<RestoreResult> restore(HttpClient& http, const Credentials& credentials, util::Clock& clock,
                              util::Reporter& reporter, const RestoreOptions& options);
// The same with the system clock.
Result<RestoreResult> restore(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                              const RestoreOptions& options);

}  // namespace phoenix::ci
