// Several balancers switched as one unit (shared/ops/balancer_set and its use by the switch,
// delete, prune and status operations), with two in-memory balancers.
#include "shared/ops/balancer_set.hpp"

#include <algorithm>
#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/status_operations.hpp"
#include "shared/ops/switch_operations.hpp"
#include "shared/util/strings.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {

// A FakeWorld behind two balancers, "lb-a" (world.balancer) and "lb-b", with one log of the
// calls of both in the order they happened.
struct TwoBalancerRig {
  FakeWorld world;
  FakeBalancer& a = world.balancer;
  FakeBalancer b;
  std::vector<std::string> log;

  TwoBalancerRig() {
    auto first = world.config.balancer;
    first.name = "lb-a";
    auto second = first;
    second.name = "lb-b";
    world.config.balancers = {first, second};
    world.services.balancers = {{"lb-a", &a}, {"lb-b", &b}};
    a.after_call = [this](FakeBalancer& /*self*/, const std::string& call) { log.push_back("lb-a " + call); };
    b.after_call = [this](FakeBalancer& /*self*/, const std::string& call) { log.push_back("lb-b " + call); };
    world.provider.add_pool("1", 2, 20);
    world.provider.add_pool("2", 2, 10);
  }

  // Pool `label` live in one balancer.
  void make_live_in(FakeBalancer& balancer, const std::string& label) {
    for (const auto& pool : world.provider.pools) {
      if (pool.label() != label) continue;
      for (const auto& server : pool.servers) balancer.put_live(member_name(label, server.id), server.address());
    }
  }

  // Every balancer unreachable from now on.
  static void cut_off(FakeBalancer& balancer) {
    const Error refused{ErrorKind::unavailable, "cannot connect to /run/haproxy/b.sock: Connection refused"};
    for (const char* kind : {"members", "add_standby", "standby", "admit", "drain", "remove", "persist"}) {
      balancer.fail_always[kind] = refused;
    }
  }
};

}  // namespace

