#include "shared/core/planner.hpp"

#include <catch2/catch.hpp>
#include <map>

#include "fakes/fake_balancer.hpp"
#include "fakes/fake_provider.hpp"
#include "shared/core/state_store.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"

using namespace phoenix;
using phoenix::fakes::FakeBalancer;
using phoenix::fakes::FakeProvider;

namespace {

std::vector<StepKind> kinds(const SwitchPlan& plan) {
  std::vector<StepKind> out;
  for (const auto& step : plan.steps) out.push_back(step.kind);
  return out;
}

std::vector<Member> members_of(FakeBalancer& balancer) { return balancer.members().value(); }

// Pool `label` live in `balancer` with all its servers.
void make_live(FakeBalancer& balancer, const Pool& pool) {
  for (const auto& server : pool.servers) balancer.put_live(member_name(pool.label(), server.id), server.address());
}

}  // namespace

TEST_CASE("a first deploy adds, waits, admits and removes nothing", "[planner]") {
  FakeProvider provider;
  provider.add_pool("1", 3, 10);
  const auto plan = plan_switch({"1", false}, provider.pools, {});
  REQUIRE(plan.ok());
  CHECK(kinds(*plan) ==
        std::vector<StepKind>{StepKind::add_standby, StepKind::wait_healthy, StepKind::persist, StepKind::admit});
  CHECK(plan->steps[0].additions.size() == 3);
  CHECK(plan->steps[0].additions[0].name == "1:1");
  CHECK(plan->steps[0].additions[0].host == "10.0.1.1");
  CHECK(plan->from.empty());
}

TEST_CASE("a deploy over a live pool drains the old only after the new is healthy and admitted", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("1", 2, 20));
  provider.add_pool("2", 3, 10);
  const auto plan = plan_switch({"2", false}, provider.pools, members_of(balancer));
  REQUIRE(plan.ok());
  CHECK(kinds(*plan) == std::vector<StepKind>{StepKind::add_standby, StepKind::wait_healthy, StepKind::persist,
                                              StepKind::admit, StepKind::drain, StepKind::wait_drained,
                                              StepKind::remove});
  CHECK(plan->from == std::vector<std::string>{"1"});
  CHECK(plan->steps[4].members == std::vector<std::string>{"1:1", "1:2"});
  CHECK(plan->steps[6].members == std::vector<std::string>{"1:1", "1:2"});
  // The restart copy is written once, with the end state, after the target is verified and
  // before anything routes to it or away from the old pool.
  const auto& persist = plan->steps[2].membership;
  REQUIRE(persist.size() == 3);
  CHECK(persist[0].name == "2:1");
  CHECK(persist[0].address == "10.0.2.1:8080");
  CHECK(persist[0].admitted());
}

TEST_CASE("deploying the live pool again plans nothing", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("1", 3, 10));
  const auto plan = plan_switch({"1", false}, provider.pools, members_of(balancer));
  REQUIRE(plan.ok());
  CHECK(plan->steps.empty());
}

TEST_CASE("a re-run after a crash between admit and drain only drains and removes", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("1", 2, 20));
  make_live(balancer, provider.add_pool("2", 2, 10));
  const auto plan = plan_switch({"2", false}, provider.pools, members_of(balancer));
  REQUIRE(plan.ok());
  CHECK(kinds(*plan) ==
        std::vector<StepKind>{StepKind::persist, StepKind::drain, StepKind::wait_drained, StepKind::remove});
}

TEST_CASE("a re-run after a crash during standby resumes with the members already added", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("1", 2, 20));
  provider.add_pool("2", 3, 10);
  // Only the first new member made it in before the crash.
  REQUIRE(balancer.add_standby({{"2:1", "10.0.2.1", 8080, "1"}}).ok());
  const auto plan = plan_switch({"2", false}, provider.pools, members_of(balancer));
  REQUIRE(plan.ok());
  REQUIRE(plan->steps[0].kind == StepKind::add_standby);
  CHECK(plan->steps[0].members == std::vector<std::string>{"2:2", "2:3"});
  CHECK(plan->steps[1].members == std::vector<std::string>{"2:1", "2:2", "2:3"});
}

TEST_CASE("target members left in drain or maintenance go back to standby before being admitted", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("1", 1, 20));
  provider.add_pool("2", 1, 10);
  balancer.put_live("2:1", "10.0.2.1:8080");
  balancer.state["2:1"].admin = AdminState::maint;
  const auto plan = plan_switch({"2", false}, provider.pools, members_of(balancer));
  REQUIRE(plan.ok());
  CHECK(kinds(*plan) == std::vector<StepKind>{StepKind::standby, StepKind::wait_healthy, StepKind::persist,
                                              StepKind::admit, StepKind::drain, StepKind::wait_drained,
                                              StepKind::remove});
}

TEST_CASE("members of vanished pools are removed by the next deploy", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("2", 1, 10));
  balancer.put_live("0:1", "10.9.9.8:80");
  const auto plan = plan_switch({"2", false}, provider.pools, members_of(balancer));
  REQUIRE(plan.ok());
  CHECK(kinds(*plan) ==
        std::vector<StepKind>{StepKind::persist, StepKind::drain, StepKind::wait_drained, StepKind::remove});
  CHECK(plan->steps.back().members == std::vector<std::string>{"0:1"});
}

TEST_CASE("members Phoenix did not add are refused, or left alone when allowed", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("1", 1, 10));
  provider.add_pool("2", 1, 20);
  balancer.put_live("manual", "10.9.9.9:80");
  const auto refused = plan_switch({.target = "2"}, provider.pools, members_of(balancer));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK_THAT(refused.error().message, Catch::Contains("1 server Phoenix did not add: manual (10.9.9.9:80)"));
  CHECK_THAT(refused.error().message, Catch::Contains("balancer.allow_foreign_servers"));

  const auto kept = plan_switch({.target = "2", .keep_foreign = true}, provider.pools, members_of(balancer));
  REQUIRE(kept.ok());
  for (const auto& step : kept->steps) {
    CHECK(std::find(step.members.begin(), step.members.end(), "manual") == step.members.end());
  }
  CHECK(kept->steps.back().members == std::vector<std::string>{"1:1"});
  // The end state counts only Phoenix's members.
  auto members = members_of(balancer);
  members.erase(std::remove_if(members.begin(), members.end(), [](const Member& m) { return m.name == "1:1"; }),
                members.end());
  Member target;
  target.name = "2:1";
  target.weight = 1;
  members.push_back(target);
  CHECK(only_live("2", {"2:1"}, members));
}

TEST_CASE("the planner refuses pools that cannot take traffic", "[planner]") {
  FakeProvider provider;
  provider.add_pool("pending", 1, 10, SmokeVerdict::pending);
  provider.add_pool("failed", 1, 9, SmokeVerdict::failed);
  provider.add_pool("half", 1, 8).complete = false;
  provider.add_pool("empty", 0, 6);

  CHECK(plan_switch({"missing", false}, provider.pools, {}).error().kind == ErrorKind::invalid);
  CHECK(plan_switch({"pending", false}, provider.pools, {}).error().kind == ErrorKind::refused);
  CHECK_THAT(plan_switch({"failed", false}, provider.pools, {}).error().message, Catch::Contains("--force"));
  CHECK(plan_switch({"failed", true}, provider.pools, {}).ok());
  CHECK(plan_switch({"half", true}, provider.pools, {}).error().kind == ErrorKind::invalid);
  CHECK(plan_switch({"empty", true}, provider.pools, {}).error().kind == ErrorKind::invalid);
}

TEST_CASE("revert removes only the target's members that were never admitted", "[planner]") {
  FakeBalancer balancer;
  balancer.put_live("1:1", "a:1");
  REQUIRE(balancer.add_standby({{"2:1", "b", 1, "1"}, {"2:2", "b", 2, "2"}}).ok());
  const auto steps = plan_revert("2", members_of(balancer));
  REQUIRE(steps.size() == 1);
  CHECK(steps[0].kind == StepKind::remove);
  CHECK(steps[0].members == std::vector<std::string>{"2:1", "2:2"});
  CHECK(plan_revert("3", members_of(balancer)).empty());
}

TEST_CASE("rollback goes to the newest older pool that passed and is not bad", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 50);
  provider.add_pool("2", 1, 40).meta.verdict = LiveVerdict::bad;
  provider.add_pool("3", 1, 30, SmokeVerdict::failed);
  provider.add_pool("4", 1, 20);
  provider.add_pool("5", 1, 10);  // newer than the live one: never a rollback target
  FakeBalancer balancer;
  make_live(balancer, provider.pools[3]);

  auto choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(choice.ok());
  CHECK(choice->target == "1");
  CHECK(choice->from == "4");

  choice = choose_rollback_target(provider.pools, members_of(balancer), std::string("5"));
  REQUIRE(choice.ok());
  CHECK(choice->target == "5");
}

TEST_CASE("rollback never goes to a pool that was not created completely", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 50);
  // Passed and not bad, but its creation was interrupted (or its record cannot be read): some
  // of its servers may never have started.
  provider.add_pool("2", 1, 40).complete = false;
  provider.add_pool("3", 1, 30);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  auto choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(choice.ok());
  CHECK(choice->target == "1");

  provider.pools.erase(provider.pools.begin());
  CHECK_THAT(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt).error().message,
             Catch::Contains("no pool older than the live pool 3"));
}

