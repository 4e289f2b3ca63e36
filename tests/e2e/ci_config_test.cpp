// deploy-pipeline ci-config against the GoCD and Jenkins contract fakes, with real git and a
// local bare repository as the remote.

#include <catch2/catch.hpp>
#include <filesystem>

#include "shared/http/curl_http_client.hpp"
#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct Repos {
  TempDir dir;
  fs::path remote = dir.path() / "backup.git";
  fs::path work = dir.path() / "backup";

  Repos() {
    std::filesystem::create_directories(remote);
    git(remote, {"init", "-q", "--bare", "-b", "main"});
    git(dir.path(), {"clone", "-q", remote.string(), work.string()});
    git(work, {"checkout", "-q", "-b", "main"});
  }
  // A file as the remote's branch main has it.
  std::string remote_file(const std::string& path) const { return git(remote, {"show", "main:" + path}); }
  int remote_commits() const {
    const auto out = util::trim(git(remote, {"rev-list", "--count", "--all"}));
    return static_cast<int>(util::parse_int(out).value_or(0));
  }
};

ToolResult ci(const std::vector<std::string>& arguments, const std::vector<std::string>& environment) {
  std::vector<std::string> full = {"ci-config"};
  full.insert(full.end(), arguments.begin(), arguments.end());
  return run_tool("deploy-pipeline", full, environment);
}

fs::path seed(const std::string& kind) { return source_directory() / "tests" / "fakes" / "ci" / "seed" / kind; }

// What the Jenkins fake holds for a job, read over its API with the fake's credentials.
std::string jenkins_job(const CiFake& jenkins, const std::string& path) {
  http::CurlHttpClient http;
  HttpRequest request;
  request.url = jenkins.url() + path + "/config.xml";
  request.basic_user = CiFake::kUser;
  request.basic_password = CiFake::kPassword;
  auto answers = http.perform({request});
  REQUIRE(answers.front().ok());
  REQUIRE(answers.front()->status == 200);
  return answers.front()->body;
}

void write_and_push(const Repos& repos, const std::string& file, const std::string& content) {
  const auto path = repos.work / file;
  std::filesystem::create_directories(path.parent_path());
  REQUIRE(util::write_file_atomic(path, content).ok());
  git(repos.work, {"add", "-A"});
  git(repos.work, {"commit", "-q", "-m", "change " + file});
  git(repos.work, {"push", "-q", "origin", "main"});
}

void remove_and_push(const Repos& repos, const std::string& file) {
  git(repos.work, {"rm", "-q", file});
  git(repos.work, {"commit", "-q", "-m", "remove " + file});
  git(repos.work, {"push", "-q", "origin", "main"});
}

std::string last_line(const std::string& text) {
  const auto lines = util::split_lines(text);
  return lines.empty() ? "" : lines.back();
}

}  // namespace

TEST_CASE("GoCD: backup twice gives one commit; restore into an empty server, then backup, gives no diff",
          "[e2e][ci-config][gocd]") {
  Repos repos;
  CiFake gocd(repos.dir.path(), "gocd", seed("gocd"));
  const auto env = gocd.credentials();

  auto first = ci({"backup", "--from", "gocd", "--url", gocd.url(), "--repo", repos.work.string(), "--push"}, env);
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK_THAT(first.out, Catch::Contains("added    gocd/pipelines/web-create.gocd.yaml"));
  CHECK_THAT(first.out, Catch::Contains("pushed"));
  CHECK(repos.remote_commits() == 1);
  const auto message = git(repos.remote, {"log", "-1", "--format=%B"});
  CHECK_THAT(message, Catch::StartsWith("ci-config backup from gocd http://127.0.0.1:"));
  CHECK_THAT(message, Catch::Contains("2 added, 0 changed, 0 removed"));
  CHECK(*util::read_file(repos.work / "gocd/pipelines/web-deploy.gocd.yaml") ==
        *util::read_file(seed("gocd") / "web-deploy.gocd.yaml"));

  auto second = ci({"backup", "--from", "gocd", "--url", gocd.url(), "--repo", repos.work.string(), "--push"}, env);
  REQUIRE(second.exit_code == 0);
  CHECK_THAT(second.out, Catch::Contains("no changes; nothing committed"));
  CHECK(repos.remote_commits() == 1);

  // A rebuilt, empty GoCD server gets its pipelines back from the repository.
  CiFake empty(repos.dir.path(), "gocd");
  const auto restore =
      std::vector<std::string>{"restore", "--to", "gocd", "--url", empty.url(), "--repo", repos.work.string()};
  auto planned =
      ci({restore[0], restore[1], restore[2], restore[3], restore[4], restore[5], restore[6], "--dry-run"}, env);
  INFO(planned.err);
  REQUIRE(planned.exit_code == 0);
  CHECK_THAT(planned.out,
             Catch::Contains("would register config repository 'phoenix-ci-config' for " + repos.remote.string()));
  auto restored = ci(restore, env);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK_THAT(restored.out, Catch::StartsWith("register config repository"));
  auto again = ci(restore, env);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("nothing to change"));

  auto from_restored =
      ci({"backup", "--from", "gocd", "--url", empty.url(), "--repo", repos.work.string(), "--push"}, env);
  INFO(from_restored.err);
  REQUIRE(from_restored.exit_code == 0);
  CHECK_THAT(from_restored.out, Catch::Contains("no changes"));
  CHECK(repos.remote_commits() == 1);
  CHECK(git(repos.work, {"status", "--porcelain"}).empty());
}