TEST_CASE("a switch runs each kind of step in every balancer before the next kind", "[ops][balancers]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  rig.b.polls_until_healthy = 5;  // lb-b's checks pass later than lb-a's
  bool b_checked_before_first_admit = false;
  rig.a.after_call = [&](FakeBalancer& /*self*/, const std::string& call) {
    if (call.rfind("admit", 0) == 0) {
      b_checked_before_first_admit =
          rig.b.state.at("2:1").check == CheckState::passed && rig.b.state.at("2:2").check == CheckState::passed;
    }
    rig.log.push_back("lb-a " + call);
  };

  auto result = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE(result.ok());
  // Nothing is admitted anywhere before lb-b's check passed, and nothing old is drained
  // anywhere before every balancer routes to the new pool.
  CHECK(b_checked_before_first_admit);
  CHECK(rig.log == std::vector<std::string>{"lb-a add_standby 2:1,2:2", "lb-b add_standby 2:1,2:2",
                                            "lb-a admit 2:1,2:2", "lb-b admit 2:1,2:2", "lb-a drain 1:1,1:2",
                                            "lb-b drain 1:1,1:2", "lb-a remove 1:1,1:2", "lb-b remove 1:1,1:2"});
  CHECK(rig.a.persists == 1);
  CHECK(rig.b.persists == 1);
  CHECK(rig.a.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.b.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(result->plan.from == std::vector<std::string>{"1"});
  REQUIRE(result->balancer_plans.size() == 2);
  CHECK(result->balancer_plans[1].balancer == "lb-b");
  // The intent says which balancer each step was in and how far each one got.
  REQUIRE(rig.world.state.intents_written.size() == 15);
  CHECK(rig.world.state.intents_written[7].current ==
        "balancer lb-a: route traffic to 2 members: 2:1, 2:2; done: lb-a 3 of 7, lb-b 3 of 7");
  CHECK(rig.world.reporter.saw("balancer lb-b: drain 2 members: 1:1, 1:2"));
  CHECK_FALSE(rig.world.state.intent.has_value());
}

TEST_CASE("a pool unhealthy in one balancer is taken out of all of them", "[ops][balancers]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  rig.b.unhealthy_addresses = {"10.0.2.2:8080"};

  auto result = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK_THAT(result.error().message, Catch::Contains("balancer lb-b") && Catch::Contains("1 still serves"));
  CHECK(rig.log == std::vector<std::string>{"lb-a add_standby 2:1,2:2", "lb-b add_standby 2:1,2:2",
                                            "lb-a remove 2:1,2:2", "lb-b remove 2:1,2:2"});
  for (FakeBalancer* balancer : {&rig.a, &rig.b}) {
    CHECK(balancer->admitted() == std::vector<std::string>{"1:1", "1:2"});
    CHECK(balancer->state.count("2:1") == 0);
  }
  CHECK_FALSE(rig.world.state.intent.has_value());
}

TEST_CASE("an unreachable balancer stops the switch naming it; repair converges all of them", "[ops][balancers]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  // lb-b goes away once both route to the new pool.
  rig.b.after_call = [&](FakeBalancer& self, const std::string& call) {
    rig.log.push_back("lb-b " + call);
    if (call.rfind("admit", 0) == 0) TwoBalancerRig::cut_off(self);
  };

  auto result = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE_FALSE(result.ok());
  CHECK(exit_code_for(result.error().kind) == 4);
  CHECK_THAT(result.error().message, Catch::Contains("balancer lb-b") && Catch::Contains("Connection refused"));
  REQUIRE(rig.world.state.intent.has_value());
  CHECK_THAT(rig.world.state.intent->current,
             Catch::Contains("balancer lb-b: drain 2 members: 1:1, 1:2; done: lb-a 5 of 7, lb-b 4 of 7"));

  // lb-b answers again: repair finishes the deploy in every balancer, each from where it is.
  rig.b.fail_always.clear();
  rig.b.after_call = nullptr;
  rig.log.clear();
  auto repaired = ops::repair(rig.world.services, {});
  REQUIRE(repaired.ok());
  CHECK(repaired->plan.target == "2");
  for (FakeBalancer* balancer : {&rig.a, &rig.b}) {
    CHECK(balancer->admitted() == std::vector<std::string>{"2:1", "2:2"});
    CHECK(balancer->state.count("1:1") == 0);
  }
  CHECK_FALSE(rig.world.state.intent.has_value());
}

TEST_CASE("a balancer already switched gets no steps; the other catches up", "[ops][balancers]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "2");

  auto result = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE(result.ok());
  for (const auto& line : rig.log) CHECK(line.rfind("lb-a", 0) == 0);
  CHECK(rig.a.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.b.admitted() == std::vector<std::string>{"2:1", "2:2"});
}

TEST_CASE("an unreachable balancer fails the switch before anything changes", "[ops][balancers]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  TwoBalancerRig::cut_off(rig.b);
  auto result = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE_FALSE(result.ok());
  CHECK(exit_code_for(result.error().kind) == 4);
  CHECK_THAT(result.error().message, Catch::StartsWith("balancer lb-b: "));
  CHECK(rig.log.empty());
}

// Two balancers whose config_file cannot be written: deploy and repair named only the first, so
// the operator fixed one directory and was refused again for the other. Both are named at once.
TEST_CASE("deploy and repair name every balancer that cannot keep its membership, not only the first",
          "[ops][balancers][durable]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  rig.a.unpersistable = Error{ErrorKind::invalid, "balancer.config_file /etc/a/haproxy.cfg cannot be kept current"};
  rig.b.unpersistable = Error{ErrorKind::invalid, "balancer.config_file /etc/b/haproxy.cfg cannot be kept current"};
  const std::string both =
      "balancer lb-a: balancer.config_file /etc/a/haproxy.cfg cannot be kept current; balancer lb-b: "
      "balancer.config_file /etc/b/haproxy.cfg cannot be kept current";

  auto deploy = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE_FALSE(deploy.ok());
  CHECK(deploy.error().kind == ErrorKind::invalid);
  CHECK(deploy.error().message == both);

  auto repair = ops::repair(rig.world.services, {});
  REQUIRE_FALSE(repair.ok());
  CHECK(repair.error().kind == ErrorKind::invalid);
  CHECK(repair.error().message == both);
  CHECK(rig.log.empty());  // refused before any change

  // One of them writable: only the other is named.
  rig.a.unpersistable.reset();
  auto again = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message == "balancer lb-b: balancer.config_file /etc/b/haproxy.cfg cannot be kept current");
}

// A balancer configured wrong and a later one that does not answer: the read ended at the
// unreachable one with its error alone, and the misconfigured balancer it had read first was not
// named, so the operator learnt of it only on the next run. Every balancer is named in one error,
// a configuration error (exit 2) since waiting cannot help while one is configured wrong.
TEST_CASE("a misconfigured balancer is named with a later unreachable one, in one configuration error",
          "[ops][balancers][durable]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  rig.a.unpersistable = Error{ErrorKind::invalid, "balancer.config_file /etc/a/haproxy.cfg cannot be kept current"};
  TwoBalancerRig::cut_off(rig.b);
  const std::string both =
      "balancer lb-a: balancer.config_file /etc/a/haproxy.cfg cannot be kept current; balancer lb-b: cannot connect "
      "to /run/haproxy/b.sock: Connection refused";

  auto read = ops::read_every_balancer(rig.world.services, ops::BalancerRead::snapshot);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().kind == ErrorKind::invalid);
  CHECK(read.error().message == both);

  auto deploy = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE_FALSE(deploy.ok());
  CHECK(exit_code_for(deploy.error().kind) == 2);
  CHECK(deploy.error().message == both);
  CHECK(rig.log.empty());  // refused before any change
}

