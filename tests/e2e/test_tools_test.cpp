// The test tools share one strict argument parser: a mistyped option in a test, the harness or
// a script is one clear line and exit 2, never a silently different run.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/process.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

TEST_CASE("every test tool refuses an unknown option with one line and exit 2, and has --help", "[e2e][tools]") {
  for (const std::string tool :
       {"phoenix-sample-app", "phoenix-prober", "phoenix-hcloud-fake", "phoenix-ci-fake", "phoenix-webhook-receiver"}) {
    INFO(tool);
    const auto refused = run_tool(tool, {"--no-such-option", "1"});
    CHECK(refused.exit_code == 2);
    CHECK(refused.err == tool + ": unknown option --no-such-option (see --help)\n");
    CHECK(refused.out.empty());

    const auto help = run_tool(tool, {"--help"});
    CHECK(help.exit_code == 0);
    CHECK(help.out.rfind("usage: " + tool, 0) == 0);
    CHECK(help.err.empty());
  }
  const auto missing = run_tool("phoenix-ci-fake", {"--kind", "gocd"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err == "phoenix-ci-fake: --port-file is required (see --help)\n");
  const auto stray = run_tool("phoenix-hcloud-fake", {"--port-file", "p", "--token", "t", "--app", "a", "extra"});
  CHECK(stray.exit_code == 2);
  CHECK(stray.err == "phoenix-hcloud-fake: unexpected argument 'extra' (see --help)\n");
  const auto outside = run_tool("phoenix-prober", {"--url", "http://192.0.2.1/"});
  CHECK(outside.exit_code == 2);
  CHECK(util::split_lines(outside.err).size() == 1);
}

namespace {

// The fields of /proc/<pid>/stat from the state on; empty when the process is gone.
std::vector<std::string> stat_fields(const std::string& pid) {
  std::ifstream stat("/proc/" + pid + "/stat");
  std::string content;
  if (!std::getline(stat, content) || content.rfind(')') == std::string::npos) return {};
  return util::split(std::string_view(content).substr(content.rfind(')') + 2), ' ');
}

// Running and not a zombie: an orphan's zombie lingers until the container's init reaps it.
bool alive(const util::ProcessIdentity& process) {
  const auto fields = stat_fields(std::to_string(process.pid));
  return util::is_running(process) && !fields.empty() && fields[0] != "Z";
}

// The processes whose parent is `pid`, and theirs, as the kernel lists them now.
std::vector<util::ProcessIdentity> descendants_of(pid_t pid) {
  std::vector<util::ProcessIdentity> found;
  std::vector<pid_t> parents = {pid};
  while (!parents.empty()) {
    const pid_t parent = parents.back();
    parents.pop_back();
    for (const auto& entry : fs::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      const auto fields = stat_fields(name);
      if (fields.size() < 2 || fields[1] != std::to_string(parent)) continue;
      const pid_t child = std::stoi(name);
      if (auto ticks = util::process_start_ticks(child)) found.push_back({child, *ticks});
      parents.push_back(child);
    }
  }
  return found;
}

}  // namespace

// Run only by the test below, in a process of its own that it then kills.
TEST_CASE("owned processes: start HAProxy, a sample app and two fakes, then wait to be killed", "[.][owned-inner]") {
  const char* ready = std::getenv("PHOENIX_OWNED_READY");
  REQUIRE(ready != nullptr);
  TempDir dir;
  Haproxy haproxy(dir.path());
  SampleApp app(dir.path(), "1");
  HcloudFake hcloud(dir.path());
  WebhookReceiver webhook(dir.path(), {});
  REQUIRE(util::write_file_atomic(ready, "ready\n").ok());
  std::this_thread::sleep_for(std::chrono::seconds(60));
}

TEST_CASE("a test process killed with SIGKILL leaves none of the processes it started running", "[e2e][tools]") {
  TempDir dir;
  const auto ready = dir.path() / "ready";
  std::vector<std::string> environment;
  for (char** variable = environ; *variable != nullptr; ++variable) environment.emplace_back(*variable);
  environment.push_back("PHOENIX_OWNED_READY=" + ready.string());
  auto inner = util::spawn_detached({{(binary_directory() / "phoenix-e2e-tests").string(), "[owned-inner]"},
                                     dir.path(),
                                     dir.path() / "inner.log",
                                     environment});
  REQUIRE(inner.ok());
  for (int i = 0; i < 3000 && !fs::exists(ready) && util::is_running(*inner); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto started = descendants_of(inner->pid);
  ::kill(inner->pid, SIGKILL);
  REQUIRE(fs::exists(ready));
  CHECK(started.size() >= 4);  // haproxy, the sample app and the two fakes (the fakes' own children too)

  const auto still_running = [&] {
    std::vector<util::ProcessIdentity> running;
    for (const auto& process : started) {
      if (alive(process)) running.push_back(process);
    }
    return running;
  };
  for (int i = 0; i < 1000 && !still_running().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto left = still_running();
  for (const auto& process : left) util::stop_process(process, std::chrono::seconds(1));
  util::stop_process(*inner, std::chrono::seconds(1));
  CHECK(left.empty());
}
