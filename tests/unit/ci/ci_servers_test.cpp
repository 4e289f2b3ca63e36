#include "shared/ci/ci_servers.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_http_client.hpp"

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