TEST_CASE("rollback explains why it has no target", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 50, SmokeVerdict::failed);
  provider.add_pool("2", 1, 40);
  FakeBalancer balancer;
  CHECK_THAT(choose_rollback_target(provider.pools, {}, std::nullopt).error().message,
             Catch::Contains("nothing is live"));
  make_live(balancer, provider.pools[1]);
  CHECK_THAT(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt).error().message,
             Catch::Contains("no pool older than the live pool 2"));
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::string("9")).error().kind ==
        ErrorKind::invalid);
  make_live(balancer, provider.pools[0]);
  CHECK_THAT(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt).error().message,
             Catch::Contains("more than one pool is live"));
}

// With nothing live, a named pool that does not exist was refused as "nothing is live" (exit 3,
// recorded), and a named one that exists was told "deploy --label L".
TEST_CASE("rollback --to with nothing live: a missing pool is a usage error, an existing one is named",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 50);
  const auto missing = choose_rollback_target(provider.pools, {}, std::string("9"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::invalid);
  CHECK_THAT(missing.error().message, Catch::StartsWith("there is no pool '9' to roll back to"));
  const auto existing = choose_rollback_target(provider.pools, {}, std::string("1"));
  REQUIRE_FALSE(existing.ok());
  CHECK(existing.error().message ==
        "nothing is live, so there is nothing to roll back from; use 'deploy-pipeline deploy --label 1'");
  CHECK_THAT(choose_rollback_target(provider.pools, {}, std::nullopt).error().message,
             Catch::EndsWith("use 'deploy-pipeline deploy --label L'"));
}

// After an operator deployed back to an older release, the pool it replaced is newer than the
// live one: a plain rollback keeps to older pools, and its refusal names the newer known-good
// ones (the hot standby first) with the command that goes to one.
TEST_CASE("rollback with no older known-good pool names the newer known-good ones", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("4", 1, 60, SmokeVerdict::failed);
  provider.add_pool("5", 1, 50);
  provider.add_pool("6", 1, 40);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[1]);
  const auto& six = provider.pools[2];
  REQUIRE(balancer.add_standby({{member_name("6", "1"), six.servers[0].host, six.servers[0].port, "1"}}).ok());
  REQUIRE(standby_labels(members_of(balancer)) == std::vector<std::string>{"6"});

  const auto hot = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(hot.ok());
  CHECK(hot.error().kind == ErrorKind::failed);
  CHECK(hot.error().message ==
        "no pool older than the live pool 5 passed its smoke test, is not marked bad and has all its servers running; "
        "pool 6 (newer, hot standby) is known-good: 'deploy-pipeline rollback --to 6'");
  // Callers (status) tell "known-good pools exist, all newer" from "none" by the code, not the words.
  CHECK(hot.error().is(ErrorCode::newer_candidates_only));

  // A newer running pool besides the hot one: both named, the hot one first and in the command.
  provider.add_pool("7", 1, 30);
  CHECK_THAT(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt).error().message,
             Catch::EndsWith("pools 6 (newer, hot standby), 7 (newer, running) are known-good: "
                             "'deploy-pipeline rollback --to 6'"));

  // Newer pools that are not known-good are no candidates: the refusal says there is none (it
  // said "name one with --to L", naming no pool a --to without --force would be accepted for).
  // It names the ways on: a release built afresh, or the pool marked bad that could serve (6), in
  // case its mark was a mistake.
  provider.pools[2].meta.verdict = LiveVerdict::bad;
  provider.pools[3].meta.smoke = SmokeVerdict::failed;
  const auto none = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().is(ErrorCode::no_candidate));
  CHECK_THAT(none.error().message,
             Catch::EndsWith("has all its servers running; no other pool is known-good with all its servers running; "
                             "deploy a fixed release ('create-pipeline run --label L', then 'deploy-pipeline deploy "
                             "--label L'), or a known-good release built again ('create-pipeline rebuild --from L', "
                             "then deploy it); or, if pool 6 was marked bad by mistake, 'deploy-pipeline rollback "
                             "--to 6 --force' (or clear its mark first with 'deploy-pipeline mark-good --label 6')"));

  // A pool marked bad that could not serve anyway is no way on.
  provider.pools[2].servers[0].state = ServerState::dead;
  CHECK_THAT(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt).error().message,
             Catch::EndsWith("then deploy it)"));
}

// Several pools live, all marked bad: the refusal said "name the pool to roll back to with --to
// L", with no L to give. It names the known-good pools that are not live and the command that
// goes to one; with none, it says so and the ways on.
TEST_CASE("rollback with several live pools names a known-good pool to go to, or says there is none",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 60);
  provider.add_pool("2", 1, 50);
  provider.add_pool("3", 1, 40);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[1]);
  make_live(balancer, provider.pools[2]);
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  provider.pools[2].meta.verdict = LiveVerdict::bad;

  // Every live pool is marked bad: none is worth keeping, so the rollback chooses as from one.
  const auto chosen = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(chosen.ok());
  CHECK(chosen->target == "1");
  CHECK(chosen->from == "2,3");
  CHECK(chosen->rule == RollbackRule::newest_older);
  // One of them not marked bad: which to go to is the operator's to name.
  provider.pools[1].meta.verdict = LiveVerdict::unknown;
  const auto named = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(named.ok());
  CHECK(named.error().message ==
        "more than one pool is live (2, 3); name the pool to roll back to with --to: pool 1 (running) is known-good: "
        "'deploy-pipeline rollback --to 1'");
  provider.pools[1].meta.verdict = LiveVerdict::bad;

  provider.pools[0].meta.smoke = SmokeVerdict::failed;
  const auto none = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().is(ErrorCode::no_candidate));
  // It names the pool repair keeps (it said "keeps one of them live"): the newest, 3.
  CHECK(none.error().message ==
        "more than one pool is live (2, 3) and no pool that is not live is known-good with all its servers running; "
        "deploy a fixed release ('create-pipeline run --label L', then 'deploy-pipeline deploy --label L'), or a "
        "known-good release built again ('create-pipeline rebuild --from L', then deploy it); until then "
        "'deploy-pipeline repair' keeps only pool 3 live (the newest of them; it is marked bad), or 'deploy-pipeline "
        "deploy --label P --force' keeps the live pool P you name");

  // The pool the last switch made live is the one repair keeps, as repair chooses.
  const auto last = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt,
                                           {.last_made_live = "2", .last_replaced = "", .excluded = {}});
  REQUIRE_FALSE(last.ok());
  CHECK_THAT(last.error().message,
             Catch::Contains("'deploy-pipeline repair' keeps only pool 2 live (the last switch made it live; it is "
                             "marked bad)"));
}

// Several live pools, all marked bad, and a newer pool that never served (created, smoke-tested,
// never deployed): the refusal named it first as the rollback target. A rollback from several
// live pools goes to the pool the last switch replaced or one older than all of them; a newer one
// is named only as the deploy it is, an untried release where history says it never served.
TEST_CASE("a rollback from several live pools never goes to a newer pool; the refusal names one as a deploy",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("0", 1, 60);
  provider.add_pool("1", 1, 50).meta.verdict = LiveVerdict::bad;
  provider.add_pool("2", 1, 40).meta.verdict = LiveVerdict::bad;
  provider.add_pool("3", 1, 30);  // newer, never deployed
  FakeBalancer balancer;
  make_live(balancer, provider.pools[1]);
  make_live(balancer, provider.pools[2]);

  const auto chosen = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(chosen.ok());
  CHECK(chosen->target == "0");
  // The pool the last switch replaced comes first, as from one live pool.
  const RollbackHints last{.last_made_live = "2", .last_replaced = "0", .excluded = {}};
  REQUIRE(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, last).ok());
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, last)->rule ==
        RollbackRule::last_replaced);

  // Nothing older can take traffic back: the newer pool is a deploy, never a rollback target.
  provider.pools[0].meta.smoke = SmokeVerdict::failed;
  RollbackHints untried;
  untried.never_served = {"3"};
  const auto refused = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, untried);
  REQUIRE_FALSE(refused.ok());
  INFO(refused.error().message);
  CHECK_THAT(refused.error().message, !Catch::Contains("rollback --to 3"));
  CHECK_THAT(refused.error().message,
             Catch::Contains("more than one pool is live (1, 2) and no pool older than them is known-good"));
  CHECK_THAT(refused.error().message, Catch::Contains("; or 'deploy-pipeline deploy --label 3' deploys pool 3, an "
                                                      "untried release (it never served)"));
  // Not known to be untried: named as newer, nothing more.
  const auto unknown = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message,
             Catch::Contains("'deploy-pipeline deploy --label 3' deploys pool 3, newer than a live pool"));
}

TEST_CASE("repair keeps the live pool the last switch made live, else the newest live one", "[planner][repair]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 60);
  provider.add_pool("2", 1, 50);
  provider.add_pool("3", 1, 40);
  const std::vector<std::string> live = {"1", "2"};
  CHECK(repair_keeps(provider.pools, live, "1") == "1");
  CHECK(repair_keeps(provider.pools, live, "3") == "2");  // not live: the newest live one
  CHECK(repair_keeps(provider.pools, live, "") == "2");
}

