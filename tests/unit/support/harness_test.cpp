// The end-to-end harness itself: what it hands to the processes it starts.
#include "support/harness.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <set>
#include <thread>

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

// The kernel sends the parent-death signal when the thread that started a process ends, not the
// test process: spawn_owned from a worker thread would have its process stopped under the test.
// It refuses, and starts nothing.
TEST_CASE("spawn_owned refuses to start a process from a thread other than the main thread", "[harness]") {
  TempDir dir;
  const fs::path marker = dir.path() / "started";
  std::optional<Result<util::ProcessIdentity>> started;
  std::thread worker([&] {
    started = spawn_owned({{"touch", marker.string()}, dir.path(), dir.path() / "touch.log"});
  });
  worker.join();
  REQUIRE(started.has_value());
  REQUIRE_FALSE(started->ok());
  CHECK_THAT(started->error().message, Catch::Contains("spawn_owned(touch)") && Catch::Contains("main thread"));
  CHECK_FALSE(fs::exists(marker));
}
