// phoenix-sample-app: the release the embedded default deploys. A small HTTP/1.1 server with
// keep-alive on one epoll loop, fast enough (tens of thousands of requests per second on
// loopback) never to limit a load test. What it answers is in kUsage (--help).
//
// It can also be a release that goes bad: from --fail-after SECONDS on, or after
// POST /admin/fail, every path but /health answers 500 while /health still answers 200: the
// failure that health checks miss and only traffic shows.
//
// SIGTERM stops accepting, finishes the requests in flight, and exits.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/arguments.hpp"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

struct Connection {
  std::string input;
  std::string output;
  bool close_after_write = false;
  int delayed = 0;  // slow responses not yet written
};

struct Delayed {
  int fd;
  Clock::time_point due;
  std::string response;
  bool close_after;
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string release = "unknown";
  bool unhealthy = false;
  int fail_after_s = -1;  // -1: only on request
};

const char* const kUsage =
    "usage: phoenix-sample-app --listen HOST:PORT --release LABEL [--unhealthy] [--fail-after SECONDS]\n"
    "The release Phoenix's embedded default deploys: a small HTTP server on HOST:PORT (127.0.0.1:8080).\n"
    "  GET /               200, the release label\n"
    "  GET /health         200 \"ok\" (503 \"unhealthy\" with --unhealthy)\n"
    "  GET /slow?ms=N      the release label after N milliseconds\n"
    "A release that goes bad on demand, the failure health checks miss: while bad, every path but\n"
    "/health and /admin/* answers 500, and /health still answers as above.\n"
    "  --fail-after SECONDS  goes bad SECONDS after the start\n"
    "  POST /admin/fail      goes bad now\n"
    "  POST /admin/recover   good again\n"
    "  Either request cancels a pending --fail-after. They are only taken on the server's own\n"
    "  address: Host must be HOST:PORT, so one sent through a load balancer is refused (403).\n"
    "SIGTERM stops accepting, finishes the requests in flight, and exits.\n";

// Whether the release is bad now: from the --fail-after deadline on, or as the last admin
// request said (which also cancels the deadline). Every change is one line on stderr.
class Failure {
 public:
  Failure(std::string release, std::optional<Clock::time_point> due) : release_(std::move(release)), due_(due) {}

  bool bad(Clock::time_point now) {
    if (due_ && now >= *due_) change(true, "--fail-after");
    return bad_;
  }
  void change(bool bad, const char* why) {
    due_.reset();
    if (bad != bad_) {
      std::fprintf(stderr, "phoenix-sample-app: release %s is %s (%s)\n", release_.c_str(),
                   bad ? "bad: 500 on every path but /health" : "good again", why);
    }
    bad_ = bad;
  }
  // Milliseconds until the deadline (for the event loop's timeout), if one is pending.
  std::optional<long long> until_due(Clock::time_point now) const {
    if (!due_) return std::nullopt;
    return std::max<long long>(0, std::chrono::duration_cast<std::chrono::milliseconds>(*due_ - now).count());
  }

 private:
  std::string release_;
  std::optional<Clock::time_point> due_;
  bool bad_ = false;
};

