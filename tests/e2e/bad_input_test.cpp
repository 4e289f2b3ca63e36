// Hostile configurations and arguments, table-driven: each is exit 2 with one line that says
// what is wrong and where, and nothing is created, locked or changed.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct Case {
  std::string name;
  std::string tool;
  std::vector<std::string> arguments;  // "{config}" is replaced by the case's config file
  std::string config;                  // "" = the valid config; otherwise this text
  std::string expected;                // part of the error line
};

void replace_key(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("hostile configurations and arguments are exit 2 with one line, and change nothing", "[e2e][bad-input]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto valid_path = write_service_config(dir.path(), haproxy, {});
  const std::string valid = *util::read_file(valid_path);
  const auto variant = [&](const std::string& from, const std::string& to) {
    std::string text = valid;
    replace_key(text, from, to);
    return text;
  };
  std::string deep(3000, '[');
  deep += std::string(3000, ']');

  const std::vector<Case> cases = {
      {"service of the wrong type",
       "create-pipeline",
       {"list"},
       variant("\"service\": \"web\"", "\"service\": 5"),
       "service: expected a string, got number"},
      {"a huge pool size", "create-pipeline", {"list"}, variant("\"size\": 3", "\"size\": 1e30"), "pool.size"},
      {"a negative pool size", "create-pipeline", {"list"}, variant("\"size\": 3", "\"size\": -3"), "got -3"},
      {"an unknown key at the top",
       "create-pipeline",
       {"list"},
       variant("\"retention\"", "\"retension\""),
       "unknown key 'retension'"},
      {"an unknown nested key",
       "create-pipeline",
       {"list"},
       variant("\"backend\"", "\"backedn\""),
       "unknown key 'balancer.backedn'; did you mean 'backend'?"},
      {"a syntax error", "create-pipeline", {"list"}, variant("\"pool\": {", "\"pool\" {"), "invalid JSON"},
      {"an empty file", "create-pipeline", {"list"}, " \n", "the file is empty"},
      {"nesting beyond reason", "create-pipeline", {"list"}, deep, "invalid JSON"},
      {"a service name with a path in it",
       "create-pipeline",
       {"list"},
       variant("\"service\": \"web\"", "\"service\": \"../web\""),
       "service: must be"},
      {"a backend name that would inject a command",
       "deploy-pipeline",
       {"status"},
       variant("\"backend\": \"web\"", "\"backend\": \"web\\nshow info\""),
       "balancer.backend"},
      {"a string that is not UTF-8",
       "create-pipeline",
       {"list"},
       variant("\"service\": \"web\"", "\"service\": \"w\xc3\""),
       "service: the value is not valid UTF-8"},
      {"a label with a slash", "create-pipeline", {"create", "--label", "a/b"}, "", "character '/' is not allowed"},
      {"a label of dots", "create-pipeline", {"create", "--label", ".."}, "", "must start with a letter or digit"},
      {"a label with a space", "deploy-pipeline", {"deploy", "--label", "a b"}, "", "character ' ' is not allowed"},
      {"a label that is not UTF-8",
       "create-pipeline",
       {"smoke-test", "--label", "r\xff"},
       "",
       "'\\xFF' is not allowed"},
      {"an empty label", "create-pipeline", {"create", "--label", ""}, "", "it is empty"},
      {"a label too long", "create-pipeline", {"create", "--label", std::string(64, '7')}, "", "64 characters"},
      {"a rollback target with dots", "deploy-pipeline", {"rollback", "--to", "../x"}, "", "--to"},
      {"a negative size", "create-pipeline", {"create", "--label", "1", "--size", "-1"}, "", "--size"},
      {"a zero size",
       "create-pipeline",
       {"create", "--label", "1", "--size", "0"},
       "",
       "--size must be between 1 and 1000"},
      {"a huge size", "create-pipeline", {"create", "--label", "1", "--size", "99999999999999"}, "", "--size"},
      {"a size that is not a number", "create-pipeline", {"run", "--label", "1", "--size", "many"}, "", "--size"},
      {"a negative keep", "create-pipeline", {"prune", "--keep", "-5"}, "", "--keep"},
      {"an empty revision", "create-pipeline", {"run", "--label", "1", "--revision", ""}, "", "--revision is empty"},
      {"an unknown output format", "create-pipeline", {"list", "--output", "xml"}, "", "'table' or 'json'"},
      {"an unknown option", "deploy-pipeline", {"deploy", "--label", "1", "--yes"}, "", "yes"},
      {"a reason that is not UTF-8", "deploy-pipeline", {"rollback", "--reason", "bad\xff"}, "", "--reason"},
      {"a blank reason for mark-good",
       "deploy-pipeline",
       {"mark-good", "--label", "1", "--reason", "  "},
       "",
       "--reason is blank: say why, for the next person, or leave it out"},
      {"a blank reason for mark-bad",
       "deploy-pipeline",
       {"mark-bad", "--label", "1", "--reason", ""},
       "",
       "--reason TEXT is required"},
      {"a NUL in the service name",
       "create-pipeline",
       {"list"},
       variant("\"service\": \"web\"", "\"service\": \"w\\u0000eb\""),
       "service: the value holds a NUL character (\\u0000); it must be 1-63 of A-Z a-z 0-9 . _ -"},
      {"an empty state_dir",
       "deploy-pipeline",
       {"status"},
       variant("\"state_dir\": \"state\"", "\"state_dir\": \"\""),
       "provider.state_dir: must name a directory, not be empty"},
      {"a JUnit report path that is a directory",
       "create-pipeline",
       {"run", "--label", "97", "--junit", dir.path().string()},
       "",
       "--junit " + dir.path().string() + ": it is a directory"},
      {"a JUnit report path where no file can be created",
       "create-pipeline",
       {"run", "--label", "96", "--junit", "/proc/version"},
       "",
       "--junit /proc/version: cannot write a file in /proc"},
      {"a JUnit report path below a file",
       "create-pipeline",
       {"rebuild", "--from", "1", "--junit", (valid_path / "smoke.xml").string()},
       "",
       "--junit " + (valid_path / "smoke.xml").string() + ": " + valid_path.string() + " is not a directory"},
      {"a JUnit report of a smoke test that cannot be written",
       "create-pipeline",
       {"smoke-test", "--label", "1", "--junit", "/proc/smoke.xml"},
       "",
       "--junit /proc/smoke.xml: cannot write a file in /proc"},
      {"a config that is a directory",
       "create-pipeline",
       {"list", "--config", dir.path().string()},
       "",
       "it is a directory"},
      {"a config that cannot be read",
       "create-pipeline",
       {"list", "--config", haproxy.socket().string()},
       "",
       "cannot read"},
      {"a config that does not exist",
       "create-pipeline",
       {"list", "--config", "/nonexistent/web.json"},
       "",
       "no such file"},
  };

  int index = 0;
  for (const auto& bad : cases) {
    INFO(bad.name);
    std::string config = valid_path.string();
    if (!bad.config.empty()) {
      config = (dir.path() / ("case-" + std::to_string(index++) + ".json")).string();
      REQUIRE(util::write_file_atomic(config, bad.config).ok());
    }
    auto arguments = bad.arguments;
    if (std::find(arguments.begin(), arguments.end(), "--config") == arguments.end()) {
      arguments.insert(arguments.end(), {"--config", config});
    }
    const auto result = run_tool(bad.tool, arguments);
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(result.out.empty());
    const auto lines = util::split_lines(result.err);
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::StartsWith(bad.tool + ": error: "));
    CHECK_THAT(lines[0], Catch::Contains(bad.expected));
  }
  // Nothing was created, locked or changed.
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state"));
  CHECK(haproxy.command("show servers state web").find(" 1:") == std::string::npos);
}

