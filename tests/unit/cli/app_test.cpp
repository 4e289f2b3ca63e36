#include "shared/cli/app.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
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
                    }},
                   {.name = "fail",
                    .summary = "fails",
                    .synopsis = "fail",
                    .details = "fails",
                    .example = "test-pipeline fail",
                    .run = [](cli::CommandContext&) -> Status {
                      return Error{ErrorKind::invalid, "it failed"};
                    }}}};

  int run(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), "test-pipeline");
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    return cli::run_program(program, static_cast<int>(argv.size()), argv.data());
  }
};

// What a run prints on stderr when stderr is a terminal (a pseudo-terminal here), where colour
// is wanted unless asked off.
std::string stderr_on_terminal(AppRig& rig, const std::vector<std::string>& arguments) {
  const int terminal = ::posix_openpt(O_RDWR | O_NOCTTY);
  REQUIRE(terminal >= 0);
  REQUIRE(::grantpt(terminal) == 0);
  REQUIRE(::unlockpt(terminal) == 0);
  const int side = ::open(::ptsname(terminal), O_RDWR | O_NOCTTY);
  REQUIRE(side >= 0);
  std::fflush(stderr);
  const int saved = ::dup(STDERR_FILENO);
  ::dup2(side, STDERR_FILENO);
  rig.run(arguments);
  std::fflush(stderr);
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(side);
  std::string text;
  char buffer[4096];
  ::fcntl(terminal, F_SETFL, O_NONBLOCK);
  for (ssize_t got; (got = ::read(terminal, buffer, sizeof buffer)) > 0;) text.append(buffer, static_cast<size_t>(got));
  ::close(terminal);
  return text;
}

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

// --no-color holds for the final error line too, a bad argument's included; without it a
// terminal gets the red "error:".
TEST_CASE("--no-color turns colour off on the error line; a terminal gets it otherwise", "[cli]") {
  const char* no_color = std::getenv("NO_COLOR");
  const std::string kept = no_color != nullptr ? no_color : "";
  ::unsetenv("NO_COLOR");
  AppRig rig;
  const std::string red = "\033[31merror:";
  for (const std::vector<std::string>& arguments :
       {std::vector<std::string>{"fail"}, std::vector<std::string>{"go", "--nope"}}) {
    INFO(arguments.front());
    CHECK_THAT(stderr_on_terminal(rig, arguments), Catch::Contains(red));
    auto without = arguments;
    without.push_back("--no-color");
    const auto plain = stderr_on_terminal(rig, without);
    CHECK_THAT(plain, Catch::Contains("test-pipeline: error: "));
    CHECK_THAT(plain, !Catch::Contains("\033["));
  }
  if (no_color != nullptr) ::setenv("NO_COLOR", kept.c_str(), 1);
}

// An extra word on the command line is named as such, not in Boost's words.
TEST_CASE("an extra argument says what the command takes", "[cli]") {
  AppRig rig;
  CHECK(rig.run({"fail", "extra"}) == 2);
  CHECK_THAT(stderr_on_terminal(rig, {"fail", "extra", "--no-color"}),
             Catch::Contains("unexpected argument 'extra': 'fail' takes no arguments besides its options, which "
                             "start with --"));
  // The option that collects them is no option to give by name, in full or abbreviated.
  for (const std::string name : {"--unexpected-argument", "--unex"}) {
    CHECK(rig.run({"fail", name, "x"}) == 2);
    CHECK_THAT(stderr_on_terminal(rig, {"fail", name, "x", "--no-color"}),
               Catch::Contains("unrecognised option '" + name + "'"));
  }
}

// Options given before the command were "unknown command '--config'": the error now writes the
// command line the way it is taken, and obeys a --no-color given anywhere.
TEST_CASE("options before the command get the command line the way it is taken", "[cli]") {
  AppRig rig;
  CHECK(rig.run({"--config", "web.json", "fail"}) == 2);
  const auto said = stderr_on_terminal(rig, {"--no-color", "--config", "web.json", "fail"});
  CHECK_THAT(said, Catch::Contains("test-pipeline: error: '--no-color' comes before the command; the command comes "
                                   "first: test-pipeline fail --no-color --config web.json"));
  // Pasteable: a value with a space or a quote is quoted as a shell reads it back.
  CHECK_THAT(stderr_on_terminal(rig, {"--config", "my file's.json", "fail", "--no-color"}),
             Catch::Contains("first: test-pipeline fail --config 'my file'\\''s.json' --no-color"));
  // Two words that name commands: which one is an option's value is not guessed.
  CHECK_THAT(stderr_on_terminal(rig, {"--config", "fail", "go", "--no-color"}),
             Catch::Contains("'--config' comes before the command; the command comes first, then its options (see "
                             "'test-pipeline --help')"));
  CHECK_THAT(stderr_on_terminal(rig, {"--nope"}), Catch::Contains("unknown command '--nope'"));
}
