#include "shared/core/status.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_balancer.hpp"
#include "fakes/fake_provider.hpp"
#include "shared/util/strings.hpp"
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

// Status of `pools` and `members` where history is `history`, its last event the last switch.
StatusReport status_after(const std::vector<Pool>& pools, const std::vector<Member>& members,
                          const std::vector<HistoryEvent>& history) {
  return build_status(
      {.service = "web", .pools = pools, .members = members, .last_switch = history.back(), .history = history});
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
  // Delete refuses a pool the balancer routes to: the way out is another pool made live first
  // (2, the newest known-good one), or its record restored.
  CHECK_THAT(problems, !Catch::Contains("create-pipeline delete"));
  CHECK_THAT(problems, Catch::Contains("The balancer routes to it: restore its record, or make another pool live "
                                       "first ('deploy-pipeline deploy --label 2')"));
  // Its members are not "of a pool that no longer exists", nor of servers it does not have.
  CHECK_THAT(problems, !Catch::Contains("no longer exists"));
  CHECK_THAT(problems, !Catch::Contains("has no server"));
  CHECK(report.problems.size() == 1);
}

// An unreadable pool that is an idle hot standby can be deleted (delete takes it off standby):
// there, delete is the advice; the hot standby is the pool to make live for a live unreadable one.
TEST_CASE("status advises delete for an unreadable pool only where delete is not refused", "[status][unreadable]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  Pool& unreadable = provider.add_unreadable_pool("3", 1);
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), provider.pools[1].servers[0].address());
  REQUIRE(balancer.add_standby({{member_name("3", "1"), unreadable.servers[0].host, unreadable.servers[0].port, "1"}})
              .ok());
  const auto standby =
      all_problems(build_status({.service = "web", .pools = provider.pools, .members = balancer.members().value()}));
  INFO(standby);
  CHECK_THAT(standby, Catch::Contains("Restore its record, or 'create-pipeline delete --label 3' stops every process"));

  // 3 live, 1 on standby: 1 is the pool to make live, though 2 is newer.
  FakeBalancer swapped;
  swapped.put_live(member_name("3", "1"), unreadable.servers[0].address());
  const auto& one = provider.pools[0].servers[0];
  REQUIRE(swapped.add_standby({{member_name("1", "1"), one.host, one.port, "1"}}).ok());
  const auto live =
      all_problems(build_status({.service = "web", .pools = provider.pools, .members = swapped.members().value()}));
  INFO(live);
  CHECK_THAT(live, !Catch::Contains("create-pipeline delete"));
  CHECK_THAT(live, Catch::Contains("make another pool live first ('deploy-pipeline deploy --label 1')"));
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
  // Repair finishes the interrupted rollback: the pool it keeps is that rollback's target.
  CHECK_THAT(with_break, Catch::Contains("run 'deploy-pipeline repair --break-lock' (it keeps pool 1 live) or deploy "
                                         "one of them"));

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

// A switch that succeeded but could not write its history record (a full disk) exits 0; history
// then names the pool it replaced. Status must not only suggest switching back to that pool:
// it says history may lack the last switch, and which deploy records it.
TEST_CASE("status offers to record the routed pool, not only to go back, when history disagrees", "[status][history]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), provider.pools[1].servers[0].address());
  const HistoryEvent last{
      .action = HistoryAction::rollback, .label = "1", .from = "2", .result = HistoryResult::succeeded};
  auto report = build_status(
      {.service = "web", .pools = provider.pools, .members = balancer.members().value(), .last_switch = last});
  auto problems = all_problems(report);
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("made pool 1 live, but the balancer routes to 2; history may be missing the "
                                       "last switch"));
  CHECK_THAT(problems, Catch::Contains("'deploy-pipeline deploy --label 2' records pool 2 as live, "
                                       "'deploy-pipeline deploy --label 1' goes back to pool 1"));
  CHECK_THAT(problems, !Catch::Contains("deploy it again"));

  // Nothing routed: there is nothing to record, only the way back.
  report = build_status({.service = "web", .pools = provider.pools, .members = {}, .last_switch = last});
  problems = all_problems(report);
  CHECK_THAT(problems, Catch::Contains("but the balancer routes to no pool; if pool 1 should be live, "
                                       "'deploy-pipeline deploy --label 1' goes back to pool 1"));
}