// While the deploy lock is stale, status shows the planner's refusals: every deploy, rollback
// and repair they name must carry --break-lock, or the operator's command is refused by the lock.
TEST_CASE("a plain rollback's refusal names its commands with --break-lock when the hints say the lock is stale",
          "[planner][rollback][lock]") {
  FakeProvider provider;
  provider.add_pool("5", 1, 50);
  provider.add_pool("6", 1, 40);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[0]);
  const RollbackHints stale{.last_made_live = "", .last_replaced = "", .excluded = {}, .lock_stale = true};
  CHECK_THAT(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, stale).error().message,
             Catch::EndsWith("'deploy-pipeline rollback --to 6 --break-lock'"));

  provider.pools[1].meta.verdict = LiveVerdict::bad;
  const auto none = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, stale);
  CHECK_THAT(none.error().message, Catch::Contains("'deploy-pipeline deploy --label L --break-lock'"));
  CHECK_THAT(none.error().message, Catch::Contains("'deploy-pipeline rollback --to 6 --force --break-lock'"));

  make_live(balancer, provider.pools[1]);
  const auto several = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, stale);
  CHECK_THAT(several.error().message, Catch::Contains("'deploy-pipeline repair --break-lock' keeps only pool"));
  CHECK_THAT(several.error().message, Catch::Contains("'deploy-pipeline deploy --label P --force --break-lock'"));
}

namespace {

// Pool `pool`'s servers on standby in `balancer` (a hot pool), up or down in the latest check.
void make_hot(FakeBalancer& balancer, const Pool& pool, bool up = true) {
  std::vector<MemberSpec> specs;
  for (const auto& server : pool.servers) {
    specs.push_back({member_name(pool.label(), server.id), server.host, server.port, server.id});
  }
  REQUIRE(balancer.add_standby(specs).ok());
  for (const auto& server : pool.servers) {
    auto& member = balancer.state[member_name(pool.label(), server.id)];
    member.up = up;
    member.check = up ? CheckState::passed : CheckState::failed;
    if (!up) balancer.unhealthy_addresses.insert(server.address());
  }
}

// History: the last successful switch made `live` live in place of `replaced`.
RollbackHints last_switch(const std::string& live, const std::string& replaced) {
  return {.last_made_live = live, .last_replaced = replaced, .excluded = {}};
}

}  // namespace

TEST_CASE("rollback prefers the pool the last switch replaced, newer or older", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("50", 3, 50);
  provider.add_pool("73", 3, 40);  // created before 71: 71 was deleted and created again
  provider.add_pool("71", 3, 30);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[1]);  // 73 live, deployed in place of 71
  make_hot(balancer, provider.pools[2]);

  // Without history: the newest known-good pool older than the live one.
  auto choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(choice.ok());
  CHECK(choice->target == "50");
  CHECK(choice->rule == RollbackRule::newest_older);

  choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, last_switch("73", "71"));
  REQUIRE(choice.ok());
  CHECK(choice->target == "71");
  CHECK(choice->from == "73");
  CHECK(choice->rule == RollbackRule::last_replaced);

  // History about another live pool (a change by hand since) is not used.
  choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, last_switch("9", "71"));
  CHECK(choice->target == "50");
}

TEST_CASE("the replaced pool is passed over when it is not known-good or its servers do not all run",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("40", 3, 60);
  provider.add_pool("41", 3, 50);
  provider.add_pool("42", 3, 40);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  const auto hints = last_switch("42", "41");
  auto& replaced = provider.pools[1];

  replaced.meta.verdict = LiveVerdict::bad;
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, hints)->target == "40");
  replaced.meta.verdict = LiveVerdict::unknown;
  replaced.meta.smoke = SmokeVerdict::failed;
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, hints)->target == "40");
  replaced.meta.smoke = SmokeVerdict::passed;
  replaced.servers[1].state = ServerState::dead;
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, hints)->target == "40");
  replaced.servers[1].state = ServerState::running;
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, hints)->target == "41");
}

TEST_CASE("rollback never chooses a pool whose servers do not all run, and says which it passed over",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("41", 3, 60);
  provider.add_pool("42", 3, 50);
  provider.add_pool("50", 3, 40);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  for (auto& server : provider.pools[1].servers) server.state = ServerState::dead;

  auto choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(choice.ok());
  CHECK(choice->target == "41");

  provider.pools[0].servers[2].state = ServerState::stopped;
  const auto none = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().message,
             Catch::Contains("(passed over: 42 (0/3 servers running), 41 (2/3 servers running))"));

  // Kept powered off on purpose: the rollback wakes it, so it is still a target.
  for (auto& server : provider.pools[0].servers) server.state = ServerState::stopped;
  provider.pools[0].power = PowerState::off;
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt)->target == "41");
}

TEST_CASE("rollback passes over a pool whose members are all down in the balancer, and excluded pools",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("72", 2, 60);
  provider.add_pool("73", 2, 50);
  provider.add_pool("50", 2, 40);
  provider.add_pool("90", 2, 30);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[3]);
  make_hot(balancer, provider.pools[2], false);  // 50's standby members: all DOWN

  const auto hints = last_switch("90", "50");
  auto choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, hints);
  REQUIRE(choice.ok());
  CHECK(choice->target == "73");
  CHECK(rollback_candidate_problem(provider.pools[2], members_of(balancer)) ==
        "its 2 members in the balancer are all down");

  auto excluded = hints;
  excluded.excluded = {"73"};
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, excluded)->target == "72");
  excluded.excluded = {"73", "72"};
  CHECK_FALSE(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt, excluded).ok());
}

TEST_CASE("a pool with one member down in the balancer is named in the singular", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("50", 1, 40);
  FakeBalancer balancer;
  make_hot(balancer, provider.pools[0], false);
  CHECK(rollback_candidate_problem(provider.pools[0], members_of(balancer)) == "its 1 member in the balancer is down");
}

TEST_CASE("of pools created at the same time an UP hot standby comes first", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("a", 1, 50);
  provider.add_pool("b", 1, 50);
  provider.add_pool("c", 1, 40);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  const auto cold_first = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(cold_first.ok());
  const std::string other = cold_first->target == "a" ? "b" : "a";
  make_hot(balancer, *find_pool(provider.pools, other));
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt)->target == other);
}

TEST_CASE("a forced rebuild of a bad release is no rollback target until it is marked good", "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("41", 1, 60);
  auto& rebuild = provider.add_pool("42.r1", 1, 50);
  rebuild.meta.rebuild_of = "42";
  rebuild.meta.rebuild_source = RebuildSource::marked_bad;
  provider.add_pool("43", 1, 40);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt)->target == "41");
  CHECK(rollback_candidate_problem(provider.pools[1], {}) == "a rebuild of pool 42, marked bad");
  provider.pools[1].meta.verdict = LiveVerdict::good;
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt)->target == "42.r1");
}

// Prune and delete judge rollback targets as rollback does: a forced rebuild of a bad release
// takes no keep_good place and protects no real target from deletion until it is marked good.
TEST_CASE("prune and delete do not count a forced rebuild of a bad release as a rollback target",
          "[planner][prune][delete]") {
  FakeProvider provider;
  provider.add_pool("2", 1, 50);  // the one real rollback target
  auto& rebuild = provider.add_pool("1.r1", 1, 40);
  rebuild.meta.rebuild_of = "1";
  rebuild.meta.rebuild_source = RebuildSource::marked_bad;
  provider.add_pool("11", 1, 10);  // live
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  const auto members = members_of(balancer);
  CHECK_FALSE(known_good(provider.pools[1]));

  const auto decision = plan_prune(provider.pools, members, {.keep = 0, .keep_good = 1});
  CHECK(decision.remove == std::vector<std::string>{"1.r1"});
  std::map<std::string, std::string> why;
  for (const auto& verdict : decision.pools) why[verdict.label] = verdict.why;
  CHECK(why["2"] == "known-good rollback target (retention.keep_good 1)");
  CHECK(why["1.r1"] == "a rebuild of pool 1, marked bad");

  const auto refused = check_keeps_rollback_target("2", provider.pools, members, 1);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::StartsWith("pool 2 is the last known-good pool older than the live one"));

  // Marked good by hand, it is a rollback target like any other.
  provider.pools[1].meta.verdict = LiveVerdict::good;
  CHECK(known_good(provider.pools[1]));
  CHECK(check_keeps_rollback_target("2", provider.pools, members, 1).ok());
}

