// Verdicts against a real HAProxy: a pool marked bad is never made live again by a plain deploy,
// and status reports a live one as a problem; a rollback away from a pool marked bad keeps its
// first reason; a watch that saw no traffic judges nothing; the hot standby that is the last
// rollback target is not deleted without --force; a breach whose automatic rollback failed is
// recorded once, and one whose watch was killed before its rollback is left for status to name.

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/time_format.hpp"
#include "support/harness.hpp"
#include "support/service_rig.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// Pools 1 and 2 of two servers each, pool 1 live, behind a real HAProxy; the watch judges
// 2-second windows.
struct VerdictRig : ServiceRig {
  explicit VerdictRig(int hot = 1, int health_timeout_s = 10)
      : ServiceRig({.pool_size = 2, .health_timeout_s = health_timeout_s, .watch = kTwoSecondWatch, .hot = hot},
                   ThenDeploy::pool_1) {}
};

// How long a test waits for what a running deploy does next.
constexpr std::chrono::seconds kVerdictWait{10};

}  // namespace

// review2 F23: a mistyped label, or a re-run CI stage, put a release known to be bad back in
// production without a word, while 'rollback --to' refused it.
TEST_CASE("deploy of a pool marked bad is refused, naming the mark, until --force", "[e2e][verdicts]") {
  VerdictRig rig;
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "2", "--reason", "checkout errors"});
  for (const bool dry_run : {false, true}) {
    std::vector<std::string> arguments = {"deploy", "--label", "2"};
    if (dry_run) arguments.emplace_back("--dry-run");
    const auto refused = rig.run("deploy-pipeline", arguments);
    INFO(refused.err);
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err, Catch::Contains("pool 2 is marked bad by "));
    CHECK_THAT(refused.err, Catch::Contains(" at 20"));  // when, from history
    CHECK_THAT(refused.err, Catch::Contains(": checkout errors; deploy it anyway with --force, or clear the mark "
                                            "first with 'deploy-pipeline mark-good --label 2'"));
    CHECK(util::split_lines(util::trim(refused.err)).size() == 1);
  }
  CHECK(rig.live() == "1\n");
  CHECK(rig.pool_field("2", "verdict") == "bad");
  const auto help = rig.run("deploy-pipeline", {"deploy", "--help"});
  CHECK_THAT(help.out, Catch::Contains("or it is marked bad"));

  rig.ok("deploy-pipeline", {"deploy", "--label", "2", "--force"});
  CHECK(rig.live() == "2\n");
}

// review2 F15 and F16: status said "no problems" while the live pool was marked bad, and a
// rollback replaced the pool's first (measured) reason with its own.
TEST_CASE("status reports a live pool marked bad; a rollback away from it keeps its first reason",
          "[e2e][verdicts][status]") {
  VerdictRig rig;
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});
  CHECK(rig.run("deploy-pipeline", {"status"}).exit_code == 0);
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "2", "--reason", "5xx ratio 0.10 measured"});

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("the live pool 2 is marked bad by "));
  CHECK_THAT(status.out, Catch::Contains(": 5xx ratio 0.10 measured; 'deploy-pipeline rollback --to 1' rolls back "
                                         "to pool 1"));

  rig.ok("deploy-pipeline", {"rollback", "--reason", "after the page"});
  CHECK(rig.live() == "1\n");
  CHECK(rig.pool_field("2", "verdict_reason") == "5xx ratio 0.10 measured");
  const auto rollbacks = rig.history_details("rollback");
  REQUIRE_FALSE(rollbacks.empty());
  CHECK(rollbacks.front() == "after the page");
  CHECK(rig.run("deploy-pipeline", {"status"}).out.find("the live pool 2 is marked bad") == std::string::npos);
}

namespace {

// The rollbacks in `deploy-pipeline history --output json`, newest first: "<result> <label>
// from <from>: <detail>".
std::vector<std::string> rollback_records(const VerdictRig& rig) {
  const auto history = parse_output(rig.run("deploy-pipeline", {"history", "--output", "json"}).out);
  std::vector<std::string> records;
  const cJSON* event = nullptr;
  cJSON_ArrayForEach(event, cJSON_GetObjectItem(history.get(), "events")) {
    if (util::json_string(event, "action") != "rollback") continue;
    records.push_back(util::json_string(event, "result").value_or("") + " " +
                      util::json_string(event, "label").value_or("") + " from " +
                      util::json_string(event, "from").value_or("") + ": " +
                      util::json_string(event, "detail").value_or(""));
  }
  return records;
}

}  // namespace

