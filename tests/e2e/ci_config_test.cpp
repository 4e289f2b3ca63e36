// deploy-pipeline ci-config against the GoCD and Jenkins contract fakes, with real git and a
// local bare repository as the remote.

#include <catch2/catch.hpp>
#include <filesystem>

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
  CHECK(repos.remote_commits() == 1);
  CHECK(ci({"backup", "--from", "jenkins", "--url", jenkins.url(), "--repo", repos.work.string()}, env).exit_code == 0);
  CHECK(repos.remote_commits() == 1);

  CiFake empty(repos.dir.path(), "jenkins");
  auto restored = ci({"restore", "--to", "jenkins", "--url", empty.url(), "--repo", repos.work.string()}, env);
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK_THAT(restored.out, Catch::Contains("create job web-create"));
  CHECK_THAT(restored.out, Catch::Contains("create job web-deploy"));
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
  one_line(ci({"backup", "--from", "bamboo", "--url", gocd.url(), "--repo", repos.work.string()}, {}), 2,
           "--from must be 'gocd' or 'jenkins'");
  one_line(ci({"backup", "--from", "gocd", "--repo", repos.work.string()}, {}), 2,
           "exactly one of --url URL and --dir DIR");
  one_line(ci({"sync"}, {}), 2, "ci-config needs 'backup' or 'restore'");
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
