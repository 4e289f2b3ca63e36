// Interrupted and concurrent creates leak no server: every process the local provider starts
// is in pool.json before it runs, a re-run adopts or restarts what an interrupted run left and
// waits until all of it listens, and delete stops every process. Processes are found by their
// working directory (the pool's), so nothing is missed that a record does not know.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <thread>

#include "shared/http/curl_http_client.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct InterruptRig {
  TempDir dir;
  Haproxy haproxy{dir.path()};
  fs::path pool_directory = dir.path() / "state" / "web" / "pools" / "1";
  std::string config;

  // A release that takes 2 s before it listens: a create spends its time starting servers.
  InterruptRig() {
    const auto release = dir.path() / "slow-app";
    REQUIRE(util::write_file_atomic(
                release,
                "#!/bin/sh\nsleep 2\nexec " + (binary_directory() / "phoenix-sample-app").string() + " \"$@\"\n", 0755)
                .ok());
    auto text = *util::read_file(write_service_config(dir.path(), haproxy, {}));
    const auto sample_app = (binary_directory() / "phoenix-sample-app").string();
    text.replace(text.find(sample_app), sample_app.size(), release.string());
    config = (dir.path() / "slow.json").string();
    REQUIRE(util::write_file_atomic(config, text).ok());
  }

  // The same revision every time: a re-run completes the pool (a label names one revision).
  std::vector<std::string> create() const { return {"create", "--label", "1", "--revision", "r1", "--config", config}; }

  // The pids pool.json records (0 for a server not started yet).
  std::set<pid_t> recorded() const {
    std::set<pid_t> pids;
    auto text = util::read_file(pool_directory / "pool.json");
    if (!text) return pids;
    auto record = util::parse_json(*text, "pool.json");
    if (!record) return pids;
    const cJSON* server = nullptr;
    cJSON_ArrayForEach(server, cJSON_GetObjectItem(record->get(), "servers")) {
      pids.insert(static_cast<pid_t>(util::json_number(server, "pid").value_or(0)));
    }
    return pids;
  }

  // The sessions of the live processes whose working directory is the pool's: each server
  // leads its own session, and whatever it runs (a shell script's `sleep`) belongs to it.
  std::set<pid_t> sessions_in_pool() const {
    std::set<pid_t> sessions;
    const std::string prefix = pool_directory.string();
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const auto pid = util::parse_int(entry.path().filename().string());
      if (!pid) continue;
      std::error_code ec;
      const auto cwd = fs::read_symlink(entry.path() / "cwd", ec).string();
      if (ec || (cwd != prefix && cwd.rfind(prefix + "/", 0) != 0)) continue;
      if (const auto session = session_of(static_cast<pid_t>(*pid))) sessions.insert(*session);
    }
    return sessions;
  }

  static std::optional<pid_t> session_of(pid_t pid) {
    auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return std::nullopt;
    const auto fields = util::split(stat->substr(stat->rfind(')') + 2), ' ');
    if (fields.size() < 4 || fields[0] == "Z") return std::nullopt;  // state, ppid, pgrp, session
    const auto session = util::parse_int(fields[3]);
    if (!session) return std::nullopt;
    return static_cast<pid_t>(*session);
  }

  // Nothing runs in the pool's directory that pool.json does not name.
  void require_all_recorded() const {
    const auto running = sessions_in_pool();
    const auto known = recorded();
    for (const auto session : running) {
      INFO("session " << session << " runs in " << pool_directory.string());
      CHECK(known.count(session) == 1);
    }
  }

  // Starts `create` in the background and sends it `signal` `delay` after every server is
  // recorded, while they are still starting; checks the invariant all along.
  void interrupt_create(int signal, std::chrono::milliseconds delay) {
    auto tool = util::spawn_detached({{(binary_directory() / "create-pipeline").string(), "create", "--label", "1",
                                       "--revision", "r1", "--config", config},
                                      dir.path(),
                                      dir.path() / "interrupted-create.log"});
    REQUIRE(tool.ok());
    bool all_recorded = false;
    for (int i = 0; i < 2000 && !all_recorded; ++i) {
      require_all_recorded();
      const auto pids = recorded();
      all_recorded = pids.size() == 3 && pids.count(0) == 0;
      if (!all_recorded) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(all_recorded);
    std::this_thread::sleep_for(delay);
    require_all_recorded();
    ::kill(tool->pid, signal);
    for (int i = 0; i < 500 && util::is_running(*tool); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE_FALSE(util::is_running(*tool));
    INFO(*util::read_file(dir.path() / "interrupted-create.log"));
    CHECK(http_get("http://" + first_address() + "/").first == 0);  // killed while starting
    require_all_recorded();
  }

  std::string first_address() const {
    auto record = util::parse_json(*util::read_file(pool_directory / "pool.json"), "pool.json");
    const cJSON* server = cJSON_GetArrayItem(cJSON_GetObjectItem(record->get(), "servers"), 0);
    return util::json_string(server, "host").value_or("") + ":" +
           std::to_string(static_cast<int>(util::json_number(server, "port").value_or(0)));
  }

  // The pool is complete, every server answers now, and exactly the recorded processes run.
  void require_complete_and_exact() const {
    const auto list = run_tool("create-pipeline", {"list", "--output", "json", "--config", config});
    const auto listing = parse_output(list.out);
    const cJSON* pool = cJSON_GetArrayItem(cJSON_GetObjectItem(listing.get(), "pools"), 0);
    REQUIRE(pool != nullptr);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(pool, "complete")));
    const cJSON* server = nullptr;
    int answering = 0;
    cJSON_ArrayForEach(server, cJSON_GetObjectItem(pool, "servers")) {
      const auto address = util::json_string(server, "address").value_or("");
      INFO(address);
      CHECK(http_get("http://" + address + "/").second == "1\n");
      ++answering;
    }
    CHECK(answering == 3);
    const auto known = recorded();
    CHECK(known.count(0) == 0);
    CHECK(sessions_in_pool() == known);
  }

  void delete_and_require_nothing_left() const {
    const auto deleted = run_tool("create-pipeline", {"delete", "--label", "1", "--config", config});
    INFO(deleted.err);
    CHECK(deleted.exit_code == 0);
    CHECK(sessions_in_pool().empty());
  }
};

}  // namespace

