// Drain correctness: requests in flight on the old servers complete; members are deleted only
// once their connections are gone; a drain that times out says what is still connected.

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {
std::vector<std::future<std::pair<long, std::string>>> slow_requests(const Haproxy& haproxy, int count,
                                                                     int milliseconds) {
  std::vector<std::future<std::pair<long, std::string>>> requests;
  for (int i = 0; i < count; ++i) {
    requests.push_back(std::async(std::launch::async, [&haproxy, milliseconds] {
      return http_get(haproxy.url("/slow?ms=" + std::to_string(milliseconds)));
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
  for (const char* label : {"1", "2"}) {
    REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
  }
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);

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
  ServiceOptions options;
  options.drain_timeout_s = 1;
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  for (const char* label : {"1", "2"}) {
    REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
  }
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);

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