// A switch whose holder still runs (a long health wait) is reported as running, with its pid
// and start, however old its lock: not as interrupted, and its new pool's members, on standby
// until they pass their checks, are not "left in standby".
TEST_CASE("status reports a running switch as running, and its standby members as its own", "[status][lock]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  FakeBalancer balancer;
  balancer.put_live(member_name("1", "1"), provider.pools[0].servers[0].address());
  auto members = balancer.members().value();
  members.push_back(Member{.name = member_name("2", "1"),
                           .address = provider.pools[1].servers[0].address(),
                           .admin = AdminState::ready,
                           .check = CheckState::failed,
                           .weight = 0});
  const LockHolder holder{.host = "agent-1", .pid = 7, .job = "", .command = "deploy --label 2", .since = {}};
  const Intent intent{.operation = Operation::deploy,
                      .target = "2",
                      .from = {"1"},
                      .reason = "",
                      .by = holder,
                      .started_at = *util::parse_iso8601("2026-11-26T12:00:00Z"),
                      .step = 1,
                      .steps = 6,
                      .current = "wait until healthy"};
  const auto running = build_status({.service = "web",
                                     .pools = provider.pools,
                                     .members = members,
                                     .intent = intent,
                                     .lock = holder,
                                     .operation_in_progress = switch_running(intent, holder, false)});
  INFO(all_problems(running));
  CHECK(running.problems.empty());
  CHECK_FALSE(running.interrupted);
  REQUIRE(running.notes.size() == 1);
  CHECK(running.notes[0] ==
        "a deploy to pool 2 is running (pid 7 on agent-1, since 2026-11-26T12:00:00Z), at step 2 of 6 (wait until "
        "healthy)");

  // Its holder stopped (SIGSTOP, Ctrl-Z): the switch is in progress still, but not running; the
  // stopped holder is a problem of its own (ops::stopped_holder), this note says the same.
  const auto stopped = build_status({.service = "web",
                                     .pools = provider.pools,
                                     .members = members,
                                     .intent = intent,
                                     .lock = holder,
                                     .operation_in_progress = switch_running(intent, holder, false),
                                     .lock_holder_stopped = true});
  INFO(all_problems(stopped));
  CHECK(stopped.problems.empty());
  CHECK_FALSE(stopped.interrupted);
  REQUIRE(stopped.notes.size() == 1);
  CHECK(stopped.notes[0] ==
        "a deploy to pool 2 is stopped, not running (pid 7 on agent-1, since 2026-11-26T12:00:00Z; SIGSTOP/Ctrl-Z: "
        "see the deploy lock holder's problem), at step 2 of 6 (wait until healthy)");

  // The same records once its holder is gone: interrupted, and the member is left behind.
  const auto dead = build_status({.service = "web",
                                  .pools = provider.pools,
                                  .members = members,
                                  .intent = intent,
                                  .lock = holder,
                                  .lock_staleness = std::string("its holder (pid 7 on this host) is no longer running"),
                                  .operation_in_progress = switch_running(intent, holder, true)});
  const auto problems = all_problems(dead);
  INFO(problems);
  CHECK(dead.interrupted);
  CHECK_THAT(problems, Catch::Contains("a deploy to pool 2 started 2026-11-26T12:00:00Z by pid 7 on agent-1 was "
                                       "interrupted at step 2 of 6"));
  CHECK_THAT(problems, Catch::Contains("member 2:1 is left in standby"));
}

