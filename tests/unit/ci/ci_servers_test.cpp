#include "shared/ci/ci_servers.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_http_client.hpp"
#include "fakes/recording_reporter.hpp"
#include "shared/ci/ci_config.hpp"
#include "shared/util/files.hpp"
#include "shared/util/process.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {
ci::ConfigRepo repo() { return {"phoenix-ci-config", "https://git.example/ci.git", "main", "\"etag-1\""}; }

std::string header(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return {};
}
}  // namespace

TEST_CASE("GoCD: a config repository update sends If-Match and fails when the repository is gone", "[ci]") {
  long status = 200;
  FakeHttpClient http([&](const HttpRequest&) -> Result<HttpResponse> { return http_answer(status, "{}"); });
  ci::GocdServer server(http, "https://gocd.example/", {"token-1", "", ""});

  CHECK(server.update_config_repo(repo()).ok());
  const HttpRequest& sent = http.batches.back().front();
  CHECK(sent.method == "PUT");
  CHECK(sent.url == "https://gocd.example/go/api/admin/config_repos/phoenix-ci-config");
  CHECK(header(sent, "If-Match") == "\"etag-1\"");
  CHECK(header(sent, "Accept") == "application/vnd.go.cd.v4+json");
  CHECK(header(sent, "Authorization") == "bearer token-1");

  status = 404;
  const auto gone = server.update_config_repo(repo());
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ErrorKind::failed);
  CHECK_THAT(gone.error().message, Catch::Contains("no config repository 'phoenix-ci-config' to update"));

  status = 412;  // the repository changed since it was read
  const auto stale = server.update_config_repo(repo());
  REQUIRE_FALSE(stale.ok());
  CHECK_THAT(stale.error().message, Catch::Contains("412"));
}

TEST_CASE("GoCD: the parse state of a config repository is read from parse_info", "[ci]") {
  FakeHttpClient http([](const HttpRequest&) -> Result<HttpResponse> {
    return http_answer(200, R"({"id": "r", "material_update_in_progress": false, "parse_info": {
      "latest_parsed_modification": {"revision": "bbb"}, "good_modification": {"revision": "aaa"},
      "error": "1+ errors :: Failed to parse pipeline x"}})");
  });
  ci::GocdServer server(http, "https://gocd.example", {"token-1", "", ""});
  const auto parse = server.config_repo_parse("r");
  REQUIRE(parse.ok());
  CHECK_FALSE(parse->update_in_progress);
  CHECK(parse->parsed_revision == "bbb");
  CHECK(parse->good_revision == "aaa");
  CHECK(parse->error == "1+ errors :: Failed to parse pipeline x");
}

TEST_CASE("GoCD: a group administrator does not see every pipeline", "[ci]") {
  long status = 403;
  FakeHttpClient http([&](const HttpRequest&) -> Result<HttpResponse> { return http_answer(status, "{}"); });
  ci::GocdServer server(http, "https://gocd.example", {"token-1", "", ""});
  CHECK(*server.sees_every_pipeline() == false);
  CHECK(header(http.batches.back().front(), "Accept") == "application/vnd.go.cd.v2+json");
  status = 200;
  CHECK(*server.sees_every_pipeline() == true);
  status = 401;
  CHECK_FALSE(server.sees_every_pipeline().ok());
}

TEST_CASE("Jenkins: jobs are listed through folders and addressed by their full name", "[ci]") {
  FakeHttpClient http([](const HttpRequest& request) -> Result<HttpResponse> {
    if (request.url == "https://jenkins.example/api/json?tree=jobs%5Bname%5D") {
      return http_answer(200, R"({"jobs": [{"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "team"},
        {"_class": "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject", "name": "mb"}]})");
    }
    if (request.url == "https://jenkins.example/job/team/api/json?tree=jobs%5Bname%5D") {
      return http_answer(200,
                         R"({"jobs": [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "web"}]})");
    }
    return http_answer(200, "");
  });
  ci::JenkinsServer server(http, "https://jenkins.example/", {"", "user", "token"});
  const auto names = server.job_names();
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{"team", "team/web", "mb"});
  CHECK(http.batches.size() == 2);  // a multibranch project's branch jobs are Jenkins' own
  REQUIRE(server.create_job("team/web", "<xml/>").ok());
  CHECK(http.batches.back().front().url == "https://jenkins.example/job/team/createItem?name=web");
  REQUIRE(server.update_job("team/web", "<xml/>").ok());
  CHECK(http.batches.back().front().url == "https://jenkins.example/job/team/job/web/config.xml");
}

TEST_CASE("GoCD restore gives up, bounded, when GoCD never parses the repository's HEAD", "[ci]") {
  phoenix::testing::TempDir dir;
  const auto repo = dir.path() / "repo";
  phoenix::testing::git(dir.path(), {"init", "-q", "-b", "main", repo.string()});
  REQUIRE(util::write_file_atomic(repo / "x.gocd.yaml", "format_version: 10\n").ok());
  phoenix::testing::git(repo, {"add", "-A"});
  phoenix::testing::git(repo, {"commit", "-q", "-m", "x"});
  int triggers = 0;
  FakeHttpClient http([&](const HttpRequest& request) -> Result<HttpResponse> {
    if (request.method == "POST" && request.url.ends_with("/trigger_update")) {
      ++triggers;
      return http_answer(201, "{}");
    }
    // Registered, parsed an older revision, nothing in progress: GoCD never gets to HEAD.
    return http_answer(200,
                       R"({"id": "phoenix-ci-config", "material": {"attributes": {"url": "https://git.example/ci.git",
      "branch": "main"}}, "material_update_in_progress": false,
      "parse_info": {"latest_parsed_modification": {"revision": "0123456789abcdef"}, "error": null}})");
  });
  FakeClock clock;
  RecordingReporter reporter;
  ci::RestoreOptions options;
  options.system = ci::System::gocd;
  options.url = "https://gocd.example";
  options.repo = repo;
  options.repo_url = "https://git.example/ci.git";
  options.parse_timeout = std::chrono::seconds(30);
  const auto restored = ci::restore(http, {"token-1", "", ""}, clock, reporter, options);
  REQUIRE_FALSE(restored.ok());
  CHECK(restored.error().kind == ErrorKind::unavailable);
  CHECK_THAT(restored.error().message, Catch::Contains("has not parsed revision"));
  CHECK_THAT(restored.error().message, Catch::Contains("within 30 s (it parsed 0123456789ab"));
  CHECK(triggers == 1);
  CHECK(clock.slept() <= std::chrono::seconds(30));
  CHECK(clock.slept() >= std::chrono::seconds(29));
}
