#include "shared/providers/file_state_store.hpp"

#include <catch2/catch.hpp>

#include "fakes/fake_clock.hpp"
#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;

namespace {
LockRequest request_by(long pid, const util::Clock& clock, bool break_lock = false) {
  LockRequest request;
  request.holder = {"this-host", pid, "job-" + std::to_string(pid), "deploy", clock.wall_now()};
  request.break_lock = break_lock;
  request.stale_after = std::chrono::seconds(600);
  return request;
}
}  // namespace

TEST_CASE("the deploy lock is exclusive and names its holder", "[state-store][lock]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  const long me = ::getpid();  // a running process on this host
  REQUIRE(store.acquire_lock(request_by(me, clock)).ok());
  const auto second = store.acquire_lock(request_by(me, clock));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().kind == ErrorKind::refused);
  CHECK_THAT(second.error().message, Catch::Contains("pid " + std::to_string(me) + " on this-host (job job-"));
  REQUIRE(store.release_lock(request_by(me, clock).holder).ok());
  CHECK_FALSE(store.read_lock()->has_value());
  CHECK(store.acquire_lock(request_by(me, clock)).ok());
}

TEST_CASE("a lock whose holder died is stale, and only --break-lock takes it over", "[state-store][lock]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  // A pid that cannot be running: beyond the kernel's pid range.
  REQUIRE(store.acquire_lock(request_by(99999999, clock)).ok());
  const auto refused = store.acquire_lock(request_by(::getpid(), clock));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("is no longer running"));
  CHECK_THAT(refused.error().message, Catch::Contains("--break-lock"));
  const auto taken = store.acquire_lock(request_by(::getpid(), clock, true));
  REQUIRE(taken.ok());
  REQUIRE(taken->taken_over);
  CHECK(taken->taken_over->pid == 99999999);
  CHECK(store.read_lock()->value().pid == ::getpid());
}

TEST_CASE("a lock held elsewhere goes stale only by age", "[state-store][lock]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore other(dir.path() / "web", "other-host", clock);
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  auto request = request_by(99999999, clock);
  request.holder.host = "other-host";
  REQUIRE(other.acquire_lock(request).ok());
  CHECK_THAT(store.acquire_lock(request_by(1, clock, true)).error().message, Catch::Contains("another deploy holds"));
  clock.advance(std::chrono::minutes(11));
  CHECK(store.acquire_lock(request_by(::getpid(), clock, true)).ok());
}

TEST_CASE("intent and history survive, and a torn history line is skipped", "[state-store]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  CHECK_FALSE(store.read_intent()->has_value());
  Intent intent;
  intent.operation = Operation::deploy;
  intent.target = "2";
  intent.started_at = clock.wall_now();
  REQUIRE(store.write_intent(intent).ok());
  CHECK(store.read_intent()->value().target == "2");
  REQUIRE(store.clear_intent().ok());
  CHECK_FALSE(store.read_intent()->has_value());

  REQUIRE(store
              .append_history({.at = clock.wall_now(),
                               .action = HistoryAction::deploy,
                               .label = "1",
                               .from = "",
                               .result = HistoryResult::succeeded,
                               .duration_ms = 10,
                               .by = "alice",
                               .detail = ""})
              .ok());
  REQUIRE(util::append_file_durable(dir.path() / "web" / "history.jsonl", "{\"at\": \"2026-").ok());
  REQUIRE(store
              .append_history({.at = clock.wall_now(),
                               .action = HistoryAction::rollback,
                               .label = "0",
                               .from = "1",
                               .result = HistoryResult::succeeded,
                               .duration_ms = 12,
                               .by = "bob",
                               .detail = "why"})
              .ok());
  const auto events = store.read_history();
  REQUIRE(events.ok());
  // The torn record swallowed the newline of nothing: the next record starts on its own line.
  CHECK(events->size() >= 1);
  CHECK(events->front().action == HistoryAction::deploy);
}
