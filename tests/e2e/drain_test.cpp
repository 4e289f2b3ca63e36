// Drain correctness: requests in flight on the old servers complete; members are deleted only
// once their connections are gone; a drain that times out says what is still connected.

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// A service whose drain times out after 1 s, with pools 1 (live) and 2 (smoke-tested): its
// configuration file.
std::string short_drain_service(const std::filesystem::path& directory, const Haproxy& haproxy) {
  ServiceOptions options;
  options.drain_timeout_s = 1;
  const auto config = write_service_config(directory, haproxy, options).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  return config;
}

std::vector<std::future<std::pair<long, std::string>>> slow_requests(const Haproxy& haproxy, int count,
                                                                     int milliseconds) {
  std::vector<std::future<std::pair<long, std::string>>> requests;
  for (int i = 0; i < count; ++i) {
    requests.push_back(std::async(std::launch::async, [&haproxy, milliseconds] {
      return http_get(haproxy.url("/slow?ms=" + std::to_string(milliseconds)),
                      std::chrono::milliseconds(milliseconds + 5000));
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // all of them in flight
  return requests;
}
}  // namespace

TEST_CASE("requests in flight on the old pool complete across the switch", "[e2e][drain]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);

  auto requests = slow_requests(haproxy, 6, 1500);
  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--verbose", "--config", config});
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK(deployed.duration_ms() >= 1000);  // it waited for the slow requests before removing
  for (auto& request : requests) {
    const auto [status, body] = request.get();
    CHECK(status == 200);
    CHECK(body == "1\n");
  }
  CHECK(haproxy.command("show servers state web").find(" 1:") == std::string::npos);
  CHECK_THAT(deployed.err, Catch::Contains("drained after"));
}

TEST_CASE("a drain that times out is reported with what is still connected", "[e2e][drain]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = short_drain_service(dir.path(), haproxy);

  auto requests = slow_requests(haproxy, 2, 3000);
  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config});
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK_THAT(deployed.err,
             Catch::Contains("warning: drain timed out after 1.00 s (balancer.drain_timeout_s); still connected: 1:"));
  CHECK_THAT(deployed.err, Catch::Contains("(1 connection)"));
  // Maintenance does not cut requests in flight: they still complete from the old release.
  for (auto& request : requests) {
    const auto [status, body] = request.get();
    CHECK(status == 200);
    CHECK(body == "1\n");
  }
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK_THAT(status.out, Catch::Contains("live     2\n"));
}

namespace {
// Polls until every request to `haproxy` answers 200 from `release` (after a reload, the
// members come up through their health checks again).
bool serves(const Haproxy& haproxy, const std::string& release) {
  for (int i = 0; i < 100; ++i) {
    const auto [status, body] = http_get(haproxy.url("/"));
    if (status == 200 && body == release + "\n") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}
}  // namespace

TEST_CASE("a member that keeps a request past the drain is left in maintenance in one pass; repair removes it",
          "[e2e][drain]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = short_drain_service(dir.path(), haproxy);

  // Longer than the drain timeout (1 s) and the removal grace (5 s) together.
  auto requests = slow_requests(haproxy, 1, 8000);
  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config});
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK_THAT(deployed.err, Catch::Contains("left in maintenance because connections are still open: 1:"));
  CHECK_THAT(deployed.err, !Catch::Contains("planning again"));  // one pass: that is the expected end
  CHECK_THAT(deployed.err, Catch::Contains("pool 2 is live"));
  const auto [status, body] = requests.front().get();
  CHECK(status == 200);  // maintenance never cut it
  CHECK(body == "1\n");
  CHECK(haproxy.command("show servers state web").find(" 1:") != std::string::npos);

  const auto repaired = run_tool("deploy-pipeline", {"repair", "--config", config});
  INFO(repaired.err);
  CHECK(repaired.exit_code == 0);
  CHECK(haproxy.command("show servers state web").find(" 1:") == std::string::npos);
  CHECK(http_get(haproxy.url("/")).second == "2\n");
}

TEST_CASE("after a reload, a member whose request outlived the drain is removed as soon as the request ends",
          "[e2e][drain]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = short_drain_service(dir.path(), haproxy);
  // From here pool 1's members are servers of the configuration file, not runtime additions:
  // HAProxy would park a finished request's server connection in their idle pool, and refuse
  // `del server` until it is purged, unless the managed block disables that pool.
  haproxy.reload();
  REQUIRE(serves(haproxy, "1"));

  // Clients that keep their connections open after the answer, as browsers do.
  KeepAliveClient first(haproxy.port());
  KeepAliveClient second(haproxy.port());
  std::vector<std::future<std::string>> requests;
  for (auto* client : {&first, &second}) {
    requests.push_back(
        std::async(std::launch::async, [client] { return client->get("/slow?ms=2500", std::chrono::seconds(10)); }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // both in flight
  const auto deployed = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config});
  INFO(deployed.err);
  REQUIRE(deployed.exit_code == 0);
  CHECK_THAT(deployed.err, Catch::Contains("drain timed out"));
  CHECK_THAT(deployed.err, !Catch::Contains("left in maintenance"));
  for (auto& request : requests) CHECK(request.get() == "1\n");
  CHECK(haproxy.command("show servers state web").find(" 1:") == std::string::npos);
}