TEST_CASE("Jenkins: backup, restore into an empty server, backup again: no diff", "[e2e][ci-config][jenkins]") {
  Repos repos;
  CiFake jenkins(repos.dir.path(), "jenkins", seed("jenkins"));
  const auto env = jenkins.credentials();
  auto backup =
      ci({"backup", "--from", "jenkins", "--url", jenkins.url(), "--repo", repos.work.string(), "--push"}, env);
  INFO(backup.err);
  REQUIRE(backup.exit_code == 0);
  CHECK_THAT(backup.err, Catch::Contains("warning: 1 clear-text secret masked as ****"));
  const auto deploy_job = *util::read_file(repos.work / "jenkins/jobs/web-deploy/config.xml");
  CHECK(deploy_job.find("clear-text-oops") == std::string::npos);
  CHECK_THAT(deploy_job, Catch::Contains("<password>****</password>"));
  // Secrets encrypted with Jenkins' master key stay as they are.
  CHECK_THAT(*util::read_file(repos.work / "jenkins/jobs/web-create/config.xml"),
             Catch::Contains("{AQAAABAAAAAQ0123456789abcdefENCRYPTED=}"));
  // Jobs inside folders are kept, with the folder, laid out as in JENKINS_HOME.
  CHECK_THAT(*util::read_file(repos.work / "jenkins/jobs/team/config.xml"),
             Catch::Contains("<com.cloudbees.hudson.plugins.folder.Folder"));
  CHECK_THAT(*util::read_file(repos.work / "jenkins/jobs/team/jobs/web-nightly/config.xml"),
             Catch::Contains("Nightly: smoke-test the live pool"));
  CHECK(repos.remote_commits() == 1);
  CHECK(ci({"backup", "--from", "jenkins", "--url", jenkins.url(), "--repo", repos.work.string()}, env).exit_code == 0);
  CHECK(repos.remote_commits() == 1);

  CiFake empty(repos.dir.path(), "jenkins");
  auto restored = ci({"restore", "--to", "jenkins", "--url", empty.url(), "--repo", repos.work.string()}, env);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK_THAT(restored.out, Catch::Contains("create job web-create"));
  CHECK_THAT(restored.out, Catch::Contains("create job web-deploy"));
  // The folder first, then the job inside it.
  const auto folder_created = restored.out.find("create job team\n");
  REQUIRE(folder_created != std::string::npos);
  CHECK(restored.out.find("create job team/web-nightly\n") > folder_created);
  CHECK_THAT(restored.err, Catch::Contains("job web-deploy is created with 1 secret masked in the backup"));
  auto again =
      ci({"restore", "--to", "jenkins", "--url", empty.url(), "--repo", repos.work.string(), "--dry-run"}, env);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("nothing to change"));
  auto from_restored =
      ci({"backup", "--from", "jenkins", "--url", empty.url(), "--repo", repos.work.string(), "--push"}, env);
  REQUIRE(from_restored.exit_code == 0);
  CHECK_THAT(from_restored.out, Catch::Contains("no changes"));
  CHECK(repos.remote_commits() == 1);
}

TEST_CASE("backups from a server's own files: cruise-config.xml and JENKINS_HOME", "[e2e][ci-config]") {
  Repos repos;
  const auto gocd_dir = repos.dir.path() / "gocd-config";
  REQUIRE(util::make_directories(gocd_dir).ok());
  REQUIRE(
      util::write_file_atomic(gocd_dir / "cruise-config.xml", "<cruise schemaVersion=\"139\"><pipelines/></cruise>\n")
          .ok());
  auto gocd = ci({"backup", "--from", "gocd", "--dir", gocd_dir.string(), "--repo", repos.work.string()}, {});
  INFO(gocd.err);
  REQUIRE(gocd.exit_code == 0);
  CHECK(std::filesystem::exists(repos.work / "gocd/server/cruise-config.xml"));

  auto jenkins =
      ci({"backup", "--from", "jenkins", "--dir", seed("jenkins").string(), "--repo", repos.work.string()}, {});
  INFO(jenkins.err);
  REQUIRE(jenkins.exit_code == 0);
  CHECK(std::filesystem::exists(repos.work / "jenkins/jobs/web-create/config.xml"));
  CHECK(std::filesystem::exists(repos.work / "jenkins/jobs/team/jobs/web-nightly/config.xml"));
  CHECK(std::filesystem::exists(repos.work / "gocd/server/cruise-config.xml"));  // untouched by the Jenkins backup
  CHECK(util::trim(git(repos.work, {"rev-list", "--count", "HEAD"})) == "2");
  // The working tree has a remote, so both backups were pushed without being asked.
  CHECK_THAT(jenkins.out, Catch::Contains("pushed"));
  CHECK(repos.remote_commits() == 2);

  // Without a remote the backup stays local, unless --push demands one.
  const auto local = repos.dir.path() / "local-backup";
  auto unpushed = ci({"backup", "--from", "gocd", "--dir", gocd_dir.string(), "--repo", local.string()}, {});
  INFO(unpushed.err);
  REQUIRE(unpushed.exit_code == 0);
  CHECK(unpushed.out.find("pushed") == std::string::npos);
  CHECK(util::trim(git(local, {"rev-list", "--count", "HEAD"})) == "1");
  auto demanded = ci({"backup", "--from", "gocd", "--dir", gocd_dir.string(), "--repo", local.string(), "--push"}, {});
  CHECK(demanded.exit_code == 2);
  CHECK_THAT(demanded.err, Catch::Contains("--push: the repository " + local.string() + " has no remote"));
}

