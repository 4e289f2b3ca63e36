// phoenix-sample-app: the release the embedded default deploys. A small HTTP/1.1 server with
// keep-alive on one epoll loop, fast enough (tens of thousands of requests per second on
// loopback) never to limit a load test.
//
//   GET /            200, the release label
//   GET /health      200 "ok" (503 "unhealthy" with --unhealthy)
//   GET /slow?ms=N   the release label after N milliseconds (for drain tests)
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
#include <string>
#include <string_view>
#include <vector>

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
};

int usage() {
  std::fprintf(stderr,
               "usage: phoenix-sample-app --listen HOST:PORT --release LABEL [--unhealthy]\n"
               "  GET / answers the release, GET /health answers 200 ok (503 with --unhealthy),\n"
               "  GET /slow?ms=N answers after N milliseconds.\n");
  return 2;
}

std::string response(int status, std::string_view reason, std::string_view body, std::string_view release, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
                    "\r\nContent-Type: text/plain\r\nX-Release: " + std::string(release) +
                    "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

bool header_says(std::string_view head, std::string_view name, std::string_view value) {
  // Case-insensitive search for "name: value" among the header lines.
  std::string lower(head);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find(std::string(name) + ": " + std::string(value)) != std::string::npos;
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      const std::string value = argv[++i];
      const auto colon = value.rfind(':');
      if (colon == std::string::npos) return usage();
      options.host = value.substr(0, colon);
      options.port = std::atoi(value.c_str() + colon + 1);
    } else if (arg == "--release" && i + 1 < argc) {
      options.release = argv[++i];
    } else if (arg == "--unhealthy") {
      options.unhealthy = true;
    } else {
      return usage();
    }
  }
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
  if (::inet_pton(AF_INET, options.host.c_str(), &address.sin_addr) != 1) return usage();
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener, 1024) != 0) {
    std::fprintf(stderr, "phoenix-sample-app: cannot listen on %s:%d: %s\n", options.host.c_str(), options.port,
                 std::strerror(errno));
    return 1;
  }
  set_nonblocking(listener);
  std::fprintf(stderr, "phoenix-sample-app: release %s listening on %s:%d%s\n", options.release.c_str(),
               options.host.c_str(), options.port, options.unhealthy ? " (unhealthy)" : "");

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
  const auto handle_requests = [&](int fd) {
    Connection& connection = connections[fd];
    while (true) {
      const auto end = connection.input.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (connection.input.size() > 65536) close_connection(fd);
        return;
      }
      const std::string head = connection.input.substr(0, end);
      connection.input.erase(0, end + 4);
      const auto line_end = head.find("\r\n");
      const std::string request_line = head.substr(0, line_end);
      const auto first_space = request_line.find(' ');
      const auto second_space = request_line.find(' ', first_space + 1);
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
