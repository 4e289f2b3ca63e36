// HAProxy reloads that race a switch, and a balancer configuration Phoenix cannot use: a
// config_file it may not replace, a socket path that is no socket.

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// What a reload that read haproxy.cfg before `written` was written leaves: a new HAProxy
// process with the membership of `older`, and the file as Phoenix wrote it.
void reload_from_older_file(Haproxy& haproxy, const std::string& older, const std::string& written) {
  REQUIRE(util::write_file_atomic(haproxy.config_file(), older).ok());
  haproxy.reload();  // returns once the new process answers
  REQUIRE(util::write_file_atomic(haproxy.config_file(), written).ok());
}

// Pools 1 and 2 of the service `config` behind `haproxy`, pool 1 deployed, then pool 2; what
// haproxy.cfg held before the deploy of pool 2.
std::string deploy_2_after_1(const std::string& config, const Haproxy& haproxy) {
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  std::string before_switch = *util::read_file(haproxy.config_file());
  REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config}).exit_code == 0);
  return before_switch;
}

// Progress lines ("[+0.012s] ...") and exactly one error line, containing `text`.
void single_error(const ToolResult& result, int exit_code, const std::string& text) {
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == exit_code);
  const auto errors = error_lines(result);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Contains(text));
}

}  // namespace

// The reload the test makes lands at a point the deploy is held at: every step done and the
// switch recorded, before the deploy confirms its end against the process answering then. The
// new process read haproxy.cfg before the switch's last write, so it routes to the old pool.
TEST_CASE("a reload that brings back the old pool as a switch ends gets the switch applied again",
          "[e2e][durable][reload]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  const auto state = dir.path() / "state" / "web";
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  const std::string before_switch = *util::read_file(haproxy.config_file());

  ToolResult deployed;
  std::atomic<bool> ended{false};
  std::thread deploy([&] {
    // 7 steps: add, wait for checks, persist, admit, drain, wait drained, remove; 7 is after them.
    deployed = run_tool("deploy-pipeline-test-hooks", {"deploy", "--label", "2", "--config", config},
                        {"PHOENIX_TEST_STOP_AT_STEP=7"});
    ended = true;
  });
  pid_t holder = 0;
  const bool held = holds_before([&] { return (holder = deploy_lock_holder(state)) > 0 && is_stopped(holder); },
                                 [&] { return ended.load(); });
  if (held) {
    CHECK(routed_labels(haproxy) == std::set<std::string>{"2"});
    reload_from_older_file(haproxy, before_switch, *util::read_file(haproxy.config_file()));
    CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});
    ::kill(holder, SIGCONT);
  }
  deploy.join();
  REQUIRE(held);

  INFO(deployed.err);
  CHECK(deployed.exit_code == 0);
  CHECK_THAT(deployed.err, Catch::Contains("reloaded as the switch ended and routes to 1, not pool 2"));
  CHECK(routed_labels(haproxy) == std::set<std::string>{"2"});
  CHECK(http_get(haproxy.url()).second == "2\n");
  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 0);
  // The switch applied again is the same deploy: one record of it, after pool 1's.
  const auto history = run_tool("deploy-pipeline", {"history", "--output", "json", "--config", config});
  INFO(history.out);
  REQUIRE(history.exit_code == 0);
  const auto document = parse_output(history.out);
  std::vector<std::string> deploys;
  const cJSON* event = nullptr;
  cJSON_ArrayForEach(event, cJSON_GetObjectItem(document.get(), "events")) {
    deploys.push_back(*util::json_string(event, "action") + " " + *util::json_string(event, "label") + " " +
                      *util::json_string(event, "result"));
  }
  CHECK(deploys == std::vector<std::string>{"deploy 2 succeeded", "deploy 1 succeeded"});  // newest first
}

