#include "shared/providers/file_state_store.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fakes/fake_clock.hpp"
#include "fakes/recording_reporter.hpp"
#include "shared/core/records.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
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

// --break-lock takes over a lock file whose holder cannot be read: what it took over names
// nobody, and the lock is then this process's, readable.
void check_takes_over_a_lock_naming_nobody(providers::FileStateStore& store, const util::Clock& clock) {
  const auto broken = store.acquire_lock(request_by(::getpid(), clock, true));
  REQUIRE(broken.ok());
  REQUIRE(broken->taken_over.has_value());
  CHECK_FALSE(broken->taken_over->holder.has_value());
  REQUIRE(store.read_lock().ok());
  CHECK(store.read_lock()->has_value());
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

TEST_CASE("a lock file that is there but cannot be read is an error to every reader, not a free lock",
          "[state-store][lock]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  std::filesystem::create_directories(dir.path() / "web" / "deploy.lock");  // not a file: read_file fails
  const auto read = store.read_lock();
  REQUIRE_FALSE(read.ok());
  CHECK_THAT(read.error().message, Catch::Contains("deploy.lock cannot be read"));
  // As acquire_lock has it: refused, never taken as free.
  const auto taken = store.acquire_lock(request_by(::getpid(), clock));
  REQUIRE_FALSE(taken.ok());
  CHECK_THAT(taken.error().message, !Catch::Contains("held by"));
  // --break-lock, as the refusal says, takes it over: the directory is not in the way. What it
  // took over names nobody.
  check_takes_over_a_lock_naming_nobody(store, clock);
}

// An older version created the lock file empty and wrote it after: killed in between, it left an
// empty file, which stays unreadable (not free) and is taken over with --break-lock. A lock file
// is no longer seen empty while its holder writes it (util::create_exclusive).
TEST_CASE("an empty lock file left by a holder killed while writing it is taken over only with --break-lock",
          "[state-store][lock]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  std::filesystem::create_directories(dir.path() / "web");
  REQUIRE(util::write_file_atomic(dir.path() / "web" / "deploy.lock", "").ok());
  const auto refused = store.acquire_lock(request_by(::getpid(), clock));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("deploy lock is stale"));
  check_takes_over_a_lock_naming_nobody(store, clock);
}

// review4 F6: the refusal of an unreadable lock record says why it cannot be read, as the dry
// run and status do, in one line with the file and what to do.
TEST_CASE("the refusal of a lock record that cannot be read says why, naming the file", "[state-store][lock]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  const auto lock_file = dir.path() / "web" / "deploy.lock";
  std::filesystem::create_directories(dir.path() / "web");
  const std::vector<std::pair<std::string, std::string>> records = {
      {"garbage", lock_file.string() + ":1:1: invalid JSON (unexpected 'g')"},
      {R"({"pid": "x"})", lock_file.string() + ": not a lock record: pid is not a number"},
      {"[]", lock_file.string() + ": not a lock record: not a JSON object"}};
  for (const auto& [record, why] : records) {
    INFO(record);
    REQUIRE(util::write_file_atomic(lock_file, record).ok());
    const auto refused = store.acquire_lock(request_by(::getpid(), clock));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message == "the deploy lock is stale: its record cannot be read (" + why +
                                         "); re-run with --break-lock to take it over");
  }
  check_takes_over_a_lock_naming_nobody(store, clock);
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
  REQUIRE(taken->taken_over->holder);
  CHECK(taken->taken_over->holder->pid == 99999999);
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

TEST_CASE("intent and history survive, and a torn history line loses no later record", "[state-store]") {
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
                               .by = "ops-a",
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
                               .by = "bot",
                               .detail = "why"})
              .ok());
  const auto log = store.read_history();
  REQUIRE(log.ok());
  // Both complete records are there; the torn one was moved aside by the append (never glued
  // to the next record, nor silently dropped: it is in history.jsonl.torn).
  REQUIRE(log->events.size() == 2);
  CHECK(log->events[0].action == HistoryAction::deploy);
  CHECK(log->events[1].action == HistoryAction::rollback);
  CHECK(log->events[1].detail == "why");
  CHECK(log->unreadable.empty());
  CHECK(util::read_file(dir.path() / "web" / "history.jsonl.torn").value() == "{\"at\": \"2026-\n");
  REQUIRE(store.last_switch().ok());
  CHECK(store.last_switch()->value().label == "0");
}

