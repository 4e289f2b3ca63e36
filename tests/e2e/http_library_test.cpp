// libcurl is loaded on the first HTTP request, not at start-up. Without a usable one (hidden
// here in a mount namespace of the test's own), a switch on HAProxy still works, and a command
// that needs HTTP stops with one line and exit 2 before anything changes: never a failed smoke
// test, a breach or an automatic rollback drawn from requests that could not be sent.

#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// The file the commands load libcurl from (the same soname, the same search).
std::string libcurl_file() {
  void* library = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  REQUIRE(library != nullptr);
  void* function = ::dlsym(library, "curl_easy_init");
  REQUIRE(function != nullptr);
  Dl_info info{};
  REQUIRE(::dladdr(function, &info) != 0);
  REQUIRE(info.dli_fname != nullptr);
  return std::filesystem::canonical(info.dli_fname).string();
}

// Runs `tool` in a mount namespace of its own where libcurl's file reads as empty.
ToolResult run_without_libcurl(const std::string& tool, const std::vector<std::string>& arguments) {
  return run_tool_as(
      {"unshare", "--mount", "sh", "-c", "mount --bind /dev/null " + libcurl_file() + " && exec \"$0\" \"$@\""}, tool,
      arguments);
}

struct NoLibcurlRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;
  std::string watched;  // the same service, with a watch check (HTTP)

  NoLibcurlRig() {
    ServiceOptions options;
    options.pool_size = 1;
    options.hot = 1;
    config = write_service_config(dir.path(), haproxy, options).string();
    options.file_name = "watched.json";
    options.watch = R"({ "interval_ms": 200, "checks": [{ "name": "home", "url": ")" + haproxy.url() + R"(/" }] })";
    watched = write_service_config(dir.path(), haproxy, options).string();
    create_pools_1_and_2(config, ThenDeploy::pool_1);
    REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config}).exit_code == 0);
  }
};

}  // namespace

TEST_CASE("without a usable libcurl a HAProxy switch works and HTTP commands stop with exit 2, changing nothing",
          "[e2e][http-library]") {
  NoLibcurlRig rig;
  // Hidden indeed: the namespace works and the tools still start.
  const auto version = run_without_libcurl("deploy-pipeline", {"--version"});
  REQUIRE(version.exit_code == 0);

  // A rollback on HAProxy makes no HTTP request.
  const auto rollback = run_without_libcurl("deploy-pipeline", {"rollback", "--to", "1", "--config", rig.config});
  INFO(rollback.err);
  CHECK(rollback.exit_code == 0);
  CHECK(http_get(rig.haproxy.url()).second == "1\n");

  // A smoke test would judge pool 1 by requests that cannot be sent: refused, verdict kept.
  const auto smoke = run_without_libcurl("create-pipeline", {"smoke-test", "--label", "1", "--config", rig.config});
  CHECK(smoke.exit_code == 2);
  CHECK_THAT(smoke.err, Catch::Contains("cannot use libcurl"));
  CHECK_THAT(smoke.err, Catch::Contains("install the Debian package libcurl4"));
  const auto listing = run_tool("create-pipeline", {"list", "--config", rig.config});
  CHECK_THAT(listing.out, Catch::Contains("passed"));
  CHECK_THAT(listing.out, !Catch::Contains("failed"));

  // A run smoke-tests what it creates: nothing is created.
  const auto run = run_without_libcurl("create-pipeline", {"run", "--label", "3", "--config", rig.config});
  CHECK(run.exit_code == 2);
  CHECK_THAT(run.err, Catch::Contains("cannot use libcurl"));
  CHECK_FALSE(std::filesystem::exists(rig.dir.path() / "state" / "web" / "pools" / "3"));

  // A watched deploy with a watch check needs HTTP from its first second: refused before the lock.
  const auto deploy = run_without_libcurl(
      "deploy-pipeline", {"deploy", "--label", "2", "--force", "--watch", "2s", "--config", rig.watched});
  CHECK(deploy.exit_code == 2);
  CHECK_THAT(deploy.err, Catch::Contains("cannot use libcurl"));
  CHECK(http_get(rig.haproxy.url()).second == "1\n");
  const auto history = run_tool("deploy-pipeline", {"history", "--config", rig.config});
  CHECK_THAT(history.out, !Catch::Contains("auto-rollback"));
}
