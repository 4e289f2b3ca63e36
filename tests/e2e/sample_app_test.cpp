// phoenix-sample-app as a release that goes bad: 500 on every path but /health, on time
// (--fail-after) or on request (POST /admin/fail), while /health keeps answering 200. The
// failure that health checks miss, for tests of what notices it.

#include <catch2/catch.hpp>
#include <thread>

#include "shared/http/curl_http_client.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Answer {
  long status = 0;
  std::string body;
};

// One request to 127.x; `host` overrides the Host header.
Answer request(const std::string& method, const std::string& url, const std::string& host = "") {
  http::CurlHttpClient client;
  HttpRequest request;
  request.method = method;
  request.url = url;
  request.timeout = std::chrono::seconds(5);
  if (!host.empty()) request.headers.emplace_back("Host", host);
  auto answers = client.perform({request});
  if (!answers.front()) return {};
  return {answers.front()->status, answers.front()->body};
}

// A sample app on its own loopback port, stopped by pid at the end.
struct AppUnderTest {
  TempDir dir;
  std::string address = "127.0.0.1:" + std::to_string(free_port());
  util::ProcessIdentity process;
  SteadyClock::time_point started;

  explicit AppUnderTest(const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {(binary_directory() / "phoenix-sample-app").string(), "--listen", address,
                                     "--release", "7"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    started = SteadyClock::now();
    auto spawned = util::spawn_detached({argv, dir.path(), dir.path() / "app.log"});
    REQUIRE(spawned);
    process = *spawned;
    for (int i = 0; i < 200 && get("/health").status != 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(get("/health").status == 200);
  }
  ~AppUnderTest() { util::stop_process(process, std::chrono::seconds(2)); }

  std::string url(const std::string& path) const { return "http://" + address + path; }
  Answer get(const std::string& path) const { return request("GET", url(path)); }
  Answer post(const std::string& path) const { return request("POST", url(path)); }
};

void require_bad(const AppUnderTest& app) {
  CHECK(app.get("/").status == 500);
  CHECK(app.get("/").body == "release 7 is failing\n");
  CHECK(app.get("/slow?ms=10").status == 500);
  CHECK(app.get("/no-such-page").status == 500);
  CHECK(app.get("/health").status == 200);
  CHECK(app.get("/health").body == "ok\n");
}

void require_good(const AppUnderTest& app) {
  CHECK(app.get("/").status == 200);
  CHECK(app.get("/").body == "7\n");
  CHECK(app.get("/slow?ms=10").status == 200);
  CHECK(app.get("/no-such-page").status == 404);
  CHECK(app.get("/health").status == 200);
}

}  // namespace

TEST_CASE("the sample app goes bad after --fail-after seconds, and /health never notices", "[e2e][sample-app]") {
  AppUnderTest app({"--fail-after", "1"});
  require_good(app);
  while (app.get("/").status == 200 && SteadyClock::now() - app.started < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const auto turned = SteadyClock::now() - app.started;
  CHECK(turned >= std::chrono::milliseconds(1000));
  CHECK(turned < std::chrono::milliseconds(2500));
  require_bad(app);
  // Bad stays bad until someone says otherwise.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(app.get("/").status == 500);

  CHECK(app.post("/admin/recover").status == 200);
  require_good(app);
}

TEST_CASE("the sample app's admin switch: fail, recover, only POST, only on its own address", "[e2e][sample-app]") {
  AppUnderTest app({});
  require_good(app);
  CHECK(app.post("/admin/fail").status == 200);
  require_bad(app);
  CHECK(app.post("/admin/fail").status == 200);  // already bad: stays bad
  require_bad(app);
  CHECK(app.get("/admin/recover").status == 405);
  // What a balancer passes on: the client's Host, not the server's own address.
  CHECK(request("POST", app.url("/admin/recover"), "127.0.0.1:1").status == 403);
  require_bad(app);
  CHECK(app.post("/admin/recover").status == 200);
  require_good(app);
  CHECK(request("POST", app.url("/admin/fail"), "shop.example").status == 403);
  require_good(app);

  // An admin request cancels a pending --fail-after.
  AppUnderTest later({"--fail-after", "1"});
  CHECK(later.post("/admin/recover").status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  require_good(later);
}

TEST_CASE("behind HAProxy a bad release keeps passing health checks and its switch is out of reach",
          "[e2e][sample-app]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions service;
  service.pool_size = 2;
  const auto config = write_service_config(dir.path(), haproxy, service).string();
  for (const auto* tool : {"create-pipeline", "deploy-pipeline"}) {
    const auto result =
        run_tool(tool, {tool == std::string("create-pipeline") ? "run" : "deploy", "--label", "1", "--config", config});
    INFO(result.err);
    REQUIRE(result.exit_code == 0);
  }
  CHECK(http_get(haproxy.url()).second == "1\n");
  CHECK(request("POST", haproxy.url("/admin/fail")).status == 403);
  CHECK(http_get(haproxy.url()).first == 200);

  const auto status = run_tool("deploy-pipeline", {"status", "--output", "json", "--config", config});
  const auto document = parse_output(status.out);
  int turned = 0;
  const cJSON* member = nullptr;
  cJSON_ArrayForEach(member, cJSON_GetObjectItem(document.get(), "members")) {
    const std::string address = cJSON_GetObjectItem(member, "address")->valuestring;
    CHECK(request("POST", "http://" + address + "/admin/fail").status == 200);
    ++turned;
  }
  REQUIRE(turned == 2);
  // Several check intervals (100 ms) later, HAProxy still routes to both and status sees
  // nothing wrong with them, while every request through HAProxy fails. (Its one problem is
  // that this lone pool has no rollback target.)
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  for (int i = 0; i < 4; ++i) CHECK(http_get(haproxy.url()).first == 500);
  const auto after = run_tool("deploy-pipeline", {"status", "--output", "json", "--config", config});
  INFO(after.out);
  const auto problems = parse_output(after.out);
  const cJSON* list = cJSON_GetObjectItem(problems.get(), "problems");
  REQUIRE(cJSON_GetArraySize(list) == 1);
  CHECK_THAT(std::string(cJSON_GetArrayItem(list, 0)->valuestring), Catch::Contains("no known-good pool"));
}
