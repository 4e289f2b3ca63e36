#pragma once
// A Reporter that keeps every line, for asserting what an operator would have seen.

#include <string>
#include <vector>

#include "shared/util/redact.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::fakes {

class RecordingReporter final : public util::Reporter {
 public:
  void step(std::string_view message) override { lines.push_back("step: " + util::redact(message)); }
  void detail(std::string_view message) override { lines.push_back("detail: " + util::redact(message)); }
  void warning(std::string_view message) override { lines.push_back("warning: " + util::redact(message)); }

  bool saw(std::string_view text) const {
    for (const auto& line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

  std::vector<std::string> lines;
};

}  // namespace phoenix::fakes
