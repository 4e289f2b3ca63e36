// The one translation unit that compiles Catch2's runner, and refuses, before any test runs, a
// test name Catch2's console reporter would never finish printing.
//
// Catch2 2.13 prints a test's name as a header when one of its checks fails, wrapped to 79
// columns, with the lines after the first indented to where the name's first ": " ends. When that
// leaves a continuation line less than two columns, its line wrapping makes no progress: the run
// prints the end of the name forever at 100 % CPU instead of reporting the failure, and SIGTERM
// does not end it (Catch2's handler prints through the same reporter). With the indent past the
// width, the width underflows and the header comes out garbled. Such a name is an error of the
// test suite, named here with its place.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstddef>
#include <iostream>
#include <string>

namespace {

constexpr std::size_t kHeaderWidth = CATCH_CONFIG_CONSOLE_WIDTH - 1;  // Catch2's TextFlow column

// Whether Catch2's console reporter could not print `name` as a header (forever, or garbled).
bool header_never_ends(const std::string& name) {
  if (name.size() <= kHeaderWidth) return false;  // one line: nothing is indented
  const auto colon = name.find(": ");
  return colon != std::string::npos && colon + 2 + 2 > kHeaderWidth;
}

}  // namespace

int main(int argc, char* argv[]) {
  int refused = 0;
  for (const auto& test : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    if (!header_never_ends(test.name)) continue;
    std::cerr << test.lineInfo << ": error: test name \"" << test.name << "\" has its first \": \" at column "
              << test.name.find(": ") + 1 << ": Catch2's console reporter would print it forever, or garbled, "
              << "on a failure; reword it (no \": \", or one at column " << kHeaderWidth - 3 << " at most)\n";
    ++refused;
  }
  if (refused != 0) return 2;
  return Catch::Session().run(argc, argv);
}
