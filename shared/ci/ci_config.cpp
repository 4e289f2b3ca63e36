#include "shared/ci/ci_config.hpp"

#include <algorithm>

#include "shared/ci/git_repository.hpp"
#include "shared/util/files.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::ci {

namespace fs = std::filesystem;

namespace {

constexpr int kMaxJenkinsHomeDepth = 10;
constexpr auto kParsePollInterval = std::chrono::milliseconds(500);

// What a server holds, as repository files. `directory` is the part of the repository the
// snapshot mirrors. `complete` is false when the credentials may not see everything there is:
// a file missing from `files` then says nothing about the server.
struct Source {
  std::string description;  // "gocd https://ci.example/go"
  std::string directory;
  Snapshot files;
  bool complete = true;
  std::vector<std::string> unstorable;  // what has a name no file can have ("job '..'")
};

std::string job_label(const std::string& full_name) { return "job '" + util::printable(full_name, 60) + "'"; }

// Adds a Jenkins job's config.xml under the file its name gives, or notes it as not storable.
void add_jenkins_job(Source& source, const std::string& full_name, const std::string& xml) {
  if (const auto path = jenkins_job_path(full_name)) {
    source.files[*path] = xml;
  } else {
    source.unstorable.push_back(job_label(full_name));
  }
}

Result<Source> gocd_from_api(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                             const std::string& url) {
  GocdServer server(http, url, credentials);
  auto names = server.pipeline_names();
  if (!names) return names.error();
  auto everything = server.sees_every_pipeline();
  if (!everything) return everything.error();
  Source source{"gocd " + util::redact_url(url), std::string(kGocdPipelinesDir), {}, *everything};
  reporter.step("exporting " + util::plural(names->size(), "pipeline") + " from GoCD as YAML");
  for (const auto& name : *names) {
    if (!safe_name(name)) {  // GoCD allows only [A-Za-z0-9_.-] itself
      source.unstorable.push_back("pipeline '" + util::printable(name, 60) + "'");
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
  Source source{"jenkins " + util::redact_url(url), std::string(kJenkinsJobsDir), {}};
  reporter.step("reading " + util::plural(names->size(), "job") + " from Jenkins");
  for (const auto& name : *names) {
    if (!jenkins_job_path(name)) {
      source.unstorable.push_back(job_label(name));
      continue;
    }
    auto xml = server.job_config(name);
    if (!xml) return xml.error();
    if (*xml) add_jenkins_job(source, name, **xml);
  }
  return source;
}

// JENKINS_HOME/jobs/<name>/config.xml, and inside folders <folder>/jobs/<name>/config.xml.
void jenkins_jobs_in(const fs::path& jobs, const std::string& folder, int depth, Source& source) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(jobs, ec)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_directory()) continue;
    auto xml = util::read_file(entry.path() / "config.xml");
    if (!xml) continue;  // not a job (a leftover folder)
    const std::string full_name = folder.empty() ? name : folder + "/" + name;
    add_jenkins_job(source, full_name, *xml);
    if (is_jenkins_folder(*xml) && depth < kMaxJenkinsHomeDepth) {
      jenkins_jobs_in(entry.path() / "jobs", full_name, depth + 1, source);
    }
  }
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
  jenkins_jobs_in(jobs, "", 0, source);
  return source;
}

// Masks what is secret by the CI server's own schema; returns how many values were masked.
int mask_secrets(System system, Snapshot& files) {
  int masked = 0;
  for (auto& [path, content] : files) {
    if (!path.ends_with(".xml")) continue;
    content = system == System::gocd ? mask_gocd_secrets(content, masked) : mask_clear_secrets(content, masked);
  }
  // Any value Phoenix knows to be secret (the credentials it used), and credentials in URLs;
  // query strings stay (the backup must restore the configuration as it was).
  for (auto& [path, content] : files) content = util::redact_document(content);
  return masked;
}