// The race that remains: the reload comes up after the deploy ended. Status reports it, and
// repair restores the pool the last switch made live, not the one the reload brought back.
TEST_CASE("repair after a reload that brought back the old pool restores the pool the last deploy made live",
          "[e2e][durable][reload]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  const std::string before_switch = deploy_2_after_1(config, haproxy);
  reload_from_older_file(haproxy, before_switch, *util::read_file(haproxy.config_file()));
  REQUIRE(routed_labels(haproxy) == std::set<std::string>{"1"});

  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("but a restart would route to [2:"));
  // What repair does, as status says it: pool 2 again, not the pool the reload brought back.
  CHECK_THAT(status.out, Catch::Contains("run 'deploy-pipeline repair' to make pool 2 the only live pool again, as "
                                         "the last deploy left it"));
  CHECK_THAT(status.out, !Catch::Contains("keep the running membership") && !Catch::Contains("records pool 1"));
  const auto help = run_tool("deploy-pipeline", {"repair", "--help"});
  CHECK_THAT(help.out, Catch::Contains("makes that pool the only live one again, as status") &&
                           !Catch::Contains("never switches"));

  const auto repaired = run_tool("deploy-pipeline", {"repair", "--config", config});
  INFO(repaired.err);
  CHECK(repaired.exit_code == 0);
  CHECK_THAT(repaired.err, Catch::Contains("making pool 2 the only live pool again"));
  CHECK(routed_labels(haproxy) == std::set<std::string>{"2"});
  CHECK(http_get(haproxy.url()).second == "2\n");
  const auto after = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(after.out);
  CHECK(after.exit_code == 0);
  CHECK_THAT(after.out, Catch::Contains("live     2\n"));
}

// A stale haproxy.cfg put back after the deploy (a restore, configuration management) and
// reloaded: the file and the running HAProxy both route to pool 1. Status named a missing
// history record as the likely cause; it names the reload since the deploy, and both ways out.
TEST_CASE("status after a reload of an older haproxy.cfg names the reload, not a missing history record",
          "[e2e][durable][reload]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  const std::string before_switch = deploy_2_after_1(config, haproxy);
  REQUIRE(util::write_file_atomic(haproxy.config_file(), before_switch).ok());
  haproxy.reload();
  REQUIRE(routed_labels(haproxy) == std::set<std::string>{"1"});

  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains(") made pool 2 live, but the balancer reloaded since with a configuration "
                                         "that routes to 1 again, as before that deploy (an older configuration "
                                         "file put back?); 'deploy-pipeline deploy --label 2' goes back to pool 2, or "
                                         "'deploy-pipeline deploy --label 1' records pool 1 as live"));
  CHECK_THAT(status.out, !Catch::Contains("history may be missing"));
  CHECK_THAT(status.out, !Catch::Contains("a restart would route"));
}

namespace {
// Hands `path` and everything under it to `uid`.
void give_to(const fs::path& path, uid_t uid) {
  REQUIRE(::lchown(path.c_str(), uid, uid) == 0);
  if (!fs::is_directory(fs::symlink_status(path))) return;
  for (const auto& entry : fs::recursive_directory_iterator(path)) {
    REQUIRE(::lchown(entry.path().c_str(), uid, uid) == 0);
  }
}

constexpr uid_t kNobody = 65534;

// The unprivileged user these tests run the commands as: nobody owns the state under `dir` and
// may use the socket and read haproxy.cfg, but not write the HAProxy directory. Returns what runs
// a command as nobody: root passes every permission check, so as root the commands run through
// setpriv; as any other user, as that user.
std::vector<std::string> commands_as_nobody(const fs::path& dir, const Haproxy& haproxy) {
  give_to(dir / "state", kNobody);
  ::chmod(haproxy.socket().c_str(), 0666);
  ::chmod(haproxy.config_file().c_str(), 0644);
  if (::geteuid() != 0) return {};
  return {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
}
}  // namespace

// The typical case: /etc/haproxy belongs to root, the CI agent runs as another user. Phoenix
// replaces haproxy.cfg through a new file beside it, so the directory must be writable.
TEST_CASE("a config_file whose directory this user cannot write: status says so, a switch is refused up front",
          "[e2e][durable][config-file]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ::chmod(dir.path().c_str(), 0755);  // the HAProxy directory: root's, readable by everyone
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  const auto as_nobody = commands_as_nobody(dir.path(), haproxy);
  const std::string config_before = *util::read_file(haproxy.config_file());

  const auto status = run_tool_as(as_nobody, "deploy-pipeline", {"status", "--config", config});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("balancer.config_file " + haproxy.config_file().string()));
  CHECK_THAT(status.out, Catch::Contains("its directory " + dir.path().string() + " must be writable by this user"));