TEST_CASE("a named target with no server running is refused with the way out", "[planner][rollback]") {
  FakeProvider provider;
  auto& pool = provider.add_pool("42", 3, 50);
  CHECK(check_target_runs(pool, std::nullopt).ok());
  CHECK(partly_running_warning(pool).empty());
  pool.servers[0].state = ServerState::dead;
  CHECK(check_target_runs(pool, std::nullopt).ok());
  CHECK(partly_running_warning(pool) ==
        "pool 42 has only 2/3 servers running; going ahead, but its other members will not become healthy");
  for (auto& server : pool.servers) server.state = ServerState::dead;
  const auto refused = check_target_runs(pool, std::string("41"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK(refused.error().message ==
        "pool 42 has 0/3 servers running, so it cannot take traffic; nothing was changed. 'create-pipeline rebuild "
        "--from 42' builds the same release on fresh servers; or 'deploy-pipeline rollback --to 41' (pool 41 is "
        "known-good and running)");
  CHECK_THAT(check_target_runs(pool, std::nullopt).error().message, Catch::EndsWith("on fresh servers"));
  // A provider that powers pools restarts the recorded servers: the same pool, not a newer one.
  CHECK(check_target_runs(pool, std::nullopt, true).error().message ==
        "pool 42 has 0/3 servers running, so it cannot take traffic; nothing was changed. 'create-pipeline power-on "
        "--label 42' restarts its servers, then 'create-pipeline smoke-test --label 42' checks them; or "
        "'create-pipeline rebuild --from 42' builds the same release on fresh servers");
  // Powered off on purpose: the switch wakes it.
  pool.power = PowerState::off;
  CHECK(check_target_runs(pool, std::nullopt).ok());
}

// An unreadable live pool has no known creation time: a plain rollback cannot tell which pools
// are older, and its refusal says so and calls none of them "newer" (some were created before).
TEST_CASE("rollback from an unreadable live pool calls no pool newer", "[planner][rollback][unreadable]") {
  FakeProvider provider;
  provider.add_pool("41", 1, 60);
  provider.add_pool("42", 1, 50);
  Pool& live = provider.add_unreadable_pool("50", 1);
  FakeBalancer balancer;
  make_live(balancer, live);
  const auto& hot = provider.pools[1];
  REQUIRE(balancer.add_standby({{member_name("42", "1"), hot.servers[0].host, hot.servers[0].port, "1"}}).ok());

  const auto refused = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message ==
        "the record of the live pool 50 cannot be read (creation time of pool 50 unknown), so no pool counts as "
        "older than it; pools 42 (hot standby), 41 (running) are known-good: 'deploy-pipeline rollback --to 42'");
  CHECK(refused.error().is(ErrorCode::newer_candidates_only));
  CHECK_THAT(refused.error().message, !Catch::Contains("newer"));
  // Named, it is the rollback from 50.
  const auto named = choose_rollback_target(provider.pools, members_of(balancer), std::string("41"));
  REQUIRE(named.ok());
  CHECK(named->from == "50");
}

// A live pool whose servers were deleted behind Phoenix's back: the refusal said "name the pool
// to roll back to with --to L", with no L, while a hot standby could take over at once.
TEST_CASE("rollback from a live pool that no longer exists names the known-good pools, a hot one first",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("41", 1, 60);
  provider.add_pool("42", 1, 50);
  FakeBalancer balancer;
  balancer.put_live(member_name("50", "1"), "10.0.9.1:8080");  // pool 50 is gone
  const auto& hot = provider.pools[0];
  REQUIRE(balancer.add_standby({{member_name("41", "1"), hot.servers[0].host, hot.servers[0].port, "1"}}).ok());

  const auto refused = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message ==
        "the live pool 50 no longer exists with the provider, so no pool counts as older; name the pool to roll back "
        "to with --to: pools 41 (hot standby), 42 (running) are known-good: 'deploy-pipeline rollback --to 41'");

  // Nothing known-good: the ways on, never a pool that is not there.
  provider.pools[0].meta.verdict = LiveVerdict::bad;
  provider.pools[1].meta.smoke = SmokeVerdict::failed;
  const auto none = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().is(ErrorCode::no_candidate));
  CHECK_THAT(none.error().message, Catch::Contains("no other pool is known-good with all its servers running; deploy "
                                                   "a fixed release"));
  CHECK_THAT(none.error().message, Catch::Contains("if pool 41 was marked bad by mistake"));
  CHECK_THAT(none.error().message, !Catch::Contains("--to 50"));
}

TEST_CASE("prune keeps live pools, balancer members and the newest N others", "[planner][prune]") {
  FakeProvider provider;
  for (int i = 1; i <= 6; ++i) provider.add_pool(std::to_string(i), 1, 100 - i);  // 6 is newest
  FakeBalancer balancer;
  make_live(balancer, provider.pools[1]);  // 2 is live
  balancer.put_live("4:1", "10.0.4.1:8080");
  balancer.state["4:1"].admin = AdminState::maint;  // 4 is still a member

  auto decision = plan_prune(provider.pools, members_of(balancer), {.keep = 1, .keep_good = 0});
  CHECK(decision.remove == std::vector<std::string>{"5", "3", "1"});
  REQUIRE(decision.pools.size() == 6);
  CHECK(decision.pools[0].label == "6");
  CHECK(decision.pools[0].kept());
  CHECK(decision.pools[0].why == "known good, kept place 1 of retention.keep 1");
  CHECK(decision.pools[2].label == "4");
  CHECK(decision.pools[2].why == "still a member of the balancer");
  CHECK(decision.pools[4].why == "live");
  CHECK(decision.pools[1].why == "known good, beyond retention.keep 1");

  CHECK(plan_prune(provider.pools, members_of(balancer), {.keep = 0, .keep_good = 0}).remove.size() == 4);
  CHECK(plan_prune(provider.pools, members_of(balancer), {.keep = 10, .keep_good = 0}).remove.empty());
}

TEST_CASE("prune after a run of failed and bad builds keeps the known-good pools", "[planner][prune]") {
  FakeProvider provider;
  // Ages in minutes: 1 is the oldest, 6 the newest.
  provider.add_pool("1", 1, 60);                        // good
  provider.add_pool("2", 1, 50);                        // good
  provider.add_pool("3", 1, 40, SmokeVerdict::failed);  // failed
  provider.add_pool("4", 1, 30).meta.verdict = LiveVerdict::bad;
  provider.pools.back().meta.verdict_reason = "checkout errors";
  provider.add_pool("5", 1, 20, SmokeVerdict::failed);  // failed
  provider.add_pool("6", 1, 10);                        // live
  FakeBalancer balancer;
  make_live(balancer, provider.pools.back());

  // "the newest 2" used to be 5 and 4: a failed and a bad pool, and nothing to roll back to.
  const auto decision = plan_prune(provider.pools, members_of(balancer), {.keep = 2, .keep_good = 2});
  CHECK(decision.remove == std::vector<std::string>{"5", "4", "3"});
  std::map<std::string, std::string> why;
  for (const auto& verdict : decision.pools) why[verdict.label] = verdict.why;
  CHECK(why["6"] == "live");
  CHECK(why["2"] == "known good, kept place 1 of retention.keep 2");
  CHECK(why["1"] == "known good, kept place 2 of retention.keep 2");
  CHECK(why["5"] == "smoke test failed");
  CHECK(why["4"] == "marked bad: checkout errors");

  // Even with --keep 0, the known-good minimum stays.
  const auto none = plan_prune(provider.pools, members_of(balancer), {.keep = 0, .keep_good = 2});
  CHECK(none.remove == std::vector<std::string>{"5", "4", "3"});
  why.clear();
  for (const auto& verdict : none.pools) why[verdict.label] = verdict.why;
  CHECK(why["2"] == "known-good rollback target (retention.keep_good 2)");
}

// Prune called a standby pool marked bad, or one beyond retention.hot, "hot standby
// (retention.hot)": it keeps them (the balancer is a switch's to change) but says what they are.
TEST_CASE("prune names standby pools that are not the hot standby, and the way to take them out",
          "[planner][prune][hot]") {
  FakeProvider provider;
  provider.add_pool("7", 1, 40);
  provider.add_pool("8", 1, 30);
  provider.add_pool("9", 1, 20).meta.verdict = LiveVerdict::bad;
  provider.pools.back().meta.verdict_reason = "leaks";
  provider.add_pool("10", 1, 10);  // live
  FakeBalancer balancer;
  make_live(balancer, provider.pools[3]);
  for (int i = 0; i < 3; ++i) make_hot(balancer, provider.pools[i]);
  const auto decision = plan_prune(provider.pools, members_of(balancer), {.keep = 0, .keep_good = 0, .hot = 1});
  CHECK(decision.remove.empty());
  std::map<std::string, std::string> why;
  for (const auto& verdict : decision.pools) why[verdict.label] = verdict.why;
  CHECK(why["9"] ==
        "on standby in the balancer (marked bad: leaks): it leaves standby at the next switch; 'create-pipeline "
        "delete --label 9' takes it out now");
  CHECK(why["8"] == "hot standby (retention.hot)");
  CHECK(why["7"] ==
        "on standby in the balancer (beyond retention.hot 1): it leaves standby at the next switch; "
        "'create-pipeline delete --label 7' takes it out now");
}

TEST_CASE("delete keeps the known-good minimum unless forced; hot pools do not count", "[planner][delete]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 30);
  provider.add_pool("2", 1, 20);
  provider.add_pool("3", 1, 10);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  const auto members = members_of(balancer);
  const auto refused = check_keeps_rollback_target("1", provider.pools, members, 2);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::Contains("--force"));
  CHECK(check_keeps_rollback_target("1", provider.pools, members, 1).ok());
  provider.pools[0].meta.smoke = SmokeVerdict::failed;  // a failed pool is no rollback target
  CHECK(check_keeps_rollback_target("1", provider.pools, members, 2).ok());
}

