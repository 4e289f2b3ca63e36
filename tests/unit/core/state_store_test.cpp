#include "shared/core/state_store.hpp"

#include <catch2/catch.hpp>

#include "shared/core/records.hpp"
#include "shared/util/time_format.hpp"

using namespace phoenix;

namespace {

WatchRecord watch_record_ending(WallTime until) {
  return {.watched = "7",
          .fallback = "6",
          .by = {.host = "agent-1", .pid = 123, .job = "", .command = "deploy --label 7 --watch 5m", .since = until},
          .until = until};
}

}  // namespace

TEST_CASE("a watch record is stale once its end plus the margin passed, or its holder died on this host",
          "[watch-record]") {
  const WallTime end = *util::parse_iso8601("2026-11-26T12:03:04Z");
  const WatchRecord record = watch_record_ending(end);
  CHECK_FALSE(watch_staleness(record, "agent-1", end - std::chrono::minutes(4), true));
  CHECK_FALSE(watch_staleness(record, "agent-1", end + kWatchRecordMargin, true));
  const auto ended = watch_staleness(record, "agent-1", end + kWatchRecordMargin + std::chrono::seconds(1), true);
  REQUIRE(ended);
  CHECK(*ended == "it ended at 12:03:04 UTC (more than 30 s ago)");
  const auto dead = watch_staleness(record, "agent-1", end - std::chrono::minutes(4), false);
  REQUIRE(dead);
  CHECK(*dead == "its holder (pid 123 on this host) is no longer running");
  // Seen from another host, only the end decides.
  CHECK_FALSE(watch_staleness(record, "agent-2", end - std::chrono::minutes(4), false));
  CHECK(describe(record) == "watching pool 7 until 12:03:04 UTC, falling back to pool 6, by pid 123 on agent-1");
}

TEST_CASE("a watch record round trips through JSON, with and without a fallback", "[watch-record][records]") {
  WatchRecord record = watch_record_ending(*util::parse_iso8601("2026-11-26T12:03:04.250Z"));
  for (const bool with_fallback : {true, false}) {
    if (!with_fallback) record.fallback.reset();
    const auto read = records::watch_record_from_json(records::to_json(record).get());
    REQUIRE(read.ok());
    CHECK(read->watched == "7");
    CHECK(read->fallback == record.fallback);
    CHECK(read->by.pid == 123);
    CHECK(read->by.command == record.by.command);
    CHECK(read->until == record.until);
  }
  util::Json empty(cJSON_CreateObject());
  CHECK_FALSE(records::watch_record_from_json(empty.get()).ok());
}

TEST_CASE("a lock held on this host is stale only once its holder is gone, however old", "[state-store][lock]") {
  const WallTime since = *util::parse_iso8601("2026-11-26T12:00:00Z");
  const LockHolder holder{.host = "agent-1", .pid = 123, .job = "", .command = "deploy --label 7", .since = since};
  const auto a_day_later = since + std::chrono::hours(24);
  // Running on this host: working (a long health wait), not stale, even far past the limit.
  CHECK_FALSE(lock_staleness(holder, "agent-1", a_day_later, std::chrono::seconds(1), true));
  const auto dead = lock_staleness(holder, "agent-1", since, std::chrono::seconds(3600), false);
  REQUIRE(dead);
  // The holder, named beside it, gives the pid: not said twice.
  CHECK(*dead == "its holder is no longer running on this host");
  // Held from another host, where whether it runs cannot be told here, its age decides.
  CHECK_FALSE(lock_staleness(holder, "agent-2", since + std::chrono::seconds(3600), std::chrono::seconds(3600), true));
  const auto old = lock_staleness(holder, "agent-2", a_day_later, std::chrono::seconds(3600), true);
  REQUIRE(old);
  CHECK(*old == "it is 86400 s old, older than the 3600 s limit");
}

TEST_CASE("--break-lock against a holder that is not stale is refused, naming the pid and why", "[state-store][lock]") {
  const LockHolder holder{.host = "agent-1", .pid = 123, .job = "", .command = "deploy --label 7", .since = {}};
  const auto waited = check_lock_takeover(holder, std::nullopt, false);
  REQUIRE_FALSE(waited.ok());
  CHECK(waited.error().kind == ErrorKind::refused);
  CHECK_THAT(waited.error().message, !Catch::Contains("--break-lock"));
  const auto broken = check_lock_takeover(holder, std::nullopt, true);
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().kind == ErrorKind::refused);
  CHECK(broken.error().is(ErrorCode::lock_held));
  CHECK_THAT(broken.error().message, Catch::StartsWith("another deploy holds the lock: pid 123 on agent-1"));
  CHECK_THAT(broken.error().message,
             Catch::Contains("--break-lock takes over only a lock whose holder is no longer running"));
  CHECK_THAT(broken.error().message, Catch::EndsWith("if pid 123 hangs, stop it first"));
  CHECK(check_lock_takeover(holder, std::string("its holder is gone"), true).ok());
}

TEST_CASE("a history event's from names each of its comma-separated labels, and no part of one", "[state-store]") {
  HistoryEvent event{.action = HistoryAction::rollback, .label = "7", .from = "5,16"};
  CHECK(event.from_names("5"));
  CHECK(event.from_names("16"));
  CHECK_FALSE(event.from_names("1"));
  CHECK_FALSE(event.from_names("7"));
}
