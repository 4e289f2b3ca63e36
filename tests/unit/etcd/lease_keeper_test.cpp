#include "shared/etcd/lease_keeper.hpp"

#include <catch2/catch.hpp>
#include <thread>

#include "fakes/fake_clock.hpp"
#include "fakes/fake_etcd.hpp"
#include "fakes/fake_http_client.hpp"

using namespace phoenix;
using namespace phoenix::etcd;
using phoenix::fakes::FakeEtcd;
using phoenix::fakes::FakeHttpClient;

namespace {

const std::string kKeeperEndpoint = "http://127.0.0.1:2379";

std::string grant_lease_for_test(FakeEtcd& etcd) {
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, GatewaySettings{.endpoints = {kKeeperEndpoint}}, clock);
  util::Json body(cJSON_CreateObject());
  util::add_number(body.get(), "TTL", 3);
  auto answer = gateway.call("lease/grant", body.get());
  REQUIRE(answer.ok());
  return util::json_string(answer->get(), "ID").value_or("");
}

// Waits (bounded) until `done` holds; the keeper runs on real time.
template <class Condition>
bool keeper_eventually(Condition done) {
  for (int i = 0; i < 500; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

std::unique_ptr<LeaseKeeper> start_keeper_for(FakeEtcd& etcd, const std::string& lease, std::chrono::seconds ttl) {
  return std::make_unique<LeaseKeeper>(std::make_unique<FakeHttpClient>(etcd.handler()),
                                       GatewaySettings{.endpoints = {kKeeperEndpoint}}, lease, ttl,
                                       std::chrono::milliseconds(20));
}

}  // namespace

TEST_CASE("one renewal: alive with a TTL left, gone without one, unreachable when no endpoint answers",
          "[etcd][lease]") {
  FakeEtcd etcd;
  FakeHttpClient http(etcd.handler());
  fakes::FakeClock clock;
  Gateway gateway(http, GatewaySettings{.endpoints = {kKeeperEndpoint}}, clock);
  const std::string lease = grant_lease_for_test(etcd);
  std::string detail;
  CHECK(renew_lease(gateway, lease, detail) == Renewal::alive);
  CHECK(etcd.calls().back().body == R"({"ID":")" + lease + R"("})");

  etcd.make_unreachable(kKeeperEndpoint);
  CHECK(renew_lease(gateway, lease, detail) == Renewal::unreachable);
  CHECK_THAT(detail, Catch::Contains("etcd is unavailable"));

  etcd.heal(kKeeperEndpoint);
  etcd.expire_lease(lease);
  CHECK(renew_lease(gateway, lease, detail) == Renewal::gone);
  CHECK_THAT(detail, Catch::Contains("no longer knows lease " + lease));
}

TEST_CASE("the keeper renews on its own thread with its own client until stopped", "[etcd][lease]") {
  FakeEtcd etcd;
  const std::string lease = grant_lease_for_test(etcd);
  auto keeper = start_keeper_for(etcd, lease, std::chrono::seconds(3));
  CHECK(keeper_eventually([&] { return keeper->renewals() >= 3; }));
  CHECK_FALSE(keeper->lost());
  keeper->stop();
  const auto sent = etcd.calls_to("lease/keepalive").size();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  CHECK(etcd.calls_to("lease/keepalive").size() == sent);  // stopped means stopped
}

TEST_CASE("the keeper marks the lease lost when etcd no longer knows it", "[etcd][lease]") {
  FakeEtcd etcd;
  const std::string lease = grant_lease_for_test(etcd);
  auto keeper = start_keeper_for(etcd, lease, std::chrono::seconds(3));
  REQUIRE(keeper_eventually([&] { return keeper->renewals() >= 1; }));
  etcd.expire_lease(lease);
  CHECK(keeper_eventually([&] { return keeper->lost(); }));
  CHECK_THAT(keeper->why_lost(), Catch::Contains("expired"));
}

TEST_CASE("the keeper marks the lease lost when no renewal reached etcd for a whole TTL", "[etcd][lease]") {
  FakeEtcd etcd;
  const std::string lease = grant_lease_for_test(etcd);
  auto keeper = start_keeper_for(etcd, lease, std::chrono::seconds(1));
  REQUIRE(keeper_eventually([&] { return keeper->renewals() >= 1; }));
  etcd.make_unreachable(kKeeperEndpoint);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK_FALSE(keeper->lost());  // a short outage is survived: the lease has time left
  CHECK(keeper_eventually([&] { return keeper->lost(); }));
  CHECK_THAT(keeper->why_lost(), Catch::Contains("no keep-alive reached etcd for 1 s"));
}