TEST_CASE("a switch's progress is never flushed and a torn progress file leaves the intent as written",
          "[state-store]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  Intent intent;
  intent.operation = Operation::rollback;
  intent.target = "41";
  intent.started_at = clock.wall_now();
  intent.steps = 5;
  REQUIRE(store.write_intent(intent).ok());
  intent.step = 3;
  intent.current = "drain 50 members";
  REQUIRE(store.write_intent_progress(intent).ok());
  CHECK(store.read_intent()->value().step == 3);
  // The intent itself is never rewritten by progress: a power loss takes at most the progress.
  const auto written = util::read_file(dir.path() / "web" / "intent.json");
  REQUIRE(written.ok());
  CHECK_THAT(*written, Catch::Contains("\"step\":\t0"));
  // A step the switch does not have is not shown.
  intent.step = 99;
  REQUIRE(store.write_intent_progress(intent).ok());
  CHECK(store.read_intent()->value().step == 0);
  // What a power loss may leave of a file renamed in without a flush: nothing.
  REQUIRE(util::write_file_atomic(dir.path() / "web" / "intent-progress.json", "").ok());
  const auto read = store.read_intent();
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->target == "41");
  CHECK((*read)->step == 0);
  REQUIRE(store.clear_intent().ok());
  CHECK_FALSE(std::filesystem::exists(dir.path() / "web" / "intent-progress.json"));
}

TEST_CASE("history is bounded and the last switch is found without reading it", "[state-store]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock, 20);
  for (int i = 0; i < 45; ++i) {
    const bool a_switch = i % 5 == 0;
    REQUIRE(store
                .append_history({.at = clock.wall_now(),
                                 .action = a_switch ? HistoryAction::deploy : HistoryAction::delete_pool,
                                 .label = std::to_string(i),
                                 .result = HistoryResult::succeeded})
                .ok());
  }
  const auto log = store.read_history();
  REQUIRE(log.ok());
  CHECK(log->events.size() <= 20);
  CHECK(log->events.size() >= 18);
  CHECK(log->events.back().label == "44");
  // The index answers without reading the history: blank the file in place (its size and inode
  // stay those the index covers), the last switch remains.
  const auto file = dir.path() / "web" / "history.jsonl";
  const auto size = std::filesystem::file_size(file);
  {
    std::fstream in_place(file, std::ios::in | std::ios::out | std::ios::binary);
    in_place << std::string(size, ' ');
  }
  REQUIRE(std::filesystem::file_size(file) == size);
  REQUIRE(store.last_switch().ok());
  REQUIRE(store.last_switch()->has_value());
  CHECK(store.last_switch()->value().label == "40");
  // Without its index (history written by an older version) it is rebuilt from the file.
  std::filesystem::remove(dir.path() / "web" / "history-index.json");
  CHECK_FALSE(store.last_switch()->has_value());
}