TEST_CASE("smart delete refuses pools that take traffic or hold connections, by name or by address",
          "[planner][delete]") {
  FakeProvider provider;
  const Pool pool = provider.add_pool("1", 2, 10);
  FakeBalancer balancer;
  REQUIRE(check_deletable(pool, {}).ok());
  CHECK(check_deletable(pool, {})->empty());

  for (auto state : {AdminState::ready, AdminState::drain, AdminState::maint}) {
    balancer.state.clear();
    balancer.put_live("1:2", "10.0.1.2:8080");
    balancer.state["1:2"].admin = state;
    const auto status = check_deletable(pool, members_of(balancer));
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::refused);
  }
  balancer.state.clear();
  balancer.put_live("added-by-hand", "10.0.1.1:8080");
  CHECK(check_deletable(pool, members_of(balancer)).error().kind == ErrorKind::refused);

  // On standby (hot): taken out first, unless a connection is still open.
  balancer.state.clear();
  balancer.put_live("1:1", "10.0.1.1:8080");
  balancer.put_live("1:2", "10.0.1.2:8080");
  for (auto& [name, member] : balancer.state) member.weight = 0;
  const auto standby = check_deletable(pool, members_of(balancer));
  REQUIRE(standby.ok());
  CHECK(*standby == std::vector<std::string>{"1:1", "1:2"});
  balancer.state["1:2"].sessions = 1;
  balancer.stuck_connections["1:2"] = 1;  // the fake drops one connection per read otherwise
  const auto busy = check_deletable(pool, members_of(balancer));
  REQUIRE_FALSE(busy.ok());
  CHECK_THAT(busy.error().message, Catch::Contains("on standby with 1 open connection"));
}

namespace {

// Pool `label` of `provider` as a cold pool: only its archive of `servers` servers is left.
Pool& make_cold(FakeProvider& provider, const std::string& label, int servers, int age_minutes) {
  Pool& pool = provider.add_pool(label, 0, age_minutes);
  pool.archive = Archive{.id = "image-" + label, .ready = true, .size_gb = 0.8, .servers = servers};
  pool.power = PowerState::off;
  return pool;
}

std::map<std::string, PruneVerdict> by_label(const PruneDecision& decision) {
  std::map<std::string, PruneVerdict> out;
  for (const auto& verdict : decision.pools) out[verdict.label] = verdict;
  return out;
}

}  // namespace

TEST_CASE("a powered-off or cold target gets a plan that wakes it first; a cold one's switch waits for its servers",
          "[planner][tiers]") {
  FakeProvider provider;
  provider.add_pool("1", 2, 30);
  provider.add_pool("off", 2, 20).power = PowerState::off;
  make_cold(provider, "cold", 2, 10);
  Pool& half = make_cold(provider, "half", 2, 5);  // a restore cut short: one server of two
  half.servers = {{"1", "10.9.0.1", 8080, ServerState::running}};
  half.complete = false;
  half.power = PowerState::on;
  FakeBalancer balancer;
  make_live(balancer, provider.pools[0]);

  const auto off = plan_switch({"off", false}, provider.pools, members_of(balancer));
  REQUIRE(off.ok());
  REQUIRE(off->wake.has_value());
  CHECK(*off->wake == Tier::off);
  CHECK_FALSE(off->steps.empty());  // its servers keep their addresses: the switch is known

  for (const char* label : {"cold", "half"}) {
    INFO(label);
    const auto cold = plan_switch({label, false}, provider.pools, members_of(balancer));
    REQUIRE(cold.ok());
    REQUIRE(cold->wake.has_value());
    CHECK(*cold->wake == Tier::cold);
    CHECK(cold->steps.empty());  // nothing is drained before its servers exist
    CHECK(cold->from == std::vector<std::string>{"1"});
  }
  const auto running = plan_switch({"1", false}, provider.pools, members_of(balancer));
  REQUIRE(running.ok());
  CHECK_FALSE(running->wake.has_value());
}

TEST_CASE("a cold pool is a rollback target: known-good, chosen by rollback, counted by delete", "[planner][tiers]") {
  FakeProvider provider;
  make_cold(provider, "1", 3, 30);
  provider.add_pool("2", 1, 20);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[1]);
  CHECK(known_good(provider.pools[0]));
  CHECK_FALSE(usable_rollback_target(provider.pools[0]));  // it never stays hot

  const auto choice = choose_rollback_target(provider.pools, members_of(balancer), std::nullopt);
  REQUIRE(choice.ok());
  CHECK(choice->target == "1");

  // What an interrupted archive or restore leaves (some servers beside the archive) is still
  // one: waking it completes it.
  Pool& partial = provider.pools[0];
  partial.servers = {{"1", "10.9.0.1", 8080, ServerState::running}};
  partial.complete = false;
  CHECK(partial.cold());
  CHECK(known_good(partial));
  CHECK(choose_rollback_target(provider.pools, members_of(balancer), std::nullopt)->target == "1");
  partial.servers.clear();
  partial.complete = true;

  // Deleting 3 (older than the live 2) leaves the cold 1 as the one other rollback target.
  provider.add_pool("3", 1, 25);
  CHECK(check_keeps_rollback_target("3", provider.pools, members_of(balancer), 1).ok());
  CHECK_FALSE(check_keeps_rollback_target("3", provider.pools, members_of(balancer), 2).ok());
  provider.pools[0].meta.verdict = LiveVerdict::bad;
  CHECK_FALSE(known_good(provider.pools[0]));
  CHECK_FALSE(check_keeps_rollback_target("3", provider.pools, members_of(balancer), 1).ok());
}

TEST_CASE("prune by tier: the newest stay running, the next are powered off, then archived, the rest deleted",
          "[planner][prune][tiers]") {
  FakeProvider provider;
  for (int i = 1; i <= 6; ++i) provider.add_pool(std::to_string(i), 1, 100 - i);  // 6 is newest
  FakeBalancer balancer;
  make_live(balancer, provider.pools[5]);  // 6 is live
  RetentionPolicy policy{.keep = 3,
                         .keep_good = 0,
                         .tiers = TierCounts{.running = 1, .off = 1, .cold = 1},
                         .available = {.off = true, .off_is_billed = false, .cold = true}};

  const auto decision = plan_prune(provider.pools, members_of(balancer), policy);
  auto why = by_label(decision);
  CHECK(why["6"].why == "live");
  CHECK(why["5"].action == PruneAction::keep);
  CHECK(why["5"].why == "known good, kept running: place 1 of retention.running 1");
  CHECK(why["4"].action == PruneAction::power_off);
  CHECK(why["3"].action == PruneAction::archive);
  CHECK(why["3"].why == "known good, kept cold: place 1 of retention.cold 1");
  CHECK(decision.power_off == std::vector<std::string>{"4"});
  CHECK(decision.archive == std::vector<std::string>{"3"});
  CHECK(decision.remove == std::vector<std::string>{"2", "1"});
  CHECK(why["2"].why == "known good, beyond retention (1 running, 1 off, 1 cold)");

  // Never up a tier: a pool already cold in a running place stays cold; one already off in the
  // off place stays as it is.
  provider.pools[4].archive = Archive{.id = "image-5", .ready = true, .servers = 1};
  provider.pools[4].servers.clear();
  provider.pools[3].power = PowerState::off;
  why = by_label(plan_prune(provider.pools, members_of(balancer), policy));
  CHECK(why["5"].action == PruneAction::keep);
  CHECK(why["5"].why == "known good, kept running: place 1 of retention.running 1, already cold");
  CHECK(why["4"].action == PruneAction::keep);
  CHECK(why["4"].why == "known good, kept powered off: place 1 of retention.off 1");
}

TEST_CASE("prune by tier archives only known-good pools and keeps the known-good minimum in the coldest tier",
          "[planner][prune][tiers]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 60);                        // good
  provider.add_pool("2", 1, 50);                        // good
  provider.add_pool("3", 1, 40);                        // good
  provider.add_pool("4", 1, 30, SmokeVerdict::failed);  // failed
  provider.add_pool("5", 1, 20, SmokeVerdict::failed);  // failed
  provider.add_pool("6", 1, 10);                        // live
  FakeBalancer balancer;
  make_live(balancer, provider.pools.back());
  RetentionPolicy policy{.keep = 1,
                         .keep_good = 2,
                         .tiers = TierCounts{.running = 0, .off = 0, .cold = 1},
                         .available = {.off = true, .off_is_billed = true, .cold = true}};

  // The cold place goes to the newest usable pool (failed ones count last); keep_good then
  // keeps one more known-good pool, archived rather than deleted.
  auto decision = plan_prune(provider.pools, members_of(balancer), policy);
  auto why = by_label(decision);
  CHECK(why["3"].action == PruneAction::archive);
  CHECK(why["2"].action == PruneAction::archive);
  CHECK(why["2"].why == "known-good rollback target (retention.keep_good 2), archived");
  CHECK(decision.remove == std::vector<std::string>{"5", "4", "1"});
  CHECK(why["5"].why == "smoke test failed");

  // A failed pool that takes a cold place is deleted: only rollback targets are archived.
  policy.tiers = TierCounts{.running = 0, .off = 0, .cold = 5};
  policy.keep_good = 0;
  why = by_label(plan_prune(provider.pools, members_of(balancer), policy));
  CHECK(why["4"].action == PruneAction::remove);
  CHECK(why["4"].why == "smoke test failed: only known-good pools are archived");
  CHECK(why["1"].action == PruneAction::archive);

  // Without a cold tier the known-good minimum is powered off instead; without either, kept.
  policy = {.keep = 0, .keep_good = 2, .tiers = TierCounts{}, .available = {.off = true}};
  decision = plan_prune(provider.pools, members_of(balancer), policy);
  CHECK(decision.power_off == std::vector<std::string>{"3", "2"});
  CHECK(decision.archive.empty());
  policy.available = {};
  decision = plan_prune(provider.pools, members_of(balancer), policy);
  CHECK(decision.power_off.empty());
  CHECK(by_label(decision)["3"].action == PruneAction::keep);
  CHECK(decision.remove == std::vector<std::string>{"5", "4", "1"});
}

