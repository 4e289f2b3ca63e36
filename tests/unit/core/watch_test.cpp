#include "shared/core/watch.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

namespace {

Member member(const std::string& name, long long requests, long long http_5xx, bool up = true) {
  Member m;
  m.name = name;
  m.up = up;
  m.weight = 1;
  m.status_text = up ? "UP" : "DOWN";
  m.counters = MemberCounters{.requests = requests, .http_5xx = http_5xx};
  return m;
}

WatchThresholds thresholds() {
  return {.interval = std::chrono::milliseconds(1000),
          .window = std::chrono::seconds(10),
          .min_requests = 20,
          .max_5xx_ratio = 0.05,
          .max_down_members = 0,
          .check_failures = 2};
}

}  // namespace

TEST_CASE("a 5xx ratio above the threshold over the window is a breach, with the measured reason", "[watch]") {
  WatchWindow window(thresholds());
  window.add(0, {member("2:1", 1000, 0), member("2:2", 1000, 0)});
  window.add(1000, {member("2:1", 1010, 0), member("2:2", 1010, 0)});
  CHECK_FALSE(window.breach());  // 20 requests, none failed
  window.add(2000, {member("2:1", 2000, 300), member("2:2", 2890, 904)});
  const auto breach = window.breach();
  REQUIRE(breach);
  CHECK(*breach == "5xx ratio 0.42 over 2.00 s (1,204 of 2,890) on 2:1, 2:2");
  CHECK_THAT(window.progress(2000), Catch::StartsWith("watch 2 s: 2,890 requests, 1,204 failed (ratio 0.42), 0 down"));
}

TEST_CASE("too few requests judge nothing; the window slides; a reload starts a new baseline", "[watch]") {
  WatchWindow window(thresholds());
  window.add(0, {member("2:1", 0, 0)});
  window.add(1000, {member("2:1", 10, 9)});
  CHECK_FALSE(window.breach());  // 10 requests: fewer than min_requests
  // Old failures leave the window: 11 s later, only the last 10 s count.
  window.add(11000, {member("2:1", 10, 9)});
  window.add(12000, {member("2:1", 1010, 9)});
  CHECK(window.figures().failed == 0);
  CHECK_FALSE(window.breach());
  // HAProxy reloaded: its counters start at 0 again; they are not negative traffic.
  window.add(13000, {member("2:1", 5, 0)});
  CHECK(window.figures().requests >= 5);
  CHECK(window.figures().failed == 0);
}

TEST_CASE("a member of the new pool going DOWN, or checks failing twice in a row, is a breach", "[watch]") {
  WatchWindow window(thresholds());
  window.add(0, {member("2:1", 0, 0), member("2:2", 0, 0)});
  window.add_checks({});
  CHECK_FALSE(window.breach());
  window.add_checks({"front page: expected status 200; got status 502"});
  CHECK_FALSE(window.breach());  // once may be a blip
  window.add_checks({"front page: expected status 200; got status 502"});
  REQUIRE(window.breach());
  CHECK_THAT(*window.breach(), Catch::Contains("watch checks failed 2 times in a row: front page"));
  window.add_checks({});
  window.add(1000, {member("2:1", 0, 0), member("2:2", 0, 0, false)});
  REQUIRE(window.breach());
  CHECK_THAT(*window.breach(), Catch::Contains("1 member of the new pool DOWN in the balancer (max 0): 2:2 DOWN"));
}

TEST_CASE("watch durations are seconds, minutes or hours", "[watch]") {
  CHECK(parse_watch_duration("30s") == std::chrono::seconds(30));
  CHECK(parse_watch_duration("10m") == std::chrono::seconds(600));
  CHECK(parse_watch_duration("1h") == std::chrono::seconds(3600));
  CHECK_FALSE(parse_watch_duration("10"));
  CHECK_FALSE(parse_watch_duration("0s"));
  CHECK_FALSE(parse_watch_duration("-5m"));
  CHECK_FALSE(parse_watch_duration("2d"));
  CHECK_FALSE(parse_watch_duration("25h"));
}

// review2 F26: a watch that saw no traffic "passed"; the watch counts what it saw in all.
TEST_CASE("the requests a watch saw in all count from its first sample, across windows and reloads", "[watch]") {
  WatchWindow window(thresholds());
  window.add(0, {member("2:1", 1000, 0)});
  CHECK(window.requests_seen() == 0);                               // counted before the watch
  window.add(1000, {member("2:1", 1005, 0), member("2:2", 3, 0)});  // 2:2 new: all of its 3
  CHECK(window.requests_seen() == 8);
  window.add(2000, {member("2:1", 2, 0), member("2:2", 4, 0)});  // 2:1 reloaded: counts from 0
  CHECK(window.requests_seen() == 11);
  for (long long at = 3000; at <= 30000; at += 1000) window.add(at, {member("2:1", 2, 0), member("2:2", 4, 0)});
  CHECK(window.requests_seen() == 11);  // the window moved on, the count stays
  CHECK(window.figures().requests == 0);
}

TEST_CASE(
    "a reload the failures show (they went down while requests grew past the old count) restarts the count of "
    "requests seen, as it does the window's figures",
    "[watch]") {
  WatchWindow window(thresholds());
  window.add(0, {member("2:1", 10, 5)});
  window.add(1000, {member("2:1", 30, 0)});  // reloaded: 30 requests since, none failed
  CHECK(window.requests_seen() == 30);
  CHECK(window.figures().requests == 30);
}