TEST_CASE("an intent is a running switch only while its own writer holds a lock that is not stale", "[status][lock]") {
  const LockHolder writer{.host = "agent-1", .pid = 7, .job = "", .command = "deploy --label 2", .since = {}};
  const Intent intent{.operation = Operation::deploy, .target = "2", .from = {"1"}, .by = writer, .steps = 6};
  CHECK(switch_running(intent, writer, false));
  CHECK_FALSE(switch_running(intent, writer, true));  // its holder died
  LockHolder other = writer;
  other.pid = 8;  // a later command took the lock over: the intent is the dead one's
  CHECK_FALSE(switch_running(intent, other, false));
  other = writer;
  other.host = "agent-2";
  CHECK_FALSE(switch_running(intent, other, false));
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
                      .by = "sre1",
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
  CHECK_THAT(problems, Catch::Contains("the live pool 2 is marked bad by sre1 at 2026-11-27T07:05:00Z: automatic: "
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

// A live pool marked bad with no known-good pool to go back to is one fact: status said "no
// rollback target" in two problem lines (the bad pool's and the missing target's).
TEST_CASE("status says once that the live pool is marked bad and that no known-good pool is there to go back to",
          "[status][verdicts][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30, SmokeVerdict::failed);
  provider.add_pool("2", 1, 20);
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  provider.pools[1].meta.verdict_reason = "checkout errors";
  FakeBalancer balancer;
  balancer.put_live("2:1", provider.pools[1].servers[0].address());
  const auto members = balancer.members().value();
  const std::vector<HistoryEvent> history = {event(HistoryAction::deploy, "2", "1", "2026-11-27T07:00:00Z"),
                                             event(HistoryAction::mark_bad, "2", "", "2026-11-27T07:05:00Z")};

  const auto report = build_status({.service = "web", .pools = provider.pools, .members = members, .history = history});
  const auto problems = all_problems(report);
  INFO(problems);
  REQUIRE(report.problems.size() == 1);
  CHECK(report.problems[0] ==
        "the live pool 2 is marked bad by sre1 at 2026-11-27T07:05:00Z: checkout errors; and there is no known-good "
        "pool to roll back to: a plain rollback has none (no pool older than the live pool 2 passed its smoke test, "
        "is not marked bad and has all its servers running; no other pool is known-good with all its servers "
        "running; deploy a fixed release ('create-pipeline run --label L', then 'deploy-pipeline deploy --label L'), "
        "or a known-good release built again ('create-pipeline rebuild --from L', then deploy it))");
  CHECK_THAT(problems, !Catch::Contains("no rollback target"));

  // Not marked bad, the same pools still have no rollback target: that one line stays.
  provider.pools[1].meta.verdict = LiveVerdict::unknown;
  const auto fine = build_status({.service = "web", .pools = provider.pools, .members = members});
  REQUIRE(fine.problems.size() == 1);
  CHECK_THAT(fine.problems[0], Catch::StartsWith("no known-good pool to roll back to: a plain rollback has none ("));
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

// review3 R3: an abandoned deploy's pool (7, newer, never live) left on standby, UP, was named as
// the fastest way back when the live pool went down: a roll *forward* to an untested release.
// Only a pool a plain rollback could choose is named.
TEST_CASE("a total outage names no newer pool on standby that never served, only one a rollback can go to",
          "[status][outage][rollback]") {
  FakeProvider provider;
  provider.add_pool("2", 1, 30);
  provider.add_pool("5", 1, 20);
  provider.add_pool("7", 1, 10);
  FakeBalancer balancer;
  balancer.put_live(member_name("5", "1"), provider.pools[1].servers[0].address());
  balancer.unhealthy_addresses.insert(provider.pools[1].servers[0].address());
  const auto& newer = provider.pools[2].servers[0];
  REQUIRE(balancer.add_standby({{member_name("7", "1"), newer.host, newer.port, "1"}}).ok());
  const auto report = build_status({.service = "web", .pools = provider.pools, .members = balancer.members().value()});
  REQUIRE_FALSE(report.problems.empty());
  CHECK(report.problems.front() ==
        "no live member is up: the service is down; the fastest way back: 'deploy-pipeline rollback --to 2'");
}

// An outage where a hot standby newer than the live pool (a deploy back to an older release made
// it hot) is UP: the outage line named a rebuild, not the instant way back. One that served, as
// history has it, is named first.
TEST_CASE("a total outage names an UP hot standby that has served, newer or not", "[status][outage][hot]") {
  FakeProvider provider;
  provider.add_pool("2", 1, 30);
  provider.add_pool("7", 1, 10);
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), provider.pools[0].servers[0].address());
  balancer.unhealthy_addresses.insert(provider.pools[0].servers[0].address());
  const auto& newer = provider.pools[1].servers[0];
  REQUIRE(balancer.add_standby({{member_name("7", "1"), newer.host, newer.port, "1"}}).ok());
  const std::vector<HistoryEvent> history{event(HistoryAction::deploy, "7", "2", "2026-11-27T07:00:00Z"),
                                          event(HistoryAction::repair, "2", "", "2026-11-27T07:10:00Z")};
  const auto report = status_after(provider.pools, balancer.members().value(), history);
  REQUIRE_FALSE(report.problems.empty());
  CHECK(report.problems.front() ==
        "no live member is up: the service is down; the fastest way back: 'deploy-pipeline rollback --to 7' (pool 7 "
        "is on hot standby, 1/1 UP)");
  // Marked bad, it is no way back.
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  const auto bad = status_after(provider.pools, balancer.members().value(), history);
  CHECK_THAT(all_problems(bad), !Catch::Contains("the fastest way back: 'deploy-pipeline rollback --to 7'"));
  // History is read for an outage: it tells a hot standby that served from one that did not.
  CHECK(status_needs_history(provider.pools, balancer.members().value(), std::nullopt, false));
}

// The live pool's servers deleted with the provider, its members left in the balancer: the outage
// line named a fixed release, not the hot standby that can take over at once.
TEST_CASE("a total outage of a live pool that no longer exists names the UP hot standby", "[status][outage][hot]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), "10.0.9.1:8080");
  balancer.unhealthy_addresses.insert("10.0.9.1:8080");
  const auto& hot = provider.pools[0].servers[0];
  REQUIRE(balancer.add_standby({{member_name("1", "1"), hot.host, hot.port, "1"}}).ok());
  const std::vector<HistoryEvent> history{event(HistoryAction::deploy, "1", "", "2026-11-27T07:00:00Z"),
                                          event(HistoryAction::deploy, "2", "1", "2026-11-27T07:10:00Z")};
  const auto report = status_after(provider.pools, balancer.members().value(), history);
  REQUIRE_FALSE(report.problems.empty());
  CHECK(report.problems.front() ==
        "no live member is up: the service is down; the fastest way back: 'deploy-pipeline rollback --to 1' (pool 1 "
        "is on hot standby, 1/1 UP)");
}

// A hot pool deleted while its members stay in the balancer, DOWN: status advised "a switch to
// pool 1 waits for its checks ...; rebuild the pool", a pool that is not there.
TEST_CASE("status never advises a switch to a hot pool that no longer exists", "[status][hot]") {
  FakeProvider provider;
  provider.add_pool("2", 1, 10);
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), provider.pools[0].servers[0].address());
  REQUIRE(balancer.add_standby({{member_name("1", "1"), "10.0.9.1", 8080, "1"}}).ok());
  balancer.unhealthy_addresses.insert("10.0.9.1:8080");
  const auto problems =
      all_problems(build_status({.service = "web", .pools = provider.pools, .members = balancer.members().value()}));
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("member 1:1 belongs to pool 1, which no longer exists"));
  CHECK_THAT(problems, !Catch::Contains("a switch to pool 1"));
}

// review5 F1: with the live pool marked bad and nothing known-good, the outage line and a dead
// server's line named 'create-pipeline rebuild --from' that bad pool, which a rebuild refuses.
TEST_CASE("a total outage of a bad live pool with nothing known-good names a fixed release, not its rebuild",
          "[status][outage][verdicts]") {
  FakeProvider provider;
  provider.add_pool("4", 1, 20);
  provider.add_pool("5", 1, 10);
  provider.pools[0].meta.verdict = LiveVerdict::bad;
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  provider.pools[1].servers[0].state = ServerState::dead;
  FakeBalancer balancer;
  balancer.put_live(member_name("5", "1"), provider.pools[1].servers[0].address());
  balancer.unhealthy_addresses.insert(provider.pools[1].servers[0].address());
  const auto report = build_status({.service = "web", .pools = provider.pools, .members = balancer.members().value()});
  REQUIRE_FALSE(report.problems.empty());
  CHECK_THAT(report.problems.front(), Catch::StartsWith("no live member is up: the service is down; the fastest way "
                                                        "back: a fixed release ('create-pipeline run --label L'"));
  const std::string all = util::join(report.problems, "\n");
  CHECK_THAT(all, !Catch::Contains("rebuild --from 5"));
  CHECK_THAT(all, Catch::Contains("server 1 of live pool 5 is dead; deploy instead a fixed release"));

  // A live pool a rebuild may run again: its rebuild, as before.
  provider.pools[1].meta.verdict = LiveVerdict::unknown;
  const auto plain = build_status({.service = "web", .pools = provider.pools, .members = balancer.members().value()});
  CHECK_THAT(util::join(plain.problems, "\n"), Catch::Contains("'create-pipeline rebuild --from 5', then deploy it"));
}