TEST_CASE("prune leaves a running watch's pools as they are: neither deleted nor moved down a tier",
          "[planner][prune][watch-record]") {
  FakeProvider provider;
  for (int i = 1; i <= 5; ++i) provider.add_pool(std::to_string(i), 1, 100 - i);  // 5 is newest
  FakeBalancer balancer;
  make_live(balancer, provider.pools[4]);  // 5 is live and watched; 4 is its fallback, out of the balancer
  const std::vector<ProtectedPool> watch = {{"5", "watched by a running watch until 12:03:04 UTC"},
                                            {"4", "fallback of a running watch until 12:03:04 UTC"}};

  // keep_good 0 and --keep 0: without the watch, everything but the live pool goes.
  CHECK(plan_prune(provider.pools, members_of(balancer), {.keep = 0, .keep_good = 0}).remove ==
        std::vector<std::string>{"4", "3", "2", "1"});
  auto decision = plan_prune(provider.pools, members_of(balancer), {.keep = 0, .keep_good = 0}, watch);
  CHECK(decision.remove == std::vector<std::string>{"3", "2", "1"});
  auto why = by_label(decision);
  CHECK(why["4"].action == PruneAction::keep);
  CHECK(why["4"].why == "fallback of a running watch until 12:03:04 UTC");
  CHECK(why["5"].why == "live");

  // The fallback takes no kept place and does not count towards keep_good: the newest other
  // pools still fill them.
  decision = plan_prune(provider.pools, members_of(balancer), {.keep = 1, .keep_good = 2}, watch);
  why = by_label(decision);
  CHECK(why["3"].why == "known good, kept place 1 of retention.keep 1");
  CHECK(why["2"].why == "known-good rollback target (retention.keep_good 2)");
  CHECK(decision.remove == std::vector<std::string>{"1"});

  // With tiers, the fallback would be powered off (its place is the off tier); protected, it
  // stays running, and the next pool takes the off place.
  RetentionPolicy tiers{.keep = 0,
                        .keep_good = 0,
                        .tiers = TierCounts{.running = 0, .off = 1, .cold = 1},
                        .available = {.off = true, .off_is_billed = false, .cold = true}};
  CHECK(plan_prune(provider.pools, members_of(balancer), tiers).power_off == std::vector<std::string>{"4"});
  decision = plan_prune(provider.pools, members_of(balancer), tiers, watch);
  CHECK(decision.power_off == std::vector<std::string>{"3"});
  CHECK(decision.archive == std::vector<std::string>{"2"});
  CHECK(by_label(decision)["4"].action == PruneAction::keep);

  // A fallback already cold stays cold, and is not deleted even when it is beyond every tier.
  provider.pools[3].archive = Archive{.id = "image-4", .ready = true, .servers = 1};
  provider.pools[3].servers.clear();
  tiers.tiers = TierCounts{};
  decision = plan_prune(provider.pools, members_of(balancer), tiers, watch);
  CHECK(by_label(decision)["4"].action == PruneAction::keep);
  CHECK(decision.remove == std::vector<std::string>{"3", "2", "1"});
}

TEST_CASE("a member named like a target server but at another address is refused, not taken for it",
          "[planner][stale]") {
  FakeProvider provider;
  FakeBalancer balancer;
  provider.add_pool("1", 2, 10);
  balancer.put_live("1:1", "10.9.9.9:1");
  auto plan = plan_switch({.target = "1"}, provider.pools, members_of(balancer));
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().kind == ErrorKind::refused);
  CHECK_THAT(plan.error().message, Catch::Contains("the balancer's member 1:1 is at 10.9.9.9:1"));
  CHECK_THAT(plan.error().message, Catch::Contains("left from an earlier pool with the same label"));
}

// The re-run of a switch interrupted after it admitted its target: the target is live, so it is
// not among the pools the switch replaces, and `live` is what tells what serves.
TEST_CASE("a plan records every live pool, the target too, besides the pools it replaces", "[planner]") {
  FakeProvider provider;
  FakeBalancer balancer;
  const Pool one = provider.add_pool("1", 1, 20);
  const Pool two = provider.add_pool("2", 1, 10);
  make_live(balancer, one);
  make_live(balancer, two);
  auto both = plan_switch({"1", false}, provider.pools, members_of(balancer));
  REQUIRE(both.ok());
  CHECK(both->live == std::vector<std::string>{"1", "2"});
  CHECK(both->from == std::vector<std::string>{"2"});
  // Interrupted after the drain: 2 takes no new traffic, 1 alone is live.
  balancer.state["2:1"].admin = AdminState::drain;
  auto drained = plan_switch({"1", false}, provider.pools, members_of(balancer));
  REQUIRE(drained.ok());
  CHECK(drained->live == std::vector<std::string>{"1"});
  CHECK(drained->from.empty());
}

TEST_CASE("a switch to an unfinished pool names the command that finishes it, which differs without a revision",
          "[planner]") {
  FakeProvider provider;
  Pool& recorded = provider.add_pool("1", 1, 50);
  recorded.complete = false;
  recorded.meta.revision = "abc1";
  provider.add_pool("2", 1, 40).complete = false;  // created by hand: no revision
  CHECK_THAT(plan_switch({"1", false}, provider.pools, {}).error().message,
             Catch::Contains("re-run 'create-pipeline create --label 1 --revision abc1' first"));
  const auto unrecorded = plan_switch({"2", false}, provider.pools, {}).error().message;
  CHECK_THAT(unrecorded,
             Catch::Contains("'create-pipeline delete --label 2', then 'create-pipeline create --label 2'"));
  CHECK_THAT(unrecorded, Catch::Contains("records no revision"));
}

// review2 F23: a deploy of a pool marked bad went ahead silently.
TEST_CASE("a deploy of a pool marked bad is refused unless forced", "[planner][verdicts]") {
  FakeProvider provider;
  FakeBalancer balancer;
  make_live(balancer, provider.add_pool("1", 2, 20));
  Pool& bad = provider.add_pool("2", 2, 10);
  bad.meta.verdict = LiveVerdict::bad;
  bad.meta.verdict_reason = "5xx ratio 0.10";
  const auto refused = plan_switch({"2", false}, provider.pools, members_of(balancer));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::refused);
  CHECK_THAT(refused.error().message, Catch::Contains("pool 2 is marked bad (5xx ratio 0.10); deploy it anyway with "
                                                      "--force, or clear the mark first with 'deploy-pipeline "
                                                      "mark-good --label 2'"));
  CHECK(plan_switch({"2", true}, provider.pools, members_of(balancer)).ok());
}

// review2 F9: the hot standby, which keep_good does not count, was deleted by a plain delete
// even when it was the last rollback target.
TEST_CASE("deleting the hot standby that is the last known-good pool besides the live one is refused",
          "[planner][delete][verdicts]") {
  FakeProvider provider;
  FakeBalancer balancer;
  provider.add_pool("1", 1, 30);
  make_live(balancer, provider.add_pool("2", 1, 20));
  const Server& standby = provider.pools[0].servers[0];
  REQUIRE(balancer.add_standby({{"1:1", standby.host, standby.port, "1"}}).ok());
  REQUIRE(standby_labels(members_of(balancer)) == std::vector<std::string>{"1"});

  for (const int keep_good : {0, 2}) {
    const auto refused = check_keeps_rollback_target("1", provider.pools, members_of(balancer), keep_good);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::refused);
    CHECK_THAT(refused.error().message,
               Catch::Contains("pool 1 is the hot standby and the last known-good pool besides the live one"));
    CHECK_THAT(refused.error().message, Catch::Contains("docs/safety.md, \"Rollback targets\""));
    CHECK_THAT(refused.error().message, !Catch::Contains("invariant 9"));
  }
  // Another known-good pool, hot or not, is a rollback target left: the hot one may go.
  provider.add_pool("3", 1, 40);
  CHECK(check_keeps_rollback_target("1", provider.pools, members_of(balancer), 0).ok());
  provider.pools.back().meta.verdict = LiveVerdict::bad;
  CHECK_FALSE(check_keeps_rollback_target("1", provider.pools, members_of(balancer), 0).ok());
  // A hot pool that is no rollback target itself (marked bad) is no loss.
  provider.pools[0].meta.verdict = LiveVerdict::bad;
  CHECK(check_keeps_rollback_target("1", provider.pools, members_of(balancer), 0).ok());
}

