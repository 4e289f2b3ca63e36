#include "shared/ci/git_repository.hpp"

#include "shared/util/files.hpp"
#include "shared/util/process.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ci {

namespace fs = std::filesystem;

Result<std::string> GitRepository::git(const std::vector<std::string>& arguments) const {
  util::CommandRequest request;
  request.argv = {"git", "-C", path_.string()};
  request.argv.insert(request.argv.end(), arguments.begin(), arguments.end());
  request.capture_stderr = true;
  request.timeout = std::chrono::minutes(5);
  // Never wait for a password prompt in CI.
  request.environment = {"GIT_TERMINAL_PROMPT=0", "LC_ALL=C"};
  auto ran = util::run_command(request);
  if (!ran) return ran.error().context("running git");
  if (ran->exit_code != 0) {
    return Error{ErrorKind::unavailable, "git " + arguments.front() + " failed in " + path_.string() + ": " +
                                             util::redact(util::printable(util::trim(ran->output), 300))};
  }
  return ran->output;
}

Result<GitRepository> GitRepository::open_or_init(const fs::path& path) {
  GitRepository repository(fs::absolute(path));
  std::error_code ec;
  if (!fs::exists(path, ec) || (fs::is_directory(path, ec) && fs::is_empty(path, ec))) {
    PHX_TRY(util::make_directories(path));
    auto initialised = repository.git({"init", "-q"});
    if (!initialised) return initialised.error();
    return repository;
  }
  if (!fs::is_directory(path, ec)) return Error{ErrorKind::invalid, "--repo " + path.string() + " is not a directory"};
  auto inside = repository.git({"rev-parse", "--show-toplevel"});
  if (!inside) {
    return Error{ErrorKind::invalid, "--repo " + path.string() + " is not a git working tree (and not empty)"};
  }
  return repository;
}

Result<Snapshot> GitRepository::read(const std::string& directory) const {
  Snapshot snapshot;
  const fs::path root = path_ / directory;
  std::error_code ec;
  if (!fs::exists(root, ec)) return snapshot;
  for (const auto& entry : fs::recursive_directory_iterator(root, ec)) {
    if (!entry.is_regular_file()) continue;
    auto text = util::read_file(entry.path());
    if (!text) return text.error();
    snapshot[fs::relative(entry.path(), path_).generic_string()] = *text;
  }
  return snapshot;
}

Status GitRepository::write(const std::string& directory, const Snapshot& current, const Snapshot& wanted) const {
  for (const auto& [relative, content] : wanted) {
    const auto found = current.find(relative);
    if (found != current.end() && found->second == content) continue;
    const fs::path file = path_ / relative;
    PHX_TRY(util::make_directories(file.parent_path()));
    util::remove_dead_writers_temporaries(file);  // never committed with the configuration
    PHX_TRY(util::write_file_atomic(file, content));
  }
  for (const auto& [relative, content] : current) {
    if (wanted.count(relative) != 0) continue;
    std::error_code ec;
    fs::remove(path_ / relative, ec);
    // Remove folders left empty (a Jenkins job's folder).
    for (fs::path parent = (path_ / relative).parent_path(); parent != path_ / directory && fs::is_empty(parent, ec);
         parent = parent.parent_path()) {
      fs::remove(parent, ec);
    }
  }
  return {};
}

Result<bool> GitRepository::commit(const std::vector<std::string>& directories, const std::string& message) const {
  std::vector<std::string> add = {"add", "-A", "--"};
  add.insert(add.end(), directories.begin(), directories.end());
  auto added = git(add);
  if (!added) return added.error();
  std::vector<std::string> status_arguments = {"status", "--porcelain", "--"};
  status_arguments.insert(status_arguments.end(), directories.begin(), directories.end());
  auto status = git(status_arguments);
  if (!status) return status.error();
  if (util::trim(*status).empty()) return false;
  // Commit as the configured user, else as Phoenix itself.
  std::vector<std::string> commit_arguments;
  auto name = git({"config", "user.name"});
  if (!name || util::trim(*name).empty()) {
    commit_arguments = {"-c", "user.name=Phoenix ci-config backup", "-c", "user.email=phoenix@localhost"};
  }
  commit_arguments.insert(commit_arguments.end(), {"commit", "-q", "-m", message, "--"});
  commit_arguments.insert(commit_arguments.end(), directories.begin(), directories.end());
  auto committed = git(commit_arguments);
  if (!committed) return committed.error();
  return true;
}

Result<std::optional<std::string>> GitRepository::remote() const {
  auto remotes = git({"remote"});
  if (!remotes) return remotes.error();
  const auto names = util::split_lines(*remotes);
  if (names.empty()) return std::optional<std::string>{};
  return std::optional<std::string>(names.front());
}

Result<std::string> GitRepository::remote_url() const {
  auto name = remote();
  if (!name) return name.error();
  if (!*name) return Error{ErrorKind::invalid, "the repository " + path_.string() + " has no remote"};
  auto url = git({"remote", "get-url", **name});
  if (!url) return url.error();
  return std::string(util::trim(*url));
}

Result<std::string> GitRepository::branch() const {
  auto name = git({"symbolic-ref", "--short", "HEAD"});
  if (!name) return name.error();
  return std::string(util::trim(*name));
}

Result<std::string> GitRepository::head_revision() const {
  auto revision = git({"rev-parse", "--verify", "HEAD"});
  if (!revision) return revision.error().context("the repository " + path_.string() + " has no commit");
  return std::string(util::trim(*revision));
}

Status GitRepository::push(const std::string& remote) const {
  auto pushed = git({"push", "-q", remote, "HEAD"});
  if (!pushed) return pushed.error();
  return {};
}

}  // namespace phoenix::ci
