#include "shared/core/status.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_balancer.hpp"
#include "fakes/fake_provider.hpp"

using namespace phoenix;
using phoenix::fakes::FakeBalancer;
using phoenix::fakes::FakeProvider;

namespace {

std::string all_problems(const StatusReport& report) {
  std::string all;
  for (const auto& problem : report.problems) all += problem + "\n";
  return all;
}

}  // namespace

TEST_CASE("status reports a pool whose record cannot be read, not a pool that is gone", "[status][unreadable]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  Pool& unreadable = provider.add_unreadable_pool("3", 2);
  FakeBalancer balancer;
  for (const auto& server : unreadable.servers) balancer.put_live(member_name("3", server.id), server.address());
  const auto members = balancer.members().value();
  unreadable.servers.pop_back();  // server 2 no longer runs, so the provider cannot find it

  const auto report = build_status({.service = "web", .pools = provider.pools, .members = members});
  const auto problems = all_problems(report);
  INFO(problems);
  CHECK(report.live == std::vector<std::string>{"3"});
  CHECK_THAT(problems, Catch::Contains("pool 3 is unreadable: pools/3/record: not valid JSON; 1 server of it "
                                       "still runs (10.0.3.1:8080)"));
  CHECK_THAT(problems, Catch::Contains("'create-pipeline delete --label 3'"));
  // Its members are not "of a pool that no longer exists", nor of servers it does not have.
  CHECK_THAT(problems, !Catch::Contains("no longer exists"));
  CHECK_THAT(problems, !Catch::Contains("has no server"));
  CHECK(report.problems.size() == 1);
}
