#include "shared/util/process.hpp"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::util;

TEST_CASE("commands run without a shell, with input, output and exit code", "[process]") {
  CommandRequest request;
  request.argv = {"sh", "-c", "read line; echo \"got $line\"; exit 3"};
  request.input = "hello\n";
  auto result = run_command(request);
  REQUIRE(result.ok());
  CHECK(result->exit_code == 3);
  CHECK(result->output == "got hello\n");
  // Arguments are not interpreted: no globbing, no variable expansion.
  request = {};
  request.argv = {"echo", "$HOME", "*"};
  result = run_command(request);
  REQUIRE(result.ok());
  CHECK(result->output == "$HOME *\n");
}

TEST_CASE("a command that exits without reading its input does not kill the caller with SIGPIPE", "[process]") {
  // The test runner does not ignore SIGPIPE, as a program using run_command may not either.
  CommandRequest request;
  request.argv = {"true"};
  request.input = std::string(4 * 1024 * 1024, 'x');  // far more than a pipe holds
  for (int i = 0; i < 20; ++i) {
    auto result = run_command(request);
    REQUIRE(result.ok());
    CHECK(result->exit_code == 0);
  }
}

TEST_CASE("a command's output is kept up to max_output bytes; the rest is read and dropped", "[process]") {
  CommandRequest request;
  request.argv = {"head", "-c", "10000000", "/dev/zero"};
  request.max_output = 4096;
  auto result = run_command(request);
  REQUIRE(result.ok());
  CHECK(result->exit_code == 0);  // never blocked on a full pipe
  CHECK(result->output.size() == 4096);
  CHECK(result->output_truncated);
  request.max_output = 20000000;
  result = run_command(request);
  REQUIRE(result.ok());
  CHECK(result->output.size() == 10000000);
  CHECK_FALSE(result->output_truncated);
}

TEST_CASE("a command that does not exist is unavailable; one that hangs is stopped", "[process]") {
  CommandRequest request;
  request.argv = {"/nonexistent/tool"};
  auto missing = run_command(request);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::unavailable);
  CommandRequest slow;
  slow.argv = {"sleep", "10"};
  slow.timeout = std::chrono::milliseconds(100);
  auto timed_out = run_command(slow);
  REQUIRE_FALSE(timed_out.ok());
  CHECK(timed_out.error().kind == ErrorKind::timeout);
}

// The stop request reaches a command in its own process group: passed on once, then SIGKILL
// after the grace for a command that ignores it; a command that handles it ends as it chooses.
TEST_CASE("a stop request is passed on to the command's process group, then bounded by the grace", "[process]") {
  int asked = 0;
  CommandRequest request;
  request.stop_signal = [&asked] { return ++asked >= 3 ? SIGTERM : 0; };
  request.stop_grace = std::chrono::milliseconds(300);
  request.timeout = std::chrono::seconds(30);

  request.argv = {"sh", "-c", "trap 'echo stopping; exit 7' TERM; sleep 30 & wait"};
  const auto started = std::chrono::steady_clock::now();
  auto handled = run_command(request);
  REQUIRE(handled.ok());
  CHECK(handled->passed_on_signal == SIGTERM);
  CHECK_FALSE(handled->killed_after_grace);
  CHECK(handled->exit_code == 7);
  CHECK(handled->output == "stopping\n");

  asked = 0;
  request.argv = {"sh", "-c", "trap '' TERM; sleep 30"};
  auto ignored = run_command(request);
  REQUIRE(ignored.ok());
  CHECK(ignored->passed_on_signal == SIGTERM);
  CHECK(ignored->killed_after_grace);
  CHECK(ignored->signal == SIGKILL);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));

  // Without a stop request the command runs to its end.
  request.stop_signal = [] { return 0; };
  request.argv = {"sh", "-c", "sleep 0.3; echo done"};
  auto whole = run_command(request);
  REQUIRE(whole.ok());
  CHECK(whole->passed_on_signal == 0);
  CHECK(whole->output == "done\n");
}

TEST_CASE("detached processes are tracked by pid and start time, and stopped", "[process]") {
  phoenix::testing::TempDir dir;
  auto started = spawn_detached({{"sleep", "30"}, dir.path(), dir.path() / "log"});
  REQUIRE(started.ok());
  CHECK(started->start_ticks != 0);
  CHECK(is_running(*started));
  ProcessIdentity impostor = *started;
  impostor.start_ticks += 1;  // the same pid, but another process
  CHECK_FALSE(is_running(impostor));
  stop_process(*started, std::chrono::milliseconds(500));
  CHECK_FALSE(is_running(*started));
}

