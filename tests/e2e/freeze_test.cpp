// Freeze and verdicts by hand: a freeze blocks deploys (and with --all, rollbacks and repairs)
// naming who froze, why and since when; mark-bad and mark-good change only a pool's verdict;
// a rollback that is refused changes nothing.

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct FreezeRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  std::string config;
  std::vector<std::string> person = {"BUILD_USER=sre1", "JENKINS_URL=https://jenkins.example/",
                                     "BUILD_TAG=jenkins-web-deploy-12"};

  FreezeRig() {
    ServiceOptions options;
    options.pool_size = 1;
    config = write_service_config(dir.path(), haproxy, options).string();
    for (const char* label : {"1", "2", "3"}) {
      REQUIRE(run("create-pipeline", {"run", "--label", label}).exit_code == 0);
    }
    REQUIRE(run("deploy-pipeline", {"deploy", "--label", "2"}).exit_code == 0);
  }

  ToolResult run(const std::string& tool, std::vector<std::string> arguments) const {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool(tool, arguments, person);
  }

  std::string verdict(const std::string& label) const {
    const auto listing = parse_output(run("create-pipeline", {"list", "--output", "json"}).out);
    const cJSON* pool = nullptr;
    cJSON_ArrayForEach(pool, cJSON_GetObjectItem(listing.get(), "pools")) {
      if (label == cJSON_GetObjectItem(pool, "label")->valuestring)
        return cJSON_GetObjectItem(pool, "verdict")->valuestring;
    }
    return "";
  }
};

}  // namespace

