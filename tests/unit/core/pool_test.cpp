#include "shared/core/pool.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE(
    "a pool counts the servers reported running, and apart from them those that may run (a server whose state the "
    "provider cannot tell is not taken for dead)",
    "[pool]") {
  Pool pool;
  for (const auto state :
       {ServerState::running, ServerState::unknown, ServerState::starting, ServerState::stopped, ServerState::dead}) {
    pool.servers.push_back(Server{.id = to_string(state), .host = "127.0.0.1", .port = 1, .state = state});
  }
  CHECK(pool.servers_running() == 1);
  CHECK(pool.servers_maybe_running() == 2);
  pool.servers.clear();
  CHECK(pool.servers_running() == 0);
  CHECK(pool.servers_maybe_running() == 0);
}

TEST_CASE("a rebuild says which release it carries and what is known of it live", "[pool]") {
  Pool pool;
  pool.meta.label = "1.r1";
  CHECK(describe_rebuild(pool).empty());  // no rebuild
  pool.meta.rebuild_of = "1";
  CHECK(describe_rebuild(pool) == "release 1, rebuilt as 1.r1, no live verdict");
  pool.meta.verdict = LiveVerdict::good;
  CHECK(describe_rebuild(pool) == "release 1, rebuilt as 1.r1, judged good live");
  pool.meta.verdict = LiveVerdict::bad;
  CHECK(describe_rebuild(pool) == "release 1, rebuilt as 1.r1, marked bad");
}
