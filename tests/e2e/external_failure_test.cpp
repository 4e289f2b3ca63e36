// External failures: HAProxy's socket missing, not allowed, or closing mid-command gives
// exit 4 with one clear line, and no half-changed state (the intent record says what ran).

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

// Progress lines ("[+0.012s] ...") and exactly one error line.
void one_line(const ToolResult& result, int exit_code, const std::string& text) {
  INFO("stderr: " << result.err);
  CHECK(result.exit_code == exit_code);
  const auto errors = error_lines(result);
  REQUIRE(errors.size() == 1);
  CHECK_THAT(errors[0], Catch::Matches(".*-pipeline: error: .*"));
  CHECK_THAT(errors[0], Catch::Contains(text));
}

// A unix socket in front of HAProxy's that relays everything, except that a connection whose
// commands include `trigger` is closed after `answers` answers.
class CuttingProxy {
 public:
  CuttingProxy(fs::path listen, fs::path upstream, std::string trigger, int answers)
      : listen_(std::move(listen)), upstream_(std::move(upstream)), trigger_(std::move(trigger)), answers_(answers) {
    listener_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, listen_.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~CuttingProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  int cuts() const { return cuts_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd ready{listener_, POLLIN, 0};
      if (::poll(&ready, 1, 50) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      relay(client);
      ::close(client);
    }
  }

  void relay(int client) {
    const int server = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, upstream_.c_str(), sizeof address.sun_path - 1);
    if (::connect(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(server);
      return;
    }
    std::string from_client;
    int prompts = 0;
    bool cutting = false;
    while (true) {
      pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
      if (::poll(fds, 2, 2000) <= 0) break;
      char buffer[65536];
      if (fds[0].revents != 0) {
        const ssize_t n = ::read(client, buffer, sizeof buffer);
        if (n <= 0) break;
        from_client.append(buffer, static_cast<std::size_t>(n));
        cutting = cutting || from_client.find(trigger_) != std::string::npos;
        [[maybe_unused]] const auto written = ::write(server, buffer, static_cast<std::size_t>(n));
      }
      if (fds[1].revents != 0) {
        const ssize_t n = ::read(server, buffer, sizeof buffer);
        if (n <= 0) break;
        std::string chunk(buffer, static_cast<std::size_t>(n));
        if (cutting) {
          // Pass answers up to the cut (the first prompt answers "prompt" itself).
          std::size_t keep = 0;
          for (std::size_t at = chunk.find("> "); at != std::string::npos; at = chunk.find("> ", at + 2)) {
            if (++prompts > answers_ + 1) break;
            keep = at + 2;
          }
          if (prompts > answers_ + 1) {
            [[maybe_unused]] const auto written = ::write(client, chunk.data(), keep);
            ++cuts_;
            break;
          }
        }
        [[maybe_unused]] const auto written = ::write(client, chunk.data(), chunk.size());
      }
    }
    ::close(server);
  }

  fs::path listen_;
  fs::path upstream_;
  std::string trigger_;
  int answers_;
  int listener_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<int> cuts_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("a missing HAProxy socket is exit 4 and changes nothing", "[e2e][external]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  haproxy.stop();
  std::filesystem::remove(haproxy.socket());
  const auto deploy = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
  one_line(deploy, 4,
           "cannot connect to HAProxy's runtime API at " + haproxy.socket().string() +
               ": No such file or directory (is HAProxy running, and is balancer.socket its 'stats socket'?)");
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state" / "web" / "intent.json"));
  CHECK_FALSE(std::filesystem::exists(dir.path() / "state" / "web" / "deploy.lock"));
  one_line(run_tool("create-pipeline", {"delete", "--label", "1", "--config", config}), 4,
           "reading the balancer before deleting pool 1: cannot connect");
  CHECK(std::filesystem::exists(dir.path() / "state" / "web" / "pools" / "1" / "pool.json"));
}

TEST_CASE("a socket the tool may not use is refused with the reason", "[e2e][external]") {
  SECTION("HAProxy's own refusal: a stats socket without level admin is a configuration error") {
    TempDir dir;
    HaproxyOptions options;
    options.socket_level = "operator";
    Haproxy haproxy(dir.path(), options);
    const auto config = write_service_config(dir.path(), haproxy, {}).string();
    REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
    const auto deploy = run_tool("deploy-pipeline", {"deploy", "--label", "1", "--config", config});
    // Told before anything changes (no retries, no switch left to finish), as exit 2.
    one_line(deploy, 2, "HAProxy's stats socket " + haproxy.socket().string() + " is at level operator");
    CHECK_THAT(deploy.err, Catch::Contains("'level admin'"));
    CHECK_THAT(deploy.err, !Catch::Contains("planning again"));
    CHECK_FALSE(std::filesystem::exists(dir.path() / "state" / "web" / "intent.json"));
    CHECK(haproxy.command("show servers state web").find(" 1:1 ") == std::string::npos);
    // Status reads through it, and says first that every switch is refused until it is fixed.
    const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
    INFO(status.out << status.err);
    CHECK(status.exit_code == 1);
    CHECK_THAT(status.out, Catch::Contains("problems:\n  - HAProxy's stats socket " + haproxy.socket().string() +
                                           " is at level operator, which may not add, weigh or remove servers; give "
                                           "that 'stats socket' line of haproxy.cfg 'level admin' (balancer.socket), "
                                           "then reload HAProxy; do that first: every deploy, rollback and repair is "
                                           "refused until then"));
  }
  SECTION("the operating system's refusal: no write permission on the socket") {
    TempDir dir;
    Haproxy haproxy(dir.path());
    ::chmod(dir.path().c_str(), 0755);
    const auto config = write_service_config(dir.path(), haproxy, {}).string();
    REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
    ::chmod(haproxy.socket().c_str(), 0600);
    // Run as an unprivileged user (root passes every permission check).
    std::vector<std::string> as_nobody;
    if (::geteuid() == 0) as_nobody = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"};
    const auto status = run_tool_as(as_nobody, "deploy-pipeline", {"status", "--config", config});
    one_line(status, 4, "");
    CHECK_THAT(status.err, Catch::Contains("Permission denied (run as a user allowed to use the admin socket)"));
  }
}

TEST_CASE("HAProxy closing the connection mid-command is exit 4; the intent says what ran", "[e2e][external]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  create_pools_1_and_2(config, ThenDeploy::pool_1);

  // The same service reached through the cutting proxy.
  const auto proxied = dir.path() / "proxied.sock";
  // Every connection that changes a server is cut after the first answer: the commands reach
  // HAProxy, most answers do not come back.
  CuttingProxy proxy(proxied, haproxy.socket(), "server web/", 1);
  std::string text = *util::read_file(config);
  text.replace(text.find(haproxy.socket().string()), haproxy.socket().string().size(), proxied.string());
  const auto proxied_config = dir.path() / "proxied.json";
  REQUIRE(util::write_file_atomic(proxied_config, text).ok());

  Prober prober(dir.path(), haproxy.url());
  const auto deploy = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", proxied_config.string()});
  one_line(deploy, 4,
           "deploy of pool 2: the balancer kept changing under it; 'deploy-pipeline deploy --label 2' finishes it: ");
  CHECK_THAT(deploy.err, Catch::Contains("HAProxy closed the connection after "));
  CHECK(proxy.cuts() >= 3);
  CHECK(prober.finish().failed == 0);

  const auto status = run_tool("deploy-pipeline", {"status", "--config", config});
  CHECK(status.exit_code == 1);
  CHECK_THAT(status.out, Catch::Contains("a deploy to pool 2"));
  CHECK_THAT(status.out, Catch::Contains("was interrupted at step "));
  // History has the switch that gave up, as stopped half-way.
  const auto history = run_tool("deploy-pipeline", {"history", "--output", "json", "--config", config});
  CHECK_THAT(history.out, Catch::Contains("\"result\":\t\"interrupted\""));
  // The commands whose answers were lost did reach HAProxy: either pool may serve now, but
  // something serves.
  CHECK_THAT(http_get(haproxy.url()).second, Catch::Matches("[12]\n"));

  const auto rerun = run_tool("deploy-pipeline", {"deploy", "--label", "2", "--config", config});
  INFO(rerun.err);
  CHECK(rerun.exit_code == 0);
  CHECK(run_tool("deploy-pipeline", {"status", "--config", config}).exit_code == 0);
}

TEST_CASE("a frozen HAProxy whose accept queue is full: every command ends with exit 4 in time", "[e2e][external]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  const auto config = write_service_config(dir.path(), haproxy, {}).string();
  REQUIRE(run_tool("create-pipeline", {"run", "--label", "1", "--config", config}).exit_code == 0);
  // The same service, its balancer.socket a listener that never accepts, its queue full.
  FrozenUnixSocket frozen(dir.path() / "frozen.sock");
  std::string text = *util::read_file(config);
  text.replace(text.find(haproxy.socket().string()), haproxy.socket().string().size(), frozen.path().string());
  const auto frozen_config = (dir.path() / "frozen.json").string();
  REQUIRE(util::write_file_atomic(frozen_config, text).ok());

  const std::vector<std::pair<std::string, std::vector<std::string>>> commands = {
      {"deploy-pipeline", {"status"}},
      {"deploy-pipeline", {"deploy", "--label", "1"}},
      {"create-pipeline", {"delete", "--label", "1"}},
  };
  for (const auto& [tool, arguments] : commands) {
    auto with_config = arguments;
    with_config.insert(with_config.end(), {"--config", frozen_config});
    // A hang fails here (the process timeout) instead of hanging the test.
    const auto result = run_tool(tool, with_config, {}, std::chrono::seconds(60));
    INFO(tool << " " << arguments.front());
    one_line(result, 4,
             "HAProxy's runtime API at " + frozen.path().string() + " accepted no connection within 10.00 s");
    CHECK(result.duration_ms() < 15000);  // the 10 s socket timeout and little more
  }
  CHECK_FALSE(fs::exists(dir.path() / "state" / "web" / "intent.json"));
  CHECK_FALSE(fs::exists(dir.path() / "state" / "web" / "deploy.lock"));
  CHECK(fs::exists(dir.path() / "state" / "web" / "pools" / "1" / "pool.json"));
}
