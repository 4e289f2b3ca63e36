#include "shared/ops/watch_operations.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/ops/switch_operations.hpp"

using namespace phoenix;
using namespace phoenix::fakes;

namespace {

// Pool 1 live, pool 2 smoke-tested; every read of the balancer adds `per_read` requests to
// each member of pool 2, `failing` of them answered with 5xx.
struct WatchRig {
  FakeWorld world;
  long long per_read = 10;
  long long failing = 0;

  WatchRig() {
    world.provider.add_pool("1", 2, 30);
    world.provider.add_pool("2", 2, 20);
    world.make_live("1");
    world.config.watch.thresholds = {.interval = std::chrono::milliseconds(1000),
                                     .window = std::chrono::seconds(5),
                                     .min_requests = 20,
                                     .max_5xx_ratio = 0.05,
                                     .max_down_members = 0};
    world.balancer.before_read = [this](FakeBalancer& balancer) {
      for (auto& [name, member] : balancer.state) {
        if (name.rfind("2:", 0) != 0) continue;
        auto counters = member.counters.value_or(MemberCounters{});
        counters.requests += per_read;
        counters.http_5xx += failing;
        member.counters = counters;
      }
    };
  }
};

}  // namespace

TEST_CASE("a clean watch keeps the new pool and only then marks the replaced one good", "[ops][watch]") {
  WatchRig rig;
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(10)});
  REQUIRE(result.ok());
  REQUIRE(result->watched_ms);
  CHECK(*result->watched_ms >= 10000);
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[0].meta.verdict == LiveVerdict::good);
  CHECK(rig.world.reporter.saw("watch 10 s: "));
  CHECK_FALSE(rig.world.state.lock.has_value());
}

TEST_CASE("a breach switches back to the replaced pool, marks the new one bad and fails", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;  // 40 % of pool 2's requests fail
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::failed);
  CHECK_THAT(result.error().message, Catch::Contains("pool 2 breached its watch after"));
  CHECK_THAT(result.error().message, Catch::Contains("5xx ratio 0.40"));
  CHECK_THAT(result.error().message, Catch::Contains("rolled back to pool 1 automatically"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::bad);
  CHECK_THAT(rig.world.provider.pools[1].meta.verdict_reason, Catch::StartsWith("automatic: 5xx ratio 0.40"));
  CHECK(rig.world.provider.pools[0].meta.verdict == LiveVerdict::unknown);  // not judged good
  REQUIRE(rig.world.state.events.size() == 2);
  CHECK(rig.world.state.events[0].action == HistoryAction::deploy);
  CHECK(rig.world.state.events[1].action == HistoryAction::auto_rollback);
  CHECK(rig.world.state.events[1].label == "1");
  // Detected within the window once enough requests arrived, not at the end of the 30 s.
  CHECK(rig.world.clock.slept() < std::chrono::seconds(10));
}

TEST_CASE("SIGINT or SIGTERM during the watch stops watching and switches nothing", "[ops][watch]") {
  WatchRig rig;
  rig.failing = 4;
  int polls = 0;
  rig.world.services.stop_requested = [&polls] { return ++polls > 5; };
  auto result = ops::deploy(rig.world.services, {.label = "2", .watch = std::chrono::seconds(30)});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().is(ErrorCode::interrupted));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
  CHECK_FALSE(rig.world.state.lock.has_value());
}

TEST_CASE("--expect-live refuses and changes nothing unless that pool is the live one", "[ops][rollback]") {
  WatchRig rig;
  REQUIRE(ops::deploy(rig.world.services, {.label = "2"}).ok());
  auto stale = ops::rollback(rig.world.services, {.reason = "alert about 1", .expect_live = "1"});
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().kind == ErrorKind::refused);
  CHECK_THAT(stale.error().message, Catch::Contains("pool 1 is not the live pool (live: 2)"));
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"2:1", "2:2"});
  CHECK(rig.world.provider.pools[1].meta.verdict == LiveVerdict::unknown);
  auto current = ops::rollback(rig.world.services, {.reason = "alert about 2", .expect_live = "2"});
  REQUIRE(current.ok());
  CHECK(rig.world.balancer.admitted() == std::vector<std::string>{"1:1", "1:2"});
}
