// The exec provider with the shipped example (pipeline-configs/exec-example/pool.py), driven
// through the real binaries against a real HAProxy; and the protocol's failure modes.

#include <signal.h>

#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

fs::path write_exec_config(const fs::path& dir, const Haproxy& haproxy, const std::vector<std::string>& command,
                           const std::string& name = "exec.json", int timeout_s = 60) {
  std::string argv;
  for (const auto& part : command) argv += (argv.empty() ? "\"" : ", \"") + part + "\"";
  const std::string text = R"({
  "service": "web",
  "pool": { "size": 2 },
  "provider": { "type": "exec", "command": [)" +
                           argv + R"(], "timeout_s": )" + std::to_string(timeout_s) + R"(,
                "supports_power": true, "supports_archive": true, "state_dir": "state" },
  "smoke_test": { "timeout_s": 10, "checks": [ { "name": "release", "path": "/", "expect_body": "{label}" } ] },
  "balancer": { "type": "haproxy", "socket": ")" +
                           haproxy.socket().string() + R"(", "backend": "web",
                "health_timeout_s": 10, "drain_timeout_s": 2, "check": { "interval_ms": 100, "rise": 1 } }
})";
  const auto path = dir / name;
  REQUIRE(util::write_file_atomic(path, text).ok());
  return path;
}

std::vector<std::string> example_command(const fs::path& dir) {
  return {(source_directory() / "pipeline-configs" / "exec-example" / "pool.py").string(), "--state",
          (dir / "exec-state").string(), "--artifact", (binary_directory() / "phoenix-sample-app").string()};
}

}  // namespace

TEST_CASE("the exec example runs the whole loop", "[e2e][exec]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_exec_config(dir.path(), haproxy, example_command(dir.path())).string();
  const auto ok = [&](const std::string& tool, std::vector<std::string> arguments) {
    arguments.insert(arguments.end(), {"--config", config});
    const auto result = run_tool(tool, arguments);
    INFO(tool << " " << util::join(arguments, " ") << "\n" << result.err);
    REQUIRE(result.exit_code == 0);
    return result;
  };
  ok("create-pipeline", {"run", "--label", "1"});
  ok("deploy-pipeline", {"deploy", "--label", "1"});
  ok("create-pipeline", {"run", "--label", "2"});
  Prober prober(dir.path(), haproxy.url());
  ok("deploy-pipeline", {"deploy", "--label", "2"});
  ok("deploy-pipeline", {"rollback", "--reason", "exec test"});
  CHECK(prober.finish().failed == 0);
  CHECK(http_get(haproxy.url()).second == "1\n");
  const auto listed = ok("create-pipeline", {"list", "--output", "json"});
  CHECK_THAT(listed.out, Catch::Contains("\"verdict\":\t\"bad\""));
  CHECK(run_tool("create-pipeline", {"delete", "--label", "1", "--config", config}).exit_code == 3);
  ok("create-pipeline", {"power-off", "--label", "2"});
  ok("deploy-pipeline", {"deploy", "--label", "2", "--force"});  // powers it on, smoke-tests, switches
  CHECK(http_get(haproxy.url()).second == "2\n");
  // The cold tier through the example's optional verbs: the live pool 2 is refused; a new pool is
  // archived, listed cold, and woken by a deploy under load.
  CHECK(run_tool("create-pipeline", {"archive", "--label", "2", "--config", config}).exit_code == 3);
  ok("create-pipeline", {"run", "--label", "3"});
  ok("create-pipeline", {"archive", "--label", "3"});
  CHECK_FALSE(std::filesystem::exists(dir.path() / "exec-state" / "web" / "3.release"));
  CHECK_THAT(ok("create-pipeline", {"list"}).out, Catch::Contains("cold"));
  {
    Prober cold_prober(dir.path(), haproxy.url());
    const auto woken = ok("deploy-pipeline", {"deploy", "--label", "3"});
    CHECK_THAT(woken.err, Catch::Contains("pool 3 is cold: recreating its 2 servers from its archive"));
    CHECK(cold_prober.finish().failed == 0);
  }
  CHECK(http_get(haproxy.url()).second == "3\n");
  // Pool 1, hot, is the last rollback target (2 is marked bad): deleting it takes --force.
  CHECK(run_tool("create-pipeline", {"delete", "--label", "1", "--config", config}).exit_code == 3);
  ok("create-pipeline", {"delete", "--label", "1", "--force"});
  CHECK_FALSE(std::filesystem::exists(dir.path() / "exec-state" / "web" / "1.json"));
}