// The usual CI flow: the previous live release (11) and two newer builds never deployed (13, 14).
// keep_good used to count 14 and 13 as rollback targets and delete 11, the one pool a plain
// rollback can go to.
TEST_CASE("prune's keep_good keeps the pools a rollback can go to, older than the live one, first",
          "[planner][prune]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 60);
  provider.add_pool("11", 1, 50).meta.verdict = LiveVerdict::good;  // live before 12
  provider.add_pool("12", 1, 40);                                   // live
  provider.add_pool("13", 1, 30);
  provider.add_pool("14", 1, 20);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  const auto decision = plan_prune(provider.pools, members_of(balancer), {.keep = 1, .keep_good = 2});
  std::map<std::string, std::string> why;
  for (const auto& verdict : decision.pools) why[verdict.label] = verdict.why;
  CHECK(why["14"] == "known good, kept place 1 of retention.keep 1");
  CHECK(why["11"] == "known-good rollback target (retention.keep_good 2)");
  CHECK(why["1"] == "known-good rollback target (retention.keep_good 2)");
  CHECK(decision.remove == std::vector<std::string>{"13"});

  // With nothing older than the live pool, newer known-good pools still make up keep_good.
  provider.pools.erase(provider.pools.begin(), provider.pools.begin() + 2);
  const auto newer_only = plan_prune(provider.pools, members_of(balancer), {.keep = 0, .keep_good = 2});
  CHECK(newer_only.remove.empty());
}

// A known-good pool whose servers died counted towards keep_good, and prune deleted an older
// one that could serve in its place; delete let the last serving one go the same way. Pools
// that can serve count; a dead one is still kept when nothing else makes up keep_good.
TEST_CASE("keep_good counts known-good pools whose servers run; dead ones are kept only to make it up",
          "[planner][prune][delete]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 60);
  provider.add_pool("2", 1, 50);
  provider.add_pool("3", 1, 40).servers[0].state = ServerState::dead;
  provider.add_pool("4", 1, 30);  // live
  FakeBalancer balancer;
  make_live(balancer, provider.pools[3]);
  auto decision = plan_prune(provider.pools, members_of(balancer), {.keep = 1, .keep_good = 2});
  auto why = by_label(decision);
  CHECK(why["3"].why == "known good, kept place 1 of retention.keep 1");
  CHECK(why["2"].why == "known-good rollback target (retention.keep_good 2)");
  CHECK(why["1"].why == "known-good rollback target (retention.keep_good 2)");
  CHECK(decision.remove.empty());
  CHECK_FALSE(check_keeps_rollback_target("2", provider.pools, members_of(balancer), 2).ok());
  CHECK(check_keeps_rollback_target("3", provider.pools, members_of(balancer), 2).ok());  // two serve besides

  // Every pool stopped (a host rebooted): the dead ones make up keep_good, and say what they wait for.
  for (auto& pool : provider.pools) pool.servers[0].state = ServerState::dead;
  decision = plan_prune(provider.pools, members_of(balancer), {.keep = 0, .keep_good = 2});
  why = by_label(decision);
  CHECK(why["3"].why ==
        "known-good rollback target (retention.keep_good 2) once its servers run again (0/1 servers "
        "running)");
  CHECK(why["2"].action == PruneAction::keep);
  CHECK(decision.remove == std::vector<std::string>{"1"});
}

TEST_CASE("history's last switch hints a rollback only when it replaced exactly one pool", "[planner][rollback]") {
  HistoryEvent last{.action = HistoryAction::deploy, .label = "51", .from = "50"};
  const auto one = rollback_hints_from(last, {"49"});
  CHECK(one.last_made_live == "51");
  CHECK(one.last_replaced == "50");
  CHECK(one.excluded == std::vector<std::string>{"49"});

  // Replacing several, it still made 51 live (repair keeps it), but replaced no one pool.
  last.from = "48,50";
  const auto several = rollback_hints_from(last);
  CHECK(several.last_made_live == "51");
  CHECK(several.last_replaced.empty());

  last.from = "";
  const auto first = rollback_hints_from(last);
  CHECK(first.last_made_live == "51");
  CHECK(first.last_replaced.empty());

  CHECK(rollback_hints_from(std::nullopt).last_made_live.empty());
}

// B1: status judges the rollback target by the rule the planner picks from. Whatever a plain
// rollback chooses is a pool plain_rollback_could_choose accepts, and when it chooses none, the
// predicate accepts no pool either.
TEST_CASE("plain_rollback_could_choose accepts exactly the pools choose_rollback_target picks from",
          "[planner][rollback]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 50);
  provider.add_pool("2", 1, 40);
  provider.add_pool("3", 1, 30);  // live
  provider.add_pool("4", 1, 20);  // newer builds, never deployed
  provider.add_pool("5", 1, 10);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  make_hot(balancer, provider.pools[4]);  // an abandoned deploy's pool on standby
  const auto agree = [&](const RollbackHints& hints) {
    const auto members = members_of(balancer);
    const auto choice = choose_rollback_target(provider.pools, members, std::nullopt, hints);
    std::vector<std::string> could;
    for (const auto& pool : provider.pools) {
      if (plain_rollback_could_choose(pool, provider.pools, members, hints)) could.push_back(pool.label());
    }
    INFO(util::join(could, ","));
    if (choice.ok()) {
      CHECK(has_label(could, choice->target));
    } else {
      CHECK(could.empty());
    }
    return could;
  };
  CHECK(agree({}) == std::vector<std::string>{"1", "2"});
  // The pool the last switch replaced, newer or not.
  CHECK(agree(last_switch("3", "4")) == std::vector<std::string>{"1", "2", "4"});
  provider.pools[1].meta.verdict = LiveVerdict::bad;
  provider.pools[0].servers[0].state = ServerState::dead;
  CHECK(agree({}).empty());  // only newer ones are known-good: none a plain rollback goes to
  CHECK_FALSE(plain_rollback_could_choose(provider.pools[4], provider.pools, members_of(balancer), {}));
  CHECK_FALSE(plain_rollback_could_choose(provider.pools[2], provider.pools, members_of(balancer), {}));  // live
}

// review3 R3: repair --revert of an interrupted deploy kept the abandoned new pool hot and took
// the real hot standby out. A pool in never_hot never stays hot; the one before it does.
TEST_CASE("a pool the switch must not keep hot leaves the balancer; the hot standby before it stays",
          "[planner][hot]") {
  FakeProvider provider;
  provider.add_pool("2", 1, 30);  // hot standby, replaced by 5
  provider.add_pool("5", 1, 20);  // live
  provider.add_pool("7", 1, 10);  // the interrupted deploy's pool, on standby
  FakeBalancer balancer;
  make_live(balancer, provider.pools[1]);
  make_hot(balancer, provider.pools[0]);
  make_hot(balancer, provider.pools[2]);
  SwitchRequest request{.target = "5", .force = true, .hot = 1};
  const auto kept_newest = plan_switch(request, provider.pools, members_of(balancer));
  REQUIRE(kept_newest.ok());
  CHECK(kept_newest->hot == std::vector<std::string>{"7"});  // without never_hot: the newest usable one
  request.never_hot = {"7"};
  const auto plan = plan_switch(request, provider.pools, members_of(balancer));
  REQUIRE(plan.ok());
  CHECK(plan->hot == std::vector<std::string>{"2"});
  REQUIRE_FALSE(plan->steps.empty());
  CHECK(plan->steps.back().kind == StepKind::remove);
  CHECK(plan->steps.back().members == std::vector<std::string>{"7:1"});
}

// review3 R5: with newer builds never deployed (4, 5, 6), delete counted them as rollback
// targets, so two plain deletes removed 1 and the hot standby 2, every pool that ever served.
TEST_CASE("delete counts only pools a plain rollback can go to: newer builds never deployed do not count",
          "[planner][delete][verdicts]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 60);
  provider.add_pool("2", 1, 50);  // hot standby
  provider.add_pool("3", 1, 40);  // live
  provider.add_pool("4", 1, 30);
  provider.add_pool("5", 1, 20);
  provider.add_pool("6", 1, 10);
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  make_hot(balancer, provider.pools[1]);
  const auto members = members_of(balancer);

  const auto older = check_keeps_rollback_target("1", provider.pools, members, 2);
  REQUIRE_FALSE(older.ok());
  CHECK(older.error().kind == ErrorKind::refused);
  CHECK_THAT(older.error().message, Catch::Contains("pool 1 is the last known-good pool older than the live one"));
  CHECK(check_keeps_rollback_target("1", provider.pools, members, 0).ok());
  const auto hot = check_keeps_rollback_target("2", provider.pools, members, 2);
  CHECK(hot.ok());  // 1 is left
  provider.pools[0].meta.verdict = LiveVerdict::bad;
  const auto last = check_keeps_rollback_target("2", provider.pools, members, 2);
  REQUIRE_FALSE(last.ok());
  CHECK_THAT(last.error().message, Catch::Contains("pool 2 is the hot standby and the last known-good pool"));
  // A newer build is no rollback target: deleting it leaves as many as before.
  CHECK(check_keeps_rollback_target("6", provider.pools, members, 2).ok());
}

// A persist step is worded by what its balancer's persist() does with the membership
// (Balancer::keeping), in a dry run's plan and in the real run alike: only a balancer that writes
// it says it keeps it.
TEST_CASE("a persist step says it keeps the membership only where its balancer writes it", "[planner][durable]") {
  Step persist{StepKind::persist, {}, {}, {}};
  persist.membership.resize(2);
  CHECK(describe(persist, KeepingKind::written) == "keep the new membership for restarts (2 members)");
  CHECK(describe(persist, KeepingKind::by_balancer) ==
        "nothing to keep for restarts (2 members): the balancer keeps its members itself");
  const std::string lost =
      "not keeping the new membership for restarts (2 members): a reload or restart of the balancer loses it";
  CHECK(describe(persist, KeepingKind::not_kept) == lost);
  CHECK(describe(persist, KeepingKind::runtime_only) == lost);
  // Other steps do not depend on it.
  const Step admit{StepKind::admit, {"1:1"}, {}, {}};
  CHECK(describe(admit, KeepingKind::runtime_only) == describe(admit, KeepingKind::written));
}

