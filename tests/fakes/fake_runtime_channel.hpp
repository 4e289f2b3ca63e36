#pragma once
// A RuntimeChannel that records every exchange as a batch and answers from a function.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/balancers/haproxy_channel.hpp"

namespace phoenix::fakes {

class FakeRuntimeChannel final : public haproxy::RuntimeChannel {
 public:
  using Answerer = std::function<std::string(const std::string& command)>;

  explicit FakeRuntimeChannel(Answerer answerer) : answerer_(std::move(answerer)) {}
  std::string describe() const override { return "fake socket"; }
  Result<std::unique_ptr<haproxy::RuntimeSession>> open() override {
    if (error) return *error;
    ++sessions;
    return std::unique_ptr<haproxy::RuntimeSession>(new Session(*this));
  }

  std::vector<std::vector<std::string>> batches;  // one per exchange
  int sessions = 0;
  std::optional<Error> error;
  std::size_t break_after = static_cast<std::size_t>(-1);  // answers per exchange before the connection "closes"

 private:
  class Session final : public haproxy::RuntimeSession {
   public:
    explicit Session(FakeRuntimeChannel& channel) : channel_(channel) {}
    Result<std::vector<std::string>> exchange(const std::vector<std::string>& commands) override {
      channel_.batches.push_back(commands);
      std::vector<std::string> answers;
      for (const auto& command : commands) {
        if (answers.size() == channel_.break_after) break;
        answers.push_back(channel_.answerer_(command));
      }
      return answers;
    }

   private:
    FakeRuntimeChannel& channel_;
  };

  Answerer answerer_;
};

}  // namespace phoenix::fakes
