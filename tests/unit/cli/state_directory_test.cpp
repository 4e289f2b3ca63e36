#include "shared/cli/state_directory.hpp"

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "support/harness.hpp"
#include "support/unwritable.hpp"

using namespace phoenix;

namespace {

config::Config config_with_state_dir(const std::filesystem::path& state_dir) {
  config::Config config;
  config.service = "web";
  config.provider = config::LocalProviderConfig{.state_dir = state_dir};
  return config;
}

}  // namespace

TEST_CASE("status reports a state directory that refuses writes, with its key", "[cli][state-dir]") {
  testing::TempDir dir;
  const auto state = dir.path() / "state";
  REQUIRE(util::make_directories(state / "web").ok());
  const auto config = config_with_state_dir(state);
  CHECK_FALSE(cli::state_directory_problem(config).has_value());
  CHECK(cli::with_state_directory_advice("some failure", config) == "some failure");

  // The service's folder is where the lock, intent and history go: that is the one probed.
  testing::Unwritable unwritable(state / "web");
  REQUIRE(unwritable.active());
  const auto problem = cli::state_directory_problem(config);
  REQUIRE(problem.has_value());
  CHECK_THAT(*problem,
             Catch::StartsWith("state directory " + state.string() + " (provider.state_dir) is not writable ("));
  CHECK_THAT(*problem, Catch::Contains("): deploys and rollbacks will fail; make it writable"));
  const auto advised = cli::with_state_directory_advice("cannot open lock file x: Permission denied", config);
  CHECK_THAT(advised, Catch::StartsWith("cannot open lock file x: Permission denied; the state directory " +
                                        state.string() + " (provider.state_dir) is not writable ("));
  CHECK_THAT(advised, Catch::EndsWith("then run the command again"));
  CHECK(advised.find('\n') == std::string::npos);
}

TEST_CASE("a state directory not made yet is judged by the directory it would be made in", "[cli][state-dir]") {
  testing::TempDir dir;
  const auto config = config_with_state_dir(dir.path() / "not" / "yet");
  CHECK_FALSE(cli::state_directory_problem(config).has_value());
  testing::Unwritable unwritable(dir.path());
  REQUIRE(unwritable.active());
  CHECK(cli::state_directory_problem(config).has_value());
}
