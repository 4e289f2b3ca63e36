// Invariant 6 when a lock is old: a switch whose holder still runs on this host is running, not
// stale (status says so; --break-lock from this host is refused, naming the pid); a switch whose
// lock was taken over (from another host, where only the lock's age counts) writes nothing more,
// so the new holder's switch is the one status and repair see; and an alert's retry
// (--expect-live, fixed in the pipeline) finishes its own interrupted rollback.

#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// The service's config with `"lock": {"stale_after_s": 1}` added: a lock older than a second
// counts as stale when its holder is on another host.
std::string with_one_second_locks(const std::string& config) {
  auto text = util::read_file(config);
  REQUIRE(text.ok());
  const auto brace = text->find('{');
  REQUIRE(brace != std::string::npos);
  text->insert(brace + 1, "\n  \"lock\": { \"stale_after_s\": 1 },");
  REQUIRE(util::write_file_atomic(config, *text).ok());
  return config;
}

// Runs deploy-pipeline as if on another CI agent sharing this state directory: its own host
// name (a UTS namespace, inside an unprivileged user namespace), the same processes and files.
ToolResult run_on_other_host(const std::vector<std::string>& arguments) {
  return run_tool_as(
      {"unshare", "--user", "--map-root-user", "--uts", "sh", "-c", "hostname agent-b && exec \"$0\" \"$@\""},
      "deploy-pipeline", arguments, {}, std::chrono::seconds(60));
}

// Waits until the file `path` contains `text` (the switch's progress record naming its step).
bool wait_for_text(const fs::path& path, const std::string& text, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (const auto read = util::read_file(path); read && read->find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

// A deploys pool 2, whose servers are dead, so it waits for their health; its lock grows older
// than lock.stale_after_s meanwhile. Seen from this host A runs: status says so, and
// --break-lock here is refused. An agent on another host (B) takes the lock over and deploys
// pool 1 again, removing A's standby members; A, planning again, must not write an intent (nor
// history) after losing the lock, so that status and repair do not "finish" A afterwards,
// undoing B.
TEST_CASE("a switch whose lock is old but whose holder runs is running; once taken over it writes nothing more",
          "[e2e][lock][takeover]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.health_timeout_s = 20;
  const auto config = with_one_second_locks(write_service_config(dir.path(), haproxy, options).string());
  create_pools_1_and_2(config, ThenDeploy::pool_1);
  const auto state = dir.path() / "state" / "web";
  // Pool 2 never becomes healthy: its servers are frozen (they run, so the deploy goes ahead,
  // and answer no check), and thawed when the test ends.
  REQUIRE(signal_pool_servers(state, "2", SIGSTOP));
  struct Thaw {
    fs::path state;
    ~Thaw() { signal_pool_servers(state, "2", SIGCONT); }
  } thaw{state};

  ToolResult a;
  std::thread deploy_a([&] { a = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config}); });
  struct Join {
    std::thread& thread;
    ~Join() {
      if (thread.joinable()) thread.join();
    }
  } join{deploy_a};
  // A is in its health wait (step 2 recorded), and its lock is older than a second.
  REQUIRE(wait_for_text(state / "intent-progress.json", "\"step\":\t1", std::chrono::seconds(20)));
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // ages count in whole seconds

  // c: status tells the running holder from a dead one, however old its lock.
  const auto running = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO("status while A runs: " << running.out << running.err);
  CHECK_THAT(running.out, Catch::Contains("a deploy to pool 2 is running (pid "));
  CHECK_THAT(running.out, !Catch::Contains("interrupted"));
  CHECK_THAT(running.out, !Catch::Contains("left in standby"));
  CHECK_THAT(running.out, !Catch::Contains("stale"));

  // c: --break-lock from the holder's own host does not take a lock whose holder runs.
  const auto refused = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--break-lock", "--config", config});
  INFO("break-lock on this host: " << refused.err);
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("another deploy holds the lock: pid "));
  CHECK_THAT(refused.err, Catch::Contains("running 'deploy --label 2'"));
  CHECK_THAT(refused.err, Catch::Contains("--break-lock takes over only a lock whose holder is no longer running"));
  CHECK_THAT(refused.err, Catch::Contains("hangs, stop it first"));
  // d: the configuration that let A's lock age out while it works is pointed out.
  CHECK_THAT(refused.err, Catch::Contains("warning: lock.stale_after_s (1) is shorter than health_timeout_s + "
                                          "drain_timeout_s (25)"));

  // From another host only the lock's age counts: B takes it over and makes pool 1 alone live.
  // A is held still meanwhile (SIGSTOP: a slow host), so that it notices only afterwards that
  // its members vanished, and plans again once B has finished.
  const auto lock_text = util::read_file(state / "deploy.lock");
  REQUIRE(lock_text.ok());
  const auto lock = parse_output(*lock_text);
  const auto a_pid = static_cast<pid_t>(cJSON_GetObjectItem(lock.get(), "pid")->valuedouble);
  REQUIRE(::kill(a_pid, SIGSTOP) == 0);
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  };
  {
    const Resume resume{a_pid};
    const auto b = run_on_other_host({"deploy", "--label", "1", "--break-lock", "--config", config});
    INFO("B: " << b.err);
    REQUIRE(b.exit_code == 0);
    CHECK_THAT(b.err, Catch::Contains("warning: took over the stale deploy lock of pid " + std::to_string(a_pid)));
  }
  deploy_a.join();

  // a: A stops at its next check, exit 3, having written nothing after losing the lock.
  INFO("A: " << a.err);
  CHECK(a.exit_code == 3);
  CHECK_THAT(a.err, Catch::Contains("the deploy lock is no longer ours"));
  CHECK_FALSE(std::filesystem::exists(state / "intent.json"));
  CHECK_FALSE(std::filesystem::exists(state / "intent-progress.json"));
  const auto history = util::read_file(state / "history.jsonl");
  REQUIRE(history.ok());
  // B's deploy is the last event: A recorded nothing after losing the lock.
  const auto last = parse_output(history->substr(history->rfind('\n', history->size() - 2) + 1));
  CHECK(std::string(cJSON_GetObjectItem(last.get(), "label")->valuestring) == "1");
  CHECK(std::string(cJSON_GetObjectItem(last.get(), "result")->valuestring) == "succeeded");

  // b: B's switch is the one that counts: nothing to finish, nothing that reverts it.
  const auto after = run_tool("deploy-pipeline", {"status", "--config", config});
  INFO("status after: " << after.out << after.err);
  CHECK_THAT(after.out, !Catch::Contains("interrupted"));
  CHECK_THAT(after.out, !Catch::Contains("pool 2 is running"));
  const auto repair = run_tool("deploy-pipeline", {"repair", "--dry-run", "--config", config});
  INFO("repair --dry-run: " << repair.out << repair.err);
  CHECK(repair.exit_code == 0);
  CHECK_THAT(repair.out + repair.err, !Catch::Contains("finishing the interrupted"));
  CHECK(http_get(haproxy.url()).second == "1\n");
}