// The other order: an unreachable balancer no longer ends the read before a misconfigured one.
TEST_CASE("an unreachable balancer is named with a later misconfigured one; unreachable alone stays exit 4",
          "[ops][balancers][durable]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  TwoBalancerRig::cut_off(rig.a);
  rig.b.unpersistable = Error{ErrorKind::invalid, "balancer.config_file /etc/b/haproxy.cfg cannot be kept current"};

  auto repair = ops::repair(rig.world.services, {});
  REQUIRE_FALSE(repair.ok());
  CHECK(repair.error().kind == ErrorKind::invalid);
  CHECK(repair.error().message ==
        "balancer lb-a: cannot connect to /run/haproxy/b.sock: Connection refused; balancer lb-b: "
        "balancer.config_file /etc/b/haproxy.cfg cannot be kept current");

  // lb-b fixed: the unreachable balancer alone is exit 4, as before.
  rig.b.unpersistable.reset();
  auto read = ops::read_every_balancer(rig.world.services, ops::BalancerRead::snapshot);
  REQUIRE_FALSE(read.ok());
  CHECK(exit_code_for(read.error().kind) == 4);
  CHECK(read.error().message == "balancer lb-a: cannot connect to /run/haproxy/b.sock: Connection refused");
}

// A rollback with membership that cannot be kept (HAProxy's config_file in a directory this user
// cannot write) goes ahead at runtime only. It asks no balancer up front whether it could keep
// it: each balancer checks once itself, at its own look, and warns once, named.
TEST_CASE("a rollback asks no balancer up front whether it can keep its membership; each checks and warns once",
          "[ops][balancers][rollback][durable]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  for (FakeBalancer* balancer : {&rig.a, &rig.b}) {
    balancer->durable = balancer->members().value();
    balancer->unpersistable = Error{ErrorKind::invalid, "balancer.config_file haproxy.cfg cannot be kept current"};
  }

  auto rollback = ops::rollback(rig.world.services, {.reason = "errors"});
  REQUIRE(rollback.ok());
  CHECK(rollback->plan.target == "1");
  for (FakeBalancer* balancer : {&rig.a, &rig.b}) {
    CHECK(balancer->persistable_asked == 0);  // not asked up front
    CHECK(balancer->own_checks == 1);         // checked once, by the balancer itself
    CHECK(balancer->admitted() == std::vector<std::string>{"1:1", "1:2"});
    CHECK(balancer->persists == 0);  // kept at runtime only
  }
  std::vector<std::string> warnings;
  for (const auto& line : rig.world.reporter.lines) {
    if (line.rfind("warning: ", 0) == 0) warnings.push_back(line);
  }
  const std::string rest =
      "balancer.config_file haproxy.cfg cannot be kept current; rolling back at runtime only: a HAProxy reload or "
      "restart undoes this rollback until the membership is written; fix balancer.config_file (make its directory "
      "writable, or point it at a writable one), then run 'deploy-pipeline repair' to keep it ('deploy-pipeline "
      "status' reports it until then)";
  CHECK(warnings == std::vector<std::string>{"warning: balancer lb-a: " + rest, "warning: balancer lb-b: " + rest});
}

TEST_CASE("delete and prune refuse a pool any balancer routes to", "[ops][balancers][delete]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  rig.make_live_in(rig.b, "1");  // still live in lb-b only

  const auto deleted = ops::delete_pool(rig.world.services, {.label = "1"});
  REQUIRE_FALSE(deleted.ok());
  CHECK(deleted.error().kind == ErrorKind::refused);
  CHECK_THAT(deleted.error().message, Catch::StartsWith("balancer lb-b: "));
  CHECK(find_pool(rig.world.provider.pools, "1") != nullptr);

  auto pruned = ops::prune_pools(rig.world.services, {.keep = 0});
  REQUIRE(pruned.ok());
  CHECK(pruned->deleted.empty());
  CHECK(rig.world.provider.pools.size() == 2);
}

