// The test tools' one argument parser: strict, so a mistyped option in a test or a script is an
// error, not a silently different run.
#include "tools/arguments.hpp"

#include <catch2/catch.hpp>

using phoenix::tools::Arguments;
using phoenix::tools::ParseOutcome;

namespace {

struct ToolOptions {
  std::string file;
  std::string kind = "gocd";
  int connections = 4;
  long long duration_ms = 60000;
  bool verbose = false;
};

struct ParseRig {
  ToolOptions options;
  Arguments arguments{"phoenix-tool", "usage: phoenix-tool --file FILE\n"};

  ParseRig() {
    arguments.text("--file", options.file, true)
        .choice("--kind", options.kind, {"gocd", "jenkins"})
        .number("--connections", options.connections, 1, 256)
        .number("--duration-ms", options.duration_ms, 0, 1000000)
        .flag("--verbose", options.verbose);
  }
  ParseOutcome parse(std::vector<const char*> words) {
    words.insert(words.begin(), "phoenix-tool");
    return arguments.try_parse(static_cast<int>(words.size()), words.data());
  }
};

}  // namespace

TEST_CASE("the tools' arguments: values, flags and defaults", "[tool-arguments]") {
  ParseRig rig;
  REQUIRE(rig.parse({"--connections", "8", "--file", "a.port", "--verbose", "--duration-ms", "0", "--kind",
                     "jenkins"}) == ParseOutcome::parsed);
  CHECK(rig.options.file == "a.port");
  CHECK(rig.options.connections == 8);
  CHECK(rig.options.duration_ms == 0);
  CHECK(rig.options.verbose);
  CHECK(rig.options.kind == "jenkins");

  ParseRig defaults;
  REQUIRE(defaults.parse({"--file", "b"}) == ParseOutcome::parsed);
  CHECK(defaults.options.connections == 4);
  CHECK(defaults.options.kind == "gocd");
  CHECK_FALSE(defaults.options.verbose);

  CHECK(ParseRig().parse({"--file", "b", "--help"}) == ParseOutcome::help);
  CHECK(ParseRig().parse({"-h"}) == ParseOutcome::help);
}

TEST_CASE("the tools' arguments refuse anything they do not know, with the reason", "[tool-arguments]") {
  const auto problem = [](std::vector<const char*> words) {
    ParseRig rig;
    if (rig.parse(std::move(words)) != ParseOutcome::invalid) return std::string("(parsed)");
    return rig.arguments.problem();
  };
  CHECK(problem({"--file", "a", "--conections", "8"}) == "unknown option --conections");
  CHECK(problem({"--file", "a", "stray"}) == "unexpected argument 'stray'");
  CHECK(problem({"--file"}) == "--file needs a value");
  CHECK(problem({"--verbose"}) == "--file is required");
  CHECK(problem({"--file", "a", "--file", "b"}) == "--file is given twice");
  CHECK(problem({"--file", "a", "--connections", "0"}) == "--connections takes a whole number from 1 to 256, not '0'");
  CHECK(problem({"--file", "a", "--connections", "8x"}) ==
        "--connections takes a whole number from 1 to 256, not '8x'");
  CHECK(problem({"--file", "a", "--connections", ""}) == "--connections takes a whole number from 1 to 256, not ''");
  CHECK(problem({"--file", "a", "--kind", "travis"}) == "--kind takes gocd|jenkins, not 'travis'");
  // A flag takes no value: the next word is read as an argument of its own.
  CHECK(problem({"--file", "a", "--verbose", "yes"}) == "unexpected argument 'yes'");
}
