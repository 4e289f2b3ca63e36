#include "fakes/http/loopback_server.hpp"

#include <linux/close_range.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace phoenix::fakes::http {

namespace {

// cpp-httplib's default is a pool of a few threads, each held by one keep-alive connection:
// a client with more connections than threads would wait. Here every connection gets a
// thread, which holds the server alive until the connection ends.
class ThreadPerConnection final : public httplib::TaskQueue {
 public:
  explicit ThreadPerConnection(std::shared_ptr<httplib::Server> server) : server_(std::move(server)) {}

  void enqueue(std::function<void()> serve) override {
    // cpp-httplib accepts without SOCK_CLOEXEC; this runs on the accepting thread right after
    // accept(), before any request is read, so no process the fake spawns inherits it.
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    std::thread([serve = std::move(serve), server = server_] { serve(); }).detach();
  }
  void shutdown() override {}

 private:
  std::shared_ptr<httplib::Server> server_;
};

}  // namespace

LoopbackServer::LoopbackServer(Handler handler) : server_(std::make_shared<httplib::Server>()) {
  server_->new_task_queue = [weak = std::weak_ptr<httplib::Server>(server_)] {
    return new ThreadPerConnection(weak.lock());
  };
  server_->set_keep_alive_max_count(1000000);  // as good as unlimited
  server_->set_keep_alive_timeout(60);
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112, 6.3);
  // cpp-httplib 0.11 would wait for one until its read timeout and answer 400 to a bare POST.
  server_->set_pre_routing_handler([handler](const httplib::Request& request, httplib::Response& response) {
    const bool expected_body =
        request.method == "POST" || request.method == "PUT" || request.method == "PATCH" || request.method == "DELETE";
    if (!expected_body || request.has_header("Content-Length") || request.has_header("Transfer-Encoding")) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    handler(request, response);
    return httplib::Server::HandlerResponse::Handled;
  });
  server_->Get(".*", handler);
  server_->Post(".*", handler);
  server_->Put(".*", handler);
  server_->Patch(".*", handler);
  server_->Delete(".*", handler);
  server_->Options(".*", handler);
  int listening = -1;
  server_->set_socket_options([&listening](socket_t socket) {
    const int one = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    // Accepted connections inherit it. cpp-httplib writes a response's head and body separately:
    // with Nagle's algorithm each answer waits for the client's delayed ACK (40 ms).
    ::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    listening = socket;
  });
  port_ = server_->bind_to_any_port("127.0.0.1");
  server_->set_socket_options([](socket_t) {});  // `listening` is gone after this constructor
  // cpp-httplib listens with a backlog of 5, compiled into Debian's library: a client opening
  // more connections at once (a batch of API calls) would have SYNs dropped and retried a
  // second later. Listening again raises the backlog.
  if (port_ <= 0 || ::listen(listening, 512) != 0) {
    std::fprintf(stderr, "fake: cannot listen on 127.0.0.1\n");
    std::exit(1);
  }
}

LoopbackServer::~LoopbackServer() { stop(); }

void LoopbackServer::start() {
  serving_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // A stop() before the server runs would be lost, and the thread would never end.
  while (!server_->is_running() && !listen_returned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void LoopbackServer::stop() {
  if (!serving_.joinable()) return;
  server_->stop();
  serving_.join();
}

}  // namespace phoenix::fakes::http