TEST_CASE("status shows every balancer's members and a pool live in only one as a problem",
          "[ops][balancers][status]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  rig.make_live_in(rig.b, "1");

  auto report = ops::status(rig.world.services);
  REQUIRE(report.ok());
  CHECK(report->live == std::vector<std::string>{"1", "2"});
  REQUIRE(report->members.size() == 6);
  CHECK(report->members.front().balancer == "lb-a");
  CHECK(report->members.back().balancer == "lb-b");
  CHECK(std::find(report->problems.begin(), report->problems.end(),
                  "the balancers differ: pool 1 is live in lb-b but not in lb-a; 'deploy-pipeline repair' makes the "
                  "same pool live in all of them") != report->problems.end());
  CHECK(std::any_of(report->problems.begin(), report->problems.end(), [](const std::string& problem) {
    return problem.rfind("balancer lb-b: 2 pools are live at once", 0) == 0;
  }));
}

// One balancer of two unreachable made status say "live unknown", dropping what the other
// answered: the report is what the one that answers says, and the other is a problem naming it.
// Its problem comes first: the rollback another line advises is refused until it answers.
TEST_CASE("status with one balancer of two unreachable reports the other and names the one unreachable",
          "[ops][balancers][status]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  rig.world.provider.pools[1].meta.verdict = LiveVerdict::bad;  // a rollback to pool 1 is the way on
  TwoBalancerRig::cut_off(rig.b);

  auto report = ops::status(rig.world.services);
  REQUIRE(report.ok());
  CHECK_FALSE(report->balancer_error.has_value());
  CHECK(report->live == std::vector<std::string>{"2"});
  REQUIRE(report->members.size() == 2);
  CHECK(report->members.front().balancer == "lb-a");
  REQUIRE(report->unanswered.size() == 1);
  CHECK(report->unanswered.front().balancer == "lb-b");
  CHECK(report->balancer_error_kind == ErrorKind::unavailable);
  CHECK(std::find(report->notes.begin(), report->notes.end(), "balancer lb-b: unavailable, live unknown") !=
        report->notes.end());
  INFO(util::join(report->problems, "\n"));
  REQUIRE(report->problems.size() == 2);
  CHECK(report->problems[0] ==
        "balancer lb-b: unavailable (cannot connect to /run/haproxy/b.sock: Connection refused); what it routes to is "
        "unknown, the rest of this report is what the other balancers say, and every switch, delete and prune is "
        "refused until it answers: check that it runs and can be reached; do that first: the commands named below are "
        "refused until then");
  CHECK_THAT(report->problems[1], Catch::EndsWith("'deploy-pipeline rollback --to 1' rolls back to pool 1"));

  // Both unreachable: nothing is known of what is live.
  TwoBalancerRig::cut_off(rig.a);
  report = ops::status(rig.world.services);
  REQUIRE(report.ok());
  CHECK(report->balancer_error.has_value());
  CHECK(report->unanswered.empty());
}

// A stats socket below 'level admin' reads fine, but every switch is refused on it: status says so
// first, naming the balancer and the fix, before the rollback it advises.
TEST_CASE("status names a balancer that refuses every change first, and a switch is refused on it",
          "[ops][balancers][status]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  rig.world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  const std::string level =
      "HAProxy's stats socket /run/haproxy/b.sock is at level operator, which may not add, weigh or remove servers; "
      "give that 'stats socket' line of haproxy.cfg 'level admin' (balancer.socket), then reload HAProxy";
  rig.b.changes_refused = Error{ErrorKind::invalid, level, ErrorCode::changes_not_allowed};

  const auto report = ops::status(rig.world.services);
  REQUIRE(report.ok());
  INFO(util::join(report->problems, "\n"));
  REQUIRE(report->problems.size() == 2);
  CHECK(report->problems[0] ==
        "balancer lb-b: " + level + "; do that first: every deploy, rollback and repair is refused until then");
  CHECK_THAT(report->problems[1], Catch::EndsWith("'deploy-pipeline rollback --to 1' rolls back to pool 1"));

  const auto rolled = ops::rollback(rig.world.services, {});
  REQUIRE_FALSE(rolled.ok());
  CHECK(rolled.error().is(ErrorCode::changes_not_allowed));
  CHECK(rig.a.admitted() == std::vector<std::string>{"2:1", "2:2"});

  // Any other failure of the question (the balancer went away meanwhile) is no such problem.
  rig.b.changes_refused = Error{ErrorKind::unavailable, "cannot connect"};
  const auto again = ops::status(rig.world.services);
  REQUIRE(again.ok());
  CHECK(again->problems.size() == 1);
}

