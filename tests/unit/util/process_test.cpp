#include "shared/util/process.hpp"

#include <catch2/catch.hpp>

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