TEST_CASE("a FIFO, a device or a huge file where Phoenix expects a file is exit 2 at once", "[e2e][bad-input]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  const auto fifo = dir.path() / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const auto huge = dir.path() / "huge.json";  // sparse: 4 GiB on paper, nothing on disk
  REQUIRE(util::write_file_atomic(huge, "").ok());
  fs::resize_file(huge, std::uintmax_t{4} << 30);
  // A Hetzner service that never reaches its API: reading its files comes first.
  const auto hcloud_config = [&](const std::string& name, const std::string& file_keys) {
    const auto path = dir.path() / name;
    REQUIRE(util::write_file_atomic(path, R"({ "service": "web",
      "provider": { "type": "hcloud", "server_type": "cx22", "image": "debian-12", "state_dir": "state",
                    "endpoint": "http://127.0.0.1:9/v1", )" +
                                              file_keys + R"( },
      "balancer": { "type": "hcloud", "load_balancer": "web-lb" } })")
                .ok());
    return path.string();
  };

  struct FileCase {
    std::string name;
    std::string tool;
    std::vector<std::string> arguments;
    std::vector<std::string> environment;
    std::string expected;
  };
  const std::vector<FileCase> cases = {
      {"the config is a FIFO",
       "create-pipeline",
       {"list", "--config", fifo.string()},
       {},
       "not a regular file (it is a FIFO)"},
      {"the config is /dev/zero",
       "create-pipeline",
       {"list", "--config", "/dev/zero"},
       {},
       "/dev/zero: not a regular file (it is a character device)"},
      {"the config is huge", "deploy-pipeline", {"status", "--config", huge.string()}, {}, "larger than 1048576 bytes"},
      {"the token file is a FIFO",
       "create-pipeline",
       {"list", "--config", hcloud_config("token.json", R"("token_file": ")" + fifo.string() + "\"")},
       {},
       "not a regular file (it is a FIFO)"},
      {"the user data file is /dev/zero",
       "create-pipeline",
       {"list", "--config", hcloud_config("user-data.json", R"("user_data_file": "/dev/zero")")},
       {"HCLOUD_TOKEN=t0k3n-for-the-file-test"},
       "not a regular file (it is a character device)"},
  };
  for (const auto& bad : cases) {
    INFO(bad.name);
    // Bounded memory and time, so a regression fails the test instead of the machine.
    const auto result =
        run_tool_as({"prlimit", "--as=1073741824"}, bad.tool, bad.arguments, bad.environment, std::chrono::seconds(20));
    INFO("stderr: " << result.err);
    CHECK(result.exit_code == 2);
    CHECK(result.duration_ms() < 5000);
    const auto lines = util::split_lines(result.err);
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::StartsWith(bad.tool + ": error: "));
    CHECK_THAT(lines[0], Catch::Contains(bad.expected));
    // The file named is there: pointing at another is no way on.
    CHECK_THAT(lines[0], !Catch::Contains("pass --config FILE"));
  }

  // State records: a FIFO in place of the history is exit 2; one in place of a pool record
  // makes that pool unreadable, listed with why, and the listing still ends.
  const auto state = dir.path() / "state" / "web";
  REQUIRE(util::make_directories(state / "pools" / "7").ok());
  REQUIRE(::mkfifo((state / "history.jsonl").c_str(), 0600) == 0);
  REQUIRE(::mkfifo((state / "pools" / "7" / "pool.json").c_str(), 0600) == 0);
  const auto history = run_tool("deploy-pipeline", {"history", "--config", config}, {}, std::chrono::seconds(20));
  INFO("stderr: " << history.err);
  CHECK(history.exit_code == 2);
  CHECK_THAT(history.err, Catch::Contains("history.jsonl: not a regular file (it is a FIFO)"));
  const auto list = run_tool("create-pipeline", {"list", "--config", config}, {}, std::chrono::seconds(20));
  INFO("stdout: " << list.out << "stderr: " << list.err);
  CHECK(list.exit_code == 0);
  CHECK_THAT(list.out,
             Catch::Contains("pool 7 is unreadable: cannot read " + (state / "pools" / "7" / "pool.json").string() +
                             ": not a regular file (it is a FIFO)"));
}

