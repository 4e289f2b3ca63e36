#include "shared/ops/deploy_lock.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "fakes/fake_services.hpp"
#include "shared/util/process.hpp"

using namespace phoenix;

TEST_CASE("the lock holder is this process: host, pid and start time", "[ops][lock]") {
  fakes::FakeWorld world;
  world.services.identity.pid = ::getpid();
  const auto holder = ops::make_holder(world.services, "deploy --label 3");
  CHECK(holder.host == "agent-1");
  CHECK(holder.pid == ::getpid());
  REQUIRE(util::process_start_ticks(::getpid()));
  CHECK(holder.start_ticks == *util::process_start_ticks(::getpid()));
  CHECK(holder.command == "deploy --label 3");
}
