#pragma once
// How the contract fakes serve HTTP (tests only): cpp-httplib on 127.0.0.1, set up to behave
// towards the code under test like a real API server with room to spare.
//
// - Every method and path goes to one handler: a fake routes by itself and answers unknown
//   routes in its API's own error shape.
// - One thread per connection and a listen backlog of 512: a slow or hanging answer (an
//   injected fault) never holds up another, and a client's concurrency reaches the handler
//   unchanged (the hcloud fake's max_in_flight counts it).
// - Keep-alive connections stay open while the client uses them (no request limit; closed
//   after a minute idle).
// - Connections are never inherited by processes the fake spawns (the hcloud fake starts
//   server processes): a connection a child still held would never close for the client.

#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <thread>

namespace phoenix::fakes::http {

class LoopbackServer {
 public:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // Binds a free port on 127.0.0.1; exits the process with one line when it cannot.
  explicit LoopbackServer(Handler handler);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  int port() const { return port_; }
  // Serves on a thread of its own until stop(); returns once it accepts connections.
  void start();
  // Stops accepting and returns. Connections already open finish on their own threads, which
  // keep the server alive until they end (the process may exit under them).
  void stop();

 private:
  std::shared_ptr<httplib::Server> server_;
  int port_ = 0;
  std::atomic<bool> listen_returned_{false};
  std::thread serving_;
};

}  // namespace phoenix::fakes::http
