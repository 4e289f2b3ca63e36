// Invariant 6: one deploy at a time per service. The lock names its holder; a stale one is
// taken over only with --break-lock, and the takeover is reported.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

TEST_CASE("while a deploy runs, deploy, delete and prune are refused naming the holder", "[e2e][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.check_interval_ms = 1500;  // the deploy waits about that long for the first check
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  for (const char* label : {"1", "2", "3"}) {
    REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
  }
  const std::vector<std::string> gocd = {"GO_SERVER_URL=https://gocd.example/go",
                                         "GO_PIPELINE_NAME=web-deploy",
                                         "GO_PIPELINE_COUNTER=7",
                                         "GO_STAGE_NAME=switch",
                                         "GO_STAGE_COUNTER=1",
                                         "GO_JOB_NAME=deploy",
                                         "GO_TRIGGER_USER=sre1"};
  ToolResult first;
  std::thread deploy([&] {
    first = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config}, gocd);
  });
  // Synchronise on the lock itself, not on time: the deploy holds it from its first step.
  const auto lock_file = dir.path() / "state" / "web" / "deploy.lock";
  for (int i = 0; i < 1000 && !std::filesystem::exists(lock_file); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(std::filesystem::exists(lock_file));

  for (const auto& [tool, arguments] :
       std::vector<std::pair<std::string, std::vector<std::string>>>{{"deploy-pipeline", {"deploy", "--label", "3"}},
                                                                     {"deploy-pipeline", {"rollback", "--to", "1"}},
                                                                     {"create-pipeline", {"delete", "--label", "1"}},
                                                                     {"create-pipeline", {"prune", "--keep", "0"}}}) {
    auto with_config = arguments;
    with_config.insert(with_config.end(), {"--config", config});
    const auto refused = run_tool(tool, with_config);
    INFO(tool << " " << arguments[0] << ": " << refused.err);
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err, Catch::Contains("another deploy holds the lock: pid "));
    CHECK_THAT(refused.err, Catch::Contains("(job web-deploy/7/switch/1/deploy) since 20"));
    CHECK_THAT(refused.err, Catch::Contains("running 'deploy --label 2'"));
  }
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK_THAT(status.out, Catch::Contains("lock     held by pid "));
  deploy.join();
  INFO(first.err);
  CHECK(first.exit_code == 0);
  // Nothing the refused commands asked for happened.
  CHECK(std::filesystem::exists(dir.path() / "state" / "web" / "pools" / "1"));
  CHECK(http_get(haproxy.url()).second == "2\n");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state" / "web" / "deploy.lock"));
}

TEST_CASE("a lock older than the limit, held from another host, needs --break-lock", "[e2e][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  // An agent on another host died two days ago holding the lock.
  REQUIRE(util::write_file_atomic(dir.path() / "state" / "web" / "deploy.lock",
                                  R"({"host": "agent-7", "pid": 4242, "job": "jenkins-web-deploy-3",
                                      "command": "deploy --label 0", "since": "2026-11-24T03:00:00Z"})")
              .ok());
  const auto refused = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("the deploy lock is stale: it is "));
  CHECK_THAT(refused.err, Catch::Contains("older than the 3600 s limit"));
  CHECK_THAT(refused.err, Catch::Contains("pid 4242 on agent-7 (job jenkins-web-deploy-3)"));

  const auto taken = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--break-lock", "--config", config});
  INFO(taken.err);
  CHECK(taken.exit_code == 0);
  CHECK_THAT(taken.err, Catch::Contains("warning: took over the stale deploy lock of pid 4242 on agent-7"));
}

TEST_CASE("a lock whose holder's pid now belongs to another process is stale", "[e2e][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  // The holder died; its pid went to an unrelated process that is very much alive.
  auto unrelated = util::spawn_detached({{"sleep", "60"}, dir.path(), {}});
  REQUIRE(unrelated.ok());
  struct Stop {
    util::ProcessIdentity process;
    ~Stop() { util::stop_process(process, std::chrono::seconds(1)); }
  } stop{*unrelated};
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  REQUIRE(util::write_file_atomic(dir.path() / "state" / "web" / "deploy.lock",
                                  R"({"host": ")" + std::string(host) + R"(", "pid": )" +
                                      std::to_string(unrelated->pid) + R"(, "start_ticks": )" +
                                      std::to_string(unrelated->start_ticks - 1) + R"(, "job": "gocd web-deploy/3",
                                      "command": "deploy --label 0", "since": "2030-01-01T00:00:00Z"})")
              .ok());
  const auto refused = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
  INFO(refused.err);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("the deploy lock is stale: its holder is no longer running on this host "
                                          "(held by pid " +
                                          std::to_string(unrelated->pid) + " on "));
  const auto taken = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--break-lock", "--config", config});
  INFO(taken.err);
  CHECK(taken.exit_code == 0);
  CHECK_THAT(taken.err,
             Catch::Contains("warning: took over the stale deploy lock of pid " + std::to_string(unrelated->pid)));
  CHECK(util::is_running(*unrelated));  // taking the lock over touches no process
}