// A crash (kill -9, power loss) after a record is appended and fsynced and before the index is
// replaced leaves an index that covers less than the history: it is never used. The last switch
// is the newest, to a reader and to the next append, which writes the index back.
TEST_CASE("an index a crash left behind its history is rebuilt, never used", "[state-store][history][crash]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock, 100);
  providers::FileStateStore other(dir.path() / "web", "this-host", clock, 100);
  const auto file = dir.path() / "web" / "history.jsonl";
  const auto index_file = dir.path() / "web" / "history-index.json";
  const auto event = [&](HistoryAction action, const std::string& label) {
    return HistoryEvent{.at = clock.wall_now(), .action = action, .label = label, .result = HistoryResult::succeeded};
  };
  REQUIRE(store.append_history(event(HistoryAction::deploy, "41")).ok());
  REQUIRE(store.append_history(event(HistoryAction::deploy, "42")).ok());
  const auto index_before = util::read_file(index_file).value();

  // The record of the switch to 43, appended as append_history does; then the crash.
  const auto line = util::print_json(records::to_json(event(HistoryAction::rollback, "43")).get()) + "\n";
  REQUIRE(util::append_file_durable(file, line).ok());
  REQUIRE(util::read_file(index_file).value() == index_before);

  for (auto* reader : {&store, &other}) {
    const auto last = reader->last_switch();
    REQUIRE(last.ok());
    REQUIRE(last->has_value());
    CHECK((*last)->label == "43");
    CHECK((*last)->action == HistoryAction::rollback);
  }
  // A reader without the guard writes nothing; the next append writes the index back.
  CHECK(util::read_file(index_file).value() == index_before);
  REQUIRE(store.append_history(event(HistoryAction::delete_pool, "40")).ok());
  CHECK(util::read_file(index_file).value() != index_before);
  CHECK(other.last_switch()->value().label == "43");
  CHECK(other.read_history()->events.size() == 4);

  // A history replaced by one of the same size (as a trim may leave it, had the crash come
  // before the index) is another file: the index does not cover it either.
  auto text = util::read_file(file).value();
  const auto at = text.find("\"43\"");
  REQUIRE(at != std::string::npos);
  text.replace(at, 4, "\"44\"");
  REQUIRE(util::write_file_atomic(file, text).ok());
  CHECK(other.last_switch()->value().label == "44");
}

// A crash mid-append tears the last line. The next append moves the torn bytes to
// history.jsonl.torn (they are never glued to, or left between, later records) and says so
// once; a last record that only lost its newline gets it back and stays.
TEST_CASE("the next append moves a torn last history record aside and says so once", "[state-store][history]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  fakes::RecordingReporter reporter;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock, 100, &reporter);
  const auto file = dir.path() / "web" / "history.jsonl";
  const auto event = [&](const std::string& label) {
    return HistoryEvent{
        .at = clock.wall_now(), .action = HistoryAction::deploy, .label = label, .result = HistoryResult::succeeded};
  };
  REQUIRE(store.append_history(event("1")).ok());
  REQUIRE(util::append_file_durable(file, "{\"at\": \"2026-11").ok());
  const auto torn = store.read_history();
  REQUIRE(torn->unreadable.size() == 1);
  CHECK_THAT(torn->unreadable[0], Catch::EndsWith("the next record written moves it to " + file.string() + ".torn"));

  REQUIRE(store.append_history(event("2")).ok());
  CHECK(reporter.saw("warning: " + file.string() +
                     " ended in a record torn by a crash (15 bytes: {\"at\": "
                     "\"2026-11); moved it to " +
                     file.string() + ".torn, which nothing reads"));
  CHECK(util::read_file(file.string() + ".torn").value() == "{\"at\": \"2026-11\n");
  auto log = store.read_history();
  REQUIRE(log.ok());
  CHECK(log->unreadable.empty());
  REQUIRE(log->events.size() == 2);
  CHECK(log->events[1].label == "2");
  reporter.lines.clear();
  REQUIRE(store.append_history(event("3")).ok());
  CHECK(reporter.lines.empty());  // once

  // A whole record without its newline: kept, with its newline.
  const auto text = util::read_file(file).value();
  REQUIRE(util::write_file_atomic(file, text.substr(0, text.size() - 1)).ok());
  REQUIRE(store.append_history(event("4")).ok());
  CHECK(reporter.lines.empty());
  log = store.read_history();
  CHECK(log->unreadable.empty());
  CHECK(log->events.size() == 4);
  CHECK(util::read_file(file.string() + ".torn").value() == "{\"at\": \"2026-11\n");
}

