#include "shared/notify/command_notifier.hpp"

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using std::chrono::milliseconds;

namespace {

Notification delete_event() {
  return Notification{.action = HistoryAction::delete_pool, .service = "web", .to = "40", .who = "bot"};
}

notify::CommandTarget sh_target(const std::string& script, const std::vector<std::string>& arguments,
                                milliseconds timeout = milliseconds(5000)) {
  notify::CommandTarget target{.name = "command (sh)", .argv = {"sh", "-c", script, "sh"}, .timeout = timeout};
  target.argv.insert(target.argv.end(), arguments.begin(), arguments.end());
  return target;
}

std::size_t runs_recorded(const std::filesystem::path& file) {
  auto text = util::read_file(file);
  return text ? util::split_lines(*text).size() : 0;
}

}  // namespace

TEST_CASE("a command notifier runs the program with the JSON document on stdin", "[notify][command]") {
  testing::TempDir dir;
  const auto received = dir.path() / "received.json";
  util::SystemClock clock;
  // The arguments reach the program as they are: no shell of Phoenix's interprets them.
  notify::CommandNotifier command(
      clock, sh_target("cat > \"$1\"; printf '%s' \"$2\" > \"$1.argument\"", {received.string(), "$HOME *"}));
  REQUIRE(command.notify(delete_event()).ok());
  auto text = util::read_file(received);
  REQUIRE(text.ok());
  CHECK(util::split_lines(*text).size() == 1);  // one line of JSON
  auto document = util::parse_json(*text, "stdin");
  REQUIRE(document.ok());
  CHECK(util::json_string(document->get(), "event") == "delete");
  CHECK(util::json_string(document->get(), "to") == "40");
  CHECK(util::json_string(document->get(), "who") == "bot");
  CHECK(*util::read_file(dir.path() / "received.json.argument") == "$HOME *");
}

TEST_CASE("a failing command is retried once and reported with its last line", "[notify][command][retry]") {
  testing::TempDir dir;
  const auto runs = dir.path() / "runs";
  util::SystemClock clock;
  notify::CommandNotifier failing(clock,
                                  sh_target("echo run >> \"$1\"; echo 'pager: no route' >&2; exit 3", {runs.string()}));
  const auto status = failing.notify(delete_event());
  REQUIRE_FALSE(status.ok());
  CHECK(runs_recorded(runs) == 2);
  CHECK(status.error().message == "command (sh): exited with 3: pager: no route (after a retry)");

  // Succeeding on the retry is delivered.
  const auto flaky_runs = dir.path() / "flaky";
  notify::CommandNotifier flaky(clock,
                                sh_target("echo run >> \"$1\"; [ $(wc -l < \"$1\") -ge 2 ]", {flaky_runs.string()}));
  CHECK(flaky.notify(delete_event()).ok());
  CHECK(runs_recorded(flaky_runs) == 2);
}

TEST_CASE("a command that hangs is stopped at its timeout and not retried", "[notify][command][timeout]") {
  testing::TempDir dir;
  const auto runs = dir.path() / "runs";
  util::SystemClock clock;
  notify::CommandNotifier hanging(clock,
                                  sh_target("echo run >> \"$1\"; exec sleep 30", {runs.string()}, milliseconds(300)));
  const auto started = std::chrono::steady_clock::now();
  const auto status = hanging.notify(delete_event());
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().kind == ErrorKind::timeout);
  CHECK(status.error().message == "command (sh): did not finish within its timeout (300 ms) and was stopped");
  CHECK(runs_recorded(runs) == 1);
  CHECK(took < std::chrono::seconds(30));  // the hang's length, not a tight bound
}

TEST_CASE("a command that cannot start is reported", "[notify][command]") {
  util::SystemClock clock;
  notify::CommandNotifier missing(
      clock,
      {.name = "command (no-such-program)", .argv = {"/nonexistent/no-such-program"}, .timeout = milliseconds(2000)});
  const auto status = missing.notify(delete_event());
  REQUIRE_FALSE(status.ok());
  CHECK_THAT(status.error().message, Catch::StartsWith("command (no-such-program): "));
}