TEST_CASE("freeze blocks deploys but not rollbacks; --all blocks both; unfreeze lifts it", "[e2e][freeze]") {
  FreezeRig rig;
  REQUIRE(rig.run("deploy-pipeline", {"freeze", "--reason", "peak season"}).exit_code == 0);
  const auto refused = rig.run("deploy-pipeline", {"deploy", "--label", "3"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("deploys are frozen since 20"));
  CHECK_THAT(refused.err, Catch::Contains("by sre1 (job jenkins-web-deploy-12): peak season"));
  // The dry run words the real run's refusal as the lock's dry-run refusal does: the command quoted.
  const auto dry = rig.run("deploy-pipeline", {"deploy", "--label", "3", "--dry-run"});
  CHECK(dry.exit_code == 3);
  CHECK_THAT(dry.err, Catch::Contains("deploy-pipeline: error: a real 'deploy --label 3' would be refused: deploys "
                                      "are frozen since 20"));
  CHECK(http_get(rig.haproxy.url()).second == "2\n");
  const auto status = rig.run("deploy-pipeline", {"status"});
  CHECK_THAT(status.out, Catch::Contains("deploys are frozen since"));

  // A rollback is still allowed: recovery must not wait for a freeze.
  const auto rolled_back = rig.run("deploy-pipeline", {"rollback", "--reason", "errors"});
  INFO(rolled_back.err);
  CHECK(rolled_back.exit_code == 0);
  CHECK(http_get(rig.haproxy.url()).second == "1\n");

  REQUIRE(rig.run("deploy-pipeline", {"freeze", "--reason", "all hands", "--all"}).exit_code == 0);
  CHECK(rig.run("deploy-pipeline", {"rollback", "--to", "3"}).exit_code == 3);
  CHECK(rig.run("deploy-pipeline", {"repair"}).exit_code == 3);
  CHECK(http_get(rig.haproxy.url()).second == "1\n");
  // A plain freeze over it would allow rollbacks again: refused, and the freeze stays as it was.
  const auto narrower = rig.run("deploy-pipeline", {"freeze", "--reason", "code freeze"});
  CHECK(narrower.exit_code == 3);
  CHECK_THAT(narrower.err, Catch::Contains("already frozen: deploys, rollbacks and repairs are frozen since 20"));
  // The freeze of everything widened the freeze of deploys: its record keeps why it was frozen first.
  CHECK_THAT(narrower.err, Catch::Contains(": all hands; widening: peak season (by sre1 since 20"));
  CHECK_THAT(narrower.err, Catch::Contains("); nothing was changed"));
  CHECK_THAT(rig.run("deploy-pipeline", {"status"}).out, Catch::Contains("all hands; widening: peak season (by sre1"));
  CHECK(rig.run("deploy-pipeline", {"rollback", "--to", "3"}).exit_code == 3);

  const auto lifted = rig.run("deploy-pipeline", {"unfreeze"});
  CHECK(lifted.exit_code == 0);
  CHECK_THAT(lifted.out, Catch::Contains("unfrozen (was: all hands; widening: peak season (by sre1 since 20"));
  CHECK(rig.run("deploy-pipeline", {"deploy", "--label", "3"}).exit_code == 0);

  const auto history = rig.run("deploy-pipeline", {"history"});
  CHECK_THAT(history.out, Catch::Contains("freeze"));
  CHECK_THAT(history.out, Catch::Contains("unfreeze"));
  CHECK(rig.run("deploy-pipeline", {"freeze"}).exit_code == 2);                    // a reason is required
  CHECK(rig.run("deploy-pipeline", {"freeze", "--reason", "  "}).exit_code == 2);  // blank is no reason
}

TEST_CASE("mark-bad steers rollback away; a refused rollback changes nothing", "[e2e][freeze][verdict]") {
  FreezeRig rig;
  REQUIRE(rig.run("deploy-pipeline", {"mark-bad", "--label", "1", "--reason", "leaks memory"}).exit_code == 0);
  CHECK(rig.verdict("1") == "bad");
  // The only older pool is bad: nothing to roll back to, refused (exit 3), and nothing changed.
  const auto nothing = rig.run("deploy-pipeline", {"rollback"});
  CHECK(nothing.exit_code == 3);
  CHECK(rig.verdict("2") == "unknown");
  // Naming the bad pool is refused without --force; the live pool is not marked bad.
  const auto refused = rig.run("deploy-pipeline", {"rollback", "--to", "1", "--reason", "try"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("pool 1 is marked bad by "));
  CHECK_THAT(refused.err, Catch::Contains(": leaks memory; roll back to another pool"));
  CHECK(rig.verdict("2") == "unknown");
  CHECK(http_get(rig.haproxy.url()).second == "2\n");

  // mark-good takes a reason too (a blank one is refused, changing nothing), kept as mark-bad's is.
  CHECK(rig.run("deploy-pipeline", {"mark-good", "--label", "1", "--reason", " "}).exit_code == 2);
  CHECK(rig.verdict("1") == "bad");
  REQUIRE(rig.run("deploy-pipeline", {"mark-good", "--label", "1", "--reason", "leak fixed by a config change"})
              .exit_code == 0);
  CHECK(rig.verdict("1") == "good");
  const auto listing = parse_output(rig.run("create-pipeline", {"list", "--output", "json"}).out);
  CHECK_THAT(util::json_string(listed_pool(listing, "1"), "verdict_reason").value_or(""),
             Catch::StartsWith("marked good by ") && Catch::EndsWith(": leak fixed by a config change"));
  CHECK_THAT(rig.run("deploy-pipeline", {"history"}).out, Catch::Contains(": leak fixed by a config change"));
  const auto rolled_back = rig.run("deploy-pipeline", {"rollback", "--reason", "errors in 2"});
  INFO(rolled_back.err);
  CHECK(rolled_back.exit_code == 0);
  CHECK(http_get(rig.haproxy.url()).second == "1\n");
  CHECK(rig.verdict("2") == "bad");
  const auto history = rig.run("deploy-pipeline", {"history", "--output", "json"});
  CHECK_THAT(history.out, Catch::Contains("\"mark-bad\""));
  CHECK_THAT(history.out, Catch::Contains("\"mark-good\""));
}

namespace {

// The freeze record the file store holds, as JSON (null when there is none).
util::Json freeze_record(const fs::path& state) {
  const fs::path file = state / "web" / "freeze.json";
  if (!fs::exists(file)) return util::Json(cJSON_CreateNull());
  auto text = util::read_file(file);
  REQUIRE(text.ok());
  auto document = util::parse_json(*text, file.string());
  REQUIRE(document.ok());
  return std::move(*document);
}

}  // namespace

// Two freezes at once both read "not frozen", both wrote and both exited 0, and the plain one
// could be left in place after a freeze of everything: rollbacks were allowed again. The write
// is conditional now: whichever writes second reads again and is judged against the first.
TEST_CASE("concurrent freezes: a freeze of everything that succeeded is never narrowed", "[e2e][freeze][race]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 1;
  const std::string config = write_service_config(dir.path(), haproxy, options).string();
  for (int round = 1; round <= 8; ++round) {
    std::atomic<bool> go{false};
    ToolResult all;
    ToolResult plain;
    // Both wait on one flag, so the two processes start as close together as threads allow.
    std::thread wide([&] {
      while (!go) std::this_thread::yield();
      all = run_tool("deploy-pipeline", {"freeze", "--all", "--reason", "A", "--config", config});
    });
    std::thread narrow([&] {
      while (!go) std::this_thread::yield();
      plain = run_tool("deploy-pipeline", {"freeze", "--reason", "B", "--config", config});
    });
    go = true;
    wide.join();
    narrow.join();
    INFO("round " << round << "\n--all: " << all.exit_code << " " << all.err << "\nplain: " << plain.exit_code << " "
                  << plain.err);
    // --all always goes through: over nothing, or widening the plain freeze written first.
    CHECK(all.exit_code == 0);
    CHECK((plain.exit_code == 0 || plain.exit_code == 3));
    const auto record = freeze_record(dir.path() / "state");
    if (all.exit_code == 0) CHECK(util::json_bool(record.get(), "all").value_or(false));
    // Exactly the refused one exits 3, refused as any freeze over a freeze of everything is.
    if (plain.exit_code == 3) {
      CHECK_THAT(plain.err, Catch::Contains("already frozen: deploys, rollbacks and repairs are frozen since "));
      CHECK(util::json_string(record.get(), "reason").value_or("") == "A");
    } else {
      CHECK_THAT(util::json_string(record.get(), "reason").value_or(""), Catch::StartsWith("A; widening: B (by "));
    }
    REQUIRE(run_tool("deploy-pipeline", {"unfreeze", "--config", config}).exit_code == 0);
  }
}

namespace {

// A service with no pool: freeze and unfreeze need none.
struct BareService {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  fs::path state = dir.path() / "state" / "web";
  std::string config = write_service_config(dir.path(), haproxy, {}).string();

  ToolResult run(std::vector<std::string> arguments) const {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool("deploy-pipeline", arguments);
  }
};

// Stops a process the test started when the test ends, however it ends.
struct Stopper {
  util::ProcessIdentity process;
  ~Stopper() { util::stop_process(process, std::chrono::seconds(1)); }
};

}  // namespace

// A stuck process holding freeze.guard made freeze and unfreeze give up saying the record "kept
// changing ... each finding another command's write": nobody wrote. They name the guard and its
// holder, and say what to do.
TEST_CASE("freeze and unfreeze give up on a guard a stuck process holds, naming it", "[e2e][freeze]") {
  BareService service;
  REQUIRE(service.run({"freeze", "--reason", "code freeze"}).exit_code == 0);
  const fs::path guard = service.state / "freeze.guard";
  auto holder = spawn_owned({{"flock", guard.string(), "sleep", "60"}, service.dir.path(), {}});
  REQUIRE(holder.ok());
  Stopper stop{*holder};
  for (int i = 0; i < 400 && !util::flock_holder(guard); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(util::flock_holder(guard) == holder->pid);

  // The freeze widens the one in place, and the unfreeze lifts it: both must write.
  for (const bool freeze : {true, false}) {
    const auto given_up = freeze ? service.run({"freeze", "--all", "--reason", "incident"}) : service.run({"unfreeze"});
    INFO((freeze ? "freeze: " : "unfreeze: ") << given_up.err);
    CHECK(given_up.exit_code == 3);
    CHECK_THAT(given_up.err,
               Catch::Contains("the freeze guard (the lock file " + guard.string() + ") is held by pid " +
                               std::to_string(holder->pid) +
                               " (flock) on this host (10 of 10 attempts found it held); nothing was changed. Wait "
                               "for that process to end, or stop it if it is stuck, then run this again"));
    CHECK_THAT(given_up.err, !Catch::Contains("kept changing") && !Catch::Contains("freeze in place"));
  }
  const auto record = freeze_record(service.dir.path() / "state");
  CHECK(util::json_string(record.get(), "reason").value_or("") == "code freeze");
}

// A garbled freeze.json had no way out: unfreeze read it first and failed, although status
// advised unfreeze. unfreeze clears it, saying so (and history records it); a freeze over it is
// refused, naming the file and the way out.
TEST_CASE("unfreeze clears a freeze record that cannot be read; freeze over it is refused", "[e2e][freeze]") {
  BareService service;
  REQUIRE(util::make_directories(service.state).ok());
  const fs::path record = service.state / "freeze.json";
  // JSON of another shape is as unreadable a freeze record as text that is no JSON.
  for (const std::string shape : {"[]\n", "{\"reason\": 5}\n"}) {
    REQUIRE(util::write_file_atomic(record, shape).ok());
    const auto shaped = service.run({"unfreeze"});
    INFO(shaped.err);
    CHECK(shaped.exit_code == 0);
    CHECK_FALSE(fs::exists(record));
  }
  REQUIRE(util::write_file_atomic(record, "garbage\n").ok());

  // The switches say it is the freeze record that stops them, and the way out.
  const auto rollback = service.run({"rollback"});
  CHECK(rollback.exit_code == 2);
  CHECK_THAT(rollback.err, Catch::Contains("the freeze record cannot be read (" + record.string()));
  CHECK_THAT(rollback.err, Catch::Contains("so whether 'rollback' is frozen is not known; nothing was changed. "
                                           "'deploy-pipeline unfreeze' clears it"));

  const auto status = service.run({"status"});
  CHECK_THAT(status.out + status.err, Catch::Contains("cannot read the freeze record: " + record.string()));
  CHECK_THAT(status.out + status.err, Catch::Contains("; 'deploy-pipeline unfreeze' removes it"));

  const auto refused = service.run({"freeze", "--reason", "incident"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err,
             Catch::Contains("deploy-pipeline: error: the freeze record cannot be read (" + record.string()));
  CHECK_THAT(refused.err, Catch::EndsWith("); nothing was changed. 'deploy-pipeline unfreeze' clears it, then freeze "
                                          "again if needed\n"));
  const auto kept = util::read_file(record);
  CHECK((kept.ok() && *kept == "garbage\n"));

  const auto cleared = service.run({"unfreeze"});
  INFO(cleared.err);
  CHECK(cleared.exit_code == 0);
  CHECK_THAT(cleared.out,
             Catch::StartsWith("unfrozen: cleared the freeze record that could not be read (" + record.string()));
  CHECK_FALSE(fs::exists(record));
  CHECK_THAT(service.run({"history"}).out, Catch::Contains("cleared a freeze record that could not be read: "));
  CHECK(service.run({"freeze", "--reason", "incident"}).exit_code == 0);
}

// A freeze made while a deploy ran exited 0 silently, and the deploy went live anyway: it warns,
// naming the command that holds the deploy lock, and says what to do.
TEST_CASE("a freeze made while a deploy holds the deploy lock warns that it does not stop it", "[e2e][freeze]") {
  BareService service;
  REQUIRE(util::make_directories(service.state).ok());
  auto running = spawn_owned({{"sleep", "60"}, service.dir.path(), {}});
  REQUIRE(running.ok());
  Stopper stop{*running};
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  REQUIRE(util::write_file_atomic(service.state / "deploy.lock",
                                  R"({"host": ")" + std::string(host) + R"(", "pid": )" + std::to_string(running->pid) +
                                      R"(, "start_ticks": )" + std::to_string(running->start_ticks) + R"(, "job": "",
                                      "command": "deploy --label 7", "since": "2026-11-24T03:00:00Z"})")
              .ok());

  const auto frozen = service.run({"freeze", "--reason", "incident"});
  INFO(frozen.err);
  CHECK(frozen.exit_code == 0);
  CHECK_THAT(frozen.err, Catch::Contains("warning: a command already running is not stopped by this freeze: pid " +
                                         std::to_string(running->pid) + " on " + host));
  CHECK_THAT(frozen.err, Catch::Contains("running 'deploy --label 7' (it holds the deploy lock) and will finish. Wait "
                                         "for it to end ('deploy-pipeline status' shows it), then 'deploy-pipeline "
                                         "rollback' if what it made live must not stay"));

  // Stopped (SIGSTOP, Ctrl-Z), the holder runs nothing and will not finish by itself: the
  // warning says so, and what continues or ends it.
  REQUIRE(::kill(running->pid, SIGSTOP) == 0);
  REQUIRE(service.run({"unfreeze"}).exit_code == 0);
  const auto stopped = service.run({"freeze", "--reason", "incident"});
  INFO(stopped.err);
  CHECK(stopped.exit_code == 0);
  const std::string pid = std::to_string(running->pid);
  CHECK_THAT(stopped.err, Catch::Contains("warning: a command already running is not stopped by this freeze: pid " +
                                          pid + " on " + host));
  CHECK_THAT(stopped.err, Catch::Contains(", stopped (SIGSTOP/Ctrl-Z) in 'deploy --label 7' (it holds the deploy "
                                          "lock), so it will not finish until it is continued: 'kill -CONT " +
                                          pid + "' lets it finish, 'kill -9 " + pid + "' ends it, then --break-lock"));
  CHECK_THAT(stopped.err, !Catch::Contains("will finish"));
  REQUIRE(::kill(running->pid, SIGCONT) == 0);

  // Its holder gone, the lock is stale: nothing runs, no warning.
  util::stop_process(*running, std::chrono::seconds(1));
  REQUIRE(service.run({"unfreeze"}).exit_code == 0);
  const auto quiet = service.run({"freeze", "--reason", "incident"});
  CHECK(quiet.exit_code == 0);
  CHECK_THAT(quiet.err, !Catch::Contains("warning"));
}