TEST_CASE("the running membership a restart would not come back with is kept only where it can be written",
          "[planner][durable]") {
  CHECK(describe_restart_keeping({"2:1"}, KeepingKind::written) ==
        "keep the running membership for restarts (a restart would route to 2:1 now)");
  CHECK(describe_restart_keeping({}, KeepingKind::written) ==
        "keep the running membership for restarts (a restart would route to no member now)");
  CHECK(describe_restart_keeping({"2:1", "2:2"}, KeepingKind::runtime_only) ==
        "not keeping the running membership for restarts: a reload or restart of the balancer routes to 2:1, 2:2");
}

// A creation cut short (SIGINT during create) is finished by running its create again, which
// refuses a pool powered off: prune leaves it running in its off place, and powers off the
// complete ones.
TEST_CASE("prune by tier never powers off a pool that was not created completely", "[planner][prune][tiers]") {
  FakeProvider provider;
  for (int i = 1; i <= 4; ++i) provider.add_pool(std::to_string(i), 1, 100 - i);  // 4 is newest
  provider.pools[2].complete = false;                                             // 3
  FakeBalancer balancer;
  make_live(balancer, provider.pools[3]);
  RetentionPolicy policy{.keep = 3,
                         .keep_good = 0,
                         .tiers = TierCounts{.running = 0, .off = 3, .cold = 0},
                         .available = {.off = true, .off_is_billed = false, .cold = true}};

  const auto decision = plan_prune(provider.pools, members_of(balancer), policy);
  auto why = by_label(decision);
  CHECK(why["3"].action == PruneAction::keep);
  CHECK(why["3"].why ==
        "not created completely, kept powered off: place 3 of retention.off 3; left running until its create "
        "finishes it");
  CHECK(why["2"].action == PruneAction::power_off);
  CHECK(decision.power_off == std::vector<std::string>{"2", "1"});
  CHECK(decision.remove.empty());
}

// A refusal says what to do: "pool 3 has no servers" said only what was wrong.
TEST_CASE("a switch to a pool with no servers is refused with the ways on", "[planner]") {
  FakeProvider provider;
  provider.add_pool("3", 1, 10).servers.clear();
  const auto refused = plan_switch({.target = "3"}, provider.pools, {});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::invalid);
  CHECK(refused.error().message ==
        "pool 3 has no servers; deploy another pool, or a fixed release ('create-pipeline run --label L', then "
        "'deploy-pipeline deploy --label L'), or a known-good release built again ('create-pipeline rebuild --from "
        "L', then deploy it)");
}

// A create-pipeline run on another agent creates a pool and smoke-tests it for a while: a prune
// meanwhile saw a pool with no verdict beyond its kept places and deleted it under the run, also
// when another run had judged a newer pool meanwhile. A pool with no verdict created less than a
// run's bound ago may be such a run's: prune leaves it. An older one was left by a run that has
// ended, and takes a kept place or goes like any other (however many a flow that never
// smoke-tests leaves).
TEST_CASE("prune leaves a pool with no verdict that a run may still be working on", "[planner][prune]") {
  FakeProvider provider;
  provider.add_pool("0", 1, 50, SmokeVerdict::pending).complete = false;  // a run that ended long ago
  provider.add_pool("1", 1, 40);                                          // good
  provider.add_pool("2", 1, 30);                                          // live
  provider.add_pool("3", 1, 10, SmokeVerdict::pending);                   // a run smoke-testing it now
  provider.add_pool("4", 1, 5, SmokeVerdict::failed);                     // another run, judged since
  FakeBalancer balancer;
  make_live(balancer, provider.pools[2]);
  const WallTime now = provider.pools[3].meta.created_at + std::chrono::minutes(10);
  const RetentionPolicy policy{.keep = 0, .keep_good = 0, .now = now, .run_bound = std::chrono::minutes(11)};

  auto decision = plan_prune(provider.pools, members_of(balancer), policy);
  auto why = by_label(decision);
  CHECK(why["3"].action == PruneAction::keep);
  CHECK(why["3"].why == "smoke verdict pending, created at " + clock_time_utc(provider.pools[3].meta.created_at) +
                            ": a create-pipeline run may be creating or smoke-testing it until " +
                            clock_time_utc(now + std::chrono::minutes(1)) +
                            "; 'create-pipeline delete --label 3' removes it now");
  CHECK(decision.remove == std::vector<std::string>{"4", "1", "0"});

  // Past the bound, the run has ended: pool 3 goes like any other pool with no verdict.
  decision = plan_prune(provider.pools, members_of(balancer),
                        {.keep = 0, .keep_good = 0, .now = now, .run_bound = std::chrono::minutes(10)});
  CHECK(decision.remove == std::vector<std::string>{"4", "3", "1", "0"});
  // And takes a kept place by its class, after the known-good ones.
  decision = plan_prune(provider.pools, members_of(balancer),
                        {.keep = 2, .keep_good = 0, .now = now, .run_bound = std::chrono::minutes(10)});
  CHECK(by_label(decision)["3"].why == "smoke verdict pending, kept place 2 of retention.keep 2");
  CHECK(decision.remove == std::vector<std::string>{"4", "0"});

  // A creator's clock a little ahead keeps it; a creation time far in the future (a record
  // written wrong) would keep it for good, and does not count.
  provider.pools[3].meta.created_at = now + std::chrono::minutes(5);
  decision = plan_prune(provider.pools, members_of(balancer), policy);
  CHECK(by_label(decision)["3"].action == PruneAction::keep);
  provider.pools[3].meta.created_at = now + std::chrono::hours(24 * 365);
  decision = plan_prune(provider.pools, members_of(balancer), policy);
  CHECK(decision.remove == std::vector<std::string>{"3", "4", "1", "0"});  // newest first
  // Another day than today's is written with its date.
  provider.pools[3].meta.created_at = now - std::chrono::hours(30);
  decision = plan_prune(provider.pools, members_of(balancer),
                        {.keep = 0, .keep_good = 0, .now = now, .run_bound = std::chrono::hours(31)});
  CHECK_THAT(by_label(decision)["3"].why,
             Catch::StartsWith("smoke verdict pending, created at " +
                               util::format_iso8601(provider.pools[3].meta.created_at) + ": "));
}

// Pools nobody judged yet (a create cut short, a smoke test not run) took the kept places ahead
// of older known-good ones, which prune then deleted: known-good pools take them first, then the
// unjudged, then failed and bad ones, newest first within each; `why` says which and which place.
TEST_CASE("prune gives the kept places to known-good pools first, then unjudged, then failed and bad",
          "[planner][prune]") {
  FakeProvider provider;
  provider.add_pool("1", 1, 70);                                          // good
  provider.add_pool("2", 1, 60);                                          // good
  provider.add_pool("3", 1, 50, SmokeVerdict::pending).complete = false;  // create cut short
  provider.add_pool("4", 1, 40, SmokeVerdict::pending);                   // never smoke-tested
  provider.add_pool("5", 1, 30, SmokeVerdict::failed);
  provider.add_pool("6", 1, 20).meta.verdict = LiveVerdict::bad;
  provider.pools.back().meta.verdict_reason = "leaks";
  provider.add_pool("7", 1, 10);  // live
  FakeBalancer balancer;
  make_live(balancer, provider.pools.back());

  auto decision = plan_prune(provider.pools, members_of(balancer), {.keep = 3, .keep_good = 0});
  auto why = by_label(decision);
  CHECK(why["2"].why == "known good, kept place 1 of retention.keep 3");
  CHECK(why["1"].why == "known good, kept place 2 of retention.keep 3");
  CHECK(why["4"].why == "smoke verdict pending, kept place 3 of retention.keep 3");
  CHECK(why["3"].why == "not created completely, beyond retention.keep 3");
  CHECK(why["5"].why == "smoke test failed");
  CHECK(why["6"].why == "marked bad: leaks");
  CHECK(decision.remove == std::vector<std::string>{"6", "5", "3"});

  // Failed and bad pools come last, newest first among them.
  decision = plan_prune(provider.pools, members_of(balancer), {.keep = 5, .keep_good = 0});
  why = by_label(decision);
  CHECK(why["3"].why == "not created completely, kept place 4 of retention.keep 5");
  CHECK(why["6"].why == "marked bad: leaks, kept place 5 of retention.keep 5");
  CHECK(decision.remove == std::vector<std::string>{"5"});

  // With tiers, the warmest places go to known-good pools first too.
  decision = plan_prune(provider.pools, members_of(balancer),
                        {.keep = 0,
                         .keep_good = 0,
                         .tiers = TierCounts{.running = 1, .off = 1, .cold = 0},
                         .available = {.off = true, .off_is_billed = false, .cold = false}});
  why = by_label(decision);
  CHECK(why["2"].why == "known good, kept running: place 1 of retention.running 1");
  CHECK(why["1"].action == PruneAction::power_off);
  CHECK(decision.remove == std::vector<std::string>{"6", "5", "4", "3"});
}