std::string response(int status, std::string_view reason, std::string_view body, std::string_view release, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                    "\r\nContent-Type: text/plain\r\nX-Release: " + std::string(release) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string lower_case(std::string_view text) {
  std::string lower(text);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

bool header_says(std::string_view head, std::string_view name, std::string_view value) {
  // Case-insensitive search for "name: value" among the header lines.
  return lower_case(head).find(std::string(name) + ": " + std::string(value)) != std::string::npos;
}

// The value of header `name` (lower case) in `head`, "" when absent.
std::string header_value(std::string_view head, std::string_view name) {
  std::size_t start = head.find("\r\n");
  while (start != std::string_view::npos) {
    start += 2;
    const auto end = head.find("\r\n", start);
    const auto line = head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos && lower_case(line.substr(0, colon)) == name) {
      auto value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      return std::string(value);
    }
    start = end;
  }
  return "";
}

// --listen HOST:PORT, HOST an IPv4 address.
std::string read_listen(const std::string& value, Options& options) {
  const auto colon = value.rfind(':');
  in_addr address{};
  if (colon == std::string::npos || ::inet_pton(AF_INET, value.substr(0, colon).c_str(), &address) != 1) {
    return "--listen takes IPV4-ADDRESS:PORT, not '" + value + "'";
  }
  const std::string port = value.substr(colon + 1);
  char* end = nullptr;
  const long number = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || number < 1 || number > 65535) {
    return "--listen takes IPV4-ADDRESS:PORT, not '" + value + "'";
  }
  options.host = value.substr(0, colon);
  options.port = static_cast<int>(number);
  return "";
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

int main(int argc, char** argv) {
  Options options;
  phoenix::tools::Arguments arguments("phoenix-sample-app", kUsage);
  arguments.custom("--listen", [&options](const std::string& value) { return read_listen(value, options); })
      .text("--release", options.release)
      .flag("--unhealthy", options.unhealthy)
      .number("--fail-after", options.fail_after_s, 0, 7 * 24 * 3600);
  arguments.parse(argc, argv);
  Failure failure(options.release,
                  options.fail_after_s < 0
                      ? std::nullopt
                      : std::optional<Clock::time_point>(Clock::now() + std::chrono::seconds(options.fail_after_s)));
  const std::string own_address = options.host + ":" + std::to_string(options.port);
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);

  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(options.port));
  ::inet_pton(AF_INET, options.host.c_str(), &address.sin_addr);
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 1024) != 0) {
    std::fprintf(stderr, "phoenix-sample-app: cannot listen on %s:%d: %s\n", options.host.c_str(), options.port,
                 std::strerror(errno));
    return 1;
  }
  set_nonblocking(listener);
  const std::string going_bad =
      options.fail_after_s < 0 ? "" : " (bad after " + std::to_string(options.fail_after_s) + " s)";
  std::fprintf(stderr, "phoenix-sample-app: release %s listening on %s:%d%s%s\n", options.release.c_str(),
               options.host.c_str(), options.port, options.unhealthy ? " (unhealthy)" : "", going_bad.c_str());

  const int poller = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = listener;
  ::epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event);

  std::map<int, Connection> connections;
  std::vector<Delayed> delayed;
  bool accepting = true;

  const auto close_connection = [&](int fd) {
    ::epoll_ctl(poller, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    connections.erase(fd);
  };
  const auto flush = [&](int fd) {
    auto found = connections.find(fd);
    if (found == connections.end()) return;
    Connection& connection = found->second;
    while (!connection.output.empty()) {
      const ssize_t n = ::send(fd, connection.output.data(), connection.output.size(), MSG_NOSIGNAL);
      if (n > 0) {
        connection.output.erase(0, static_cast<std::size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        epoll_event want{};
        want.events = EPOLLIN | EPOLLOUT;
        want.data.fd = fd;
        ::epoll_ctl(poller, EPOLL_CTL_MOD, fd, &want);
        return;
      } else {
        close_connection(fd);
        return;
      }
    }
    if (connection.close_after_write && connection.delayed == 0) close_connection(fd);
  };
  // POST /admin/fail and /admin/recover, only on the server's own address (see kUsage).
  const auto admin = [&](const std::string& method, const std::string& path, const std::string& head, bool close) {
    if (header_value(head, "host") != own_address) {
      return response(403, "Forbidden", "admin requests are only taken on " + own_address + "\n", options.release,
                      close);
    }
    if (method != "POST") return response(405, "Method Not Allowed", "use POST\n", options.release, close);
    if (path == "/admin/fail") {
      failure.change(true, "POST /admin/fail");
      return response(200, "OK", "bad\n", options.release, close);
    }
    if (path == "/admin/recover") {
      failure.change(false, "POST /admin/recover");
      return response(200, "OK", "good\n", options.release, close);
    }
    return response(404, "Not Found", "not found\n", options.release, close);
  };
  const auto handle_requests = [&](int fd) {
    Connection& connection = connections[fd];
    while (true) {
      const auto end = connection.input.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (connection.input.size() > 65536) close_connection(fd);
        return;
      }
      const std::string head = connection.input.substr(0, end);
      // A body is read and ignored (none of the paths takes one).
      const long long body = std::atoll(header_value(head, "content-length").c_str());
      if (body < 0 || body > 1024 * 1024) {
        close_connection(fd);
        return;
      }
      if (connection.input.size() < end + 4 + static_cast<std::size_t>(body)) return;
      connection.input.erase(0, end + 4 + static_cast<std::size_t>(body));
      const auto line_end = head.find("\r\n");
      const std::string request_line = head.substr(0, line_end);
      const auto first_space = request_line.find(' ');
      const auto second_space = request_line.find(' ', first_space + 1);
      const std::string method = request_line.substr(0, first_space);
      const std::string target = request_line.substr(first_space + 1, second_space - first_space - 1);
      const bool http10 = request_line.find("HTTP/1.0") != std::string::npos;
      const bool close =
          header_says(head, "connection", "close") || (http10 && !header_says(head, "connection", "keep-alive"));
      connection.close_after_write = connection.close_after_write || close;
      const std::string path = target.substr(0, target.find('?'));
      if (path == "/health") {
        connection.output += options.unhealthy
                                 ? response(503, "Service Unavailable", "unhealthy\n", options.release, close)
                                 : response(200, "OK", "ok\n", options.release, close);
      } else if (path.rfind("/admin/", 0) == 0) {
        connection.output += admin(method, path, head, close);
      } else if (failure.bad(Clock::now())) {
        connection.output += response(500, "Internal Server Error", "release " + options.release + " is failing\n",
                                      options.release, close);
      } else if (path == "/slow") {
        const auto query = target.find("ms=");
        const int milliseconds = query == std::string::npos ? 1000 : std::atoi(target.c_str() + query + 3);
        ++connection.delayed;
        delayed.push_back({fd, Clock::now() + std::chrono::milliseconds(milliseconds),
                           response(200, "OK", options.release + "\n", options.release, close), close});
      } else if (path == "/") {
        connection.output += response(200, "OK", options.release + "\n", options.release, close);
      } else {
        connection.output += response(404, "Not Found", "not found\n", options.release, close);
      }
      if (close) break;
    }
  };

  epoll_event events[256];
  while (true) {
    if (g_stop != 0 && accepting) {
      // Graceful stop: no new connections; idle keep-alive connections close; requests in
      // flight (slow ones included) still get their answer.
      accepting = false;
      ::epoll_ctl(poller, EPOLL_CTL_DEL, listener, nullptr);
      ::close(listener);
      std::vector<int> idle;
      for (auto& [fd, connection] : connections) {
        if (connection.delayed == 0 && connection.output.empty()) idle.push_back(fd);
        connection.close_after_write = true;
      }
      for (int fd : idle) close_connection(fd);
    }
    if (!accepting && connections.empty()) break;

    int timeout = 1000;
    const auto now = Clock::now();
    // Go bad on time (and say so) even without traffic.
    failure.bad(now);
    if (const auto due = failure.until_due(now)) timeout = static_cast<int>(std::min<long long>(timeout, *due));
    for (const auto& pending : delayed) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(pending.due - now).count();
      timeout = static_cast<int>(std::max<long long>(0, std::min<long long>(timeout, wait)));
    }
    const int ready = ::epoll_wait(poller, events, 256, timeout);
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == listener) {
        while (true) {
          const int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (client < 0) break;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event want{};
          want.events = EPOLLIN;
          want.data.fd = client;
          ::epoll_ctl(poller, EPOLL_CTL_ADD, client, &want);
          connections[client];
        }
        continue;
      }
      if ((events[i].events & EPOLLOUT) != 0) {
        epoll_event want{};
        want.events = EPOLLIN;
        want.data.fd = fd;
        ::epoll_ctl(poller, EPOLL_CTL_MOD, fd, &want);
        flush(fd);
        if (connections.count(fd) == 0) continue;
      }
      if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
        char buffer[16384];
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) {
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
          close_connection(fd);
          continue;
        }
        connections[fd].input.append(buffer, static_cast<std::size_t>(n));
        handle_requests(fd);
        flush(fd);
      }
    }
    // Answer the slow requests that are due, in order.
    const auto due_now = Clock::now();
    for (auto it = delayed.begin(); it != delayed.end();) {
      if (it->due > due_now) {
        ++it;
        continue;
      }
      auto found = connections.find(it->fd);
      if (found != connections.end()) {
        found->second.output += it->response;
        --found->second.delayed;
        const int fd = it->fd;
        it = delayed.erase(it);
        flush(fd);
      } else {
        it = delayed.erase(it);
      }
    }
  }
  return 0;
}
