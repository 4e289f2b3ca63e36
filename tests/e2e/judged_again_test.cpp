// Decisions made after a switch started, and the retention rules, are judged again where they
// matter (review3 R1, R3, R5): finishing an interrupted switch whose target was marked bad since
// needs --force, and status, the re-run, its dry run and repair name what works instead;
// repair --revert keeps the hot standby that was there before the interrupted deploy, and returns
// to a pool marked bad only with --force; a rollback that abandons an interrupted deploy never
// keeps its pool hot (list does not call it hot either) unless it served; a plain delete never
// removes the last pools a plain rollback could go to for newer builds; the bad mark of a
// rollback killed before its history event still names who made it and when (review4 F4, F5).

#include <signal.h>

#include <catch2/catch.hpp>

#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"
#include "support/service_rig.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// `deploy-pipeline-test-hooks` with `arguments` and `environment`: a switch killed (SIGKILL) where
// the environment says.
void killed(const ServiceRig& rig, std::vector<std::string> arguments, const std::string& environment) {
  arguments.insert(arguments.end(), {"--config", rig.config});
  const auto result = run_tool("deploy-pipeline-test-hooks", arguments, {environment});
  INFO(result.err);
  REQUIRE(result.signal == SIGKILL);
}

}  // namespace

TEST_CASE("finishing an interrupted rollback whose target was marked bad since needs --force", "[e2e][finish]") {
  // 3 live, 2 its hot standby, 1 powered off; a rollback to 1 killed while waking it.
  ServiceRig rig({.pool_size = 1, .hot = 1}, ThenDeploy::each_in_turn);
  rig.create("3");
  rig.deploy("3");
  rig.ok("create-pipeline", {"power-off", "--label", "1"});
  killed(rig, {"rollback", "--to", "1", "--reason", "wake test"}, "PHOENIX_TEST_KILL_AT_STEP=wake");
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "1", "--reason", "1 has the bug too"});

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("pool 1 is marked bad"));
  CHECK_THAT(status.out, Catch::Contains("'deploy-pipeline rollback --to 1 --force --break-lock'"));
  CHECK_THAT(status.out, Catch::Contains("'deploy-pipeline rollback --to 2 --break-lock' rolls back to pool 2"));

  for (const bool dry_run : {true, false}) {
    std::vector<std::string> arguments = {"rollback", "--break-lock"};
    if (dry_run) arguments.emplace_back("--dry-run");
    const auto refused = rig.run("deploy-pipeline", arguments);
    INFO(refused.err);
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err,
               Catch::Contains("the interrupted rollback to pool 1 is not finished: pool 1 is marked bad"));
    CHECK_THAT(refused.err, Catch::Contains("1 has the bug too"));
    CHECK_THAT(refused.err, Catch::Contains("nothing was changed"));
    // The dry run leaves the stale lock behind (review4 F2); the real run releases the lock it took.
    const std::string past_the_lock = dry_run ? " --break-lock" : "";
    CHECK_THAT(refused.err,
               Catch::Contains("'deploy-pipeline rollback --to 1 --force" + past_the_lock +
                               "' or 'deploy-pipeline repair --force" + past_the_lock + "' finishes it anyway"));
    CHECK_THAT(refused.err,
               Catch::Contains("'deploy-pipeline rollback --to 2" + past_the_lock + "' rolls back to pool 2"));
    CHECK_THAT(refused.err, !Catch::Contains("plan:"));
    CHECK(rig.live() == "3\n");
  }
  const auto repair = rig.run("deploy-pipeline", {"repair", "--break-lock"});
  INFO(repair.err);
  CHECK(repair.exit_code == 3);
  CHECK_THAT(repair.err, Catch::Contains("'deploy-pipeline repair --force' finishes it anyway"));
  CHECK(rig.live() == "3\n");

  // The way it names works.
  rig.ok("deploy-pipeline", {"rollback", "--to", "2", "--reason", "wake test", "--break-lock"});
  CHECK(rig.live() == "2\n");
}