// A tester's findings: with the live pool marked bad and nothing known-good to go back to,
// status said "no rollback target" in two problems; a refused rollback left no trace in history
// (a refused delete does); and `status --output json` ended stderr with "see above" where
// nothing is above.
TEST_CASE("the live pool marked bad with nothing to go back to: one problem, refused rollbacks in history",
          "[e2e][verdicts][status][history]") {
  VerdictRig rig;
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "1", "--reason", "leaks memory"});
  rig.ok("deploy-pipeline", {"mark-bad", "--label", "2", "--reason", "checkout errors"});

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("problems:\n  - the live pool 2 is marked bad by "));
  CHECK_THAT(status.out, Catch::Contains(": checkout errors; and there is no known-good pool to roll back to: a plain "
                                         "rollback has none ("));
  CHECK_THAT(status.out, Catch::Contains("deploy a fixed release"));
  CHECK_THAT(status.out, !Catch::Contains("no rollback target"));
  CHECK(error_lines(status) == std::vector<std::string>{"deploy-pipeline: error: 1 problem found; see above"});

  const auto json = rig.run("deploy-pipeline", {"status", "--output", "json"});
  INFO(json.out << json.err);
  CHECK(json.exit_code == 1);
  const auto document = parse_output(json.out);
  const cJSON* problems = cJSON_GetObjectItem(document.get(), "problems");
  CHECK(cJSON_GetArraySize(problems) == 1);
  CHECK_THAT(std::string(cJSON_GetArrayItem(problems, 0)->valuestring),
             Catch::Contains("and there is no known-good pool to roll back to"));
  CHECK(error_lines(json) ==
        std::vector<std::string>{"deploy-pipeline: error: 1 problem found; see \"problems\" in the JSON on stdout"});

  // Refused (exit 3): a plain rollback (no pool to go to) and one to pool 1 (marked bad).
  // Each is in history as refused, with why; a dry run is not. Nothing else changes.
  const auto none = rig.run("deploy-pipeline", {"rollback", "--reason", "errors"});
  INFO(none.err);
  CHECK(none.exit_code == 3);
  const auto to_bad = rig.run("deploy-pipeline", {"rollback", "--to", "1", "--reason", "errors"});
  INFO(to_bad.err);
  CHECK(to_bad.exit_code == 3);
  const auto dry = rig.run("deploy-pipeline", {"rollback", "--to", "1", "--dry-run"});
  CHECK(dry.exit_code == 3);
  const auto records = rollback_records(rig);
  REQUIRE(records.size() == 2);
  // The --reason is kept, before why it was refused; no rollback was announced.
  CHECK_THAT(records[0], Catch::StartsWith("refused 1 from 2: errors; pool 1 is marked bad by "));
  CHECK_THAT(records[0],
             Catch::Contains(": leaks memory; roll back to another pool, or to this one anyway with "
                             "--force, or clear the mark first with 'deploy-pipeline mark-good --label 1'"));
  CHECK_THAT(to_bad.err, !Catch::Contains("rolling back from"));
  CHECK_THAT(records[1], Catch::StartsWith("refused  from 2: errors; no pool older than the live pool 2 passed its "
                                           "smoke test, is not marked bad"));
  const auto table = rig.run("deploy-pipeline", {"history"});
  CHECK_THAT(table.out, Catch::Contains("rollback"));
  CHECK_THAT(table.out, Catch::Contains("refused"));
  CHECK(rig.live() == "2\n");
  CHECK(rig.pool_field("2", "verdict_reason") == "checkout errors");
  CHECK(rig.pool_field("1", "verdict_reason") == "leaks memory");
  CHECK_FALSE(fs::exists(rig.state() / "intent.json"));
  // Still the one problem: a refused rollback is no switch status compares the balancer with.
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(rig.status_json().get(), "problems")) == 1);
}

