#include "shared/ci/git_repository.hpp"

#include "shared/util/files.hpp"
#include "shared/util/process.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ci {

namespace fs = std::filesystem;

namespace {

// What went wrong, from git's output: its first "!" line (a rejected ref), else its first
// "fatal:" or "error:" line, else its first line that is not a hint.
std::string summary(const std::string& output) {
  const auto lines = util::split_lines(output);
  for (const char* mark : {"!", "fatal:", "error:"}) {
    for (const auto& line : lines) {
      const auto trimmed = util::trim(line);
      if (trimmed.starts_with(mark)) return std::string(trimmed);
    }
  }
  for (const auto& line : lines) {
    const auto trimmed = util::trim(line);
    if (!trimmed.empty() && !trimmed.starts_with("hint:")) return std::string(trimmed);
  }
  return "no output";
}

}  // namespace

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
                                             util::redact(util::printable(summary(ran->output), 300))};
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
  std::vector<std::string> commit_arguments = {"commit", "-q", "-m", message, "--"};
  commit_arguments.insert(commit_arguments.end(), directories.begin(), directories.end());
  auto committed = git_as_committer(commit_arguments);
  if (!committed) return committed.error();
  return true;
}

Result<std::string> GitRepository::git_as_committer(const std::vector<std::string>& arguments) const {
  std::vector<std::string> full;
  auto name = git({"config", "user.name"});
  if (!name || util::trim(*name).empty()) {
    full = {"-c", "user.name=Phoenix ci-config backup", "-c", "user.email=phoenix@localhost"};
  }
  full.insert(full.end(), arguments.begin(), arguments.end());
  return git(full);
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

namespace phoenix::ci {

Status GitRepository::catch_up(const std::string& remote) const {
  auto branch_name = branch();
  if (!branch_name) return branch_name.error();
  auto fetched = git({"fetch", "-q", remote});
  if (!fetched) return fetched.error().context("fetching " + remote);
  const std::string upstream = "refs/remotes/" + remote + "/" + *branch_name;
  if (!git({"rev-parse", "-q", "--verify", upstream})) return {};  // the first push creates it
  if (!git({"rev-parse", "-q", "--verify", "HEAD"})) {
    // No commit yet (a clone of a then empty remote): start from the remote's branch.
    auto merged = git({"merge", "-q", "--ff-only", upstream});
    if (!merged) return merged.error();
    return {};
  }
  return rebase_onto(upstream);
}

Status GitRepository::rebase_onto(const std::string& upstream) const {
  auto rebased = git_as_committer({"rebase", "-q", "--autostash", upstream});
  if (rebased) return {};
  auto conflicted = git({"diff", "--name-only", "--diff-filter=U"});
  const auto files = conflicted ? util::split_lines(*conflicted) : std::vector<std::string>{};
  (void)git({"rebase", "--abort"});
  if (files.empty()) return rebased.error();
  const std::string short_upstream = upstream.substr(std::string_view("refs/remotes/").size());
  return Error{ErrorKind::refused,
               "cannot put the backup on top of " + short_upstream + ": it changed " + util::join(files, ", ") +
                   ", which local commits not pushed yet change too (in " + path_.string() +
                   "); keep what is right by hand (git -C " + util::shell_quote(path_.string()) + " rebase " +
                   short_upstream + "), or drop the local commits (git -C " + util::shell_quote(path_.string()) +
                   " reset --hard " + short_upstream + "), then back up again"};
}

Result<std::optional<std::string>> GitRepository::published_revision(const std::string& url,
                                                                     const std::string& branch) const {
  auto listed = git({"ls-remote", url, "refs/heads/" + branch});
  if (!listed) return listed.error();
  const auto lines = util::split_lines(*listed);
  if (lines.empty()) return std::optional<std::string>{};
  return std::optional<std::string>(lines.front().substr(0, lines.front().find('\t')));
}

}  // namespace phoenix::ci