// A dry run predicts the real run: with the deploy lock held by a stale holder, the real
// rollback and deploy are refused, so their dry runs are too, in one line with the same exit
// code, and the lock file is left exactly as it was (a dry run never takes, breaks or writes it).
TEST_CASE("a dry run with a stale lock is refused as the real run is, and leaves the lock as it was",
          "[e2e][lock][dry-run]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::each_in_turn);
  const auto lock_file = dir.path() / "state" / "web" / "deploy.lock";
  const std::string stale = R"({"host": "agent-7", "pid": 4242, "job": "jenkins-web-deploy-3",
                                "command": "deploy --label 0", "since": "2026-11-24T03:00:00Z"})";
  REQUIRE(util::write_file_atomic(lock_file, stale).ok());
  for (const auto& arguments : std::vector<std::vector<std::string>>{{"rollback"}, {"deploy", "--label", "1"}}) {
    auto with_config = arguments;
    with_config.insert(with_config.end(), {"--config", config});
    const auto real = run_tool("deploy-pipeline", with_config);
    with_config.push_back("--dry-run");
    const auto dry = run_tool("deploy-pipeline", with_config);
    INFO(arguments[0] << ": " << real.err << dry.out << dry.err);
    CHECK(real.exit_code == 3);
    CHECK(dry.exit_code == real.exit_code);
    CHECK(dry.out.empty());  // no plan
    CHECK_THAT(dry.err, Catch::Contains("deploy-pipeline: error: a real '" + arguments[0]));
    CHECK_THAT(dry.err, Catch::Contains("would be refused: the deploy lock of service web is stale"));
    CHECK_THAT(dry.err, Catch::Contains("pid 4242 on agent-7 (job jenkins-web-deploy-3)"));
    CHECK_THAT(dry.err, Catch::Contains("once you have checked that its holder is gone, run it with --break-lock"));
    CHECK(*util::read_file(lock_file) == stale);
  }
  // With --break-lock the dry run shows the plan and says it would take the lock over; the lock
  // stays the stale holder's, and nothing was switched.
  const auto planned = run_tool("deploy-pipeline", {"rollback", "--dry-run", "--break-lock", "--config", config});
  INFO(planned.err);
  CHECK(planned.exit_code == 0);
  CHECK_THAT(planned.out, Catch::Contains("plan: make pool 1 live (replacing 2)"));
  CHECK_THAT(planned.err, Catch::Contains("would take over the stale deploy lock"));
  CHECK(*util::read_file(lock_file) == stale);
  CHECK(http_get(haproxy.url()).second == "2\n");
}

// A command whose arguments name a pool that does not exist fails (exit 2) before it takes over
// a stale lock: the lock stays exactly as it was, for 'status' to show and a person to judge.
TEST_CASE("a command naming a pool that does not exist leaves a stale lock alone, --break-lock or not", "[e2e][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);
  const auto lock_file = dir.path() / "state" / "web" / "deploy.lock";
  const std::string stale = R"({"host": "agent-7", "pid": 4242, "job": "jenkins-web-deploy-3",
                                "command": "rollback", "since": "2026-11-24T03:00:00Z"})";
  REQUIRE(util::write_file_atomic(lock_file, stale).ok());
  for (const auto& [tool, arguments] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"create-pipeline", {"power-off", "--label", "99"}},
           {"create-pipeline", {"delete", "--label", "99"}},
           {"deploy-pipeline", {"deploy", "--label", "99"}},
           {"deploy-pipeline", {"rollback", "--to", "99"}}}) {
    auto with_config = arguments;
    with_config.insert(with_config.end(), {"--break-lock", "--config", config});
    const auto refused = run_tool(tool, with_config);
    INFO(tool << " " << arguments[0] << ": " << refused.err);
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("there is no pool '99' for service web"));
    CHECK_THAT(refused.err, !Catch::Contains("took over"));
    CHECK(*util::read_file(lock_file) == stale);
  }
  CHECK(http_get(haproxy.url()).second == "1\n");
}

