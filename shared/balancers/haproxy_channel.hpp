#pragma once
// Talking to HAProxy's Runtime API over its stats socket (a unix socket path or host:port).

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "shared/util/result.hpp"

namespace phoenix::haproxy {

// One connection, hence one HAProxy process: during a reload the old and the new process
// each answer their own connections, so a check and the change that depends on it must go
// through the same session.
class RuntimeSession {
 public:
  virtual ~RuntimeSession() = default;
  // Sends `commands` in order and returns one answer per command. A broken connection yields
  // fewer answers than commands: the caller knows exactly which ran.
  virtual Result<std::vector<std::string>> exchange(const std::vector<std::string>& commands) = 0;
};

class RuntimeChannel {
 public:
  virtual ~RuntimeChannel() = default;
  virtual std::string describe() const = 0;
  // Errors: `unavailable` (cannot connect: missing socket, permission), `timeout` (no
  // connection or no answer in time, as from a frozen HAProxy).
  virtual Result<std::unique_ptr<RuntimeSession>> open() = 0;
  // One session, one exchange.
  Result<std::vector<std::string>> run(const std::vector<std::string>& commands);
};

// Sessions in interactive mode ("prompt"), which frames every answer with the prompt; the
// semicolon-separated one-shot mode does not frame all answers reliably. Connecting is
// retried for `connect_window`: during a reload the new process re-binds the socket and for
// a moment nobody listens. Nothing is retried once a command was sent. No call blocks longer
// than `timeout` at a time: not connecting (a full accept queue), not waiting for an answer.
class SocketRuntimeChannel final : public RuntimeChannel {
 public:
  SocketRuntimeChannel(std::string address, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds connect_window = std::chrono::milliseconds(3000));
  std::string describe() const override { return address_; }
  Result<std::unique_ptr<RuntimeSession>> open() override;

 private:
  std::string address_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds connect_window_;
};

}  // namespace phoenix::haproxy
