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

// Right after a reload HAProxy shows every server it read from its file as "UP 1/2" with check
// INI until its first check: a hot standby member in that state is checking, not a problem.
TEST_CASE("status calls a hot standby member whose first check has not run checking, not a problem",
          "[status][standby]") {
  FakeProvider provider;
  provider.add_pool("1", 2, 30);
  provider.add_pool("2", 2, 20);
  std::vector<Member> members;
  for (const auto& server : provider.pools[0].servers) {
    members.push_back({.name = member_name("1", server.id),
                       .address = server.address(),
                       .up = true,
                       .check = CheckState::passed,
                       .weight = 1,
                       .status_text = "UP",
                       .check_text = "L7OK"});
  }
  const auto& hot = provider.pools[1].servers;
  members.push_back({.name = member_name("2", hot[0].id),
                     .address = hot[0].address(),
                     .up = true,
                     .check = CheckState::pending,
                     .weight = 0,
                     .status_text = "UP 1/2",
                     .check_text = "INI"});
  members.push_back({.name = member_name("2", hot[1].id),
                     .address = hot[1].address(),
                     .up = false,
                     .check = CheckState::failed,
                     .weight = 0,
                     .status_text = "DOWN",
                     .check_text = "L4CON"});

  const auto report = build_status({.service = "web", .pools = provider.pools, .members = members});
  const auto problems = all_problems(report);
  INFO(problems);
  REQUIRE(report.standby.size() == 1);
  const std::string checking = member_name("2", hot[0].id);
  const std::string down = member_name("2", hot[1].id);
  CHECK_THAT(problems, !Catch::Contains(checking));
  CHECK_THAT(problems, Catch::Contains("standby member " + down + " DOWN (L4CON) of hot pool 2"));
  CHECK(report.standby[0].checking == std::vector<std::string>{checking + " UP 1/2 (INI)"});
  CHECK_THAT(report.standby[0].describe(), Catch::Contains("checking (first check not done yet): " + checking));
}