// The last line of defence: nothing that looks like a known secret is committed.
Status refuse_known_secrets(const Snapshot& files) {
  for (const auto& [path, content] : files) {
    if (auto found = find_known_secret(content, path.ends_with(".xml"))) {
      return Error{ErrorKind::refused, "refusing to commit " + path + ": " + *found +
                                           " is still there after masking; move it into the CI server's secret "
                                           "store, then back up again"};
    }
  }
  return {};
}

// Files the credentials could not see are kept as they are: not seeing is not removing.
void keep_unseen(const Source& source, const Snapshot& before, Snapshot& wanted, util::Reporter& reporter) {
  if (source.complete) return;
  std::vector<std::string> kept;
  for (const auto& [path, content] : before) {
    if (wanted.emplace(path, content).second) kept.push_back(path);
  }
  if (!kept.empty()) {
    reporter.warning(
        "kept " + util::plural(kept.size(), "file") + " the credentials cannot see (not a system " +
        "administrator; deleted on the server or in a group they do not administer): " + util::join(kept, ", "));
  }
}

std::string change_summary(const SnapshotChange& change) {
  return std::to_string(change.added.size()) + " added, " + std::to_string(change.modified.size()) + " changed, " +
         std::to_string(change.removed.size()) + " removed";
}

Result<Source> read_source(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                           const BackupOptions& options) {
  if (options.dir) return from_directory(options.system, *options.dir);
  if (!options.url) return Error{ErrorKind::invalid, "ci-config backup needs --url URL or --dir DIR"};
  return options.system == System::gocd ? gocd_from_api(http, credentials, reporter, *options.url)
                                        : jenkins_from_api(http, credentials, reporter, *options.url);
}

// The repository's remote, checked before the server is read: nothing when it has none.
Result<std::optional<std::string>> backup_remote(const GitRepository& repository, const BackupOptions& options) {
  auto remote = repository.remote();
  if (!remote) return remote.error();
  if (!*remote && options.require_remote) {
    return Error{ErrorKind::invalid, "--push: the repository " + options.repo.string() +
                                         " has no remote; add one (git remote add origin URL) or leave out --push"};
  }
  return remote;
}

// Pushes; a push the remote refused because it moved meanwhile is put on top of it and tried
// once more.
Status push_caught_up(const GitRepository& repository, const std::string& remote) {
  if (repository.push(remote).ok()) return {};
  PHX_TRY(repository.catch_up(remote));
  return repository.push(remote);
}

Status refuse_unstorable(const Source& source) {
  if (source.unstorable.empty()) return {};
  return Error{ErrorKind::failed, "backed up everything but " + util::join(source.unstorable, ", ") +
                                      ": no file in the backup can have that name; rename it on the CI server, "
                                      "then back up again"};
}

}  // namespace

Result<BackupResult> backup(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                            const BackupOptions& options) {
  // The repository first: a wrong --repo or a remote that moved is found before the server is read.
  auto repository = GitRepository::open_or_init(options.repo);
  if (!repository) return repository.error();
  auto remote = backup_remote(*repository, options);
  if (!remote) return remote.error();
  if (*remote) PHX_TRY(repository->catch_up(**remote));

  auto source = read_source(http, credentials, reporter, options);
  if (!source) return source.error();

  // Secrets never enter the repository in clear: what the server's schema calls secret is
  // masked, and a file that still holds a known secret is not committed at all.
  BackupResult result;
  result.masked_secrets = mask_secrets(options.system, source->files);
  if (result.masked_secrets > 0) {
    reporter.warning(util::plural(static_cast<std::size_t>(result.masked_secrets), "clear-text secret") +
                     " masked as **** in the backup; keep secrets in the CI server's credential store");
  }
  PHX_TRY(refuse_known_secrets(source->files));

  auto before = repository->read(source->directory);
  if (!before) return before.error();
  keep_unseen(*source, *before, source->files, reporter);
  result.change = diff(*before, source->files);
  PHX_TRY(repository->write(source->directory, *before, source->files));
  auto committed = repository->commit({source->directory}, commit_message(source->description, result.change));
  if (!committed) return committed.error();
  result.committed = *committed;
  reporter.step(result.committed ? "committed: " + change_summary(result.change)
                                 : "nothing changed since the last backup; no commit");
  // Pushed even when nothing was committed: that catches up a push that failed last time.
  if (*remote) {
    PHX_TRY(push_caught_up(*repository, **remote));
    result.pushed = true;
    reporter.step("pushed to " + **remote);
  }
  PHX_TRY(refuse_unstorable(*source));
  return result;
}