// review2 F26: a watch that saw no request "passed" and recorded the replaced pool as good; a
// watch shorter than the window was accepted silently.
TEST_CASE("a watch that never saw watch.min_requests requests records no verdict", "[e2e][verdicts][watch]") {
  VerdictRig rig;
  const auto short_watch = rig.run("deploy-pipeline", {"deploy", "--label", "2", "--watch", "1s"});
  INFO(short_watch.err);
  CHECK(short_watch.exit_code == 2);
  CHECK_THAT(short_watch.err, Catch::Contains("--watch 1s is shorter than the watch window (watch.window_s 2)"));
  CHECK(rig.live() == "1\n");

  const auto quiet = rig.run("deploy-pipeline", {"deploy", "--label", "2", "--watch", "2s"});  // no traffic at all
  INFO(quiet.err);
  CHECK(quiet.exit_code == 4);
  CHECK_THAT(quiet.err, Catch::Contains("the switch to pool 2 finished; nothing was switched back and no verdict "
                                        "recorded: the watch ended without figures to judge pool 2 by: it saw 0 "
                                        "requests in all, fewer than watch.min_requests (20); a watch judges "
                                        "only a pool clients use: watch while they send traffic, or lower "
                                        "watch.min_requests"));
  CHECK_THAT(quiet.err, !Catch::Contains("passed its watch"));
  CHECK(rig.live() == "2\n");
  CHECK(rig.pool_field("1", "verdict") == "unknown");
  CHECK(rig.pool_field("2", "verdict") == "unknown");
}

// review2 F9: the hot standby, the one-batch rollback target, was deleted by a plain delete,
// leaving nothing to roll back to.
TEST_CASE("the hot standby that is the last rollback target is not deleted without --force",
          "[e2e][verdicts][delete]") {
  VerdictRig rig;
  rig.ok("deploy-pipeline", {"deploy", "--label", "2"});  // pool 1 stays hot
  const auto dry = rig.run("create-pipeline", {"delete", "--label", "1", "--dry-run"});
  INFO(dry.err);
  CHECK(dry.exit_code == 3);
  CHECK_THAT(dry.err, Catch::Contains("a real 'delete --label 1' would be refused: pool 1 is the hot standby and the "
                                      "last known-good pool besides the live one"));
  const auto refused = rig.run("create-pipeline", {"delete", "--label", "1"});
  INFO(refused.err);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("deleting it leaves no pool to roll back to"));
  CHECK_THAT(refused.err, Catch::Contains("pass --force"));
  CHECK_THAT(refused.err, !Catch::Contains("invariant 9"));
  CHECK(util::split_lines(util::trim(refused.err)).size() == 1);
  CHECK(fs::exists(rig.state() / "pools" / "1"));
  CHECK(rig.run("deploy-pipeline", {"status"}).exit_code == 0);

  rig.ok("create-pipeline", {"delete", "--label", "1", "--force"});
  CHECK_FALSE(fs::exists(rig.state() / "pools" / "1"));
  CHECK(rig.live() == "2\n");
}

// review2 F16 (with F14's setup): an automatic rollback to a hot standby whose servers do not
// answer fails its health wait; history had two failed auto-rollback records of it.
TEST_CASE("a failed automatic rollback is recorded once", "[e2e][verdicts][watch]") {
  VerdictRig rig(1, 3);
  Prober prober(rig.dir.path(), rig.haproxy.url());
  ToolResult deployed;
  std::atomic<bool> done{false};
  auto deploy = rig.start_watched_deploy("2", "60s", deployed, done);
  REQUIRE(eventually([&] { return done || rig.live() == "2\n"; }, kVerdictWait));
  // Pool 1, on standby, stops answering: its checks fail and HAProxy marks it DOWN.
  const auto standby = rig.pids("1");
  for (const pid_t pid : standby) ::kill(pid, SIGSTOP);
  CHECK(
      eventually([&] { return rig.run("deploy-pipeline", {"status"}).out.find("of hot pool 1") != std::string::npos; },
                 kVerdictWait));
  rig.turn_bad("2");
  deploy.join();
  for (const pid_t pid : standby) ::kill(pid, SIGCONT);
  prober.finish();
  INFO(deployed.err);
  CHECK(deployed.exit_code == 1);
  // Its fallback, pool 1, is DOWN: not waited for (no other pool can take traffic back), so the
  // automatic rollback fails at once, and is recorded once.
  CHECK_THAT(deployed.err, Catch::Contains("pool 1 cannot take traffic back"));
  CHECK_THAT(deployed.err, Catch::Contains("the automatic rollback did not happen"));
  CHECK(rig.live() == "release 2 is failing\n");
  CHECK(rig.pool_field("2", "verdict") == "bad");
  const auto automatic = rig.history_details("auto-rollback");
  INFO(util::join(automatic, "\n"));
  CHECK(automatic.size() == 1);
  const auto breaches = rig.history_details("breach");
  REQUIRE(breaches.size() == 1);
  CHECK_THAT(breaches.front(), Catch::StartsWith("5xx ratio "));
}