// review3 R5 and B1: status and a plain rollback judge the rollback target by one rule. Known-good
// pools that are all newer than the live one (builds never deployed) are none a plain rollback
// goes to, so status reports it, with the planner's own words.
TEST_CASE("status reports no rollback target when the only known-good pools are newer than the live one",
          "[status][rollback][verdicts]") {
  FakeProvider provider;
  provider.add_pool("3", 1, 40);
  provider.add_pool("4", 1, 30);
  provider.add_pool("5", 1, 20);
  FakeBalancer balancer;
  balancer.put_live(member_name("3", "1"), provider.pools[0].servers[0].address());
  const auto members = balancer.members().value();
  const auto problems = all_problems(build_status({.service = "web", .pools = provider.pools, .members = members}));
  INFO(problems);
  // The line said "no known-good pool to roll back to" and named two: it says a plain rollback
  // has no pool to go to, and names them.
  CHECK_THAT(problems, Catch::Contains("a plain rollback has no pool to go to (no pool older than the live pool 3 "
                                       "passed its smoke test"));
  CHECK_THAT(problems, Catch::Contains("pools 5 (newer, running), 4 (newer, running) are known-good"));
  CHECK_THAT(problems, !Catch::Contains("no known-good pool"));

  // The live pool marked bad: its line says the same, once.
  provider.pools[0].meta.verdict = LiveVerdict::bad;
  const auto bad = build_status({.service = "web", .pools = provider.pools, .members = members});
  REQUIRE(bad.problems.size() == 1);
  CHECK_THAT(bad.problems[0], Catch::StartsWith("the live pool 3 is marked bad"));
  CHECK_THAT(bad.problems[0], Catch::Contains("; a plain rollback has no pool to go to (no pool older than the live "
                                              "pool 3 passed its smoke test"));
  CHECK_THAT(bad.problems[0], Catch::EndsWith("are known-good: 'deploy-pipeline rollback --to 5')"));
  CHECK_THAT(bad.problems[0], !Catch::Contains("no known-good pool"));
  provider.pools[0].meta.verdict = LiveVerdict::unknown;

  // The pool the last switch replaced is one, newer or not (a deploy back to an older release).
  const auto back = build_status({.service = "web",
                                  .pools = provider.pools,
                                  .members = members,
                                  .last_switch = event(HistoryAction::deploy, "3", "4", "2026-11-26T12:00:00Z")});
  CHECK(back.problems.empty());
}

// review3 R1 and B5: a switch interrupted while waking its target, the target marked bad since:
// finishing it needs --force, and status names the pool a plain rollback would choose instead.
TEST_CASE("an interrupted wake whose target was marked bad since names --force and the rollback instead",
          "[status][wake][verdicts]") {
  FakeProvider provider;
  Pool& waking = provider.add_pool("1", 1, 30);
  waking.meta.smoke = SmokeVerdict::pending;
  waking.meta.verdict = LiveVerdict::bad;
  waking.meta.verdict_reason = "1 has the bug too";
  provider.add_pool("2", 1, 20);
  provider.add_pool("3", 1, 10);
  const Server& hot = provider.pools[1].servers[0];
  FakeBalancer balancer;
  balancer.put_live(member_name("3", "1"), provider.pools[2].servers[0].address());
  REQUIRE(balancer.add_standby({{member_name("2", "1"), hot.host, hot.port, "1"}}).ok());
  const Intent intent{.operation = Operation::rollback,
                      .target = "1",
                      .from = {"3"},
                      .reason = "wake test",
                      .by = {.host = "agent-1", .pid = 7, .job = "", .command = "rollback --to 1", .since = {}},
                      .started_at = {},
                      .step = 0,
                      .steps = 0,
                      .current = "waking pool 1 (off)"};
  const auto problems = all_problems(build_status({.service = "web",
                                                   .pools = provider.pools,
                                                   .members = balancer.members().value(),
                                                   .intent = intent,
                                                   .lock = intent.by,
                                                   .lock_staleness = std::string("its holder is no longer running")}));
  INFO(problems);
  CHECK_THAT(problems,
             Catch::Contains("was interrupted while waking pool 1, before any balancer change; pool 1 is "
                             "marked bad: 1 has the bug too, so finishing it needs --force: re-run "
                             "'deploy-pipeline rollback --to 1 --force --break-lock' or 'deploy-pipeline repair "
                             "--force --break-lock' to finish it anyway, or 'deploy-pipeline rollback --to 2 "
                             "--break-lock' rolls back to pool 2 instead"));
}

