#include "shared/balancers/haproxy_channel.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
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

namespace {

// A stats socket that answers one connection with a script: it reads until `lines` lines
// came in (or the peer stopped writing), keeps them, writes `reply` and closes.
class ScriptedSocket {
 public:
  ScriptedSocket(const std::filesystem::path& path, std::size_t lines, std::string reply) : path_(path) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 1) == 0);
    server_ = std::thread([this, lines, reply = std::move(reply)] {
      const int connection = ::accept(listener_, nullptr, nullptr);
      if (connection < 0) return;
      timeval limit{2, 0};
      ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      char buffer[4096];
      while (static_cast<std::size_t>(std::count(received_.begin(), received_.end(), '\n')) < lines) {
        const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        received_.append(buffer, static_cast<std::size_t>(n));
      }
      if (!reply.empty()) [[maybe_unused]]
        const auto sent = ::send(connection, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(connection);
    });
  }
  ~ScriptedSocket() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    if (server_.joinable()) server_.join();
  }
  ScriptedSocket(const ScriptedSocket&) = delete;
  ScriptedSocket& operator=(const ScriptedSocket&) = delete;

  std::string path() const { return path_.string(); }
  // What the client sent; call after the exchange ended.
  std::string received() {
    if (server_.joinable()) server_.join();
    return received_;
  }

 private:
  std::filesystem::path path_;
  int listener_ = -1;
  std::thread server_;
  std::string received_;
};

}  // namespace

TEST_CASE("a session's first exchange switches to interactive mode in the same request, answers framed",
          "[haproxy][channel]") {
  testing::TempDir dir;
  // HAProxy's interactive framing: the prompt command's empty answer, then per command its
  // answer and the prompt.
  ScriptedSocket socket(dir.path() / "admin.sock", 3, "\n> Name: HAProxy\n\n> # pxname,svname\n\n> ");
  haproxy::SocketRuntimeChannel channel(socket.path(), std::chrono::seconds(2), std::chrono::milliseconds(0));
  const auto answers = channel.run({"show info", "show stat web 4 -1"});
  REQUIRE(answers.ok());
  CHECK(*answers == std::vector<std::string>{"Name: HAProxy", "# pxname,svname"});
  CHECK(socket.received() == "prompt\nshow info\nshow stat web 4 -1\n");
}

TEST_CASE("a session closed before any prompt is unavailable; one closed midway yields the answers that came",
          "[haproxy][channel]") {
  testing::TempDir dir;
  SECTION("closed at once") {
    ScriptedSocket socket(dir.path() / "admin.sock", 2, "");
    haproxy::SocketRuntimeChannel channel(socket.path(), std::chrono::seconds(2), std::chrono::milliseconds(0));
    const auto answers = channel.run({"show info"});
    REQUIRE_FALSE(answers.ok());
    CHECK(answers.error().kind == ErrorKind::unavailable);
    CHECK_THAT(answers.error().message, Catch::Contains("closed the connection"));
  }
  SECTION("closed after the first of two answers") {
    ScriptedSocket socket(dir.path() / "admin.sock", 3, "\n> \n> Can't find backend");
    haproxy::SocketRuntimeChannel channel(socket.path(), std::chrono::seconds(2), std::chrono::milliseconds(0));
    const auto answers = channel.run({"set server web/a:1 weight 1", "set server web/a:2 weight 1"});
    REQUIRE(answers.ok());
    CHECK(*answers == std::vector<std::string>{""});  // the caller knows exactly which ran
  }
}
