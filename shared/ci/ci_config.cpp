#include "shared/ci/ci_config.hpp"

#include "shared/ci/git_repository.hpp"
#include "shared/util/files.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ci {

namespace fs = std::filesystem;

namespace {

// What a server holds, as repository files. `directory` is the part of the repository the
// snapshot mirrors.
struct Source {
  std::string description;  // "gocd https://ci.example/go"
  std::string directory;
  Snapshot files;
};

Result<Source> gocd_from_api(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                             const std::string& url) {
  GocdServer server(http, url, credentials);
  auto names = server.pipeline_names();
  if (!names) return names.error();
  Source source{"gocd " + util::redact(url), std::string(kGocdPipelinesDir), {}};
  reporter.step("exporting " + util::plural(names->size(), "pipeline") + " from GoCD as YAML");
  for (const auto& name : *names) {
    if (!safe_name(name)) {
      reporter.warning("skipping GoCD pipeline '" + util::printable(name, 60) + "': not a safe file name");
      continue;
    }
    auto yaml = server.export_pipeline(name);
    if (!yaml) return yaml.error();
    source.files[gocd_pipeline_path(name)] = *yaml;
  }
  return source;
}

Result<Source> jenkins_from_api(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                                const std::string& url) {
  JenkinsServer server(http, url, credentials);
  auto names = server.job_names();
  if (!names) return names.error();
  Source source{"jenkins " + util::redact(url), std::string(kJenkinsJobsDir), {}};
  reporter.step("reading " + util::plural(names->size(), "job") + " from Jenkins");
  for (const auto& name : *names) {
    if (!safe_name(name)) {
      reporter.warning("skipping Jenkins job '" + util::printable(name, 60) + "': not a safe file name");
      continue;
    }
    auto xml = server.job_config(name);
    if (!xml) return xml.error();
    if (*xml) source.files[jenkins_job_path(name)] = **xml;
  }
  return source;
}

Result<Source> from_directory(System system, const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Error{ErrorKind::invalid, "--dir " + dir.string() + " is not a directory"};
  if (system == System::gocd) {
    auto text = util::read_file(dir / "cruise-config.xml");
    if (!text) return text.error().context("--dir is GoCD's config directory");
    return Source{"gocd " + dir.string(),
                  std::string(kGocdServerDir),
                  {{std::string(kGocdServerDir) + "/cruise-config.xml", *text}}};
  }
  Source source{"jenkins " + dir.string(), std::string(kJenkinsJobsDir), {}};
  const fs::path jobs = dir / "jobs";
  if (!fs::is_directory(jobs, ec))
    return Error{ErrorKind::invalid, "--dir " + dir.string() + " has no jobs/ (is it JENKINS_HOME?)"};
  for (const auto& entry : fs::directory_iterator(jobs, ec)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_directory() || !safe_name(name)) continue;
    auto xml = util::read_file(entry.path() / "config.xml");
    if (!xml) continue;  // a folder without a job definition
    source.files[jenkins_job_path(name)] = *xml;
  }
  return source;
}

}  // namespace