// review3 R1: the same for a deploy interrupted between steps: the way on instead is the revert.
TEST_CASE("an interrupted deploy whose pool was marked bad since names --force and the revert", "[status][verdicts]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  Pool& target = provider.add_pool("2", 1, 20);  // the last one added: no reference is moved
  target.meta.verdict = LiveVerdict::bad;
  target.meta.verdict_reason = "found in staging";
  FakeBalancer balancer;
  balancer.put_live(member_name("1", "1"), provider.pools[0].servers[0].address());
  REQUIRE(balancer.add_standby({{member_name("2", "1"), target.servers[0].host, target.servers[0].port, "1"}}).ok());
  const Intent intent{.operation = Operation::deploy,
                      .target = "2",
                      .from = {"1"},
                      .reason = "",
                      .by = {.host = "agent-1", .pid = 7, .job = "", .command = "deploy --label 2", .since = {}},
                      .started_at = {},
                      .step = 1,
                      .steps = 6,
                      .current = ""};
  const auto problems = all_problems(build_status(
      {.service = "web", .pools = provider.pools, .members = balancer.members().value(), .intent = intent}));
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("pool 2 is marked bad: found in staging, so finishing it needs --force: re-run "
                                       "'deploy-pipeline deploy --label 2 --force' or 'deploy-pipeline repair --force' "
                                       "to finish it anyway, or 'deploy-pipeline repair --revert' returns to pool 1, "
                                       "live before it instead"));
}

// advice2 #1: a rollback from 3 to 2 interrupted after it drained 3 (or removed it), its target
// marked bad since. Status named 'repair --revert' back to pool 3, which the rollback fled and
// marked bad: with 3 drained nothing but the target was live for the choice. It chooses from the
// pool the rollback left; with no such pool, the revert is named with --force and 3's mark.
TEST_CASE("an interrupted rollback past its drain names the pool a rollback chooses from the pool it left",
          "[status][verdicts][crash]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  Pool& target = provider.add_pool("2", 1, 20);
  target.meta.verdict = LiveVerdict::bad;
  target.meta.verdict_reason = "2 has the bug too";
  Pool& left = provider.add_pool("3", 1, 10);
  left.meta.verdict = LiveVerdict::bad;
  left.meta.verdict_reason = "3 is broken";
  const Intent intent{.operation = Operation::rollback,
                      .target = "2",
                      .from = {"3"},
                      .reason = "3 is broken",
                      .by = {.host = "agent-1", .pid = 7, .job = "", .command = "rollback", .since = {}},
                      .started_at = {},
                      .step = 4,
                      .steps = 5,
                      .current = ""};
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), provider.pools[1].servers[0].address());
  balancer.put_live(member_name("3", "1"), provider.pools[2].servers[0].address());
  for (const bool removed : {false, true}) {
    if (removed) {
      balancer.state.erase(member_name("3", "1"));
    } else {
      balancer.state[member_name("3", "1")].admin = AdminState::drain;
    }
    const auto members = balancer.members().value();
    const auto problems = all_problems(build_status(
        {.service = "web", .pools = provider.pools, .members = members, .intent = intent, .lock = intent.by}));
    INFO(problems);
    CHECK_THAT(problems, Catch::Contains("to finish it anyway, or 'deploy-pipeline rollback --to 1' rolls back to "
                                         "pool 1 instead"));
    CHECK_THAT(problems, !Catch::Contains("repair --revert"));
  }
  provider.pools[0].meta.verdict = LiveVerdict::bad;  // no pool left to roll back to
  const auto members = balancer.members().value();
  const auto problems = all_problems(build_status(
      {.service = "web", .pools = provider.pools, .members = members, .intent = intent, .lock = intent.by}));
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("to finish it anyway; no known-good pool can take over instead; "
                                       "'deploy-pipeline repair --revert --force' would return to pool 3, live "
                                       "before it, which is marked bad: 3 is broken"));
}

// review4 F4: a rollback killed before its history event; the pool it left says in its record who
// marked it bad and when, and status names them (here where the rollback's target was marked bad
// since, so status names the revert to it).
TEST_CASE("status names who marked the pool an interrupted rollback left bad from its record",
          "[status][verdicts][crash]") {
  FakeProvider provider;
  Pool& target = provider.add_pool("2", 1, 20);
  target.meta.verdict = LiveVerdict::bad;
  target.meta.verdict_reason = "2 has the bug too";
  Pool& left = provider.add_pool("3", 1, 10);
  left.meta.verdict = LiveVerdict::bad;
  left.meta.verdict_reason = "rolled back to 2";
  left.meta.verdict_by = "vm";
  left.meta.verdict_at = at("2026-11-27T07:05:00Z");
  const LockHolder holder{.host = "agent-1", .pid = 7, .job = "", .command = "rollback", .since = {}};
  const Intent intent{
      .operation = Operation::rollback, .target = "2", .from = {"3"}, .by = holder, .step = 4, .steps = 5};
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), provider.pools[0].servers[0].address());
  balancer.put_live(member_name("3", "1"), provider.pools[1].servers[0].address());
  balancer.state[member_name("3", "1")].admin = AdminState::drain;
  const auto members = balancer.members().value();
  const auto problems = all_problems(
      build_status({.service = "web", .pools = provider.pools, .members = members, .intent = intent, .lock = holder}));
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("pool 3, live before it, which is marked bad by vm at 2026-11-27T07:05:00Z: "
                                       "rolled back to 2"));
}

