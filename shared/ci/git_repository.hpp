#pragma once
// A git working tree, through the real git command (no shell; a timeout on every call).

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shared/ci/snapshot.hpp"
#include "shared/util/result.hpp"

namespace phoenix::ci {

class GitRepository {
 public:
  // Opens the working tree at `path`, creating it (git init) when the folder is missing or empty.
  static Result<GitRepository> open_or_init(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  // The files under `directory` (relative to the top), as a snapshot keyed by relative path.
  Result<Snapshot> read(const std::string& directory) const;
  // Makes the files under `directory` exactly `wanted`, given that they are `current` now (as
  // read()): writes what differs, removes the rest.
  Status write(const std::string& directory, const Snapshot& current, const Snapshot& wanted) const;
  // Commits everything under `directories` if anything changed there; false when nothing did.
  Result<bool> commit(const std::vector<std::string>& directories, const std::string& message) const;
  // The first remote's name, or nothing when the repository has none.
  Result<std::optional<std::string>> remote() const;
  // Pushes the current branch to `remote`.
  Status push(const std::string& remote) const;
  // Fetches `remote` and puts the current branch's local commits on top of the remote's branch
  // of the same name (a fast-forward when there are none; nothing when the remote has no such
  // branch yet). A rebase that conflicts is undone and `refused`, naming the files both sides
  // changed; an unreachable remote is `unavailable`.
  Status catch_up(const std::string& remote) const;
  // The commit `url` has on `branch` (git ls-remote); nothing when it has no such branch.
  Result<std::optional<std::string>> published_revision(const std::string& url, const std::string& branch) const;
  // The first remote's URL; `invalid` when there is none.
  Result<std::string> remote_url() const;
  Result<std::string> branch() const;
  // The commit HEAD points at (full hash).
  Result<std::string> head_revision() const;

 private:
  explicit GitRepository(std::filesystem::path path) : path_(std::move(path)) {}
  Result<std::string> git(const std::vector<std::string>& arguments) const;
  // `arguments` run as the configured user, else as Phoenix itself (git needs a committer).
  Result<std::string> git_as_committer(const std::vector<std::string>& arguments) const;
  Status rebase_onto(const std::string& upstream) const;

  std::filesystem::path path_;
};

}  // namespace phoenix::ci