// A garbled line between two records (left by an older version) says how to clear it.
TEST_CASE("an unreadable history line between records names how to clear it", "[state-store][history]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  const auto file = dir.path() / "web" / "history.jsonl";
  REQUIRE(util::make_directories(file.parent_path()).ok());
  REQUIRE(util::append_file_durable(file, "{\"at\": \"2026\n").ok());
  REQUIRE(store
              .append_history({.at = clock.wall_now(),
                               .action = HistoryAction::deploy,
                               .label = "1",
                               .result = HistoryResult::succeeded})
              .ok());
  const auto log = store.read_history();
  REQUIRE(log->unreadable.size() == 1);
  CHECK_THAT(log->unreadable[0], Catch::StartsWith(file.string() + ":1: unreadable record"));
  CHECK_THAT(log->unreadable[0], Catch::EndsWith("every other record is read, and to clear it, move line 1 into " +
                                                 file.string() + ".torn while no deploy or rollback runs"));
}

// flock(1) running a command: the kernel names flock as the guard's holder, and the command it
// started holds the guard on after flock ended. The answer says so, and how to find it.
TEST_CASE("a freeze guard held on by a process whose locker ended says how to find the holder", "[state-store]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path(), "this-host", clock);
  const std::filesystem::path guard = dir.path() / "freeze.guard";
  auto locker = testing::spawn_owned({{"flock", guard.string(), "sleep", "30"}, dir.path(), {}});
  REQUIRE(locker.ok());
  for (int i = 0; i < 400 && !util::flock_holder(guard); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(util::flock_holder(guard) == locker->pid);
  const auto children =
      util::read_file("/proc/" + std::to_string(locker->pid) + "/task/" + std::to_string(locker->pid) + "/children");
  REQUIRE(children.ok());
  const pid_t command = static_cast<pid_t>(std::stol(*children));
  // flock alone: its process group holds the command too.
  ::kill(locker->pid, SIGKILL);
  for (int i = 0; i < 400 && util::is_running(*locker); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  const auto busy = store.clear_unreadable_freeze();
  ::kill(command, SIGKILL);
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().is(ErrorCode::guard_busy));
  CHECK(busy.error().message == "the freeze guard (the lock file " + guard.string() +
                                    ") is held by a process that pid " + std::to_string(locker->pid) +
                                    " (ended) started on this host, which keeps it open "
                                    "('fuser -v " +
                                    guard.string() + "' names it)");
}

// JSON of another shape ('[]', a field missing or of the wrong type) is as unreadable a freeze
// record as text that is no JSON: unfreeze, which status names as the way out, clears it.
TEST_CASE("a freeze record of the wrong shape is unreadable and can be cleared", "[state-store]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  std::filesystem::create_directories(dir.path() / "web");
  for (const std::string text : {"[]", R"({"reason": 5})", R"({"reason": "a", "all": false, "by": "x"})", "garbage"}) {
    INFO(text);
    REQUIRE(util::write_file_atomic(dir.path() / "web" / "freeze.json", text).ok());
    const auto read = store.read_freeze();
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().is(ErrorCode::unreadable_record));
    CHECK(read.error().kind == ErrorKind::invalid);
    REQUIRE(store.clear_unreadable_freeze().ok());
    CHECK_FALSE(store.read_freeze()->has_value());
  }
}