TEST_CASE("exec commands that fail, lie or hang are one clear line and exit 4", "[e2e][exec]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto script = [&](const std::string& name, const std::string& body) {
    const auto path = dir.path() / name;
    REQUIRE(util::write_file_atomic(path, "#!/bin/sh\n" + body + "\n", 0755).ok());
    return path.string();
  };
  struct Case {
    std::string script;
    int timeout_s;
    int exit_code;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {script("exits.sh", "echo 'terraform: quota exceeded' >&2; exit 3"), 10, 4,
       "exited with 3; its messages are above"},
      {script("garbage.sh", "echo 'not json at all'"), 10, 4, "printed something that is not JSON on stdout: not json"},
      {script("no-pools.sh", "echo '{\"pool\": 1}'"), 10, 4, "'list' answer has no 'pools' list"},
      {script("bad-server.sh",
              "echo '{\"pools\": [{\"label\": \"1\", \"created_at\": \"2026-11-26T00:00:00Z\", "
              "\"servers\": [{\"id\": \"a b\", \"host\": \"x\", \"port\": 1}]}]}'"),
       10, 4, "needs an id of [A-Za-z0-9._-], a host and a port"},
      {script("reports.sh", "echo '{\"error\": \"the cloud is on fire\"}'"), 10, 1, "reported: the cloud is on fire"},
      {script("hangs.sh", "sleep 30"), 1, 4, "did not finish within 1.00 s and was stopped"},
  };
  for (const auto& bad : cases) {
    INFO(bad.script);
    const auto config = write_exec_config(dir.path(), haproxy, {bad.script}, "case.json", bad.timeout_s);
    const auto result = run_tool("create-pipeline", {"list", "--config", config.string()});
    CHECK(result.exit_code == bad.exit_code);
    std::vector<std::string> errors;
    for (const auto& line : util::split_lines(result.err)) {
      if (line.rfind("create-pipeline: error: ", 0) == 0) errors.push_back(line);
    }
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::Contains(bad.expected));
  }
  // The command's own stderr reaches the operator.
  const auto config = write_exec_config(dir.path(), haproxy, {cases[0].script}, "case.json");
  CHECK_THAT(run_tool("create-pipeline", {"list", "--config", config.string()}).err,
             Catch::Contains("terraform: quota exceeded"));
}

namespace {

// Whether process `pid` is gone (or only a zombie waiting to be reaped).
bool process_gone(pid_t pid) {
  const auto stat = util::read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  const auto close = stat->rfind(')');
  return close == std::string::npos || stat->substr(close + 2, 1) == "Z";
}

}  // namespace