TEST_CASE("create killed with SIGKILL or SIGTERM while servers start: a re-run completes, delete stops all",
          "[e2e][create][crash]") {
  // At once (some servers may not even run yet), and half a second later (all are starting).
  for (const auto& [signal, delay] :
       std::vector<std::pair<int, std::chrono::milliseconds>>{{SIGKILL, std::chrono::milliseconds(0)},
                                                              {SIGKILL, std::chrono::milliseconds(500)},
                                                              {SIGTERM, std::chrono::milliseconds(0)},
                                                              {SIGTERM, std::chrono::milliseconds(500)}}) {
    INFO("signal " << signal << " after " << delay.count() << " ms");
    InterruptRig rig;
    rig.interrupt_create(signal, delay);
    const auto rerun = run_tool("create-pipeline", rig.create());
    INFO(rerun.err);
    CHECK(rerun.exit_code == 0);
    CHECK_THAT(rerun.err, Catch::Contains("resuming the interrupted creation of pool 1"));
    // Returned only once every server listens, adopted ones included.
    rig.require_complete_and_exact();
    rig.delete_and_require_nothing_left();
  }
}

// mark-good accepted a pool whose create was interrupted, making a release that never ran whole
// a rollback target: it is refused (exit 3) in one line naming why and the way on, and the
// pool's verdict is unchanged.
TEST_CASE("mark-good of a pool whose create was interrupted is refused, changing nothing", "[e2e][create][verdicts]") {
  InterruptRig rig;
  rig.interrupt_create(SIGKILL, std::chrono::milliseconds(500));
  const auto refused = run_tool("deploy-pipeline", {"mark-good", "--label", "1", "--config", rig.config});
  INFO(refused.err);
  CHECK(refused.exit_code == 3);
  CHECK(refused.err ==
        "deploy-pipeline: error: pool 1 was not created completely (its create was interrupted), so it cannot be "
        "marked good; nothing was changed: re-run 'create-pipeline create --label 1 --revision r1' first, or "
        "'create-pipeline delete --label 1' removes it\n");
  const auto listing =
      parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", rig.config}).out);
  const cJSON* pool = listed_pool(listing, "1");
  REQUIRE(pool != nullptr);
  CHECK(util::json_string(pool, "verdict") == "unknown");
  CHECK(util::json_string(pool, "verdict_reason") == "");
  rig.delete_and_require_nothing_left();
}

