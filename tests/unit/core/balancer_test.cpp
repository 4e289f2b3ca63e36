#include "shared/core/balancer.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE("a pool's members are all up only when it has some and every one is up", "[balancer][standby]") {
  CHECK(all_members_up(3, 3));
  CHECK_FALSE(all_members_up(2, 3));
  CHECK_FALSE(all_members_up(0, 0));
}