// A CI job cancelled (SIGTERM) while the operator's create script works (here: sleeps, as a
// terraform apply would): the signal is passed on to the script's process group, which gets
// provider.stop_grace_s to end, then is killed; the create (or run) ends at once with exit 143
// and one line saying it was stopped by SIGTERM, that the pool was not created completely, and
// naming the command that finishes it; nothing of the script is left running, no lock is left,
// and that command (the script's create is idempotent) completes the pool.
TEST_CASE("SIGTERM while the exec provider's create runs (create, run): passed on, bounded, re-run completes",
          "[e2e][exec][interrupt]") {
  struct Case {
    std::string name;
    std::string command;       // create-pipeline's command: create, or run (create, then smoke-test)
    std::string before_sleep;  // shell commands before the script sleeps
    std::string ended;         // how the error line says the script ended
  };
  const std::vector<Case> cases = {
      {"create, the script ends on the signal", "create", "",
       "the signal was passed on to it, and it ended by signal 15"},
      {"create, the script ignores the signal", "create", "trap '' TERM",
       "the signal was passed on to it, and it did not end within 1.00 s (provider.stop_grace_s) and was killed"},
      {"run, the script ends on the signal", "run", "", "the signal was passed on to it, and it ended by signal 15"},
  };
  for (const auto& script_case : cases) {
    INFO(script_case.name);
    TempDir dir;
    Haproxy haproxy(dir.path());
    const auto marker = dir.path() / "interrupted-once";
    const auto sleeper = dir.path() / "sleep.pid";
    std::string example;
    for (const auto& part : example_command(dir.path())) example += " " + util::shell_quote(part);
    const auto script = dir.path() / "slow-create.sh";
    REQUIRE(util::write_file_atomic(script,
                                    "#!/bin/sh\n"
                                    "for operation; do :; done\n"
                                    "if [ \"$operation\" = create ] && [ ! -e " +
                                        marker.string() + " ]; then\n  touch " + marker.string() + "\n  " +
                                        script_case.before_sleep + "\n  sleep 30 &\n  echo $! > " + sleeper.string() +
                                        "\n  wait $!\nfi\nexec" + example + " \"$@\"\n",
                                    0755)
                .ok());
    auto text = *util::read_file(write_exec_config(dir.path(), haproxy, {script.string()}));
    text.replace(text.find("\"timeout_s\": 60"), 15, "\"timeout_s\": 60, \"stop_grace_s\": 1");
    const auto config = (dir.path() / "slow-exec.json").string();
    REQUIRE(util::write_file_atomic(config, text).ok());

    ToolResult stopped;
    std::thread create([&] {
      stopped =
          run_tool("create-pipeline", {script_case.command, "--label", "1", "--revision", "r1", "--config", config});
    });
    std::optional<long long> sleep_pid;
    for (int i = 0; i < 2000 && !sleep_pid; ++i) {
      if (const auto pid = util::read_file(sleeper)) sleep_pid = util::parse_int(util::trim(*pid));
      if (!sleep_pid) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const pid_t pid = running_tool("create-pipeline", config);
    const auto signalled = std::chrono::steady_clock::now();
    if (pid > 0) ::kill(pid, SIGTERM);
    create.join();
    const auto took = std::chrono::steady_clock::now() - signalled;
    INFO(stopped.err);
    REQUIRE(sleep_pid);
    REQUIRE(pid > 0);
    CHECK(stopped.exit_code == 143);
    CHECK(took < std::chrono::seconds(5));  // the script sleeps 30 s
    // Cancelled by the signal, where the pool stands, and the one command that finishes it.
    CHECK_THAT(stopped.err,
               Catch::Contains("create-pipeline: error: stopped by SIGTERM while the exec provider's "
                               "'create' (" +
                               util::shell_quote(script.string()) + ") created pool 1: " + script_case.ended +
                               "; pool 1 was not created completely (it is what the command left); "
                               "'create-pipeline " +
                               script_case.command + " --label 1 --revision r1' finishes it\n"));
    std::size_t error_lines = 0;
    for (const auto& line : util::split_lines(stopped.err)) error_lines += line.find("error:") != std::string::npos;
    CHECK(error_lines == 1);
    CHECK(process_gone(static_cast<pid_t>(*sleep_pid)));
    CHECK_FALSE(fs::exists(dir.path() / "state" / "web" / "deploy.lock"));

    const auto finished =
        run_tool("create-pipeline", {script_case.command, "--label", "1", "--revision", "r1", "--config", config});
    INFO(finished.err);
    CHECK(finished.exit_code == 0);
    const auto listing =
        parse_output(run_tool("create-pipeline", {"list", "--output", "json", "--config", config}).out);
    const cJSON* pool = cJSON_GetArrayItem(cJSON_GetObjectItem(listing.get(), "pools"), 0);
    REQUIRE(pool != nullptr);
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(pool, "complete")));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(pool, "servers")) == 2);
    // After run, pool 1 passed its smoke test: the last known-good pool goes only with --force.
    CHECK(run_tool("create-pipeline", {"delete", "--label", "1", "--force", "--config", config}).exit_code == 0);
  }
}
