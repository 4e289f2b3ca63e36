#include "shared/core/pool.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE(
    "a pool counts the servers reported running, and apart from them those that may run: a server whose state the "
    "provider cannot tell is not taken for dead",
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
