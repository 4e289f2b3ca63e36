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

// After a kill -9 the killed command's lock is stale, and every command status names to finish
// the switch is refused by it without --break-lock; with the lock free (a stop by signal
// releases it) the commands are named as they are.
TEST_CASE("status names --break-lock in the commands that finish a switch while the lock is stale", "[status][lock]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  FakeBalancer balancer;
  for (const auto& pool : provider.pools) {
    balancer.put_live(member_name(pool.label(), "1"), pool.servers[0].address());
  }
  const auto members = balancer.members().value();
  const Intent intent{.operation = Operation::rollback,
                      .target = "1",
                      .from = {"2"},
                      .reason = "",
                      .by = {.host = "agent-1", .pid = 7, .job = "", .command = "rollback", .since = {}},
                      .started_at = {},
                      .step = 4,
                      .steps = 7,
                      .current = ""};
  const LockHolder holder = intent.by;
  const auto stale = build_status({.service = "web",
                                   .pools = provider.pools,
                                   .members = members,
                                   .intent = intent,
                                   .lock = holder,
                                   .lock_staleness = std::string("its holder is no longer running")});
  const auto with_break = all_problems(stale);
  INFO(with_break);
  CHECK_THAT(with_break, Catch::Contains("re-run 'deploy-pipeline rollback --break-lock' or 'deploy-pipeline repair "
                                         "--break-lock' to finish it"));
  CHECK_THAT(with_break, Catch::Contains("run 'deploy-pipeline repair --break-lock' or deploy one of them"));

  const auto unreadable = build_status(
      {.service = "web", .pools = provider.pools, .members = members, .intent = intent, .lock_unreadable = true});
  CHECK_THAT(all_problems(unreadable), Catch::Contains("re-run 'deploy-pipeline rollback --break-lock' or "
                                                       "'deploy-pipeline repair --break-lock' to finish it"));

  const auto free = build_status({.service = "web", .pools = provider.pools, .members = members, .intent = intent});
  const auto plain = all_problems(free);
  INFO(plain);
  CHECK_THAT(plain, Catch::Contains("re-run 'deploy-pipeline rollback' or 'deploy-pipeline repair' to finish it"));
  CHECK_THAT(plain, !Catch::Contains("--break-lock"));
}

// Every live member down (a total outage) with an UP hot standby: the first problem says the
// service is down and names the one-batch way back, the hot standby, not a rebuild.
TEST_CASE("status leads with a total outage and names the UP hot standby", "[status][outage]") {
  FakeProvider provider;
  provider.add_pool("71", 2, 30);
  provider.add_pool("73", 2, 20);
  provider.add_pool("95", 2, 10);
  FakeBalancer balancer;
  for (const auto& server : provider.pools[2].servers) {
    balancer.put_live(member_name("95", server.id), server.address());
    balancer.unhealthy_addresses.insert(server.address());
  }
  std::vector<MemberSpec> standby;
  for (const auto& server : provider.pools[1].servers) {
    standby.push_back({member_name("73", server.id), server.host, server.port, server.id});
  }
  REQUIRE(balancer.add_standby(standby).ok());
  const auto members = balancer.members().value();

  const auto report = build_status({.service = "web", .pools = provider.pools, .members = members});
  REQUIRE_FALSE(report.problems.empty());
  CHECK(report.problems.front() ==
        "no live member is up: the service is down; the fastest way back: 'deploy-pipeline rollback --to 73' (pool "
        "73 is on hot standby, 2/2 UP)");

  // Without a hot standby: the pool a plain rollback chooses.
  FakeBalancer no_hot;
  for (const auto& server : provider.pools[2].servers) {
    no_hot.put_live(member_name("95", server.id), server.address());
    no_hot.unhealthy_addresses.insert(server.address());
  }
  const auto members_no_hot = no_hot.members().value();
  const auto cold = build_status({.service = "web", .pools = provider.pools, .members = members_no_hot});
  REQUIRE_FALSE(cold.problems.empty());
  CHECK(cold.problems.front() ==
        "no live member is up: the service is down; the fastest way back: 'deploy-pipeline rollback --to 73'");

  // One live member up: no outage.
  no_hot.unhealthy_addresses.erase(provider.pools[2].servers[0].address());
  const auto serving = build_status({.service = "web", .pools = provider.pools, .members = no_hot.members().value()});
  for (const auto& problem : serving.problems) CHECK_THAT(problem, !Catch::Contains("the service is down"));
}