// R1 for a deploy, then R3: its revert returns to the state before it, the hot standby included.
TEST_CASE("an interrupted deploy whose pool was marked bad since needs --force; its revert keeps the hot standby",
          "[e2e][finish][hot]") {
  ServiceRig rig({.pool_size = 1, .hot = 1}, ThenDeploy::each_in_turn);  // 2 live, 1 hot
  rig.create("3");
  killed(rig, {"deploy", "--label", "3"}, "PHOENIX_TEST_KILL_AT_STEP=1");  // 3 added on standby
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "3", "--reason", "found in staging"});

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK_THAT(status.out, Catch::Contains("pool 3 is marked bad by "));
  CHECK_THAT(status.out, Catch::Contains(": found in staging, so finishing it needs --force: "
                                         "re-run 'deploy-pipeline deploy --label 3 --force --break-lock' or "
                                         "'deploy-pipeline repair --force --break-lock' to finish it anyway, or "
                                         "'deploy-pipeline repair --revert --break-lock' returns to pool 2"));
  for (const std::vector<std::string>& arguments :
       {std::vector<std::string>{"repair", "--break-lock", "--dry-run"}, {"deploy", "--label", "3", "--break-lock"}}) {
    const auto refused = rig.run("deploy-pipeline", arguments);
    INFO(arguments[0] << ": " << refused.err);
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err, Catch::Contains("the interrupted deploy to pool 3 is not finished: pool 3 is marked bad"));
    const std::string past_the_lock = arguments.back() == "--dry-run" ? " --break-lock" : "";
    CHECK_THAT(refused.err,
               Catch::Contains("'deploy-pipeline repair --revert" + past_the_lock + "' returns to pool 2"));
    CHECK(rig.live() == "2\n");
  }

  rig.ok("deploy-pipeline", {"repair", "--revert", "--break-lock"});
  CHECK(rig.live() == "2\n");
  const auto after = rig.run("deploy-pipeline", {"status"});
  INFO(after.out);
  CHECK(after.exit_code == 0);
  CHECK_THAT(after.out, Catch::Contains("standby  pool 1, 1/1 UP"));
  CHECK_THAT(after.out, !Catch::Contains("standby  pool 3"));
}

// R5: the usual CI flow, with build 4 made but never deployed. A plain delete counted it as a
// rollback target, so plain deletes removed 1, then the hot standby 2: every pool that served.
TEST_CASE("a plain delete never removes the last pools a plain rollback can go to for newer builds",
          "[e2e][delete][verdicts]") {
  ServiceRig rig({.pool_size = 1, .hot = 1, .keep_good = 1}, ThenDeploy::each_in_turn);
  rig.create("3");
  rig.deploy("3");  // 3 live, 2 hot, 1 known-good
  rig.create("4");

  const auto older = rig.run("create-pipeline", {"delete", "--label", "1"});
  INFO(older.err);
  CHECK(older.exit_code == 3);
  CHECK_THAT(older.err, Catch::Contains("pool 1 is the last known-good pool older than the live one"));
  CHECK_THAT(older.err, Catch::Contains("retention.keep_good is 1"));
  rig.ok("create-pipeline", {"delete", "--label", "1", "--force"});

  const auto hot = rig.run("create-pipeline", {"delete", "--label", "2"});
  INFO(hot.err);
  CHECK(hot.exit_code == 3);
  CHECK_THAT(hot.err, Catch::Contains("pool 2 is the hot standby and the last known-good pool besides the live one"));
  CHECK(rig.listed("2"));
  // A newer build never deployed is no rollback target: deleting it is not refused.
  rig.ok("create-pipeline", {"delete", "--label", "4"});
  const auto rollback = rig.run("deploy-pipeline", {"rollback", "--dry-run"});
  INFO(rollback.err);
  CHECK(rollback.exit_code == 0);
  CHECK_THAT(rollback.err, Catch::Contains("pool 2"));

  // With no pool a plain rollback can go to, status says so; pool 5, newer and known-good, is
  // named as the one 'rollback --to' goes to (it said "no known-good pool" and named it).
  rig.create("5");
  rig.ok("create-pipeline", {"delete", "--label", "2", "--force"});
  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("a plain rollback has no pool to go to (no pool older than the live pool"));
  CHECK_THAT(status.out, Catch::Contains("'deploy-pipeline rollback --to 5'"));
  CHECK_THAT(status.out, !Catch::Contains("no known-good pool"));
}