namespace {

// The command lines a stopped create-pipeline names in its error line ("'create-pipeline ...'
// finishes it", "'create-pipeline delete ...', then 'create-pipeline run ...' finish it"), each
// as its arguments after "create-pipeline". The tests name no argument that needs quoting.
std::vector<std::vector<std::string>> named_commands(const std::string& line) {
  std::vector<std::vector<std::string>> commands;
  const std::string start = "'create-pipeline ";
  for (auto at = line.find(start); at != std::string::npos; at = line.find(start, at)) {
    const auto end = line.find('\'', at + 1);
    if (end == std::string::npos) break;
    commands.push_back(util::split(line.substr(at + start.size(), end - at - start.size()), ' '));
    at = end + 1;
  }
  return commands;
}

// The line of `stderr_text` that says why the tool stopped.
std::string error_line(const std::string& stderr_text) {
  for (const auto& line : util::split_lines(stderr_text)) {
    if (line.find("error:") != std::string::npos) return line;
  }
  return "";
}

// Starts 'create-pipeline run --label 1 --junit <junit>' with `environment` as its whole
// environment (a CI agent's), stops it with SIGTERM once every server is recorded and starting
// (each sleeps 2 s before it listens), runs the commands its error line names from the shell of
// an operator who has only the configuration (PHOENIX_CONFIG), each of which must exit 0, and
// requires pool 1 complete and smoke-tested, its JUnit report written. Returns the error line.
std::string stop_run_and_finish_as_named(InterruptRig& rig, std::vector<std::string> environment) {
  const auto junit = (rig.dir.path() / "smoke.xml").string();
  const auto log = rig.dir.path() / "stopped-run.log";
  environment.push_back("HOME=" + rig.dir.path().string());
  environment.push_back("PATH=/usr/bin:/bin");
  auto tool = util::spawn_detached({{(binary_directory() / "create-pipeline").string(), "run", "--label", "1",
                                     "--junit", junit, "--config", rig.config},
                                    rig.dir.path(),
                                    log,
                                    environment});
  REQUIRE(tool.ok());
  bool all_recorded = false;
  for (int i = 0; i < 2000 && !all_recorded; ++i) {
    const auto pids = rig.recorded();
    all_recorded = pids.size() == 3 && pids.count(0) == 0;
    if (!all_recorded) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  REQUIRE(all_recorded);
  ::kill(tool->pid, SIGTERM);
  for (int i = 0; i < 500 && util::is_running(*tool); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE_FALSE(util::is_running(*tool));
  const std::string stopped = error_line(*util::read_file(log));
  INFO(stopped);
  CHECK_THAT(stopped, Catch::Contains("stopped by SIGTERM while 3 servers of pool 1 were starting"));
  CHECK_FALSE(fs::exists(junit));

  const auto commands = named_commands(stopped);
  REQUIRE_FALSE(commands.empty());
  for (const auto& command : commands) {
    const auto ran = run_tool("create-pipeline", command, {"PHOENIX_CONFIG=" + rig.config});
    INFO("create-pipeline " << util::join(command, " ") << "\n" << ran.err);
    REQUIRE(ran.exit_code == 0);
  }
  rig.require_complete_and_exact();
  CHECK(fs::exists(junit));
  const auto list = run_tool("create-pipeline", {"list", "--output", "json", "--config", rig.config});
  const auto listing = parse_output(list.out);
  const cJSON* pool = cJSON_GetArrayItem(cJSON_GetObjectItem(listing.get(), "pools"), 0);
  REQUIRE(pool != nullptr);
  CHECK(util::json_string(pool, "smoke").value_or("") == "passed");
  return stopped;
}

}  // namespace

// A CI job with no revision in its environment (no GIT_COMMIT, no --revision) is cancelled while
// 'create-pipeline run' starts the servers: the pool is left incomplete with no recorded revision,
// which a re-run of the same label is refused for (a label names one revision forever, exit 3).
// The error line names what finishes it instead, and running exactly that finishes it.
TEST_CASE("'create-pipeline run' without a revision stopped while servers start: the commands it names finish it",
          "[e2e][create][interrupt]") {
  InterruptRig rig;
  const auto stopped = stop_run_and_finish_as_named(rig, {});
  CHECK_THAT(stopped, Catch::Contains("'create-pipeline delete --label 1', then 'create-pipeline run --label 1"));
  rig.delete_and_require_nothing_left();
}

// The revision came from the CI agent's environment (GIT_COMMIT): the line names it, so the re-run
// records the same revision from an operator's shell, where GIT_COMMIT is not set.
TEST_CASE("'create-pipeline run' with the CI's revision stopped while servers start: the re-run it names finishes it",
          "[e2e][create][interrupt]") {
  InterruptRig rig;
  const auto stopped = stop_run_and_finish_as_named(rig, {"GIT_COMMIT=0123abc"});
  CHECK_THAT(stopped, Catch::Contains("'create-pipeline run --label 1 --revision 0123abc --junit "));
  rig.delete_and_require_nothing_left();
}

TEST_CASE("two creates of the same label at once: one set of servers, no process leaked", "[e2e][create][race]") {
  InterruptRig rig;
  ToolResult first;
  ToolResult second;
  std::thread racer([&] { second = run_tool("create-pipeline", rig.create()); });
  first = run_tool("create-pipeline", rig.create());
  racer.join();
  INFO(first.err << "\n---\n" << second.err);
  CHECK(first.exit_code == 0);
  CHECK(second.exit_code == 0);
  CHECK((first.err + second.err).find("another run is creating or changing pool 1; waiting for it") !=
        std::string::npos);
  rig.require_complete_and_exact();
  rig.delete_and_require_nothing_left();
}

namespace {

// Makes the sample app at `address` good again (POST /admin/recover on its own address).
void recover_release(const std::string& address) {
  http::CurlHttpClient client;
  HttpRequest request;
  request.method = "POST";
  request.url = "http://" + address + "/admin/recover";
  request.timeout = std::chrono::seconds(5);
  const auto answers = client.perform({request});
  REQUIRE(answers.front());
  REQUIRE(answers.front()->status == 200);
}

}  // namespace

// The CI agent's ssh session drops while 'create-pipeline run' waits for its smoke checks to
// pass (the release answers 500 on /, so the release check keeps retrying): SIGHUP stops it after
// the current round of checks, exit 129, one line that names what finishes it. The servers it
// started are recorded, the verdict stays pending (never "passed"), no JUnit report is written,
// and no lock is left behind. The run had no revision, so a re-run would be refused; the line
// names the smoke test, and once the release is good again, running exactly that finishes it.
TEST_CASE("SIGHUP during the smoke test of 'create-pipeline run': exit 129, verdict pending, no lock left",
          "[e2e][create][interrupt]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 2;
  options.smoke_timeout_s = 60;
  options.extra_arguments = {"--fail-after", "0"};  // / answers 500 from the start: the checks keep retrying
  const auto config = write_service_config(dir.path(), haproxy, options).string();
  const auto state = dir.path() / "state" / "web";
  const auto junit = (dir.path() / "smoke.xml").string();

  ToolResult stopped;
  std::thread run([&] {
    stopped = run_tool("create-pipeline", {"run", "--label", "1", "--junit", junit, "--config", config});
  });
  // Every server listens once the pool is complete; then the smoke test retries.
  bool smoke_testing = false;
  for (int i = 0; i < 3000 && !smoke_testing; ++i) {
    if (const auto text = util::read_file(state / "pools" / "1" / "pool.json")) {
      const auto record = util::parse_json(*text, "pool.json");
      smoke_testing = record && util::json_bool(record->get(), "complete").value_or(false);
    }
    if (!smoke_testing) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const pid_t pid = running_tool("create-pipeline", config);
  if (pid > 0) ::kill(pid, SIGHUP);
  run.join();
  REQUIRE(smoke_testing);
  REQUIRE(pid > 0);
  INFO(stopped.err);
  CHECK(stopped.exit_code == 129);
  CHECK_THAT(stopped.err, Catch::Contains("stopped by SIGHUP during the smoke test of pool 1 (4 of 4 checked, 2 "
                                          "passing); its smoke verdict stays 'pending'; pool 1 records no revision, "
                                          "so a re-run is refused: 'create-pipeline smoke-test --label 1 --junit " +
                                          junit + "' finishes it"));
  std::size_t error_lines = 0;
  for (const auto& line : util::split_lines(stopped.err)) error_lines += line.find("error:") != std::string::npos;
  CHECK(error_lines == 1);
  CHECK_FALSE(fs::exists(junit));
  CHECK_FALSE(fs::exists(state / "deploy.lock"));

  const auto list = run_tool("create-pipeline", {"list", "--output", "json", "--config", config});
  const auto listing = parse_output(list.out);
  const cJSON* pool = cJSON_GetArrayItem(cJSON_GetObjectItem(listing.get(), "pools"), 0);
  REQUIRE(pool != nullptr);
  CHECK(util::json_string(pool, "smoke").value_or("") == "pending");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(pool, "servers")) == 2);

  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItem(pool, "servers")) {
    recover_release(util::json_string(server, "address").value_or(""));
  }
  const auto commands = named_commands(error_line(stopped.err));
  REQUIRE(commands.size() == 1);
  const auto finished = run_tool("create-pipeline", commands.front(), {"PHOENIX_CONFIG=" + config});
  INFO(finished.err);
  CHECK(finished.exit_code == 0);
  CHECK(fs::exists(junit));

