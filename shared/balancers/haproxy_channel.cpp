#include "shared/balancers/haproxy_channel.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <thread>

#include "shared/balancers/haproxy_answers.hpp"
#include "shared/util/strings.hpp"
#include "shared/util/unique_fd.hpp"

namespace phoenix::haproxy {

namespace {

using SteadyClock = std::chrono::steady_clock;

Error connect_error(const std::string& address, int error_number) {
  std::string hint;
  if (error_number == ENOENT) hint = " (is HAProxy running, and is balancer.socket its 'stats socket'?)";
  if (error_number == EACCES || error_number == EPERM) hint = " (run as a user allowed to use the admin socket)";
  if (error_number == ECONNREFUSED) hint = " (is HAProxy running?)";
  return {ErrorKind::unavailable,
          "cannot connect to HAProxy's runtime API at " + address + ": " + std::strerror(error_number) + hint};
}

Error connect_timeout(const std::string& address, std::chrono::milliseconds timeout) {
  return {ErrorKind::timeout, "HAProxy's runtime API at " + address + " accepted no connection within " +
                                  util::format_duration_ms(timeout.count()) +
                                  " (its accept queue stays full: is HAProxy frozen or overloaded?)"};
}

// Connects the non-blocking socket `fd` to `endpoint`, giving up after `timeout`. connect()
// must never block: a unix socket whose accept queue is full (a frozen HAProxy) would block
// it forever. Non-blocking, such a socket answers EAGAIN at once and cannot be waited for
// with poll, so the attempt is repeated until the deadline; a TCP connection in progress is
// waited for with poll.
Status connect_within(int fd, const sockaddr* endpoint, socklen_t length, const std::string& address,
                      std::chrono::milliseconds timeout) {
  const auto deadline = SteadyClock::now() + timeout;
  auto pause = std::chrono::milliseconds(1);
  while (::connect(fd, endpoint, length) != 0) {
    const int error_number = errno;
    if (error_number == EINTR) continue;
    if (error_number == EAGAIN) {
      const auto now = SteadyClock::now();
      if (now >= deadline) return connect_timeout(address, timeout);
      std::this_thread::sleep_for(std::min<SteadyClock::duration>(pause, deadline - now));
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
      continue;
    }
    if (error_number != EINPROGRESS && error_number != EALREADY) return connect_error(address, error_number);
    pollfd descriptor{fd, POLLOUT, 0};
    int ready = 0;
    do {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      ready = ::poll(&descriptor, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) return connect_timeout(address, timeout);
    int result = 0;
    socklen_t size = sizeof result;
    if (ready < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &size) != 0) {
      return connect_error(address, errno);
    }
    if (result != 0) return connect_error(address, result);
    return {};
  }
  return {};
}

// A configuration error when `path` exists but is no socket (connect() then fails as if HAProxy
// were not running, and retrying would only wait); nothing when it is one, or is missing.
std::optional<Error> not_a_socket(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || S_ISSOCK(info.st_mode)) return std::nullopt;
  const char* what = S_ISREG(info.st_mode)   ? "is a regular file, not a socket"
                     : S_ISDIR(info.st_mode) ? "is a directory, not a socket"
                                             : "is not a socket";
  return Error{ErrorKind::invalid, "balancer.socket " + path + " " + what};
}

// A connected, non-blocking socket, or an error within `timeout`.
Result<util::UniqueFd> open_socket(const std::string& address, std::chrono::milliseconds timeout) {
  const bool tcp = address.find('/') == std::string::npos && address.find(':') != std::string::npos;
  util::UniqueFd fd;
  if (tcp) {
    const auto colon = address.rfind(':');
    sockaddr_in endpoint{};
    endpoint.sin_family = AF_INET;
    const auto port = util::parse_int(address.substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535 ||
        ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &endpoint.sin_addr) != 1) {
      return Error{ErrorKind::invalid, "balancer.socket '" + address + "' is neither a path nor IPv4:port"};
    }
    endpoint.sin_port = htons(static_cast<std::uint16_t>(*port));
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return connect_error(address, errno);
    PHX_TRY(connect_within(fd.get(), reinterpret_cast<sockaddr*>(&endpoint), sizeof endpoint, address, timeout));
    return fd;
  }
  sockaddr_un endpoint{};
  endpoint.sun_family = AF_UNIX;
  if (address.size() >= sizeof endpoint.sun_path) {
    return Error{ErrorKind::invalid, "balancer.socket path is too long: " + address};
  }
  std::memcpy(endpoint.sun_path, address.c_str(), address.size() + 1);
  fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return connect_error(address, errno);
  auto connected = connect_within(fd.get(), reinterpret_cast<sockaddr*>(&endpoint), sizeof endpoint, address, timeout);
  if (!connected.ok()) {
    if (auto wrong = not_a_socket(address)) return *wrong;
    return connected.error();
  }
  return fd;
}