// review2 F17: a watch killed with SIGKILL just as its automatic rollback started forgot the
// breach: status showed a stale lock only, and the bad release stayed live with verdict unknown.
// Here the automatic rollback waits for a deploy lock another process holds, and the watch is
// killed while it waits.
TEST_CASE("a watch killed before its automatic rollback leaves the breach for status to name",
          "[e2e][verdicts][watch][interrupt]") {
  VerdictRig rig;
  Prober prober(rig.dir.path(), rig.haproxy.url());
  ToolResult deployed;
  std::atomic<bool> done{false};
  auto deploy = rig.start_watched_deploy("2", "60s", deployed, done);
  const auto watch_record = rig.watch_record();
  const auto lock_file = rig.deploy_lock();
  REQUIRE(eventually([&] { return done || rig.watch_recorded(); }, kVerdictWait));
  REQUIRE_FALSE(done);
  const auto watching = util::read_file(watch_record);
  REQUIRE(watching.ok());

  // Another command holds the deploy lock: a live process of this host.
  auto holder = util::spawn_detached({{"sleep", "60"}, rig.dir.path(), {}});
  REQUIRE(holder.ok());
  struct Stop {
    util::ProcessIdentity process;
    ~Stop() { util::stop_process(process, std::chrono::seconds(1)); }
  } stop{*holder};
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  REQUIRE(util::write_file_atomic(lock_file, R"({"host": ")" + std::string(host) + R"(", "pid": )" +
                                                 std::to_string(holder->pid) + R"(, "start_ticks": )" +
                                                 std::to_string(holder->start_ticks) +
                                                 R"(, "command": "prune --keep 3", "since": ")" +
                                                 util::format_iso8601(std::chrono::system_clock::now()) + R"("})")
              .ok());

  rig.turn_bad("2");
  // The breach extends the watch record before its automatic rollback waits for the lock.
  REQUIRE(eventually(
      [&] {
        const auto now = util::read_file(watch_record);
        return done || (now.ok() && *now != *watching);
      },
      kVerdictWait));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  REQUIRE_FALSE(done);
  const pid_t watcher = pid_of_command_line("deploy-pipeline deploy --label 2 --watch 60s");
  REQUIRE(watcher > 0);
  ::kill(watcher, SIGKILL);
  deploy.join();
  CHECK(deployed.exit_code == -1);
  util::stop_process(*holder, std::chrono::seconds(1));  // the lock's holder is gone too: stale
  CHECK(rig.live() == "release 2 is failing\n");

  const auto status = rig.run("deploy-pipeline", {"status"});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("pool 2 breached its watch at 20"));
  CHECK_THAT(status.out, Catch::Contains("(5xx ratio "));
  const std::string advice =
      "its automatic rollback to pool 1 was interrupted: 'deploy-pipeline rollback --to 1 "
      "--break-lock --reason 'automatic: 5xx ratio ";
  CHECK_THAT(status.out, Catch::Contains(advice));

  // The command status names answers the breach (its reason quoted once, without quotes inside).
  const auto reason_at = status.out.find(advice) + advice.size() - std::string("automatic: 5xx ratio ").size();
  const auto reason = status.out.substr(reason_at, status.out.find('\'', reason_at) - reason_at);
  const auto answered = rig.run("deploy-pipeline", {"rollback", "--to", "1", "--break-lock", "--reason", reason});
  prober.finish();
  INFO(reason << ": " << answered.err);
  CHECK(answered.exit_code == 0);
  CHECK(rig.live() == "1\n");
  CHECK(rig.pool_field("2", "verdict") == "bad");
  CHECK_THAT(rig.pool_field("2", "verdict_reason"), Catch::StartsWith("automatic: 5xx ratio "));
  CHECK(rig.run("deploy-pipeline", {"status"}).out.find("breached its watch") == std::string::npos);
}
