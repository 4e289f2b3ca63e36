#include "shared/balancers/haproxy_channel.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "support/harness.hpp"

using namespace phoenix;

TEST_CASE("connecting to a stats socket whose accept queue is full gives up after the timeout", "[haproxy][channel]") {
  testing::TempDir dir;
  testing::FrozenUnixSocket frozen(dir.path() / "admin.sock");
  REQUIRE(frozen.queued() >= 1);
  auto channel = std::make_shared<haproxy::SocketRuntimeChannel>(frozen.path().string(), std::chrono::milliseconds(300),
                                                                 std::chrono::milliseconds(100));
  // On its own thread, so that a connect() that blocks fails the test instead of hanging it
  // (closing the frozen socket at the end releases such a thread).
  auto opened = std::make_shared<std::promise<Error>>();
  auto outcome = opened->get_future();
  const auto started = std::chrono::steady_clock::now();
  std::thread([channel, opened] {
    auto session = channel->open();
    opened->set_value(session ? Error{ErrorKind::failed, "connected"} : session.error());
  }).detach();
  REQUIRE(outcome.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  const auto elapsed = std::chrono::steady_clock::now() - started;
  const Error error = outcome.get();
  CHECK(error.kind == ErrorKind::timeout);
  CHECK_THAT(error.message, Catch::Contains("accepted no connection within 300 ms"));
  CHECK(elapsed >= std::chrono::milliseconds(300));
  CHECK(elapsed < std::chrono::seconds(2));
}

TEST_CASE("a socket nobody listens on is unavailable at once", "[haproxy][channel]") {
  testing::TempDir dir;
  haproxy::SocketRuntimeChannel channel((dir.path() / "missing.sock").string(), std::chrono::milliseconds(300),
                                        std::chrono::milliseconds(0));
  const auto session = channel.open();
  REQUIRE_FALSE(session.ok());
  CHECK(session.error().kind == ErrorKind::unavailable);
  CHECK_THAT(session.error().message, Catch::Contains("No such file or directory"));
}