TEST_CASE("ci-config failures are one line with the right exit code", "[e2e][ci-config]") {
  Repos repos;
  CiFake gocd(repos.dir.path(), "gocd", seed("gocd"));
  const auto one_line = [](const ToolResult& result, int code, const std::string& text) {
    INFO(result.err);
    CHECK(result.exit_code == code);
    const auto lines = util::split_lines(result.err);
    REQUIRE_FALSE(lines.empty());
    CHECK_THAT(lines.back(), Catch::StartsWith("deploy-pipeline: error: "));
    CHECK_THAT(lines.back(), Catch::Contains(text));
  };
  const std::vector<std::string> backup = {"backup", "--from",           "gocd", "--url", gocd.url(),
                                           "--repo", repos.work.string()};
  one_line(ci(backup, {}), 2, "no GoCD credentials: set GOCD_TOKEN, or GOCD_USER and GOCD_PASSWORD");
  one_line(ci(backup, {"GOCD_TOKEN=wrong-token"}), 2, "GoCD refused the credentials (401");
  one_line(ci({"backup", "--from", "gocd", "--url", "http://127.0.0.1:1", "--repo", repos.work.string()},
              gocd.credentials()),
           4, "Couldn't connect to server");
  // A malformed --url is refused before any request (libcurl would say "URL using bad/illegal
  // format", exit 4), without the credentials or query values in it.
  one_line(ci({"backup", "--from", "gocd", "--url", "http://127.0.0.1:70000", "--repo", repos.work.string()},
              gocd.credentials()),
           2, "--url 'http://127.0.0.1:70000' is not a valid URL: port 70000 is above 65535");
  one_line(
      ci({"restore", "--to", "gocd", "--url", "http://[::1:8153", "--repo", repos.work.string()}, gocd.credentials()),
      2, "--url 'http://[::1:8153' is not a valid URL: '[' at position 8 has no closing ']'");
  const auto with_secret = ci({"backup", "--from", "gocd", "--url", "http://admin:pw-s3cret@127.0.0.1:8153/go?t=tk-9 x",
                               "--repo", repos.work.string()},
                              gocd.credentials());
  one_line(with_secret, 2,
           "--url 'http://127.0.0.1:8153/go?t=<redacted>' is not a valid URL: the value of query parameter 't' has a "
           "character that must be percent-encoded (which one and where is not shown");
  CHECK(with_secret.err.find("pw-s3cret") == std::string::npos);
  CHECK(with_secret.err.find("tk-9") == std::string::npos);
  one_line(ci({"backup", "--from", "bamboo", "--url", gocd.url(), "--repo", repos.work.string()}, {}), 2,
           "--from must be 'gocd' or 'jenkins'");
  one_line(ci({"backup", "--from", "gocd", "--repo", repos.work.string()}, {}), 2,
           "exactly one of --url URL and --dir DIR");
  one_line(ci({"sync"}, {}), 2, "ci-config needs 'backup' or 'restore'");
  one_line(ci({"backup", "--url", gocd.url(), "--repo", repos.work.string()}, {}), 2,
           "ci-config backup needs --from gocd|jenkins: the kind of CI server to read from");
  one_line(ci({"restore", "--url", gocd.url(), "--repo", repos.work.string()}, {}), 2,
           "ci-config restore needs --to gocd|jenkins: the kind of CI server to write to");
  CHECK(util::trim(git(repos.work, {"status", "--porcelain"})).empty());
}

TEST_CASE("the CI server's credentials never reach the repository or the output", "[e2e][ci-config][secrets]") {
  Repos repos;
  CiFake gocd(repos.dir.path(), "gocd", seed("gocd"));
  // A pipeline that mentions the token itself (pasted into a description by mistake).
  const auto leaky = repos.dir.path() / "leaky-seed";
  std::filesystem::create_directories(leaky);
  REQUIRE(util::write_file_atomic(leaky / "leaky.gocd.yaml",
                                  std::string("format_version: 10\npipelines:\n  leaky:\n    group: web\n"
                                              "    environment_variables:\n      TOKEN: ") +
                                      CiFake::kToken +
                                      "\n    materials:\n      git:\n        git: https://git.example/web.git\n"
                                      "    stages:\n      - build:\n          jobs:\n            make:\n"
                                      "              tasks:\n                - exec: {command: make}\n")
              .ok());
  CiFake leaking(repos.dir.path(), "gocd", leaky);
  const auto result =
      ci({"backup", "--from", "gocd", "--url", leaking.url(), "--repo", repos.work.string()}, gocd.credentials());
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find(CiFake::kToken) == std::string::npos);
  CHECK(result.err.find(CiFake::kToken) == std::string::npos);
  CHECK(util::read_file(repos.work / "gocd/pipelines/leaky.gocd.yaml")->find(CiFake::kToken) == std::string::npos);
  CHECK(git(repos.work, {"log", "-p"}).find(CiFake::kToken) == std::string::npos);
}