namespace {

// Waits until GoCD has parsed `revision` of the config repository; its parse errors fail.
Status wait_until_parsed(GocdServer& server, util::Clock& clock, util::Reporter& reporter, const std::string& id,
                         const std::string& revision, std::chrono::milliseconds timeout) {
  const auto deadline = clock.now() + timeout;
  const std::string short_revision = revision.substr(0, 12);
  bool triggered = false;
  reporter.step("waiting for GoCD to parse revision " + short_revision + " of config repository '" + id + "'");
  while (true) {
    auto parse = server.config_repo_parse(id);
    if (!parse) return parse.error();
    if (parse->parsed_revision == revision && !parse->update_in_progress) {
      if (!parse->error.empty()) {
        return Error{ErrorKind::failed, "GoCD could not parse revision " + short_revision + " of config repository '" +
                                            id + "': " + util::printable(util::trim(parse->error), 500)};
      }
      reporter.step("GoCD parsed revision " + short_revision);
      return {};
    }
    // A repository that was already registered is fetched at its next poll; ask for it now.
    if (!parse->update_in_progress && !triggered) {
      PHX_TRY(server.trigger_config_repo_update(id));
      triggered = true;
    }
    if (clock.now() + kParsePollInterval >= deadline) {
      const std::string seen = parse->parsed_revision.empty() ? "nothing yet" : parse->parsed_revision.substr(0, 12);
      return Error{ErrorKind::unavailable,
                   "GoCD has not parsed revision " + short_revision + " of config repository '" + id + "' within " +
                       std::to_string(timeout.count() / 1000) + " s (it parsed " + seen + "; is the revision pushed?)"};
    }
    clock.sleep_for(kParsePollInterval);
  }
}

// GoCD parses the tip of the branch at the URL it clones: a HEAD that is not that tip is never
// parsed, so it is refused before anything is registered. A URL this host cannot ask is a warning.
Status check_published(const GitRepository& repository, util::Reporter& reporter, const ConfigRepo& wanted,
                       const std::string& revision) {
  const std::string where = util::redact_url(wanted.url) + " (branch " + wanted.branch + ")";
  const std::string head = "HEAD " + revision.substr(0, 12) + " of " + repository.path().string();
  auto published = repository.published_revision(wanted.url, wanted.branch);
  if (!published) {
    reporter.warning("could not check that " + head + " is pushed to " + where + ": " + published.error().message);
    return {};
  }
  if (*published == revision) return {};
  const std::string push =
      "push it first (git -C " + util::shell_quote(repository.path().string()) + " push), then " + "restore";
  if (!*published) return Error{ErrorKind::invalid, head + " is not pushed: " + where + " has no such branch; " + push};
  return Error{ErrorKind::invalid, head + " is not pushed: " + where + " is at " + (*published)->substr(0, 12) +
                                       ", the revision GoCD would parse; " + push};
}

Result<RestoreResult> restore_gocd(HttpClient& http, const Credentials& credentials, util::Clock& clock,
                                   util::Reporter& reporter, const RestoreOptions& options,
                                   const GitRepository& repository) {
  // GoCD reads the *.gocd.yaml files itself once the repository is a config repository, and
  // does so asynchronously: success means GoCD parsed the repository's HEAD without errors.
  RestoreResult result;
  ConfigRepo wanted;
  wanted.id = options.config_repo_id;
  if (options.repo_url) {
    wanted.url = *options.repo_url;
  } else {
    auto url = repository.remote_url();
    if (!url) return url.error().context("the config repository URL (or pass --repo-url)");
    wanted.url = *url;
  }
  auto branch = repository.branch();
  if (!branch) return branch.error();
  wanted.branch = *branch;
  auto revision = repository.head_revision();
  if (!revision) return revision.error();
  PHX_TRY(check_published(repository, reporter, wanted, *revision));
  GocdServer server(http, options.url, credentials);
  auto existing = server.config_repo(wanted.id);
  if (!existing) return existing.error();
  const std::string where = util::redact_url(wanted.url) + " (branch " + wanted.branch + ")";
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
  if (!options.dry_run)
    PHX_TRY(wait_until_parsed(server, clock, reporter, wanted.id, *revision, options.parse_timeout));
  result.applied = !options.dry_run;
  return result;
}

// The jobs of the backup, folders before the jobs inside them.
std::vector<std::pair<std::string, std::string>> backup_jobs(const Snapshot& files) {
  std::vector<std::pair<std::string, std::string>> jobs;
  for (const auto& [path, xml] : files) {
    if (auto name = jenkins_job_name(path)) jobs.emplace_back(*name, xml);
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) {
    return std::count(a.first.begin(), a.first.end(), '/') < std::count(b.first.begin(), b.first.end(), '/');
  });
  return jobs;
}

