#include "fakes/http_server.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "shared/util/strings.hpp"

namespace phoenix::fakes {

namespace {

std::string unescape(const std::string& text) {
  std::string plus = text;
  for (auto& c : plus) {
    if (c == '+') c = ' ';
  }
  int length = 0;
  char* decoded = curl_easy_unescape(nullptr, plus.c_str(), static_cast<int>(plus.size()), &length);
  std::string out(decoded, static_cast<std::size_t>(length));
  curl_free(decoded);
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 406:
      return "Not Acceptable";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 422:
      return "Unprocessable Entity";
    case 423:
      return "Locked";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Server Error" : "Error";
  }
}

}  // namespace

std::string Request::first(const std::string& key) const {
  const auto found = query.find(key);
  return found == query.end() ? std::string() : found->second;
}

std::string Request::header(const std::string& name) const {
  const auto found = headers.find(name);
  return found == headers.end() ? std::string() : found->second;
}

std::optional<Request> read_request(int fd, std::string& buffer) {
  while (buffer.find("\r\n\r\n") == std::string::npos) {
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return std::nullopt;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  const auto end = buffer.find("\r\n\r\n");
  const auto lines = util::split(buffer.substr(0, end), '\n');
  Request request;
  const auto parts = util::split(std::string(util::trim(lines[0])), ' ');
  if (parts.size() < 2) return std::nullopt;
  request.method = parts[0];
  const auto question = parts[1].find('?');
  request.path = unescape(parts[1].substr(0, question));
  if (question != std::string::npos) {
    for (const auto& pair : util::split(parts[1].substr(question + 1), '&')) {
      const auto equals = pair.find('=');
      request.query.emplace(unescape(pair.substr(0, equals)),
                            equals == std::string::npos ? "" : unescape(pair.substr(equals + 1)));
    }
  }
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    request.headers[util::to_lower(util::trim(lines[i].substr(0, colon)))] =
        std::string(util::trim(lines[i].substr(colon + 1)));
  }
  std::size_t length = 0;
  if (auto found = request.headers.find("content-length"); found != request.headers.end()) {
    length = static_cast<std::size_t>(util::parse_int(found->second).value_or(0));
  }
  buffer.erase(0, end + 4);
  while (buffer.size() < length) {
    char chunk[16384];
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return std::nullopt;
    buffer.append(chunk, static_cast<std::size_t>(n));
  }
  request.body = buffer.substr(0, length);
  buffer.erase(0, length);
  return request;
}

bool send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_response(int fd, const Response& response) {
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
  for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
  head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n";
  return send_all(fd, head + response.body);
}

int listen_on(const std::string& host, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 512) != 0) {
    std::fprintf(stderr, "fake: cannot listen on %s:%d: %s\n", host.c_str(), port, std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

int bound_port(int fd) {
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

void accept_loop(int listener, const std::atomic<bool>& stop, const std::function<void(int)>& serve) {
  while (!stop) {
    pollfd ready{listener, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    const int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::thread([client, serve] {
      serve(client);
      ::close(client);
    }).detach();
  }
}

void serve_connection(int fd, const std::atomic<bool>& stop, const std::function<Response(const Request&)>& handler) {
  std::string buffer;
  while (!stop) {
    auto request = read_request(fd, buffer);
    if (!request) return;
    if (!write_response(fd, handler(*request))) return;
    if (util::to_lower(request->header("connection")) == "close") return;
  }
}

}  // namespace phoenix::fakes
