// The test tools share one strict argument parser: a mistyped option in a test, the harness or
// a script is one clear line and exit 2, never a silently different run.

#include <catch2/catch.hpp>

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
