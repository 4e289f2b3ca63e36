#include "shared/cli/app.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

using namespace phoenix;

namespace {

// A one-command program that keeps what its command saw.
struct AppRig {
  std::optional<cli::Arguments> seen;
  cli::Program program{
      .name = "test-pipeline",
      .description = "a program for tests",
      .commands = {{.name = "go",
                    .summary = "go",
                    .synopsis = "go [--to L]",
                    .details = "goes",
                    .example = "test-pipeline go",
                    .options = {{.name = "to",
                                 .kind = cli::OptionKind::text,
                                 .value_name = "L",
                                 .help = "where",
                                 .environment = "PHOENIX_APP_TEST_TO"},
                                {.name = "count", .kind = cli::OptionKind::integer, .value_name = "N", .help = "n"},
                                {.name = "fast", .help = "quickly"}},
                    .run = [this](cli::CommandContext& context) -> Status {
                      seen = context.args();
                      return {};
                    }}}};

  int run(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), "test-pipeline");
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    return cli::run_program(program, static_cast<int>(argv.size()), argv.data());
  }
};

}  // namespace

TEST_CASE("an option's environment variable gives its value when the option is absent", "[cli]") {
  AppRig rig;
  ::setenv("PHOENIX_APP_TEST_TO", "41", 1);
  REQUIRE(rig.run({"go"}) == 0);
  REQUIRE(rig.seen);
  CHECK(rig.seen->text("to") == "41");
  CHECK(rig.seen->origin("to") == "PHOENIX_APP_TEST_TO");

  REQUIRE(rig.run({"go", "--to", "40", "--count", "3", "--fast"}) == 0);
  CHECK(rig.seen->text("to") == "40");
  CHECK(rig.seen->origin("to") == "--to");
  CHECK(rig.seen->integer("count") == 3);
  CHECK(rig.seen->flag("fast"));
  ::unsetenv("PHOENIX_APP_TEST_TO");

  REQUIRE(rig.run({"go"}) == 0);
  CHECK_FALSE(rig.seen->text("to").has_value());
  CHECK_FALSE(rig.seen->flag("fast"));
}

TEST_CASE("bad arguments exit 2 before the command runs; --version and --help exit 0", "[cli]") {
  AppRig rig;
  CHECK(rig.run({"go", "--count", "many"}) == 2);
  CHECK(rig.run({"go", "--nope"}) == 2);
  CHECK(rig.run({"nope"}) == 2);
  CHECK(rig.run({"go", "--verbose", "--quiet"}) == 2);
  CHECK_FALSE(rig.seen.has_value());
  CHECK(rig.run({"go", "--version"}) == 0);
  CHECK(rig.run({"go", "--help"}) == 0);
  CHECK(rig.run({"--version"}) == 0);
  CHECK_FALSE(rig.seen.has_value());
}
