#include "shared/providers/local_provider.hpp"

#include <catch2/catch.hpp>
#include <set>

#include "fakes/recording_reporter.hpp"
#include "shared/util/files.hpp"
#include "support/harness.hpp"

using namespace phoenix;

namespace {
struct LocalProviderRig {
  testing::TempDir dir;
  util::SystemClock clock;
  fakes::RecordingReporter reporter;
  providers::LocalProviderSettings settings{"web",
                                            dir.path() / "state",
                                            testing::binary_directory() / "phoenix-sample-app",
                                            {"{artifact}", "--listen", "{host}:{port}", "--release", "{label}"},
                                            std::chrono::seconds(10)};
  providers::LocalProvider provider{settings, clock, reporter};

  PoolSpec spec(const std::string& label, int size) {
    PoolSpec pool;
    pool.meta.label = label;
    pool.meta.created_at = clock.wall_now();
    pool.size = size;
    return pool;
  }
};
}  // namespace

TEST_CASE("a local pool is real processes, each on its own loopback address", "[local-provider]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("7", 3));
  REQUIRE(pool.ok());
  REQUIRE(pool->servers.size() == 3);
  std::set<std::string> hosts;
  for (const auto& server : pool->servers) {
    CHECK(server.state == ServerState::running);
    CHECK(server.host.rfind("127.", 0) == 0);
    hosts.insert(server.host);
    CHECK(testing::http_get("http://" + server.address() + "/").second == "7\n");
  }
  CHECK(hosts.size() == 3);
  // The pool has its own copy of the release.
  CHECK(std::filesystem::exists(rig.dir.path() / "state" / "web" / "pools" / "7" / "release" / "phoenix-sample-app"));
  REQUIRE(rig.provider.destroy_pool(*pool).ok());
  CHECK(rig.provider.list_pools()->empty());
  CHECK(testing::http_get("http://" + pool->servers[0].address() + "/").first == 0);
}

TEST_CASE("a retained pool keeps running its own release after the artifact changes", "[local-provider]") {
  LocalProviderRig rig;
  // A private artifact this test can replace.
  const auto artifact = rig.dir.path() / "app";
  REQUIRE(util::copy_tree(testing::binary_directory() / "phoenix-sample-app", artifact).ok());
  rig.settings.artifact = artifact;
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("1", 1));
  REQUIRE(pool.ok());
  REQUIRE(util::write_file_atomic(artifact, "#!/bin/sh\nexit 1\n", 0755).ok());
  const auto copy = rig.dir.path() / "state" / "web" / "pools" / "1" / "release" / "app";
  CHECK(util::read_file(copy)->size() > 1000);  // still the real binary
  auto listed = provider.list_pools();
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().servers[0].state == ServerState::running);
  REQUIRE(provider.destroy_pool(listed->front()).ok());
}

TEST_CASE("a server that dies shows as dead; power off and on keep the addresses", "[local-provider]") {
  LocalProviderRig rig;
  auto pool = rig.provider.create_pool(rig.spec("3", 2));
  REQUIRE(pool.ok());
  REQUIRE(rig.provider.set_power(*pool, PowerState::off).ok());
  auto listed = rig.provider.list_pools();
  CHECK(listed->front().power == PowerState::off);
  CHECK(listed->front().servers[0].state == ServerState::stopped);
  REQUIRE(rig.provider.set_power(listed->front(), PowerState::on).ok());
  listed = rig.provider.list_pools();
  CHECK(listed->front().servers[0].address() == pool->servers[0].address());
  CHECK(testing::http_get("http://" + pool->servers[1].address() + "/health").first == 200);

  testing::stop_pool_processes(rig.dir.path());
  listed = rig.provider.list_pools();
  CHECK(listed->front().servers[0].state == ServerState::dead);
  REQUIRE(rig.provider.destroy_pool(listed->front()).ok());
}

TEST_CASE("a release that cannot start fails creation with its log", "[local-provider]") {
  LocalProviderRig rig;
  const auto artifact = rig.dir.path() / "broken";
  REQUIRE(util::write_file_atomic(artifact, "#!/bin/sh\necho 'missing libfoo' >&2\nexit 1\n", 0755).ok());
  rig.settings.artifact = artifact;
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("9", 1));
  REQUIRE_FALSE(pool.ok());
  CHECK(pool.error().kind == ErrorKind::failed);
  CHECK_THAT(pool.error().message, Catch::Contains("exited right after starting"));
  CHECK_THAT(pool.error().message, Catch::Contains("missing libfoo"));
  // The pool is listed as incomplete, so status and delete can see it.
  auto listed = provider.list_pools();
  REQUIRE(listed->size() == 1);
  CHECK_FALSE(listed->front().complete);
}

TEST_CASE("a missing artifact is a configuration error", "[local-provider]") {
  LocalProviderRig rig;
  rig.settings.artifact = rig.dir.path() / "nope";
  providers::LocalProvider provider{rig.settings, rig.clock, rig.reporter};
  auto pool = provider.create_pool(rig.spec("1", 1));
  REQUIRE_FALSE(pool.ok());
  CHECK(pool.error().kind == ErrorKind::invalid);
  CHECK(provider.list_pools()->empty());
}