// review4 F5: an interrupted deploy to a pool already on standby. One that served (history has a
// switch to it or from it) is a hot standby still, which a switch elsewhere keeps by
// retention.hot: on the standby line, not "left in standby ... cleans it up". One that never
// served (a deploy killed before it routed to its new pool) is the deploy's, and is.
TEST_CASE("an interrupted deploy's target on standby is a hot standby when it has served", "[status][hot][crash]") {
  FakeProvider provider;
  provider.add_pool("1", 2, 30);
  provider.add_pool("2", 1, 20);
  provider.add_pool("3", 1, 10);
  const LockHolder holder{.host = "agent-1", .pid = 7, .job = "", .command = "deploy --label 1", .since = {}};
  const Intent intent{.operation = Operation::deploy,
                      .target = "1",
                      .from = {"3"},
                      .by = holder,
                      .started_at = at("2026-11-27T07:10:00Z"),
                      .step = 1,
                      .steps = 6,
                      .current = "wait until healthy"};
  FakeBalancer balancer;
  balancer.put_live(member_name("3", "1"), provider.pools[2].servers[0].address());
  auto members = balancer.members().value();
  for (int i = 0; i < 2; ++i) {
    members.push_back(Member{.name = member_name("1", std::to_string(i + 1)),
                             .address = provider.pools[0].servers[i].address(),
                             .admin = AdminState::ready,
                             .check = CheckState::passed,
                             .weight = 0});
  }
  const std::vector<HistoryEvent> served = {event(HistoryAction::deploy, "2", "1", "2026-11-27T07:00:00Z"),
                                            event(HistoryAction::deploy, "3", "2", "2026-11-27T07:05:00Z")};
  CHECK(status_needs_history(provider.pools, members, std::nullopt, false, intent));
  const auto inputs = [&](const std::vector<Member>& with, const std::vector<HistoryEvent>& history) {
    return StatusInputs{.service = "web",
                        .pools = provider.pools,
                        .members = with,
                        .intent = intent,
                        .lock = holder,
                        .lock_staleness = std::string("its holder (pid 7 on this host) is no longer running"),
                        .history = history};
  };
  const auto standby_line = [](const StatusReport& report) {
    std::vector<std::string> labels;
    for (const auto& pool : report.standby) labels.push_back(pool.label);
    return labels;
  };

  const auto hot = build_status(inputs(members, served));
  INFO(all_problems(hot));
  CHECK(standby_line(hot) == std::vector<std::string>{"1"});
  CHECK_THAT(all_problems(hot), !Catch::Contains("left in standby"));
  CHECK(hot.interrupted);

  const auto never_served = build_status(inputs(members, {}));
  INFO(all_problems(never_served));
  CHECK(standby_line(never_served).empty());
  CHECK_THAT(all_problems(never_served),
             Catch::Contains("member 1:1 is left in standby; the next deploy or 'deploy-pipeline repair --break-lock' "
                             "cleans it up"));

  // Partly routed to: its member still on standby stays with the pool, not "cleaned up".
  auto partly = members;
  partly[1].weight = 100;
  const auto routed = build_status(inputs(partly, served));
  INFO(all_problems(routed));
  CHECK_THAT(all_problems(routed),
             Catch::Contains("member 1:2 is left in standby by the interrupted deploy to pool 1, which has served: "
                             "'deploy-pipeline repair --break-lock' finishes that deploy; a switch elsewhere keeps "
                             "pool 1 on standby as retention.hot allows"));
  CHECK_THAT(all_problems(routed), !Catch::Contains("cleans it up"));
}

// A pool marked bad that stays on hot standby showed no mark on its standby line: it read as
// a rollback target ready to take traffic at once.
TEST_CASE("status's standby line says a hot pool is marked bad", "[status][verdicts][standby]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  provider.add_pool("3", 1, 10);
  FakeBalancer balancer;
  balancer.put_live(member_name("3", "1"), provider.pools[2].servers[0].address());
  const Server& hot = provider.pools[1].servers[0];
  REQUIRE(balancer.add_standby({{member_name("2", "1"), hot.host, hot.port, "1"}}).ok());
  const auto members = balancer.members().value();

  const auto good = build_status({.service = "web", .pools = provider.pools, .members = members});
  REQUIRE(good.standby.size() == 1);
  CHECK_THAT(good.standby[0].describe(), !Catch::Contains("marked bad"));

  provider.pools[1].meta.verdict = LiveVerdict::bad;
  provider.pools[1].meta.verdict_reason = "checkout errors";
  const auto bad = build_status({.service = "web", .pools = provider.pools, .members = members});
  REQUIRE(bad.standby.size() == 1);
  CHECK_THAT(bad.standby[0].describe(), Catch::StartsWith("pool 2, 1/1 UP"));
  CHECK_THAT(bad.standby[0].describe(), Catch::EndsWith("; marked bad (checkout errors): a rollback passes it over"));
  CHECK(bad.standby[0].bad_reason == "checkout errors");  // for the JSON's marked_bad_reason
}

// Several live pools, all marked bad: each one's line ended "no rollback target: more than one
// pool is live (2, 3); name the pool to roll back to with --to L", with no L to give.
TEST_CASE("status names a known-good pool to roll back to when several live pools are marked bad",
          "[status][verdicts][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  provider.add_pool("3", 1, 10);
  FakeBalancer balancer;
  for (std::size_t i : {1U, 2U}) {
    balancer.put_live(member_name(provider.pools[i].label(), "1"), provider.pools[i].servers[0].address());
    provider.pools[i].meta.verdict = LiveVerdict::bad;
  }
  const auto members = balancer.members().value();
  const auto problems = all_problems(build_status({.service = "web", .pools = provider.pools, .members = members}));
  INFO(problems);
  // The way on concerns both: said once, first, before repair (which keeps one of them live).
  const auto report = build_status({.service = "web", .pools = provider.pools, .members = members});
  REQUIRE_FALSE(report.problems.empty());
  CHECK(report.problems.front() ==
        "2 pools are live at once (2, 3), every one marked bad: 'deploy-pipeline rollback --to 1' rolls back to pool 1 "
        "(the newest known-good pool older than all of them); 'deploy-pipeline repair' would keep pool 3 live, which "
        "is marked bad");
  CHECK_THAT(problems, Catch::Contains("the live pool 2 is marked bad\nthe live pool 3 is marked bad\n"));
  CHECK_THAT(problems, !Catch::Contains("--to L"));
  CHECK_THAT(problems, !Catch::Contains("no rollback target"));
}