// A connected socket in interactive mode.
class SocketSession final : public RuntimeSession {
 public:
  SocketSession(util::UniqueFd fd, std::string address, std::chrono::milliseconds timeout)
      : socket_(std::move(fd)), address_(std::move(address)), timeout_(timeout) {}
  ~SocketSession() override {
    const char quit[] = "quit\n";
    [[maybe_unused]] const auto sent = ::send(socket_.get(), quit, sizeof quit - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  Result<std::vector<std::string>> exchange(const std::vector<std::string>& commands) override {
    // The first exchange of a session switches it to interactive mode in the same write: the
    // "prompt" command, whose answer is empty, goes ahead of the commands instead of costing a
    // round trip of its own (HAProxy reads them in order either way).
    std::string request = interactive_ ? "" : "prompt\n";
    for (const auto& command : commands) {
      // Commands are built from validated names; a line break would smuggle in another command.
      if (command.find_first_of("\r\n;") != std::string::npos) {
        return Error{ErrorKind::invalid, "refusing to send a runtime API command containing a line break or ';'"};
      }
      request += command + "\n";
    }
    const bool with_prompt = !interactive_;
    interactive_ = true;
    return exchange_text(request, commands.size(), with_prompt);
  }

 private:
  // Writes `request` and reads until `expected` answers (prompts) came back, or the
  // connection closed; `with_prompt`: `request` starts with the "prompt" command, whose
  // answer is the first prompt and is not one of the `expected`. Writing and reading go
  // together: HAProxy stops reading commands while its answers are not read.
  Result<std::vector<std::string>> exchange_text(const std::string& request, std::size_t expected, bool with_prompt) {
    std::string output;
    std::size_t written = 0;
    bool closed = false;
    const auto deadline = SteadyClock::now() + timeout_;
    // The stream starts right after a prompt (or, with_prompt, ends the prompt command's empty
    // answer with the first one); each answer ends with "\n> ".
    const std::size_t prompts = expected + (with_prompt ? 1 : 0);
    const auto complete = [&] { return count_prompts(output) >= prompts; };
    while (!closed && (written < request.size() || !complete())) {
      const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
      if (remaining.count() <= 0) {
        return Error{ErrorKind::timeout, "HAProxy's runtime API at " + address_ + " did not answer within " +
                                             util::format_duration_ms(timeout_.count())};
      }
      pollfd descriptor{socket_.get(), static_cast<short>(POLLIN | (written < request.size() ? POLLOUT : 0)), 0};
      const int ready = ::poll(&descriptor, 1, static_cast<int>(remaining.count()));
      if (ready < 0 && errno != EINTR) return connect_error(address_, errno);
      if (ready <= 0) continue;
      if ((descriptor.revents & POLLOUT) != 0 && written < request.size()) {
        const ssize_t n = ::send(socket_.get(), request.data() + written, request.size() - written, MSG_NOSIGNAL);
        if (n > 0) written += static_cast<std::size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) written = request.size();  // closed: read what came
      }
      if ((descriptor.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        char buffer[65536];
        const ssize_t n = ::recv(socket_.get(), buffer, sizeof buffer, 0);
        if (n > 0) {
          output.append(buffer, static_cast<std::size_t>(n));
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
          closed = true;
        }
      }
    }
    if (with_prompt) {
      const auto first = first_prompt_end(output);
      if (!first) {
        return Error{ErrorKind::unavailable, "HAProxy's runtime API at " + address_ + " closed the connection"};
      }
      output.erase(0, *first);
    }
    auto answers = split_interactive_answers("\n> " + output);
    if (answers.size() > expected) answers.resize(expected);
    return answers;
  }

  // Where the first prompt of `text` ends, if it holds one.
  static std::optional<std::size_t> first_prompt_end(const std::string& text) {
    for (std::size_t at = text.find("> "); at != std::string::npos; at = text.find("> ", at + 2)) {
      if (at == 0 || text[at - 1] == '\n') return at + 2;
    }
    return std::nullopt;
  }

  static std::size_t count_prompts(const std::string& text) {
    std::size_t count = 0;
    for (std::size_t at = text.find("> "); at != std::string::npos; at = text.find("> ", at + 2)) {
      if (at == 0 || text[at - 1] == '\n') ++count;
    }
    return count;
  }

  util::UniqueFd socket_;
  std::string address_;
  std::chrono::milliseconds timeout_;
  bool interactive_ = false;  // "prompt" was sent
};

}  // namespace

Result<std::vector<std::string>> RuntimeChannel::run(const std::vector<std::string>& commands) {
  auto session = open();
  if (!session) return session.error();
  return (*session)->exchange(commands);
}

SocketRuntimeChannel::SocketRuntimeChannel(std::string address, std::chrono::milliseconds timeout,
                                           std::chrono::milliseconds connect_window)
    : address_(std::move(address)), timeout_(timeout), connect_window_(connect_window) {}

Result<std::unique_ptr<RuntimeSession>> SocketRuntimeChannel::open() {
  auto opened = open_socket(address_, timeout_);
  const auto give_up = SteadyClock::now() + connect_window_;
  for (auto pause = std::chrono::milliseconds(10);
       !opened && opened.error().kind == ErrorKind::unavailable && SteadyClock::now() + pause < give_up;
       pause = std::min(pause * 2, std::chrono::milliseconds(200))) {
    std::this_thread::sleep_for(pause);
    opened = open_socket(address_, timeout_);
  }
  if (!opened) return opened.error();
  return std::unique_ptr<RuntimeSession>(std::make_unique<SocketSession>(std::move(*opened), address_, timeout_));
}

}  // namespace phoenix::haproxy
