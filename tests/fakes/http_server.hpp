#pragma once
// Just enough of an HTTP/1.1 server for the contract fakes (tests only): Content-Length
// bodies, keep-alive, one thread per connection. Production code never uses it. Only
// phoenix-ci-fake still does; the other fakes serve with cpp-httplib (fakes/http/).

#include <atomic>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace phoenix::fakes {

struct Request {
  std::string method;
  std::string path;
  std::multimap<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  std::string first(const std::string& key) const;
  std::string header(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Reads one request from a connection (`buffer` carries bytes between requests).
std::optional<Request> read_request(int fd, std::string& buffer);
bool write_response(int fd, const Response& response);
bool send_all(int fd, const std::string& data);

// A listening socket on host:port (port 0: any free one); exits the process on failure.
int listen_on(const std::string& host, int port);
int bound_port(int fd);

// Accepts until `stop`, serving each connection on its own thread.
void accept_loop(int listener, const std::atomic<bool>& stop, const std::function<void(int)>& serve);

// Serves requests on a connection with `handler` until it closes.
void serve_connection(int fd, const std::atomic<bool>& stop, const std::function<Response(const Request&)>& handler);

}  // namespace phoenix::fakes