// What 'repair --revert' back to pool `back_to` would need --force for: the mark of that pool
// (who and when as history has them), or its failed smoke test; nothing for a pool that is fine
// or not there.
TEST_CASE("revert_target_problem names the mark or the failed smoke test of the pool a revert returns to",
          "[status][verdicts]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 40);
  provider.add_pool("2", 1, 30, SmokeVerdict::failed);
  Pool& marked = provider.add_pool("3", 1, 20);  // the last one added: no reference is moved
  marked.meta.verdict = LiveVerdict::bad;
  marked.meta.verdict_reason = "checkout errors";
  CHECK(revert_target_problem(provider.pools, "1").empty());
  CHECK(revert_target_problem(provider.pools, "2") == "has smoke verdict 'failed'");
  CHECK(revert_target_problem(provider.pools, "3") == "is marked bad: checkout errors");
  CHECK(revert_target_problem(provider.pools, "4").empty());  // not there
  const std::vector<HistoryEvent> history{
      event(HistoryAction::mark_bad, "3", "", "2026-11-27T07:30:00Z", "checkout errors")};
  CHECK(revert_target_problem(provider.pools, "3", history) ==
        "is marked bad by sre1 at 2026-11-27T07:30:00Z: checkout errors");
}

// While the deploy lock is stale (its holder dead), status printed the planner's advice
// ('deploy-pipeline rollback --to 5') and its own without --break-lock: the operator's command
// would be refused by the lock. Every deploy, rollback and repair it names carries it.
TEST_CASE("status names every switch command with --break-lock while the deploy lock is stale",
          "[status][lock][rollback]") {
  FakeProvider provider;
  provider.add_pool("3", 1, 40).meta.verdict = LiveVerdict::bad;
  provider.add_pool("4", 1, 30);
  provider.add_pool("5", 1, 20);
  FakeBalancer balancer;
  balancer.put_live(member_name("3", "1"), provider.pools[0].servers[0].address());
  const auto members = balancer.members().value();
  const StatusInputs stale{.service = "web",
                           .pools = provider.pools,
                           .members = members,
                           .lock_staleness = std::string("its holder is no longer running"),
                           .last_switch = event(HistoryAction::deploy, "4", "", "2026-11-26T12:00:00Z")};
  const auto problems = all_problems(build_status(stale));
  INFO(problems);
  // The planner's words: known-good pools, all newer than the live one.
  CHECK_THAT(problems, Catch::Contains("are known-good: 'deploy-pipeline rollback --to 5 --break-lock')"));
  // Status's own: the history mismatch.
  CHECK_THAT(problems, Catch::Contains("'deploy-pipeline deploy --label 3 --break-lock' records pool 3 as live, "
                                       "'deploy-pipeline deploy --label 4 --break-lock' goes back to pool 4"));

  // No known-good pool at all: the fixed release's deploy.
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  provider.pools[2].meta.smoke = SmokeVerdict::failed;
  const auto none = all_problems(build_status(stale));
  INFO(none);
  CHECK_THAT(none, Catch::Contains("then 'deploy-pipeline deploy --label L --break-lock')"));
  CHECK_THAT(none, !Catch::Contains("'deploy-pipeline deploy --label L'"));

  // A total outage: the fastest way back.
  provider.pools[1].meta.verdict = LiveVerdict::unknown;
  provider.pools[0].meta.created_at = provider.pools[2].meta.created_at + std::chrono::minutes(1);
  balancer.unhealthy_addresses.insert(provider.pools[0].servers[0].address());
  const auto down = balancer.members().value();
  const auto outage = build_status({.service = "web",
                                    .pools = provider.pools,
                                    .members = down,
                                    .lock_staleness = std::string("its holder is no longer running")});
  REQUIRE_FALSE(outage.problems.empty());
  CHECK(outage.problems.front() ==
        "no live member is up: the service is down; the fastest way back: 'deploy-pipeline rollback --to 4 "
        "--break-lock'");

  // An unreadable live pool: the pool to make live instead.
  Pool& unreadable = provider.add_unreadable_pool("6", 1);
  FakeBalancer routed;
  routed.put_live(member_name("6", "1"), unreadable.servers[0].address());
  const auto routed_members = routed.members().value();
  const auto lost = all_problems(build_status({.service = "web",
                                               .pools = provider.pools,
                                               .members = routed_members,
                                               .lock_staleness = std::string("its holder is no longer running")}));
  INFO(lost);
  CHECK_THAT(lost, Catch::Contains("make another pool live first ('deploy-pipeline deploy --label 4 --break-lock')"));
}

