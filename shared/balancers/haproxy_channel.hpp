#pragma once
// Talking to HAProxy's Runtime API over its stats socket (a unix socket path or host:port).

#include <chrono>
#include <string>
#include <vector>

#include "shared/util/result.hpp"

namespace phoenix::haproxy {

class RuntimeChannel {
 public:
  virtual ~RuntimeChannel() = default;
  virtual std::string describe() const = 0;
  // Runs `commands` in order on one connection and returns one answer per command. A broken
  // connection yields fewer answers than commands: the caller knows exactly which ran.
  // Errors: `unavailable` (cannot connect: missing socket, permission), `timeout`.
  virtual Result<std::vector<std::string>> run(const std::vector<std::string>& commands) = 0;
};

// One connection per run() in interactive mode ("prompt"), which frames every answer with the
// prompt; the semicolon-separated one-shot mode does not frame all answers reliably.
class SocketRuntimeChannel final : public RuntimeChannel {
 public:
  SocketRuntimeChannel(std::string address, std::chrono::milliseconds timeout);
  std::string describe() const override { return address_; }
  Result<std::vector<std::string>> run(const std::vector<std::string>& commands) override;

 private:
  std::string address_;
  std::chrono::milliseconds timeout_;
};

}  // namespace phoenix::haproxy
