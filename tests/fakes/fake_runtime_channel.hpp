#pragma once
// A RuntimeChannel that records the command batches and answers from a script.

#include <deque>
#include <functional>
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
  Result<std::vector<std::string>> run(const std::vector<std::string>& commands) override {
    batches.push_back(commands);
    if (error) return *error;
    std::vector<std::string> answers;
    for (const auto& command : commands) {
      if (answers.size() == break_after) break;
      answers.push_back(answerer_(command));
    }
    return answers;
  }

  std::vector<std::vector<std::string>> batches;
  std::optional<Error> error;
  std::size_t break_after = static_cast<std::size_t>(-1);  // simulate a connection closed midway

 private:
  Answerer answerer_;
};

}  // namespace phoenix::fakes
