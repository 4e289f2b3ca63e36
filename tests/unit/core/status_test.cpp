#include "shared/core/status.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_balancer.hpp"
#include "fakes/fake_provider.hpp"
#include "shared/util/time_format.hpp"

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

namespace {

WallTime at(const char* iso) { return *util::parse_iso8601(iso); }

HistoryEvent event(HistoryAction action, const std::string& label, const std::string& from, const char* when,
                   std::string detail = "") {
  return HistoryEvent{.at = at(when),
                      .action = action,
                      .label = label,
                      .from = from,
                      .result = HistoryResult::succeeded,
                      .duration_ms = 0,
                      .by = "erin",
                      .job = "",
                      .detail = std::move(detail)};
}

}  // namespace

// review2 F15: status said "no problems" while the live pool was marked bad.
TEST_CASE("status reports a live pool marked bad, with who marked it, when, and the rollback", "[status][verdicts]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  provider.pools[1].meta.verdict_reason = "automatic: 5xx ratio 0.10";
  FakeBalancer balancer;
  balancer.put_live("2:1", provider.pools[1].servers[0].address());
  const auto members = balancer.members().value();
  const std::vector<HistoryEvent> history = {
      event(HistoryAction::deploy, "2", "1", "2026-11-27T07:00:00Z"),
      event(HistoryAction::mark_bad, "2", "", "2026-11-27T07:05:00Z", "automatic: 5xx ratio 0.10")};

  const auto report = build_status({.service = "web", .pools = provider.pools, .members = members, .history = history});
  const auto problems = all_problems(report);
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("the live pool 2 is marked bad by erin at 2026-11-27T07:05:00Z: automatic: "
                                       "5xx ratio 0.10; 'deploy-pipeline rollback --to 1' rolls back to pool 1"));
  const auto stale = build_status(
      {.service = "web", .pools = provider.pools, .members = members, .lock_unreadable = true, .history = history});
  CHECK_THAT(all_problems(stale), Catch::Contains("'deploy-pipeline rollback --to 1 --break-lock'"));
  CHECK(status_needs_history(provider.pools, members, std::nullopt, false));

  provider.pools[1].meta.verdict = LiveVerdict::unknown;
  const auto fine = build_status({.service = "web", .pools = provider.pools, .members = members});
  CHECK(fine.problems.empty());
  CHECK_FALSE(status_needs_history(provider.pools, members, std::nullopt, false));
}

// review2 F17: a watch killed as its automatic rollback started left a stale lock and nothing
// else: the breach was forgotten.
TEST_CASE("status names the breach of a watch that died before its automatic rollback", "[status][verdicts]") {
  FakeProvider provider;
  provider.add_pool("73", 1, 30);
  provider.add_pool("91", 1, 20);
  FakeBalancer balancer;
  balancer.put_live("91:1", provider.pools[1].servers[0].address());
  const auto members = balancer.members().value();
  const WatchRecord watch{
      .watched = "91",
      .fallback = std::string("73"),
      .by = {.host = "agent-1", .pid = 7, .job = "", .command = "deploy", .since = at("2026-11-27T07:00:00Z")},
      .until = at("2026-11-27T07:10:00Z")};
  std::vector<HistoryEvent> history = {
      event(HistoryAction::deploy, "91", "73", "2026-11-27T07:00:01Z"),
      event(HistoryAction::breach, "91", "73", "2026-11-27T07:00:09Z", "5xx ratio 0.08 over 3.00 s (622 of 7,987)")};
  const auto inputs = [&](bool stale_watch) {
    return StatusInputs{
        .service = "web",
        .pools = provider.pools,
        .members = members,
        .lock_staleness = std::string("its holder is no longer running"),
        .watch = watch,
        .watch_staleness = stale_watch ? std::optional<std::string>("its holder is gone") : std::nullopt,
        .history = history};
  };
  CHECK(status_needs_history(provider.pools, members, watch, true));
  const auto problems = all_problems(build_status(inputs(true)));
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("pool 91 breached its watch at 2026-11-27T07:00:09Z (5xx ratio 0.08 over 3.00 s "
                                       "(622 of 7,987)); its automatic rollback to pool 73 was interrupted: "
                                       "'deploy-pipeline rollback --to 73 --break-lock --reason 'automatic: 5xx ratio "
                                       "0.08 over 3.00 s (622 of 7,987)''"));
  // A watch still running is handling its breach.
  CHECK_THAT(all_problems(build_status(inputs(false))), !Catch::Contains("breached"));
  // A switch after the breach answered it.
  history.push_back(event(HistoryAction::auto_rollback, "73", "91", "2026-11-27T07:00:12Z"));
  CHECK_THAT(all_problems(build_status(inputs(true))), !Catch::Contains("breached"));
}

// A forced deploy of a pool marked bad that was interrupted: its re-run needs --force again.
TEST_CASE("status names --force in the re-run of an interrupted deploy of a pool marked bad", "[status][verdicts]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  FakeBalancer balancer;
  balancer.put_live("1:1", provider.pools[0].servers[0].address());
  const auto members = balancer.members().value();
  const Intent intent{.operation = Operation::deploy,
                      .target = "2",
                      .from = {"1"},
                      .reason = "",
                      .by = {.host = "agent-1", .pid = 7, .job = "", .command = "deploy", .since = {}},
                      .started_at = {},
                      .step = 0,
                      .steps = 5,
                      .current = ""};
  const auto rerun = [&] {
    return all_problems(
        build_status({.service = "web", .pools = provider.pools, .members = members, .intent = intent}));
  };
  CHECK_THAT(rerun(), Catch::Contains("re-run 'deploy-pipeline deploy --label 2' or"));
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  CHECK_THAT(rerun(), Catch::Contains("re-run 'deploy-pipeline deploy --label 2 --force' or"));
}
