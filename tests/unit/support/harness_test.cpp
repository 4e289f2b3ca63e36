// The end-to-end harness itself: what it hands to the processes it starts.
#include "support/harness.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "shared/util/files.hpp"

using namespace phoenix;
using namespace phoenix::testing;

TEST_CASE("every fake gets a port file of its own, never one an earlier fake left", "[harness]") {
  // Fakes started one after another in one directory (ci_config_test runs a seeded and an empty
  // server side by side): each file stays while its fake runs, and a new fake that found one
  // would talk to the earlier fake.
  TempDir dir;
  std::set<fs::path> seen;
  for (int i = 0; i < 400; ++i) {
    const auto port_file = fresh_file(dir.path(), "jenkins-fake", ".port");
    INFO(port_file.string());
    REQUIRE_FALSE(fs::exists(port_file));
    REQUIRE(seen.insert(port_file).second);
    REQUIRE(util::write_file_atomic(port_file, std::to_string(40000 + i) + "\n").ok());
  }
}