  const auto deleted = run_tool("create-pipeline", {"delete", "--label", "1", "--config", config});
  INFO(deleted.err);
  CHECK(deleted.exit_code == 0);
}

// 'create-pipeline rebuild' stops like create while the new pool's servers start: SIGTERM is
// exit 143 with one line naming the command that finishes it, with the label the rebuild chose
// (a rebuild without --label would choose the next free one and start a second pool). That
// command completes the same pool and smoke-tests it.
TEST_CASE("SIGTERM while a rebuild's servers start: exit 143, the named command completes that pool",
          "[e2e][create][interrupt][rebuild]") {
  InterruptRig rig;
  const auto created = run_tool("create-pipeline", rig.create());
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  const auto rebuilt_record = rig.dir.path() / "state" / "web" / "pools" / "1.r1" / "pool.json";

  ToolResult stopped;
  std::thread rebuild([&] {
    stopped = run_tool("create-pipeline", {"rebuild", "--from", "1", "--config", rig.config});
  });
  bool all_recorded = false;
  for (int i = 0; i < 2000 && !all_recorded; ++i) {
    if (const auto text = util::read_file(rebuilt_record)) {
      const auto record = util::parse_json(*text, "pool.json");
      int started = 0;
      const cJSON* server = nullptr;
      if (record) {
        cJSON_ArrayForEach(server, cJSON_GetObjectItem(record->get(), "servers")) {
          started += util::json_number(server, "pid").value_or(0) > 0;
        }
      }
      all_recorded = started == 3;
    }
    if (!all_recorded) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the release takes 2 s to listen
  const pid_t pid = running_tool("create-pipeline", rig.config);
  if (pid > 0) ::kill(pid, SIGTERM);
  rebuild.join();
  REQUIRE(all_recorded);
  REQUIRE(pid > 0);
  INFO(stopped.err);
  CHECK(stopped.exit_code == 143);
  CHECK_THAT(stopped.err, Catch::Contains("stopped by SIGTERM while 3 servers of pool 1.r1 were starting"));
  CHECK_THAT(stopped.err, Catch::Contains("; 'create-pipeline rebuild --from 1 --label 1.r1' finishes it"));
  std::size_t error_lines = 0;
  for (const auto& line : util::split_lines(stopped.err)) error_lines += line.find("error:") != std::string::npos;
  CHECK(error_lines == 1);

  const auto finished =
      run_tool("create-pipeline", {"rebuild", "--from", "1", "--label", "1.r1", "--config", rig.config});
  INFO(finished.err);
  CHECK(finished.exit_code == 0);
  CHECK_THAT(finished.err, Catch::Contains("resuming the interrupted creation of pool 1.r1"));
  CHECK_THAT(finished.out, Catch::Contains("smoke test passed for pool 1.r1"));
  const auto listing =
      parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", rig.config}).out);
  std::set<std::string> labels;
  const cJSON* pool = nullptr;
  cJSON_ArrayForEach(pool, cJSON_GetObjectItem(listing.get(), "pools")) {
    labels.insert(util::json_string(pool, "label").value_or(""));
  }
  CHECK(labels == std::set<std::string>{"1", "1.r1"});
  for (const char* label : {"1.r1", "1"}) {
    const auto deleted = run_tool("create-pipeline", {"delete", "--label", label, "--force", "--config", rig.config});
    INFO(deleted.err);
    CHECK(deleted.exit_code == 0);
  }
}
