#include "shared/core/records.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

using namespace phoenix;

TEST_CASE("intent records round trip", "[records]") {
  Intent intent;
  intent.operation = Operation::rollback;
  intent.target = "41";
  intent.from = {"42"};
  intent.reason = "errors";
  intent.by = {"agent-1", 123, "job", "rollback", WallTime(std::chrono::milliseconds(1795000000500LL))};
  intent.started_at = WallTime(std::chrono::milliseconds(1795000000750LL));
  intent.step = 2;
  intent.steps = 6;
  intent.current = "admit";
  auto back = records::intent_from_json(records::to_json(intent).get());
  REQUIRE(back.ok());
  CHECK(back->target == "41");
  CHECK(back->from == std::vector<std::string>{"42"});
  CHECK(back->by.pid == 123);
  CHECK(back->by.since == intent.by.since);
  CHECK(back->started_at == intent.started_at);
  CHECK(back->step == 2);
}

TEST_CASE("a lock holder keeps its process start time; older records without one still read", "[records]") {
  LockHolder holder{"agent-1", 123, "job", "deploy --label 4", WallTime(std::chrono::milliseconds(1795000000500LL))};
  holder.start_ticks = 987654321;
  auto back = records::lock_holder_from_json(records::to_json(holder).get());
  REQUIRE(back.ok());
  CHECK(back->pid == 123);
  CHECK(back->start_ticks == 987654321);
  auto old = util::parse_json(R"({"host": "agent-1", "pid": 123, "job": "", "command": "deploy",
                                  "since": "2026-11-18T00:00:00Z"})",
                              "deploy.lock");
  auto read = records::lock_holder_from_json(old->get());
  REQUIRE(read.ok());
  CHECK(read->pid == 123);
  CHECK(read->start_ticks == 0);
}

TEST_CASE("corrupt records are errors, not crashes", "[records]") {
  util::Json empty(cJSON_CreateObject());
  CHECK_FALSE(records::intent_from_json(empty.get()).ok());
  CHECK_FALSE(records::read_metadata(empty.get()).ok());
  CHECK_FALSE(records::lock_holder_from_json(empty.get()).ok());
  auto bad = util::parse_json(R"({"label": "1", "created_at": "2026-11-18T00:00:00Z", "smoke": "maybe"})", "x");
  CHECK_FALSE(records::read_metadata(bad->get()).ok());
}

// review4 F6: a record that is no lock holder at all was reported as "corrupt record: missing
// since"; it says what is wrong with it.
TEST_CASE("a record that is no lock holder says what is wrong with it", "[records][lock]") {
  const std::vector<std::pair<std::string, std::string>> records = {
      {"[]", "not a lock record: not a JSON object"},
      {"\"deploy\"", "not a lock record: not a JSON object"},
      {"{}", "not a lock record: pid is missing"},
      {R"({"pid": "x", "since": "2026-11-18T00:00:00Z"})", "not a lock record: pid is not a number"},
      {R"({"pid": 12})", "not a lock record: since is missing"},
      {R"({"pid": 12, "since": 5})", "not a lock record: since is not a string"},
      {R"({"pid": 12, "since": "yesterday"})", "corrupt record: since is not an ISO 8601 time: yesterday"}};
  for (const auto& [text, why] : records) {
    INFO(text);
    const auto document = util::parse_json(text, "deploy.lock");
    REQUIRE(document.ok());
    const auto holder = records::lock_holder_from_json(document->get());
    REQUIRE_FALSE(holder.ok());
    CHECK(holder.error().message == why);
  }
  // An intent's writer is a lock holder: its record says where the fault is.
  const auto intent = util::parse_json(
      R"({"operation": "deploy", "target": "2", "by": {"pid": "x"}, "started_at": "2026-11-18T00:00:00Z"})", "intent");
  REQUIRE(intent.ok());
  const auto read = records::intent_from_json(intent->get());
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().message == "by: not a lock record: pid is not a number");
}

TEST_CASE("pool metadata keeps who gave the verdict and when; records without them still read", "[records][verdicts]") {
  PoolMetadata meta;
  meta.label = "3";
  meta.created_at = WallTime(std::chrono::milliseconds(1795000000500LL));
  meta.verdict = LiveVerdict::bad;
  meta.verdict_reason = "rolled back to 2";
  meta.verdict_by = "vm";
  meta.verdict_at = WallTime(std::chrono::milliseconds(1795000100250LL));
  util::Json object(cJSON_CreateObject());
  records::write_metadata(object.get(), meta);
  const auto back = records::read_metadata(object.get());
  REQUIRE(back.ok());
  CHECK(back->verdict_by == "vm");
  CHECK(back->verdict_at == meta.verdict_at);

  auto old = util::parse_json(R"({"label": "3", "created_at": "2026-11-18T00:00:00Z", "verdict": "bad",
                                  "verdict_reason": "rolled back to 2"})",
                              "pool.json");
  const auto read = records::read_metadata(old->get());
  REQUIRE(read.ok());
  CHECK(read->verdict_by.empty());
  CHECK_FALSE(read->verdict_at.has_value());
  // A time that cannot be read loses only itself, not the pool's record.
  auto odd = util::parse_json(
      R"({"label": "3", "created_at": "2026-11-18T00:00:00Z", "verdict": "bad", "verdict_at": "yesterday"})", "x");
  const auto lenient = records::read_metadata(odd->get());
  REQUIRE(lenient.ok());
  CHECK(lenient->verdict == LiveVerdict::bad);
  CHECK_FALSE(lenient->verdict_at.has_value());
}

TEST_CASE("pool metadata keeps the last wake; records without one still read", "[records][tiers]") {
  PoolMetadata meta;
  meta.label = "40";
  meta.created_at = WallTime(std::chrono::milliseconds(1795000000500LL));
  meta.last_wake = WakeRecord{Tier::off, 5120, WallTime(std::chrono::milliseconds(1795000100250LL))};
  util::Json object(cJSON_CreateObject());
  records::write_metadata(object.get(), meta);
  const auto back = records::read_metadata(object.get());
  REQUIRE(back.ok());
  REQUIRE(back->last_wake.has_value());
  CHECK(back->last_wake->from == Tier::off);
  CHECK(back->last_wake->ms == 5120);
  CHECK(back->last_wake->at == meta.last_wake->at);

  auto old = util::parse_json(R"({"label": "40", "created_at": "2026-11-18T00:00:00Z"})", "pool.json");
  const auto read = records::read_metadata(old->get());
  REQUIRE(read.ok());
  CHECK_FALSE(read->last_wake.has_value());
  auto bad = util::parse_json(
      R"({"label": "40", "created_at": "2026-11-18T00:00:00Z", "last_wake": {"from": "lukewarm", "ms": 5}})", "x");
  CHECK_FALSE(records::read_metadata(bad->get()).ok());
}