TEST_CASE("a gated process exists before it runs anything, and runs only once released", "[process][gated]") {
  phoenix::testing::TempDir dir;
  const auto marker = dir.path() / "ran";
  auto held = GatedProcess::spawn({{"touch", marker.string()}, dir.path(), dir.path() / "log"});
  REQUIRE(held.ok());
  const auto identity = held->identity();
  CHECK(identity.start_ticks != 0);
  CHECK(is_running(identity));  // it exists, and can be recorded
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(fs::exists(marker));  // but runs nothing yet
  REQUIRE(held->release().ok());
  for (int i = 0; i < 500 && !fs::exists(marker); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(fs::exists(marker));
}

TEST_CASE("a gated process its owner drops exits without running anything", "[process][gated]") {
  phoenix::testing::TempDir dir;
  const auto marker = dir.path() / "ran";
  ProcessIdentity identity;
  {
    auto held = GatedProcess::spawn({{"touch", marker.string()}, dir.path(), {}});
    REQUIRE(held.ok());
    identity = held->identity();
  }
  CHECK_FALSE(is_running(identity));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(fs::exists(marker));
}

TEST_CASE("a gated process whose owner is killed exits without running anything", "[process][gated]") {
  phoenix::testing::TempDir dir;
  const auto marker = dir.path() / "ran";
  // The owner is a separate process (this test's own child): it holds one process, then dies.
  CommandRequest owner;
  owner.argv = {(phoenix::testing::binary_directory() / "phoenix-unit-tests").string(), "[gated-owner]"};
  owner.environment = {"PHOENIX_GATED_MARKER=" + marker.string()};
  owner.timeout = std::chrono::seconds(20);
  auto ran = run_command(owner);
  REQUIRE(ran.ok());
  CHECK(ran->signal == SIGKILL);
  const auto pid = parse_int(trim(*read_file(dir.path() / "ran.pid")));
  REQUIRE(pid);
  for (int i = 0; i < 500 && is_running({static_cast<pid_t>(*pid), 0}); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK_FALSE(is_running({static_cast<pid_t>(*pid), 0}));
  CHECK_FALSE(fs::exists(marker));
}

// Not a test on its own: the owner process of the test above (hidden; run by tag).
TEST_CASE("gated owner", "[.gated-owner]") {
  const char* marker = std::getenv("PHOENIX_GATED_MARKER");
  REQUIRE(marker != nullptr);
  auto held = GatedProcess::spawn({{"touch", marker}, {}, {}});
  REQUIRE(held.ok());
  REQUIRE(write_file_atomic(std::string(marker) + ".pid", std::to_string(held->identity().pid)).ok());
  ::kill(::getpid(), SIGKILL);
}

TEST_CASE("a gated program that cannot run is an error, at spawn or at release", "[process][gated]") {
  phoenix::testing::TempDir dir;
  const auto missing = GatedProcess::spawn({{"no-such-program-anywhere"}, dir.path(), {}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::unavailable);
  CHECK_THAT(missing.error().message, Catch::Contains("No such file or directory"));

  REQUIRE(write_file_atomic(dir.path() / "not-executable", "#!/bin/sh\n", 0644).ok());
  auto held = GatedProcess::spawn({{(dir.path() / "not-executable").string()}, dir.path(), {}});
  REQUIRE(held.ok());
  const auto released = held->release();
  REQUIRE_FALSE(released.ok());
  CHECK(released.error().kind == ErrorKind::unavailable);
  CHECK_THAT(released.error().message, Catch::Contains("Permission denied"));
  CHECK_FALSE(is_running(held->identity()));
}

TEST_CASE("a gated process gets exactly the environment it is given", "[process][gated]") {
  phoenix::testing::TempDir dir;
  auto held = GatedProcess::spawn({{"sh", "-c", "env > environment"}, dir.path(), {}, {{"ONLY=this"}}});
  REQUIRE(held.ok());
  REQUIRE(held->release().ok());
  const auto identity = held->identity();
  for (int i = 0; i < 500 && is_running(identity); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto environment = read_file(dir.path() / "environment");
  REQUIRE(environment.ok());
  CHECK_THAT(*environment, Catch::Contains("ONLY=this\n"));
  CHECK(environment->find("HOME=") == std::string::npos);
}