TEST_CASE("GoCD restore waits until GoCD parsed the repository and fails on its parse errors",
          "[e2e][ci-config][gocd]") {
  Repos repos;
  for (const char* file : {"web-create.gocd.yaml", "web-deploy.gocd.yaml"}) {
    write_and_push(repos, std::string("gocd/pipelines/") + file, *util::read_file(seed("gocd") / file));
  }
  CiFake gocd(repos.dir.path(), "gocd");
  const auto env = gocd.credentials();
  const std::vector<std::string> restore = {"restore",          "--to", "gocd", "--url", gocd.url(), "--repo",
                                            repos.work.string()};
  auto restored = ci(restore, env);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK_THAT(restored.err, Catch::Contains("GoCD parsed revision"));
  // GoCD loads a config repository in the background: only a restore that waited for the parse
  // finds the pipelines there the moment it returns.
  const auto check = repos.dir.path() / "check";
  auto seen = ci({"backup", "--from", "gocd", "--url", gocd.url(), "--repo", check.string()}, env);
  INFO(seen.err);
  REQUIRE(seen.exit_code == 0);
  CHECK(std::filesystem::exists(check / "gocd/pipelines/web-create.gocd.yaml"));
  CHECK(std::filesystem::exists(check / "gocd/pipelines/web-deploy.gocd.yaml"));

  // What the YAML plugin rejects: the restore fails with GoCD's own message.
  write_and_push(repos, "gocd/pipelines/broken.gocd.yaml",
                 "format_version: 10\npipelines:\n  broken:\n    group: web\n    stages:\n      - build:\n"
                 "          jobs:\n            make:\n              tasks:\n                - exec: {command: make}\n");
  auto broken = ci(restore, env);
  CHECK(broken.exit_code == 1);
  CHECK_THAT(last_line(broken.err), Catch::StartsWith("deploy-pipeline: error: GoCD could not parse revision "));
  CHECK_THAT(last_line(broken.err),
             Catch::Contains("Failed to parse pipeline broken; expected a hash of pipeline materials"));
  remove_and_push(repos, "gocd/pipelines/broken.gocd.yaml");

  // GoCD refuses two pipelines of one name.
  write_and_push(repos, "gocd/pipelines/copy.gocd.yaml", *util::read_file(seed("gocd") / "web-create.gocd.yaml"));
  auto duplicate = ci(restore, env);
  CHECK(duplicate.exit_code == 1);
  CHECK_THAT(last_line(duplicate.err), Catch::Contains("multiple pipelines named 'web-create'"));
  remove_and_push(repos, "gocd/pipelines/copy.gocd.yaml");
  CHECK(ci(restore, env).exit_code == 0);

  // ... also when the other one is in the server's own configuration.
  CiFake seeded(repos.dir.path(), "gocd", seed("gocd"));
  auto clash = ci({"restore", "--to", "gocd", "--url", seeded.url(), "--repo", repos.work.string()}, env);
  CHECK(clash.exit_code == 1);
  CHECK_THAT(last_line(clash.err), Catch::Contains("multiple pipelines named 'web-create'"));
}

TEST_CASE("GoCD: a pipeline the credentials cannot see is kept in the backup, not removed", "[e2e][ci-config][gocd]") {
  Repos repos;
  const auto server = repos.dir.path() / "server-seed";
  std::filesystem::create_directories(server);
  for (const char* file : {"web-create.gocd.yaml", "web-deploy.gocd.yaml"}) {
    std::filesystem::copy_file(seed("gocd") / file, server / file);
  }
  REQUIRE(util::write_file_atomic(server / "ci-config-backup.gocd.yaml",
                                  "format_version: 10\npipelines:\n  ci-config-backup:\n    group: operations\n"
                                  "    materials:\n      backup:\n        git: https://git.example/backup.git\n"
                                  "    stages:\n      - backup:\n          jobs:\n            export:\n"
                                  "              tasks:\n                - exec: {command: deploy-pipeline}\n")
              .ok());
  // The basic-auth user administers the group "web" only; the token is a system administrator.
  REQUIRE(util::write_file_atomic(server / "users.json",
                                  std::string("{\"") + CiFake::kUser + "\": {\"groups\": [\"web\"]}}\n")
              .ok());
  CiFake gocd(repos.dir.path(), "gocd", server);
  const std::vector<std::string> backup = {"backup", "--from",           "gocd", "--url", gocd.url(),
                                           "--repo", repos.work.string()};
  auto full = ci(backup, gocd.credentials());
  INFO(full.err);
  REQUIRE(full.exit_code == 0);
  CHECK_THAT(full.out, Catch::Contains("added    gocd/pipelines/ci-config-backup.gocd.yaml"));
  REQUIRE(repos.remote_commits() == 1);

  auto partial =
      ci(backup, {std::string("GOCD_USER=") + CiFake::kUser, std::string("GOCD_PASSWORD=") + CiFake::kPassword});
  INFO(partial.err);
  REQUIRE(partial.exit_code == 0);
  CHECK_THAT(partial.out, Catch::Contains("no changes; nothing committed"));
  CHECK_THAT(partial.err, Catch::Contains("kept 1 file the credentials cannot see"));
  CHECK_THAT(partial.err, Catch::Contains("gocd/pipelines/ci-config-backup.gocd.yaml"));
  CHECK(std::filesystem::exists(repos.work / "gocd/pipelines/ci-config-backup.gocd.yaml"));
  CHECK(repos.remote_commits() == 1);
}