TEST_CASE("freeze records round trip; keep_lock notices a lock taken over", "[state-store]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  CHECK_FALSE(store.read_freeze()->has_value());
  const Freeze written{.reason = "release party", .all = true, .by = "ops-a", .job = "j", .since = clock.wall_now()};
  REQUIRE(store.replace_freeze(std::nullopt, written).ok());
  const auto freeze = store.read_freeze();
  REQUIRE(freeze.ok());
  REQUIRE(freeze->has_value());
  CHECK((*freeze)->reason == "release party");
  CHECK((*freeze)->all);
  CHECK((*freeze)->by == "ops-a");
  REQUIRE(store.replace_freeze(written, std::nullopt).ok());
  CHECK_FALSE(store.read_freeze()->has_value());
  {
    // A process that holds the guard (stopped mid-write, stuck): answered at once, never waited
    // for, as a guard held (nobody wrote the record), naming the lock file and the holder's pid.
    const auto held = util::FileLock::acquire(dir.path() / "web" / "freeze.guard");
    REQUIRE(held.ok());
    for (const auto& busy : {store.replace_freeze(std::nullopt, written), store.clear_unreadable_freeze()}) {
      REQUIRE_FALSE(busy.ok());
      CHECK(busy.error().is(ErrorCode::guard_busy));
      CHECK(busy.error().message ==
            "the freeze guard (the lock file " + (dir.path() / "web" / "freeze.guard").string() + ") is held by pid " +
                std::to_string(::getpid()) + " (" + util::process_name(::getpid()).value_or("?") + ") on this host");
    }
    CHECK_FALSE(store.read_freeze()->has_value());
  }
  REQUIRE(store.replace_freeze(std::nullopt, written).ok());
  REQUIRE(store.replace_freeze(written, std::nullopt).ok());

  const auto mine = request_by(::getpid(), clock, false);
  REQUIRE(store.acquire_lock(mine).ok());
  CHECK(store.keep_lock(mine.holder).ok());
  REQUIRE(store.release_lock(mine.holder).ok());
  const auto lost = store.keep_lock(mine.holder);
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.error().is(ErrorCode::lock_held));
}

TEST_CASE("a holder whose pid now belongs to another process is gone: the lock is stale", "[state-store][lock]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  providers::FileStateStore store(dir.path() / "web", "this-host", clock);
  // The holder had this test's pid, but started at another time: the pid was reused.
  const auto my_start = util::process_start_ticks(::getpid());
  REQUIRE(my_start);
  auto dead = request_by(::getpid(), clock);
  dead.holder.start_ticks = *my_start + 12345;
  REQUIRE(store.acquire_lock(dead).ok());
  CHECK(store.read_lock()->value().start_ticks == *my_start + 12345);

  auto mine = request_by(::getpid(), clock);
  mine.holder.start_ticks = *my_start;
  const auto refused = store.acquire_lock(mine);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message,
             Catch::Contains("the deploy lock is stale: its holder is no longer running on this host (held by pid " +
                             std::to_string(::getpid()) + " on "));
  mine.break_lock = true;
  REQUIRE(store.acquire_lock(mine).ok());

  // The same pid with its own start time is alive; so is a holder recorded without one.
  auto alive = request_by(::getpid(), clock, true);
  alive.holder.start_ticks = *my_start;
  CHECK_THAT(store.acquire_lock(alive).error().message, Catch::Contains("another deploy holds the lock"));
  REQUIRE(store.release_lock(mine.holder).ok());
  REQUIRE(store.acquire_lock(request_by(::getpid(), clock)).ok());
  CHECK_THAT(store.acquire_lock(alive).error().message, Catch::Contains("another deploy holds the lock"));
}

// A writer killed between creating and renaming its temporary file leaves it behind. The store
// sweeps its directory once per command, as it takes the lock, not on every write: a switch
// writes its progress before every step.
TEST_CASE("the store sweeps dead writers' temporary files when it takes the lock, not on each write",
          "[state-store][lock][files]") {
  testing::TempDir dir;
  fakes::FakeClock clock;
  const auto state = dir.path() / "web";
  providers::FileStateStore store(state, "this-host", clock);
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);  // a pid that ran and no longer does
  std::filesystem::create_directories(state);
  const auto left = state / ("intent-progress.json.tmp-" + std::to_string(child) + "-818146");
  const auto not_the_stores = state / ("notes.txt.tmp-" + std::to_string(child) + "-7");
  for (const auto& file : {left, not_the_stores}) {
    REQUIRE(util::write_file_atomic(file, "partial").ok());
    std::filesystem::last_write_time(file, std::filesystem::file_time_type::clock::now() - std::chrono::minutes(5));
  }
  Intent intent{.operation = Operation::deploy, .target = "2", .steps = 3};
  REQUIRE(store.write_intent_progress(intent).ok());
  CHECK(std::filesystem::exists(left));  // a write does not read the directory
  REQUIRE(store.acquire_lock(request_by(::getpid(), clock)).ok());
  CHECK_FALSE(std::filesystem::exists(left));
  CHECK(std::filesystem::exists(not_the_stores));
}