  const auto deploy = run_tool_as(as_nobody, "deploy-pipeline", {"deploy", "--label", "2", "--config", config});
  single_error(deploy, 2, "balancer.config_file " + haproxy.config_file().string());
  CHECK_THAT(deploy.err, Catch::Contains(dir.path().string() + " must be writable by this user"));
  CHECK_THAT(deploy.err, !Catch::Contains(".tmp-"));
  // Nothing changed: pool 2 was never added, the file is as it was, no switch is pending.
  CHECK(haproxy.command("show servers state web").find(" 2:1 ") == std::string::npos);
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});
  CHECK(*util::read_file(haproxy.config_file()) == config_before);
  CHECK_FALSE(fs::exists(dir.path() / "state" / "web" / "intent.json"));
}

// review3 R6: the same directory blocked every rollback too, the automatic one included, and the
// rollback command printed as the way out failed the same way. A rollback goes ahead at runtime
// with one warning; repair keeps it once the directory is writable.
TEST_CASE("a config_file whose directory this user cannot write does not stop a rollback, run at runtime only, warned",
          "[e2e][durable][config-file]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ::chmod(dir.path().c_str(), 0755);
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::each_in_turn);  // 2 live, 1 known-good
  const auto as_nobody = commands_as_nobody(dir.path(), haproxy);
  const std::string config_before = *util::read_file(haproxy.config_file());

  // A deploy is still refused up front.
  const auto deploy = run_tool_as(as_nobody, "deploy-pipeline", {"deploy", "--label", "1", "--config", config});
  CHECK(deploy.exit_code == 2);
  CHECK(routed_labels(haproxy) == std::set<std::string>{"2"});

  // Its dry run plans what the real run does: a persist step that keeps nothing, worded alike.
  const auto dry_rollback =
      run_tool_as(as_nobody, "deploy-pipeline", {"rollback", "--reason", "x", "--dry-run", "--config", config});
  INFO(dry_rollback.out << dry_rollback.err);
  CHECK(dry_rollback.exit_code == 0);
  const auto planned = dry_rollback.out.find("not keeping the new membership for restarts (");
  REQUIRE(planned != std::string::npos);
  const std::string persist_words = dry_rollback.out.substr(planned, dry_rollback.out.find('\n', planned) - planned);
  CHECK_THAT(persist_words, Catch::EndsWith("): a reload or restart of the balancer loses it"));
  CHECK_THAT(dry_rollback.out, !Catch::Contains("keep the new membership"));

  const auto rollback = run_tool_as(as_nobody, "deploy-pipeline", {"rollback", "--reason", "x", "--config", config});
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK_THAT(rollback.err, Catch::Contains(persist_words));
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});
  CHECK_THAT(rollback.err, Catch::Contains("warning: balancer.config_file " + haproxy.config_file().string()));
  CHECK_THAT(rollback.err, Catch::Contains("rolling back at runtime only: a HAProxy reload or restart undoes this "
                                           "rollback"));
  CHECK_THAT(rollback.err, Catch::Contains("then run 'deploy-pipeline repair' to keep it"));
  std::size_t warnings = 0;
  for (std::size_t at = rollback.err.find("warning: "); at != std::string::npos;
       at = rollback.err.find("warning: ", at + 1)) {
    ++warnings;
  }
  CHECK(warnings == 1);
  // review5 F2: the last lines, which a CI log's tail shows, say it too.
  CHECK_THAT(rollback.out, Catch::Contains("WARNING: switched at runtime only in the balancer (balancer.config_file "
                                           "cannot be written)"));
  CHECK(*util::read_file(haproxy.config_file()) == config_before);  // not kept: the file is as it was

  // A rollback to the pool live already switches nothing, and it and its dry run say alike that
  // the running membership is not kept for restarts, and what keeps it.
  const std::string running_not_kept =
      "cannot be kept current: its directory " + dir.path().string() + " must be writable by this user";
  const std::string nothing_kept =
      "; nothing to switch, and not keeping the running membership for restarts: a reload or restart of the balancer "
      "routes to 2:";
  for (const bool dry_run : {true, false}) {
    std::vector<std::string> args{"rollback", "--to", "1", "--reason", "x", "--config", config};
    if (dry_run) args.push_back("--dry-run");
    const auto again = run_tool_as(as_nobody, "deploy-pipeline", args);
    INFO(again.out << again.err);
    CHECK(again.exit_code == 0);
    CHECK_THAT(again.err, Catch::Contains(running_not_kept));
    CHECK_THAT(again.err, Catch::Contains(nothing_kept));
    CHECK_THAT(again.err, Catch::Contains("then run 'deploy-pipeline repair' to keep it"));
    CHECK_THAT(again.err, !Catch::Contains("switch at runtime only"));
    CHECK_THAT(again.err, !Catch::Contains("rolling back at runtime only"));
    CHECK_THAT(again.out, dry_run ? Catch::Contains("not keeping the running membership for restarts")
                                  : Catch::Contains("WARNING: nothing was switched, and the running membership is "
                                                    "not kept for restarts in the balancer"));
  }
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});
  CHECK(*util::read_file(haproxy.config_file()) == config_before);

  const auto status = run_tool_as(as_nobody, "deploy-pipeline", {"status", "--config", config});
  INFO(status.out);
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("but a restart would route to [2:"));
  // Why, and what to do first: repair is refused until the directory is writable (it guessed "a
  // reload during a switch, or a change by hand" and advised repair alone).
  CHECK_THAT(status.out, Catch::Contains("(balancer.config_file cannot be written, so a rollback switches at runtime "
                                         "only; the last switch was a rollback, at "));
  CHECK_THAT(status.out,
             Catch::Contains("); make the directory of balancer.config_file writable by this user, then run "
                             "'deploy-pipeline repair' to keep the running membership"));
  CHECK_THAT(status.out, !Catch::Contains("change by hand"));

  // The file still routes to pool 2, so a reload would: delete refuses it (it destroyed it, and
  // the next reload routed to servers that were gone).
  const auto deleted = run_tool_as(as_nobody, "create-pipeline", {"delete", "--label", "2", "--config", config});
  INFO(deleted.err);
  CHECK(deleted.exit_code == 3);
  CHECK_THAT(deleted.err, Catch::Contains("pool 2 is what a reload or restart of the balancer routes to"));
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});

  // Writable again: repair keeps what runs, and its dry run says so (it said "nothing to do").
  give_to(dir.path(), kNobody);
  const auto dry = run_tool_as(as_nobody, "deploy-pipeline", {"repair", "--dry-run", "--config", config});
  INFO(dry.out << dry.err);
  CHECK(dry.exit_code == 0);
  CHECK_THAT(dry.out, Catch::Contains("nothing to switch: it is already the only live pool\n  1. keep the running "
                                      "membership for restarts (a restart would route to 2:"));
  CHECK_THAT(dry.out, !Catch::Contains("nothing to do"));
  CHECK(*util::read_file(haproxy.config_file()) == config_before);
  const auto repair = run_tool_as(as_nobody, "deploy-pipeline", {"repair", "--config", config});
  INFO(repair.err);
  CHECK(repair.exit_code == 0);
  CHECK_THAT(repair.err, Catch::Contains("kept the running membership for restarts (a restart would have routed "
                                         "to 2:"));
  CHECK(*util::read_file(haproxy.config_file()) != config_before);
  CHECK(routed_labels(haproxy) == std::set<std::string>{"1"});
  const auto after = run_tool_as(as_nobody, "deploy-pipeline", {"status", "--config", config});
  INFO(after.out);
  CHECK_THAT(after.out, !Catch::Contains("a restart would route to"));
}

TEST_CASE("a balancer.socket that is a regular file or a directory is a configuration error, exit 2", "[e2e][config]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {});
  const auto with_socket = [&](const fs::path& socket) {
    std::string text = *util::read_file(config);
    text.replace(text.find(haproxy.socket().string()), haproxy.socket().string().size(), socket.string());
    const auto changed = dir.path() / "other-socket.json";
    REQUIRE(util::write_file_atomic(changed, text).ok());
    return changed.string();
  };
  const auto regular = with_socket(config);
  const auto status = run_tool("deploy-pipeline", {"status", "--config", regular});
  single_error(status, 2, "balancer.socket " + config.string() + " is a regular file, not a socket");

  const auto directory = dir.path() / "not-a-socket";
  REQUIRE(util::make_directories(directory).ok());
  const auto in_directory = run_tool("deploy-pipeline", {"status", "--config", with_socket(directory)});
  single_error(in_directory, 2, "balancer.socket " + directory.string() + " is a directory, not a socket");
}
