#include "shared/ops/notifications.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/ops/pool_operations.hpp"
#include "shared/ops/switch_operations.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

TEST_CASE("a deploy notifies its start before the first step and its success after the last", "[ops][notify][deploy]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 2, 10);
  world.make_live("1");
  // What the balancer had been told when the start went out.
  std::optional<std::size_t> balancer_calls_at_start;
  world.notifier.on_notify = [&](const Notification& notification) {
    if (notification.phase == NotificationPhase::start) balancer_calls_at_start = world.balancer.calls.size();
  };

  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  CHECK(balancer_calls_at_start == 0);
  CHECK(world.notifier.events() == std::vector<std::string>{"deploy.start", "deploy.success"});
  const Notification& start = world.notifier.sent[0];
  CHECK(start.service == "web");
  CHECK(start.to == "2");
  CHECK(start.from == std::vector<std::string>{"1"});
  CHECK(start.who == "ops-a");
  CHECK(start.job == "gocd web/7/deploy/1/switch");
  CHECK(start.steps.empty());
  const Notification& success = world.notifier.sent[1];
  CHECK(success.result == HistoryResult::succeeded);
  CHECK(success.to == "2");
  CHECK(success.from == std::vector<std::string>{"1"});
  CHECK(success.who == "ops-a");
  CHECK(success.job == "gocd web/7/deploy/1/switch");
  CHECK(success.duration_ms == world.state.events.back().duration_ms);
  // Every step that ran, in order, as the intent record described each before it ran.
  REQUIRE(success.steps.size() == 7);
  REQUIRE(world.state.intents_written.size() == 8);
  for (std::size_t i = 0; i < success.steps.size(); ++i) {
    CHECK(success.steps[i].step == world.state.intents_written[i + 1].current);
  }
}

// A pass that plans again (a reload undid its steps) is the same switch: one start, one end.
TEST_CASE("a deploy that plans again after a reload notifies its start once", "[ops][notify][deploy][reload]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("1");
  bool reloaded = false;
  world.balancer.after_call = [&](FakeBalancer& balancer, const std::string& call) {
    if (call == "admit 2:1" && !reloaded) {
      reloaded = true;
      balancer.state.erase("2:1");  // the reload lost the new member
    }
  };

  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  REQUIRE(world.reporter.saw("planning again"));
  CHECK(world.notifier.events() == std::vector<std::string>{"deploy.start", "deploy.success"});
}

TEST_CASE("a deploy that fails notifies its failure with the reason", "[ops][notify][deploy]") {
  FakeWorld world;
  world.provider.add_pool("1", 2, 20);
  world.provider.add_pool("2", 2, 10);
  world.make_live("1");
  world.balancer.unhealthy_addresses = {"10.0.2.2:8080"};
  REQUIRE_FALSE(ops::deploy(world.services, {.label = "2"}).ok());
  CHECK(world.notifier.events() == std::vector<std::string>{"deploy.start", "deploy.failure"});
  const Notification& failure = world.notifier.sent[1];
  CHECK(failure.result == HistoryResult::failed);
  CHECK_THAT(failure.why, Catch::Contains("did not become healthy"));
}

TEST_CASE("a rollback notifies its start and success with why", "[ops][notify][rollback]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 30);
  world.provider.add_pool("2", 1, 20);
  world.make_live("2");
  REQUIRE(ops::rollback(world.services, {.reason = "checkout errors"}).ok());
  CHECK(world.notifier.events() == std::vector<std::string>{"rollback.start", "rollback.success"});
  for (const auto& notification : world.notifier.sent) {
    CHECK(notification.to == "1");
    CHECK(notification.from == std::vector<std::string>{"2"});
    CHECK(notification.why == "checkout errors");
  }
}

TEST_CASE("repair, delete and prune are notified; a dry run is not", "[ops][notify]") {
  FakeWorld world;
  for (int i = 1; i <= 4; ++i) world.provider.add_pool(std::to_string(i), 1, 100 - i);
  world.make_live("3");
  world.make_live("4");
  REQUIRE(ops::deploy(world.services, {.label = "2", .dry_run = true}).ok());
  CHECK(world.notifier.sent.empty());

  REQUIRE(ops::repair(world.services, {}).ok());
  CHECK(world.notifier.events() == std::vector<std::string>{"repair.start", "repair.success"});

  world.notifier.sent.clear();
  REQUIRE(ops::delete_pool(world.services, {.label = "1"}).ok());
  REQUIRE_FALSE(ops::delete_pool(world.services, {.label = "4"}).ok());  // live: refused
  REQUIRE(world.notifier.events() == std::vector<std::string>{"delete", "delete"});
  CHECK(world.notifier.sent[0].to == "1");
  CHECK(world.notifier.sent[0].result == HistoryResult::succeeded);
  CHECK(world.notifier.sent[1].to == "4");
  CHECK(world.notifier.sent[1].result == HistoryResult::refused);

  world.notifier.sent.clear();
  REQUIRE(ops::prune_pools(world.services, {.keep = 0}).ok());
  // Repair kept the newest live pool, 4: 3 and 2 go, one event each.
  REQUIRE(world.notifier.events() == std::vector<std::string>{"prune", "prune"});
  CHECK(world.notifier.sent[0].to == "3");
  CHECK(world.notifier.sent[1].to == "2");
}

TEST_CASE("a notifier that fails is one warning and changes nothing else", "[ops][notify]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.provider.add_pool("2", 1, 10);
  world.make_live("1");
  world.notifier.failure =
      Error{ErrorKind::unavailable, "notification deploy.start not delivered to webhook: no answer within 3.00 s"};
  REQUIRE(ops::deploy(world.services, {.label = "2"}).ok());
  CHECK(world.balancer.admitted() == std::vector<std::string>{"2:1"});
  CHECK(world.state.events.back().result == HistoryResult::succeeded);
  CHECK(world.reporter.saw("warning: notification deploy.start not delivered to webhook"));
}

TEST_CASE("a history event that cannot be stored is still notified", "[ops][notify]") {
  FakeWorld world;
  world.provider.add_pool("1", 1, 20);
  world.state.fail_next["append_history"] = Error{ErrorKind::unavailable, "disk full"};
  REQUIRE(ops::delete_pool(world.services, {.label = "1"}).ok());
  CHECK(world.notifier.events() == std::vector<std::string>{"delete"});
}