TEST_CASE("Jenkins restore never writes a mask over a secret the server has", "[e2e][ci-config][jenkins][secrets]") {
  Repos repos;
  CiFake jenkins(repos.dir.path(), "jenkins", seed("jenkins"));
  const auto env = jenkins.credentials();
  REQUIRE(ci({"backup", "--from", "jenkins", "--url", jenkins.url(), "--repo", repos.work.string()}, env).exit_code ==
          0);
  const auto deploy_file = repos.work / "jenkins/jobs/web-deploy/config.xml";
  const auto create_file = repos.work / "jenkins/jobs/web-create/config.xml";
  auto deploy = *util::read_file(deploy_file);
  REQUIRE_THAT(deploy, Catch::Contains("<password>****</password>"));
  // Someone edits the backup: the deploy job's description, and a git password (masked) for
  // the create job, which has none on the server.
  REQUIRE(util::write_file_atomic(
              deploy_file, util::replace_all(deploy, "Manual: make a pool live", "Manual: make a pool live (edited)"))
              .ok());
  REQUIRE(util::write_file_atomic(create_file, util::replace_all(*util::read_file(create_file), "  </definition>\n",
                                                                 "  </definition>\n  <scm><password>****</password>"
                                                                 "</scm>\n"))
              .ok());
  git(repos.work, {"commit", "-q", "-a", "-m", "edit"});

  const std::vector<std::string> restore = {"restore",     "--to",   "jenkins",          "--url",
                                            jenkins.url(), "--repo", repos.work.string()};
  auto planned =
      ci({restore[0], restore[1], restore[2], restore[3], restore[4], restore[5], restore[6], "--dry-run"}, env);
  CHECK(planned.exit_code == 3);
  auto restored = ci(restore, env);
  INFO(restored.err);
  CHECK(restored.exit_code == 3);
  CHECK_THAT(restored.err, Catch::Contains("updated job web-deploy (keeping the server's 1 secret)"));
  CHECK_THAT(last_line(restored.err),
             Catch::Contains("left 1 job unchanged rather than write masked secrets over them: web-create (the "
                             "server has no value for flow-definition/scm/password)"));
  const auto on_server = jenkins_job(jenkins, "/job/web-deploy");
  CHECK_THAT(on_server, Catch::Contains("<password>clear-text-oops</password>"));
  CHECK_THAT(on_server, Catch::Contains("(edited)"));
  CHECK(jenkins_job(jenkins, "/job/web-create").find("****") == std::string::npos);
}

TEST_CASE("GoCD --dir: every secret of a real cruise-config.xml is masked, and known secrets are refused",
          "[e2e][ci-config][gocd][secrets]") {
  Repos repos;
  auto backup =
      ci({"backup", "--from", "gocd", "--dir", seed("gocd-server").string(), "--repo", repos.work.string()}, {});
  INFO(backup.err);
  REQUIRE(backup.exit_code == 0);
  CHECK_THAT(backup.err, Catch::Contains("warning: 7 clear-text secrets masked as ****"));
  const auto committed = *util::read_file(repos.work / "gocd/server/cruise-config.xml");
  const auto history = git(repos.work, {"log", "-p"});
  for (const char* secret : {"4d7c2f0e-9b1a-4c55-8a36-auto-register", "e3b98a4da31a127d4bde6e43033f66ba274cab0e",
                             "b4f6c2e8-0d3a-4e71-9c5b-token-generation", "smtp-password-in-clear",
                             "git-password-in-clear", "legacy-des-value-not-aes", "notify-token-typed-into-the-xml"}) {
    INFO(secret);
    CHECK(committed.find(secret) == std::string::npos);
    CHECK(history.find(secret) == std::string::npos);
  }
  for (const char* kept : {"webhookSecret=\"****\"", "agentAutoRegisterKey=\"****\"", "tokenGenerationKey=\"****\"",
                           "serverId=\"c0a1f9d2-6f1e-4a54-9d77-5f1c0b8e2a11\"",
                           "<encryptedValue>AES:6SwOEvpJmYtHx+nA8rPq1w==:tvbYwD4c4FQ8tq6ZHmxKyQ==</encryptedValue>",
                           "encryptedPassword=\"AES:q2mAgv0d9xB1kz2L6FjJqQ==:H8bQ8m5V7u3e0b8Gm3tq5A==\""}) {
    CHECK_THAT(committed, Catch::Contains(kept));
  }

  // A private key pasted into a task is nothing the schema calls secret: refused, not committed.
  const auto server = repos.dir.path() / "gocd-config";
  std::filesystem::create_directories(server);
  const auto original = *util::read_file(seed("gocd-server") / "cruise-config.xml");
  REQUIRE(util::write_file_atomic(server / "cruise-config.xml",
                                  util::replace_all(original, "<arg>run</arg>",
                                                    "<arg>run</arg>\n                <arg>-----BEGIN OPENSSH PRIVATE "
                                                    "KEY-----b3BlbnNzaC1rZXktdjEAAAAA-----END OPENSSH PRIVATE "
                                                    "KEY-----</arg>"))
              .ok());
  const auto fresh = repos.dir.path() / "fresh";
  auto refused = ci({"backup", "--from", "gocd", "--dir", server.string(), "--repo", fresh.string()}, {});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(last_line(refused.err),
             Catch::StartsWith("deploy-pipeline: error: refusing to commit gocd/server/cruise-config.xml: line "));
  CHECK_THAT(last_line(refused.err), Catch::Contains("a private key is still there after masking"));
  CHECK_FALSE(std::filesystem::exists(fresh / "gocd"));
}