Result<RestoreResult> restore_jenkins(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                                      const RestoreOptions& options, const GitRepository& repository) {
  auto files = repository.read(std::string(kJenkinsJobsDir));
  if (!files) return files.error();
  JenkinsServer server(http, options.url, credentials);
  RestoreResult result;
  std::vector<std::string> refused;
  for (auto [name, xml] : backup_jobs(*files)) {
    auto current = server.job_config(name);
    if (!current) return current.error();
    const int masked = masked_secret_count(xml);
    if (!*current) {
      if (masked > 0) {
        reporter.warning("job " + name + " is created with " +
                         util::plural(static_cast<std::size_t>(masked), "secret") +
                         " masked in the backup (****); set them on the server after restoring");
      }
      result.plan.push_back("create job " + name);
      if (!options.dry_run) {
        PHX_TRY(server.create_job(name, xml));
        reporter.step("created job " + name);
      }
      continue;
    }
    // Never write a mask over a real secret: take the server's value, or leave the job alone.
    std::string note;
    if (masked > 0) {
      const auto merge = keep_server_secrets(xml, **current);
      if (!merge.missing.empty()) {
        refused.push_back(name + " (the server has no value for " + util::join(merge.missing, ", ") + ")");
        continue;
      }
      xml = merge.xml;
      note = " (keeping the server's " + util::plural(static_cast<std::size_t>(merge.kept), "secret") + ")";
    }
    if (**current == xml) {
      result.unchanged.push_back("job " + name);
      continue;
    }
    result.plan.push_back("update job " + name + note);
    if (!options.dry_run) {
      PHX_TRY(server.update_job(name, xml));
      reporter.step("updated job " + name + note);
    }
  }
  result.applied = !options.dry_run;
  if (!refused.empty()) {
    return Error{ErrorKind::refused,
                 std::string(options.dry_run ? "would leave " : "left ") + util::plural(refused.size(), "job") +
                     " unchanged rather than write masked secrets over them: " + util::join(refused, "; ") +
                     "; set the secret on the server (or restore the job by hand), then restore again"};
  }
  return result;
}

}  // namespace

Result<RestoreResult> restore(HttpClient& http, const Credentials& credentials, util::Clock& clock,
                              util::Reporter& reporter, const RestoreOptions& options) {
  auto repository = GitRepository::open_or_init(options.repo);
  if (!repository) return repository.error();
  if (options.system == System::gocd) return restore_gocd(http, credentials, clock, reporter, options, *repository);
  return restore_jenkins(http, credentials, reporter, options, *repository);
}

Result<RestoreResult> restore(HttpClient& http, const Credentials& credentials, util::Reporter& reporter,
                              const RestoreOptions& options) {
  util::SystemClock clock;
  return restore(http, credentials, clock, reporter, options);
}

}  // namespace phoenix::ci