// A hostile probe found that a watch check URL with a space passed the configuration: every
// watched deploy then switched, "breached" on libcurl's "URL using bad/illegal format" and rolled
// a healthy release back. The URL is refused when the configuration is read: exit 2, one line
// naming the file and the key, before anything is locked or switched.
TEST_CASE("a watch check URL with a space is exit 2 with one line before a watched deploy switches anything",
          "[e2e][bad-input][url]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  ServiceOptions options;
  options.pool_size = 1;
  const auto good = write_service_config(dir.path(), haproxy, options).string();
  options.file_name = "typo.json";
  options.watch = R"({ "checks": [ { "name": "home",
    "url": "http://127.0.0.1:)" +
                  std::to_string(haproxy.port()) + R"(/he alth" } ] })";
  const auto typo = write_service_config(dir.path(), haproxy, options).string();
  const auto run = [](const std::string& tool, std::vector<std::string> arguments, const std::string& config) {
    arguments.insert(arguments.end(), {"--config", config});
    return run_tool(tool, arguments, {}, std::chrono::seconds(60));
  };
  for (const char* label : {"1", "2"}) REQUIRE(run("create-pipeline", {"run", "--label", label}, good).exit_code == 0);
  REQUIRE(run("deploy-pipeline", {"deploy", "--label", "1"}, good).exit_code == 0);
  const auto history_before = run("deploy-pipeline", {"history", "--output", "json"}, good);
  REQUIRE(history_before.exit_code == 0);

  const std::string url = "http://127.0.0.1:" + std::to_string(haproxy.port()) + "/he alth";
  const std::string problem = "watch.checks[0].url: '" + url +
                              "' is not a valid URL: it contains a space at position " +
                              std::to_string(url.find(' ') + 1) +
                              " (if it belongs there: %20); expected the public frontend, e.g. "
                              "https://shop.example/health";
  for (const std::vector<std::string>& arguments :
       {std::vector<std::string>{"deploy", "--label", "2", "--watch", "5s"}, std::vector<std::string>{"status"}}) {
    INFO(util::join(arguments, " "));
    const auto refused = run("deploy-pipeline", arguments, typo);
    INFO("stderr: " << refused.err);
    CHECK(refused.exit_code == 2);
    CHECK(refused.out.empty());
    const auto lines = util::split_lines(refused.err);
    REQUIRE(lines.size() == 1);
    CHECK_THAT(lines[0], Catch::StartsWith("deploy-pipeline: error: " + typo + ":"));
    CHECK_THAT(lines[0], Catch::EndsWith(problem));
  }
  // Nothing switched, nothing rolled back: the history is what it was.
  const auto history_after = run("deploy-pipeline", {"history", "--output", "json"}, good);
  CHECK(history_after.out == history_before.out);
}