TEST_CASE("the --url help names the ports GoCD and Jenkins serve on", "[e2e][ci-config]") {
  const auto help = run_tool("deploy-pipeline", {"ci-config", "--help"});
  REQUIRE(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("GoCD: http://host:8153"));
  CHECK(help.out.find("8154") == std::string::npos);
}

namespace {

// Backups of a GoCD config directory, whose cruise-config.xml the test changes between them,
// into the working tree of Repos.
struct GocdDirBackup {
  Repos repos;
  fs::path config = repos.dir.path() / "gocd-config";

  GocdDirBackup() {
    std::filesystem::create_directories(config);
    set("<pipelines/>");
  }
  void set(const std::string& body) const {
    REQUIRE(
        util::write_file_atomic(config / "cruise-config.xml", "<cruise schemaVersion=\"139\">" + body + "</cruise>\n")
            .ok());
  }
  ToolResult run() const {
    return ci({"backup", "--from", "gocd", "--dir", config.string(), "--repo", repos.work.string(), "--push"}, {});
  }
  // Makes the remote run `script` on every push it receives.
  void pre_receive(const std::string& script) const {
    const auto hook = repos.remote / "hooks" / "pre-receive";
    REQUIRE(util::write_file_atomic(hook, "#!/bin/sh\n" + script).ok());
    std::filesystem::permissions(hook, std::filesystem::perms::owner_all, std::filesystem::perm_options::add);
  }
};

// A second clone of the backup's remote: someone else's working tree.
fs::path other_clone(const Repos& repos) {
  const auto other = repos.dir.path() / "other";
  git(repos.dir.path(), {"clone", "-q", repos.remote.string(), other.string()});
  return other;
}

void commit_in(const fs::path& work, const std::string& file, const std::string& content) {
  std::filesystem::create_directories((work / file).parent_path());
  REQUIRE(util::write_file_atomic(work / file, content).ok());
  git(work, {"add", "-A"});
  git(work, {"commit", "-q", "-m", "change " + file});
}

}  // namespace

TEST_CASE("a backup goes on top of what others pushed to the remote meanwhile", "[e2e][ci-config]") {
  GocdDirBackup backup;
  const auto& repos = backup.repos;
  REQUIRE(backup.run().exit_code == 0);
  const auto other = other_clone(repos);
  commit_in(other, "README.md", "what this repository is\n");
  git(other, {"push", "-q", "origin", "main"});

  // Nothing new on the server: the working tree catches up, and there is nothing to push.
  auto unchanged = backup.run();
  INFO(unchanged.err);
  REQUIRE(unchanged.exit_code == 0);
  CHECK(std::filesystem::exists(repos.work / "README.md"));

  // A change on the server after someone else pushed again: committed on top, pushed.
  commit_in(other, "NOTES.md", "notes\n");
  git(other, {"pull", "-q", "--ff-only"});
  git(other, {"push", "-q", "origin", "main"});
  backup.set("<pipelines group=\"web\"/>");
  auto changed = backup.run();
  INFO(changed.err);
  REQUIRE(changed.exit_code == 0);
  CHECK_THAT(changed.out, Catch::Contains("changed  gocd/server/cruise-config.xml"));
  CHECK_THAT(changed.out, Catch::Contains("pushed"));
  CHECK(repos.remote_commits() == 4);
  CHECK(repos.remote_file("gocd/server/cruise-config.xml").find("group=\"web\"") != std::string::npos);
  CHECK(repos.remote_file("NOTES.md") == "notes\n");

  // A backup whose push failed earlier left a commit behind; it goes on top of the remote too.
  git(other, {"pull", "-q", "--ff-only"});
  commit_in(other, "README.md", "what this repository is, again\n");
  git(other, {"push", "-q", "origin", "main"});
  commit_in(repos.work, "gocd/server/cruise-config.xml", "<cruise schemaVersion=\"139\"><pipelines/></cruise>\n");
  auto behind = backup.run();
  INFO(behind.err);
  REQUIRE(behind.exit_code == 0);
  CHECK(util::trim(git(repos.work, {"rev-parse", "HEAD"})) == util::trim(git(repos.remote, {"rev-parse", "main"})));
  CHECK(repos.remote_file("README.md") == "what this repository is, again\n");
  CHECK(repos.remote_file("gocd/server/cruise-config.xml").find("group=\"web\"") != std::string::npos);
}

TEST_CASE("a push the remote refuses because it moved during the backup is retried on top of it", "[e2e][ci-config]") {
  GocdDirBackup backup;
  const auto& repos = backup.repos;
  REQUIRE(backup.run().exit_code == 0);
  // The remote gets someone else's commit while the next push is on its way, and refuses it.
  backup.pre_receive(
      "[ -e \"$GIT_DIR/moved\" ] && exit 0\n"
      "touch \"$GIT_DIR/moved\"\n"
      "unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n"
      "export GIT_INDEX_FILE=\"$GIT_DIR/other-index\" GIT_AUTHOR_NAME=other GIT_AUTHOR_EMAIL=o@localhost\n"
      "export GIT_COMMITTER_NAME=other GIT_COMMITTER_EMAIL=o@localhost\n"
      "git read-tree main\n"
      "blob=$(echo notes | git hash-object -w --stdin)\n"
      "git update-index --add --cacheinfo 100644,$blob,NOTES.md\n"
      "commit=$(git commit-tree $(git write-tree) -p main -m other)\n"
      "git update-ref refs/heads/main $commit\n"
      "exit 1\n");
  backup.set("<pipelines group=\"web\"/>");
  auto result = backup.run();
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(std::filesystem::exists(repos.remote / "moved"));
  CHECK(repos.remote_commits() == 3);
  CHECK(repos.remote_file("NOTES.md") == "notes\n");
  CHECK(repos.remote_file("gocd/server/cruise-config.xml").find("group=\"web\"") != std::string::npos);
}