Result<BackupResult> backup(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                            const BackupOptions& options) {
  Result<Source> source = Error{ErrorKind::invalid, "ci-config backup needs --url URL or --dir DIR"};
  if (options.dir) {
    source = from_directory(options.system, *options.dir);
  } else if (options.url) {
    source = options.system == System::gocd ? gocd_from_api(http, credentials, reporter, *options.url)
                                            : jenkins_from_api(http, credentials, reporter, *options.url);
  }
  if (!source) return source.error();

  // Secrets never enter the repository in clear: clear-text secret elements are masked, and
  // any value Phoenix knows to be secret (the credentials it used) is redacted.
  BackupResult result;
  for (auto& [path, content] : source->files) {
    if (path.ends_with(".xml")) content = mask_clear_secrets(content, result.masked_secrets);
    content = util::redact(content);
  }
  if (result.masked_secrets > 0) {
    reporter.warning(util::plural(static_cast<std::size_t>(result.masked_secrets), "clear-text secret") +
                     " masked as **** in the backup; keep secrets in the CI server's credential store");
  }

  auto repository = GitRepository::open_or_init(options.repo);
  if (!repository) return repository.error();
  auto before = repository->read(source->directory);
  if (!before) return before.error();
  result.change = diff(*before, source->files);
  PHX_TRY(repository->write(source->directory, *before, source->files));
  auto committed = repository->commit({source->directory}, commit_message(source->description, result.change));
  if (!committed) return committed.error();
  result.committed = *committed;
  reporter.step(result.committed ? "committed: " + std::to_string(result.change.added.size()) + " added, " +
                                       std::to_string(result.change.modified.size()) + " changed, " +
                                       std::to_string(result.change.removed.size()) + " removed"
                                 : "nothing changed since the last backup; no commit");
  // Pushed even when nothing was committed: that catches up a push that failed last time.
  auto remote = repository->remote();
  if (!remote) return remote.error();
  if (*remote) {
    PHX_TRY(repository->push(**remote));
    result.pushed = true;
    reporter.step("pushed to " + **remote);
  } else if (options.require_remote) {
    return Error{ErrorKind::invalid, "--push: the repository " + options.repo.string() + " has no remote"};
  }
  return result;
}

Result<RestoreResult> restore(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                              const RestoreOptions& options) {
  auto repository = GitRepository::open_or_init(options.repo);
  if (!repository) return repository.error();
  RestoreResult result;

  if (options.system == System::gocd) {
    // GoCD reads the *.gocd.yaml files itself once the repository is a config repository.
    ConfigRepo wanted;
    wanted.id = options.config_repo_id;
    if (options.repo_url) {
      wanted.url = *options.repo_url;
    } else {
      auto url = repository->remote_url();
      if (!url) return url.error().context("the config repository URL (or pass --repo-url)");
      wanted.url = *url;
    }
    auto branch = repository->branch();
    if (!branch) return branch.error();
    wanted.branch = *branch;
    GocdServer server(http, options.url, credentials);
    auto existing = server.config_repo(wanted.id);
    if (!existing) return existing.error();
    const std::string where = util::redact(wanted.url) + " (branch " + wanted.branch + ")";
    if (!*existing) {
      result.plan.push_back("register config repository '" + wanted.id + "' for " + where);
      if (!options.dry_run) PHX_TRY(server.create_config_repo(wanted));
    } else if ((*existing)->url != wanted.url || (*existing)->branch != wanted.branch) {
      result.plan.push_back("point config repository '" + wanted.id + "' at " + where);
      wanted.etag = (*existing)->etag;
      if (!options.dry_run) PHX_TRY(server.update_config_repo(wanted));
    } else {
      result.unchanged.push_back("config repository '" + wanted.id + "' already reads " + where);
    }
    result.applied = !options.dry_run;
    return result;
  }

  auto files = repository->read(std::string(kJenkinsJobsDir));
  if (!files) return files.error();
  JenkinsServer server(http, options.url, credentials);
  for (const auto& [path, xml] : *files) {
    // jenkins/jobs/<name>/config.xml
    const auto parts = util::split(path, '/');
    if (parts.size() != 4 || parts[3] != "config.xml" || !safe_name(parts[2])) continue;
    const std::string& name = parts[2];
    if (xml.find("****") != std::string::npos) {
      reporter.warning("job " + name + " has secrets that were masked in the backup; set them again after restoring");
    }
    auto current = server.job_config(name);
    if (!current) return current.error();
    if (!*current) {
      result.plan.push_back("create job " + name);
      if (!options.dry_run) PHX_TRY(server.create_job(name, xml));
    } else if (**current != xml) {
      result.plan.push_back("update job " + name);
      if (!options.dry_run) PHX_TRY(server.update_job(name, xml));
    } else {
      result.unchanged.push_back("job " + name);
    }
  }
  result.applied = !options.dry_run;
  return result;
}

}  // namespace phoenix::ci