// A lock record that cannot be read names no holder: taking it over says the record was
// unreadable, never "pid 0 ... since 1970".
TEST_CASE("taking over a lock whose record is garbage says the record could not be read", "[e2e][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  REQUIRE(util::write_file_atomic(dir.path() / "state" / "web" / "deploy.lock", "{\"host\": \"agent-7\", \"pi").ok());
  const auto taken = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--break-lock", "--config", config});
  INFO(taken.err);
  CHECK(taken.exit_code == 0);
  CHECK_THAT(taken.err, Catch::Contains("warning: took over the deploy lock of service web: its record could not "
                                        "be read, so it named no holder"));
  CHECK_THAT(taken.err, !Catch::Contains("pid 0"));
  CHECK_THAT(taken.err, !Catch::Contains("1970"));
  CHECK(http_get(haproxy.url()).second == "1\n");
}

// review4 F6: a real run refused by a lock record that cannot be read said only "the lock file
// ... cannot be read", its dry run why; a record that is no lock holder was "missing since". Both
// say what is wrong, where, and what to do, in one line.
TEST_CASE("the refusal of a lock record that cannot be read says why, in the real run as in the dry run",
          "[e2e][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  const auto lock_file = dir.path() / "state" / "web" / "deploy.lock";
  for (const auto& [record, why] : std::vector<std::pair<std::string, std::string>>{
           {"garbage", lock_file.string() + ":1:1: invalid JSON (unexpected 'g')"},
           {R"({"pid": "x"})", lock_file.string() + ": not a lock record: pid is not a number"},
           {"[]", lock_file.string() + ": not a lock record: not a JSON object"}}) {
    REQUIRE(util::write_file_atomic(lock_file, record).ok());
    const auto real = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
    const auto dry = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--dry-run", "--config", config});
    INFO(record << ": " << real.err << dry.err);
    CHECK(real.exit_code == 3);
    CHECK(real.err == "deploy-pipeline: error: the deploy lock is stale: its record cannot be read (" + why +
                          "); re-run with --break-lock to take it over\n");
    CHECK(dry.exit_code == 3);
    CHECK_THAT(dry.err, Catch::Contains("is stale (" + why + "; its record cannot be read)"));
    CHECK(*util::read_file(lock_file) == record);
  }
  CHECK(http_get(haproxy.url()).first != 200);  // nothing was deployed
}

// R4: a holder stopped by Ctrl-Z (SIGSTOP) runs no step, and a SIGTERM waits with it. It is not
// stale (it may go on), but status calls it a problem and every refusal names what frees the
// lock: kill -CONT (it stops at its next safe point) or kill -9 then --break-lock.
TEST_CASE("a lock holder on this host that is stopped is a problem, and the refusal names kill -CONT or kill -9",
          "[e2e][lock]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config}).exit_code == 0);
  auto holder = util::spawn_detached({{"sleep", "60"}, dir.path(), {}});
  REQUIRE(holder.ok());
  struct Stop {
    util::ProcessIdentity process;
    ~Stop() { util::stop_process(process, std::chrono::seconds(1)); }
  } stop{*holder};
  REQUIRE(::kill(holder->pid, SIGSTOP) == 0);
  for (int i = 0; i < 200 && !util::is_stopped(*holder); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(util::is_stopped(*holder));
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  REQUIRE(util::write_file_atomic(dir.path() / "state" / "web" / "deploy.lock",
                                  R"({"host": ")" + std::string(host) + R"(", "pid": )" + std::to_string(holder->pid) +
                                      R"(, "start_ticks": )" + std::to_string(holder->start_ticks) +
                                      R"(, "job": "", "command": "deploy --label 1", "since": "2030-01-01T00:00:00Z"})")
              .ok());
  const std::string pid = std::to_string(holder->pid);
  const std::string stopped = "the deploy lock holder pid " + pid + " is stopped (SIGSTOP/Ctrl-Z): 'kill -CONT " + pid +
                              "' lets it finish, 'kill -9 " + pid + "' ends it, then --break-lock";
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains(stopped));
  for (const auto& arguments : std::vector<std::vector<std::string>>{
           {"rollback", "--to", "1", "--reason", "x", "--break-lock", "--config", config},
           {"rollback", "--to", "1", "--reason", "x", "--dry-run", "--config", config}}) {
    const auto refused = run_tool("deploy-pipeline", arguments);
    INFO(refused.err);
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err, Catch::Contains(stopped));
  }
  // Running again, it is an ordinary busy holder: no problem to report.
  REQUIRE(::kill(holder->pid, SIGCONT) == 0);
  for (int i = 0; i < 200 && util::is_stopped(*holder); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto running = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(running.out);
  CHECK_THAT(running.out, !Catch::Contains("is stopped"));
}
