// Hostile configurations and arguments, table-driven: each is exit 2 with one line that says
// what is wrong and where, and nothing is created, locked or changed.

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
      {"an unknown output format", "create-pipeline", {"list", "--output", "xml"}, "", "'table' or 'json'"},
      {"an unknown option", "deploy-pipeline", {"deploy", "--label", "1", "--yes"}, "", "yes"},
      {"a reason that is not UTF-8", "deploy-pipeline", {"rollback", "--reason", "bad\xff"}, "", "--reason"},
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