// R7: several live pools, all marked bad, nothing known-good: "'deploy-pipeline repair' keeps one
// of them live" named none, and was said again on every bad live pool's line.
TEST_CASE("several bad live pools with nothing known-good: the way on is said once and names the pool repair keeps",
          "[status][rollback][verdicts]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 60, SmokeVerdict::failed);
  provider.add_pool("2", 1, 50).meta.verdict = LiveVerdict::bad;
  provider.add_pool("3", 1, 40).meta.verdict = LiveVerdict::bad;
  FakeBalancer balancer;
  balancer.put_live(member_name("2", "1"), provider.pools[1].servers[0].address());
  balancer.put_live(member_name("3", "1"), provider.pools[2].servers[0].address());
  const auto members = balancer.members().value();
  const auto report = build_status({.service = "web",
                                    .pools = provider.pools,
                                    .members = members,
                                    .last_switch = event(HistoryAction::deploy, "2", "1", "2026-11-27T07:00:00Z")});
  const auto problems = all_problems(report);
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("the live pool 2 is marked bad\n"));
  CHECK_THAT(problems, Catch::Contains("the live pool 3 is marked bad; more than one pool is live (2, 3) and no pool "
                                       "that is not live is known-good"));
  CHECK_THAT(problems, Catch::Contains("'deploy-pipeline repair' keeps only pool 2 live (the last switch made it "
                                       "live; it is marked bad)"));
  // The several-live line says which pool repair keeps, and that it is marked bad.
  CHECK_THAT(problems, Catch::Contains("2 pools are live at once (2, 3); run 'deploy-pipeline repair' (it keeps pool "
                                       "2 live, which is marked bad) or deploy one of them"));
  std::size_t said = 0;
  for (const auto& problem : report.problems) said += problem.find("more than one pool is live") != std::string::npos;
  CHECK(said == 1);
}

// R14: with nothing live, the restart mismatch line advised repair, which has nothing to keep
// then ("no pool is live, so there is nothing to repair"). A deploy of the pool a restart would
// route to is what helps.
TEST_CASE("a restart mismatch with nothing live advises the deploy that makes a pool live, not repair",
          "[status][durable]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  FakeBalancer kept;
  kept.put_live(member_name("2", "1"), provider.pools[1].servers[0].address());
  const auto durable = kept.members().value();
  const std::vector<Member> none;
  const auto problems =
      all_problems(build_status({.service = "web", .pools = provider.pools, .members = none, .durable = durable}));
  INFO(problems);
  CHECK_THAT(problems, Catch::Contains("but a restart would route to [2:1] (a reload during a switch, or a change by "
                                       "hand?); run 'deploy-pipeline deploy --label 2' to make pool 2 live again "
                                       "and keep it for restarts (nothing is live to keep)"));
  CHECK_THAT(problems, !Catch::Contains("repair"));

  // Not writable: the directory first, then the same deploy.
  const auto unwritable = all_problems(build_status(
      {.service = "web", .pools = provider.pools, .members = none, .durable = durable, .durable_unwritable = true}));
  CHECK_THAT(unwritable, Catch::Contains("writable by this user, then run 'deploy-pipeline deploy --label 2' to "
                                         "make pool 2 live again"));
}

// The stale lock's line said "the next deploy needs --break-lock": a rollback or a repair needs it
// as much, and at 3 a.m. a rollback is the command that matters.
TEST_CASE("a stale deploy lock's line names every command that needs --break-lock", "[status][lock]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 10);
  FakeBalancer balancer;
  balancer.put_live(member_name("1", "1"), provider.pools[0].servers[0].address());
  const auto members = balancer.members().value();
  const auto problems = all_problems(build_status({.service = "web",
                                                   .pools = provider.pools,
                                                   .members = members,
                                                   .lock_staleness = std::string("its holder is no longer running")}));
  CHECK_THAT(problems, Catch::Contains("the deploy lock is stale (its holder is no longer running); a deploy, "
                                       "rollback or repair needs --break-lock"));
}

// Two pools live (a reload or an interrupted switch), both marked bad, and pool 3 created and
// smoke-tested but never deployed: status led with repair, which keeps pool 2 (marked bad) live
// without saying so, and named pool 3, which never served, as the pool to roll back to.
TEST_CASE("several live pools all marked bad: status leads with the rollback, never to a pool that never served",
          "[status][rollback][verdicts]") {
  FakeProvider provider;
  provider.add_pool("0", 1, 60);
  provider.add_pool("1", 1, 50).meta.verdict = LiveVerdict::bad;
  provider.add_pool("2", 1, 40).meta.verdict = LiveVerdict::bad;
  provider.add_pool("3", 1, 30);
  FakeBalancer balancer;
  balancer.put_live(member_name("1", "1"), provider.pools[1].servers[0].address());
  balancer.put_live(member_name("2", "1"), provider.pools[2].servers[0].address());
  const auto members = balancer.members().value();
  const std::vector<HistoryEvent> history{event(HistoryAction::deploy, "0", "", "2026-11-27T07:00:00Z"),
                                          event(HistoryAction::deploy, "1", "0", "2026-11-27T07:10:00Z"),
                                          event(HistoryAction::deploy, "2", "1", "2026-11-27T07:20:00Z")};
  const auto report = status_after(provider.pools, members, history);
  const auto problems = all_problems(report);
  INFO(problems);
  REQUIRE_FALSE(report.problems.empty());
  CHECK(report.problems.front() ==
        "2 pools are live at once (1, 2), every one marked bad: 'deploy-pipeline rollback --to 0' rolls back to pool 0 "
        "(the newest known-good pool older than all of them); 'deploy-pipeline repair' would keep pool 2 live, which "
        "is marked bad");
  CHECK_THAT(problems, !Catch::Contains("--to 3"));

  // Nothing older can serve: pool 3 is named as the deploy of an untried release, not a rollback.
  provider.pools[0].meta.smoke = SmokeVerdict::failed;
  const auto none = all_problems(status_after(provider.pools, members, history));
  INFO(none);
  CHECK_THAT(none, !Catch::Contains("--to 3"));
  CHECK_THAT(none, Catch::Contains("'deploy-pipeline deploy --label 3' deploys pool 3, an untried release (it never "
                                   "served)"));
  CHECK_THAT(none, Catch::Contains("run 'deploy-pipeline repair' (it keeps pool 2 live, which is marked bad)"));
}