// The alert pipelines re-run the same job with the same PHOENIX_EXPECT_LIVE: killed half-way
// through its rollback away from pool 3, the retry finishes that rollback. A stale alert (about a
// pool no rollback leaves) with --break-lock is refused before the stale lock is taken over.
TEST_CASE("an alert's retry with --expect-live finishes its own interrupted rollback", "[e2e][lock][expect-live]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  for (const char* label : {"1", "2", "3"}) {
    REQUIRE(run_tool("create-pipeline", {"run", "--label", label, "--config", config}).exit_code == 0);
    REQUIRE(run_tool("deploy-pipeline", {"deploy", "--label", label, "--config", config}).exit_code == 0);
  }
  const std::vector<std::string> alert = {"rollback", "--to",  "1",        "--expect-live", "3",
                                          "--reason", "alert", "--config", config};
  // Killed before its drain (step 5 of 7), pool 1 admitted: pools 1 and 3 both live.
  const auto killed = run_tool("deploy-pipeline-test-hooks", alert, {"PHOENIX_TEST_KILL_AT_STEP=4"});
  REQUIRE(killed.signal == SIGKILL);
  const auto state = dir.path() / "state" / "web";
  REQUIRE(std::filesystem::exists(state / "deploy.lock"));
  const auto dead_lock = util::read_file(state / "deploy.lock");
  REQUIRE(dead_lock.ok());
  const auto half = run_tool("deploy-pipeline", {"status", "--output", "json", "--config", config});
  REQUIRE(cJSON_GetArraySize(cJSON_GetObjectItem(parse_output(half.out).get(), "live")) == 2);

  // A stale alert about pool 2 is refused before the takeover: the dead holder's lock stays.
  auto stale_alert = alert;
  stale_alert[4] = "2";
  stale_alert.push_back("--break-lock");
  const auto stale = run_tool("deploy-pipeline", stale_alert);
  INFO("stale alert: " << stale.err);
  CHECK(stale.exit_code == 3);
  CHECK_THAT(stale.err, Catch::Contains("a stale alert rolls nothing back, nothing was changed"));
  CHECK_THAT(stale.err, !Catch::Contains("took over"));
  const auto lock_after = util::read_file(state / "deploy.lock");
  CHECK((lock_after.ok() && *lock_after == *dead_lock));

  // The retry of the same alert finishes the rollback it started.
  auto retry = alert;
  retry.push_back("--break-lock");
  const auto finished = run_tool("deploy-pipeline", retry);
  INFO("retry: " << finished.err);
  CHECK(finished.exit_code == 0);
  CHECK_THAT(finished.err, Catch::Contains("finishing the interrupted rollback to pool 1"));
  const auto status = run_tool("deploy-pipeline", {"status", "--output", "json", "--config", config});
  INFO(status.out << status.err);
  const auto document = parse_output(status.out);
  const cJSON* live = cJSON_GetObjectItem(document.get(), "live");
  REQUIRE(cJSON_GetArraySize(live) == 1);
  CHECK(std::string(cJSON_GetArrayItem(live, 0)->valuestring) == "1");
  CHECK(cJSON_GetObjectItem(document.get(), "interrupted") == nullptr);
  CHECK(http_get(haproxy.url()).second == "1\n");
}
