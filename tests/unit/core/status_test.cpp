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

// A switch to a retained pool writes its intent before the wake, with no steps: status names the
// wake, the command that resumes it, and the live pool the rollback already marked bad.
TEST_CASE("status names an interrupted wake, the command that finishes it, and the pool it marked bad",
          "[status][wake]") {
  FakeProvider provider;
  Pool& waking = provider.add_pool("1", 2, 30);
  waking.meta.smoke = SmokeVerdict::pending;
  for (auto& server : waking.servers) server.state = ServerState::dead;
  Pool& live = provider.add_pool("2", 1, 20);
  live.meta.verdict = LiveVerdict::bad;
  live.meta.verdict_reason = "checkout errors";
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), live.servers[0].address());
  const auto members = balancer.members().value();
  const Intent intent{.operation = Operation::rollback,
                      .target = "1",
                      .from = {"2"},
                      .reason = "checkout errors",
                      .by = {.host = "agent-1", .pid = 7, .job = "", .command = "rollback 1", .since = {}},
                      .started_at = {},
                      .step = 0,
                      .steps = 0,
                      .current = "waking pool 1 (off)"};
  const auto report = build_status({.service = "web",
                                    .pools = provider.pools,
                                    .members = members,
                                    .intent = intent,
                                    .lock = intent.by,
                                    .lock_staleness = std::string("its holder is no longer running")});
  const auto problems = all_problems(report);
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("was interrupted while waking pool 1, before any balancer change; "
                                       "'deploy-pipeline rollback --break-lock' finishes it: it starts the servers "
                                       "of pool 1 that do not run, smoke-tests the pool, then switches; the live "
                                       "pool 2 was already marked bad by it (checkout errors)"));
  CHECK_THAT(problems, !Catch::Contains("at step 1 of 0"));
}

TEST_CASE(
    "without the balancer, status says what the records and the provider say, and that the balancer is "
    "unavailable",
    "[status][unavailable]") {
  FakeProvider provider;
  provider.add_pool("1", 2, 30);
  const std::vector<Member> none;
  const HistoryEvent last{.at = {}, .action = HistoryAction::deploy, .label = "1"};
  const auto report = build_status({.service = "web",
                                    .pools = provider.pools,
                                    .members = none,
                                    .last_switch = last,
                                    .balancer_error = std::string("HAProxy's runtime API did not answer")});
  const auto problems = all_problems(report);
  INFO(problems);
  REQUIRE(report.balancer_error.has_value());
  REQUIRE_FALSE(report.problems.empty());
  CHECK_THAT(report.problems.front(),
             Catch::StartsWith("balancer: unavailable (HAProxy's runtime API did not answer)"));
  // What is unknown is not reported as a fact.
  CHECK_THAT(problems, !Catch::Contains("no pool is live"));
  CHECK_THAT(problems, !Catch::Contains("the balancer routes to"));
  std::string notes;
  for (const auto& note : report.notes) notes += note + "\n";
  CHECK_THAT(notes, Catch::Contains("made pool 1 live"));
  CHECK_THAT(notes, Catch::Contains("pool 1: running, smoke passed, verdict unknown, 2/2 running"));
}