TEST_CASE("a backup whose files someone else changed on the remote is refused in one line", "[e2e][ci-config]") {
  GocdDirBackup backup;
  const auto& repos = backup.repos;
  REQUIRE(backup.run().exit_code == 0);
  const auto other = other_clone(repos);
  commit_in(other, "gocd/server/cruise-config.xml", "<cruise schemaVersion=\"139\"><edited/></cruise>\n");
  git(other, {"push", "-q", "origin", "main"});
  // An earlier backup whose push failed changed the same file.
  commit_in(repos.work, "gocd/server/cruise-config.xml", "<cruise schemaVersion=\"139\"><local/></cruise>\n");
  for (int run = 0; run < 2; ++run) {
    auto refused = backup.run();
    INFO(refused.err);
    CHECK(refused.exit_code == 3);
    REQUIRE(util::split_lines(refused.err).size() == 1);
    CHECK_THAT(refused.err,
               Catch::StartsWith("deploy-pipeline: error: cannot put the backup on top of origin/main: it changed "
                                 "gocd/server/cruise-config.xml, which local commits not pushed yet "
                                 "change too"));
    CHECK_THAT(refused.err, Catch::Contains("reset --hard origin/main), then back up again"));
  }
  // Nothing half-done is left: no rebase in progress, the local commit as it was.
  CHECK(util::trim(git(repos.work, {"status", "--porcelain"})).empty());
  CHECK_THAT(*util::read_file(repos.work / "gocd/server/cruise-config.xml"), Catch::Contains("<local/>"));
  git(repos.work, {"reset", "-q", "--hard", "origin/main"});
  auto after_reset = backup.run();
  INFO(after_reset.err);
  CHECK(after_reset.exit_code == 0);
  CHECK(repos.remote_file("gocd/server/cruise-config.xml").find("<pipelines/>") != std::string::npos);
}

TEST_CASE("a push that stays impossible is one line naming what git said", "[e2e][ci-config]") {
  GocdDirBackup backup;
  const auto& repos = backup.repos;
  backup.pre_receive("echo 'no pushes today' >&2\nexit 1\n");
  auto refused = backup.run();
  INFO(refused.err);
  CHECK(refused.exit_code == 4);
  CHECK_THAT(last_line(refused.err), Catch::Contains("git push failed in " + repos.work.string() + ": ! "));
  CHECK_THAT(last_line(refused.err), Catch::Contains("(pre-receive hook declined)"));
  CHECK(refused.err.find("\\x0A") == std::string::npos);
}

TEST_CASE("Jenkins jobs with spaces and other characters Jenkins allows are backed up and restored",
          "[e2e][ci-config][jenkins]") {
  Repos repos;
  const auto home = repos.dir.path() / "jenkins-home";
  std::filesystem::copy(seed("jenkins"), home, std::filesystem::copy_options::recursive);
  const auto job_xml = *util::read_file(seed("jenkins") / "jobs/web-create/config.xml");
  for (const char* name : {"my job", "caf\xc3\xa9 (nightly)", "team/web \"smoke\""}) {
    const auto parts = util::split(name, '/');
    const auto dir = parts.size() == 1 ? home / "jobs" / name : home / "jobs" / parts[0] / "jobs" / parts[1];
    std::filesystem::create_directories(dir);
    REQUIRE(util::write_file_atomic(dir / "config.xml", job_xml).ok());
  }
  CiFake jenkins(repos.dir.path(), "jenkins", home);
  const auto env = jenkins.credentials();
  auto backup =
      ci({"backup", "--from", "jenkins", "--url", jenkins.url(), "--repo", repos.work.string(), "--push"}, env);
  INFO(backup.err);
  REQUIRE(backup.exit_code == 0);
  CHECK(backup.err.find("skipping") == std::string::npos);
  CHECK_THAT(backup.out, Catch::Contains("added    jenkins/jobs/my%20job/config.xml"));
  CHECK_THAT(backup.out, Catch::Contains("added    jenkins/jobs/caf%C3%A9%20%28nightly%29/config.xml"));
  CHECK_THAT(backup.out, Catch::Contains("added    jenkins/jobs/team/jobs/web%20%22smoke%22/config.xml"));

  CiFake empty(repos.dir.path(), "jenkins");
  auto restored = ci({"restore", "--to", "jenkins", "--url", empty.url(), "--repo", repos.work.string()}, env);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK_THAT(restored.out, Catch::Contains("create job my job\n"));
  CHECK_THAT(restored.out, Catch::Contains("create job team/web \"smoke\"\n"));
  CHECK_THAT(jenkins_job(empty, "/job/my%20job"), Catch::Contains("<flow-definition"));
  CHECK_THAT(jenkins_job(empty, "/job/caf%C3%A9%20%28nightly%29"), Catch::Contains("<flow-definition"));
  auto again = ci({"backup", "--from", "jenkins", "--url", empty.url(), "--repo", repos.work.string()}, env);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK_THAT(again.out, Catch::Contains("no changes"));

  // The same from JENKINS_HOME itself.
  const auto from_home = repos.dir.path() / "from-home";
  auto files = ci({"backup", "--from", "jenkins", "--dir", home.string(), "--repo", from_home.string()}, {});
  INFO(files.err);
  REQUIRE(files.exit_code == 0);
  CHECK(std::filesystem::exists(from_home / "jenkins/jobs/my%20job/config.xml"));
}