// advice2 #1: a rollback killed past its drain (only its target routed) whose target was then
// marked bad. Its refusal and status offered 'repair --revert' back to pool 3, which the rollback
// had fled and marked bad, while pool 1 was known-good; repair --revert then went back to it
// without a word. They name pool 1 now, and repair --revert to a pool marked bad needs --force.
TEST_CASE("an interrupted rollback past its drain names the pool a rollback chooses, not the pool it fled",
          "[e2e][finish][crash]") {
  // 3 live, 2 its hot standby, 1 known-good; the rollback to 2 killed before it removes 3
  // (steps: persist, admit 2, drain 3, wait for 3's connections, remove 3).
  ServiceRig rig({.pool_size = 1, .hot = 1}, ThenDeploy::each_in_turn);
  rig.create("3");
  rig.deploy("3");
  killed(rig, {"rollback", "--reason", "3 is broken"}, "PHOENIX_TEST_KILL_AT_STEP=4");
  REQUIRE(rig.live() == "2\n");
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "2", "--reason", "2 has the bug too"});

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("'deploy-pipeline rollback --to 1 --break-lock' rolls back to pool 1"));
  CHECK_THAT(status.out, !Catch::Contains("repair --revert"));

  for (const bool dry_run : {true, false}) {
    std::vector<std::string> arguments = {"rollback", "--break-lock"};
    if (dry_run) arguments.emplace_back("--dry-run");
    const auto refused = rig.run("deploy-pipeline", arguments);
    INFO(refused.err);
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err,
               Catch::Contains("the interrupted rollback to pool 2 is not finished: pool 2 is marked bad"));
    const std::string past_the_lock = dry_run ? " --break-lock" : "";
    CHECK_THAT(refused.err,
               Catch::Contains("'deploy-pipeline rollback --to 1" + past_the_lock + "' rolls back to pool 1 instead"));
    CHECK_THAT(refused.err, !Catch::Contains("repair --revert"));
  }
  for (const bool dry_run : {true, false}) {
    std::vector<std::string> arguments = {"repair", "--revert", "--break-lock"};
    if (dry_run) arguments.emplace_back("--dry-run");
    const auto refused = rig.run("deploy-pipeline", arguments);
    INFO(refused.err);
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err, Catch::Contains("'repair --revert' would return to pool 3, live before the interrupted "
                                            "rollback to pool 2, but pool 3 is marked bad"));
    CHECK_THAT(refused.err, Catch::Contains("3 is broken"));
    CHECK_THAT(refused.err, Catch::Contains("'deploy-pipeline rollback --to 1' rolls back to pool 1 instead, or "
                                            "'deploy-pipeline repair --revert --force' returns to it anyway"));
    CHECK(rig.live() == "2\n");
  }

  // The way it names works.
  rig.ok("deploy-pipeline", {"rollback", "--to", "1", "--reason", "3 is broken", "--break-lock"});
  CHECK(rig.live() == "1\n");
}

// review4 F2: while the lock is stale, a dry run's refusal named 'deploy-pipeline repair', which,
// pasted, was refused in turn ("the deploy lock is stale"): the dry run takes no lock, so the lock
// is as stale as before. Its commands carry --break-lock, as status names them; pasted, it works.
TEST_CASE("while the lock is stale, the command a dry run's refusal names works when pasted", "[e2e][finish][lock]") {
  ServiceRig rig({.pool_size = 1, .hot = 1}, ThenDeploy::each_in_turn);
  rig.create("3");
  rig.deploy("3");
  killed(rig, {"rollback", "--reason", "3 is broken"}, "PHOENIX_TEST_KILL_AT_STEP=4");  // past its drain
  REQUIRE(rig.live() == "2\n");

  const auto dry = rig.run("deploy-pipeline", {"repair", "--revert", "--dry-run", "--break-lock"});
  INFO(dry.err);
  CHECK(dry.exit_code == 3);
  const std::string named = "'deploy-pipeline repair --break-lock' finishes the rollback to pool 2 instead";
  CHECK_THAT(dry.err, Catch::Contains(named));
  CHECK_THAT(dry.err, Catch::Contains("'deploy-pipeline repair --revert --force --break-lock' returns to it anyway"));
  // Pasted as named (the words between the quotes).
  const auto start = dry.err.find("'deploy-pipeline repair");
  REQUIRE(start != std::string::npos);
  const auto end = dry.err.find('\'', start + 1);
  REQUIRE(end != std::string::npos);
  auto words = util::split(dry.err.substr(start + 1, end - start - 1), ' ');
  REQUIRE(words.size() >= 2);
  const std::string tool = words.front();
  words.erase(words.begin());
  const auto pasted = rig.run(tool, words);
  INFO(pasted.err);
  CHECK(pasted.exit_code == 0);
  CHECK(rig.live() == "2\n");
}