// History explains a live pool marked bad (who marked it, when); status reads it once, however
// many balancers route to that pool.
TEST_CASE("status reads history once for every balancer that needs it", "[ops][balancers][status][history]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  rig.world.provider.pools[1].meta.verdict = LiveVerdict::bad;
  auto report = ops::status(rig.world.services);
  REQUIRE(report.ok());
  CHECK(report->live == std::vector<std::string>{"2"});
  CHECK(rig.world.state.history_reads == 1);
}

TEST_CASE("one balancer in the list is not named in messages", "[ops][balancers]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.services.balancers = {{"haproxy-1", &world.balancer}};
  world.balancer.fail_always["members"] = Error{ErrorKind::unavailable, "cannot connect"};
  auto result = ops::deploy(world.services, {.label = "1"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().message == "cannot connect");
}

TEST_CASE("deploy --watch counts the traffic of every balancer", "[ops][balancers][watch]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");
  rig.world.config.watch.thresholds = test_watch_thresholds();
  // Pool 2's traffic through lb-a is clean; through lb-b half of it fails.
  const auto traffic = [](long long failing) {
    return [failing](FakeBalancer& balancer) { balancer.add_traffic("2", 10, failing); };
  };
  rig.a.before_read = traffic(0);
  rig.b.before_read = traffic(5);

  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1"));
  for (FakeBalancer* balancer : {&rig.a, &rig.b}) {
    CHECK(balancer->admitted() == std::vector<std::string>{"1:1", "1:2"});
  }
}

TEST_CASE("hot standby applies in each balancer that has standby", "[ops][balancers][hot]") {
  TwoBalancerRig rig;
  rig.world.config.retention_hot = 1;
  rig.b.capabilities_.standby = false;  // lb-b admits what it adds (a Hetzner load balancer)
  rig.make_live_in(rig.a, "1");
  rig.make_live_in(rig.b, "1");

  auto result = ops::deploy(rig.world.services, {.label = "2"});
  REQUIRE(result.ok());
  CHECK(result->plan.hot == std::vector<std::string>{"1"});
  // lb-a keeps pool 1 on standby; lb-b cannot, so it removes it.
  CHECK(rig.a.admitted() == std::vector<std::string>{"2:1", "2:2"});
  REQUIRE(rig.a.state.count("1:1") == 1);
  CHECK(on_standby(rig.a.state.at("1:1")));
  CHECK(rig.b.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.b.state.count("1:1") == 0);
}

// A rollback goes ahead in a balancer whose membership cannot be written, at runtime only: that
// balancer, and only it, is named in the result and in the history record, and the answer is the
// balancer's own: it still holds after the rollback.
TEST_CASE("a rollback names the balancers it switched at runtime only, and only those", "[ops][balancers][durable]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  rig.b.unpersistable = Error{ErrorKind::invalid, "balancer.config_file /etc/haproxy/b.cfg cannot be kept current"};
  CHECK(ops::runtime_only_balancers(rig.world.services).empty());  // not allowed yet: refused, not runtime only

  auto result = ops::rollback(rig.world.services, {.reason = "errors"});
  REQUIRE(result.ok());
  CHECK(result->runtime_only == std::vector<std::string>{"balancer lb-b"});
  CHECK(ops::runtime_only_balancers(rig.world.services) == std::vector<std::string>{"balancer lb-b"});
  const auto& events = rig.world.state.events;
  const auto rollback = std::find_if(events.begin(), events.end(),
                                     [](const HistoryEvent& event) { return event.action == HistoryAction::rollback; });
  REQUIRE(rollback != events.end());
  CHECK_THAT(rollback->detail, Catch::Contains("; at runtime only in balancer lb-b: a reload or restart of it"));
  CHECK_THAT(rollback->detail, !Catch::Contains("lb-a"));
}

// With two balancers, a failed read before a delete said "reading the balancer", as if there
// were one; the error that follows names the one that failed.
TEST_CASE("a delete that cannot read a balancer says it reads every balancer, and names the one that failed",
          "[ops][balancers][delete]") {
  TwoBalancerRig rig;
  rig.make_live_in(rig.a, "2");
  rig.make_live_in(rig.b, "2");
  TwoBalancerRig::cut_off(rig.b);
  const auto deleted = ops::delete_pool(rig.world.services, {.label = "1"});
  REQUIRE_FALSE(deleted.ok());
  CHECK_THAT(deleted.error().message,
             Catch::StartsWith("reading every balancer before deleting pool 1: balancer lb-b: "));
  CHECK(ops::every_balancer_words(1) == "the balancer");
}