TEST_CASE("the Jenkins fake refuses the job names Jenkins refuses", "[e2e][ci-config][jenkins]") {
  TempDir dir;
  CiFake jenkins(dir.path(), "jenkins");
  http::CurlHttpClient http;
  const auto create = [&](const std::string& encoded_name) {
    HttpRequest request;
    request.method = "POST";
    request.url = jenkins.url() + "/createItem?name=" + encoded_name;
    request.headers.emplace_back("Content-Type", "application/xml");
    request.body = "<flow-definition/>";
    request.basic_user = CiFake::kUser;
    request.basic_password = CiFake::kPassword;
    auto answers = http.perform({request});
    REQUIRE(answers.front().ok());
    return answers.front()->status;
  };
  for (const char* bad :
       {"a%3Ab", "a%2Fb", "a%3Fb", "a%2Ab", "a%7Cb", "a%3Cb", "a%5Cb", "..", "%20.%20", "a.", "", "a%09b"}) {
    INFO(bad);
    CHECK(create(bad) == 400);
  }
  CHECK(create("my%20job") == 200);
  CHECK(create("%20padded%20") == 200);
  CHECK_THAT(jenkins_job(jenkins, "/job/padded"), Catch::Contains("<flow-definition"));
  CHECK(create("it%27s%20%22fine%22%20%28%C3%A9%29") == 200);
}

TEST_CASE("a Jenkins job no file can be named after fails the backup after the others are kept",
          "[e2e][ci-config][jenkins]") {
  Repos repos;
  const auto home = repos.dir.path() / "jenkins-home";
  std::filesystem::copy(seed("jenkins"), home, std::filesystem::copy_options::recursive);
  // 100 e-acutes: 200 bytes, a good directory name in JENKINS_HOME, 600 bytes percent-encoded.
  std::string long_name;
  for (int i = 0; i < 100; ++i) long_name += "\xc3\xa9";
  std::filesystem::create_directories(home / "jobs" / long_name);
  REQUIRE(util::write_file_atomic(home / "jobs" / long_name / "config.xml", "<flow-definition/>\n").ok());
  auto backup = ci({"backup", "--from", "jenkins", "--dir", home.string(), "--repo", repos.work.string()}, {});
  INFO(backup.err);
  CHECK(backup.exit_code == 1);
  CHECK_THAT(last_line(backup.err), Catch::StartsWith("deploy-pipeline: error: backed up everything but job '"));
  CHECK_THAT(last_line(backup.err), Catch::Contains("rename it on the CI server, then back up again"));
  CHECK(std::filesystem::exists(repos.work / "jenkins/jobs/web-create/config.xml"));
  CHECK(repos.remote_commits() == 1);
}

TEST_CASE("ci-config backup checks --repo before it reads the CI server", "[e2e][ci-config]") {
  TempDir dir;
  CiFake jenkins(dir.path(), "jenkins", seed("jenkins"));
  const auto plain = dir.path() / "plain";
  std::filesystem::create_directories(plain);
  REQUIRE(util::write_file_atomic(plain / "notes.txt", "not a repository\n").ok());
  auto result =
      ci({"backup", "--from", "jenkins", "--url", jenkins.url(), "--repo", plain.string()}, jenkins.credentials());
  CHECK(result.exit_code == 2);
  INFO(result.err);
  REQUIRE(util::split_lines(result.err).size() == 1);
  CHECK_THAT(result.err, Catch::Contains("--repo " + plain.string() + " is not a git working tree"));
}

TEST_CASE("GoCD restore refuses a HEAD that is not pushed, before registering anything", "[e2e][ci-config][gocd]") {
  Repos repos;
  write_and_push(repos, "gocd/pipelines/web-create.gocd.yaml", *util::read_file(seed("gocd") / "web-create.gocd.yaml"));
  commit_in(repos.work, "gocd/pipelines/web-deploy.gocd.yaml", *util::read_file(seed("gocd") / "web-deploy.gocd.yaml"));
  CiFake gocd(repos.dir.path(), "gocd");
  const auto env = gocd.credentials();
  const std::vector<std::string> restore = {"restore",          "--to", "gocd", "--url", gocd.url(), "--repo",
                                            repos.work.string()};
  for (bool dry_run : {true, false}) {
    auto args = restore;
    if (dry_run) args.push_back("--dry-run");
    auto refused = ci(args, env);
    INFO(refused.err);
    CHECK(refused.exit_code == 2);
    REQUIRE(util::split_lines(refused.err).size() == 1);
    CHECK_THAT(refused.err, Catch::Contains(" is not pushed: " + repos.remote.string() + " (branch main) is at "));
    CHECK_THAT(refused.err, Catch::Contains("push it first"));
  }
  git(repos.work, {"push", "-q", "origin", "main"});
  auto planned =
      ci({restore[0], restore[1], restore[2], restore[3], restore[4], restore[5], restore[6], "--dry-run"}, env);
  INFO(planned.err);
  REQUIRE(planned.exit_code == 0);
  CHECK_THAT(planned.out, Catch::Contains("would register config repository"));
}