// advice2 #2: a rollback after a deploy killed before it routed to its pool (its members added on
// standby) kept them, and status called the pool that never served the hot standby. The rollback
// takes them out, as a deploy or repair --revert does.
TEST_CASE("a rollback after a deploy killed before its switch takes the deploy's members out", "[e2e][hot][crash]") {
  ServiceRig rig({.pool_size = 1, .hot = 1}, ThenDeploy::each_in_turn);  // 2 live, 1 hot
  rig.create("3");
  killed(rig, {"deploy", "--label", "3"}, "PHOENIX_TEST_KILL_AT_STEP=1");  // 3 added on standby
  const auto before = rig.run("deploy-pipeline", {"status"});
  INFO(before.out);
  CHECK_THAT(before.out, Catch::Contains("member 3:1 is left in standby"));
  // review4 F5: list does not call pool 3, which never served, a hot standby; it says what it is.
  const auto list = rig.run("create-pipeline", {"list"});
  INFO(list.out);
  CHECK_THAT(list.out, Catch::Contains("pool 3 is left in standby by an interrupted deploy: it never served, so it is "
                                       "no hot standby, and a switch elsewhere removes it"));
  CHECK(rig.pool_field("3", "tier") == "member");
  CHECK(rig.pool_field("1", "tier") == "hot");

  rig.ok("deploy-pipeline", {"rollback", "--reason", "2 is broken", "--break-lock"});
  CHECK(rig.live() == "1\n");
  const auto after = rig.run("deploy-pipeline", {"status"});
  INFO(after.out);
  CHECK_THAT(after.out, !Catch::Contains("standby  pool 3"));
  CHECK_THAT(after.out, !Catch::Contains("3:1"));
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(rig.status_json().get(), "standby")) == 0);
}

// review4 F4: a rollback killed before it wrote its history event. The pool it left was marked
// bad with a reason only, so what refused it said "pool 3 is marked bad: 3 is broken", with no
// who or when; after a SIGTERM (whose end record is written) it named both. The pool's record
// keeps them now.
TEST_CASE("a rollback killed before its history event leaves who marked the pool it left and when",
          "[e2e][verdicts][crash]") {
  ServiceRig rig({.pool_size = 1, .hot = 1}, ThenDeploy::each_in_turn);
  rig.create("3");
  rig.deploy("3");
  killed(rig, {"rollback", "--reason", "3 is broken"}, "PHOENIX_TEST_KILL_AT_STEP=4");
  REQUIRE(rig.live() == "2\n");
  REQUIRE(rig.history_details("rollback").empty());  // killed: no event of it

  const auto refused = rig.run("deploy-pipeline", {"deploy", "--label", "3", "--break-lock"});
  INFO(refused.err);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Matches(R"([\s\S]*pool 3 is marked bad by \S+ at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: )"
                                         R"(3 is broken; deploy it anyway with --force[\s\S]*)"));
}

// review4 F5: a deploy back to the older hot standby (retention.hot 2), killed before its first
// step. Status dropped pool 1 from the standby line and said "member 1:1 is left in standby; the
// next deploy or ... cleans it up", while the next switch keeps it hot: it has served.
TEST_CASE("an interrupted deploy to a hot standby that served leaves it a hot standby", "[e2e][hot][crash]") {
  ServiceRig rig({.pool_size = 1, .hot = 2}, ThenDeploy::each_in_turn);  // 2 live, 1 hot
  rig.create("3");
  rig.deploy("3");  // 3 live, 2 and 1 hot
  killed(rig, {"deploy", "--label", "1"}, "PHOENIX_TEST_KILL_AT_STEP=0");
  REQUIRE(rig.live() == "3\n");

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out);
  CHECK_THAT(status.out, Catch::Contains("a deploy to pool 1 started"));
  CHECK_THAT(status.out, !Catch::Contains("left in standby"));
  CHECK_THAT(status.out, Catch::Contains("pool 1, 1/1 UP"));
  CHECK(rig.pool_field("1", "tier") == "hot");

  // What status said: the rollback that abandons the deploy keeps pool 1 hot.
  rig.ok("deploy-pipeline", {"rollback", "--reason", "3 is broken", "--break-lock"});
  CHECK(rig.live() == "2\n");
  const auto after = rig.run("deploy-pipeline", {"status"});
  INFO(after.out);
  CHECK(after.exit_code == 0);
  CHECK_THAT(after.out, Catch::Contains("standby  pool 1, 1/1 UP"));
}
