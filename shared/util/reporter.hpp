#pragma once
// Progress output: one line per step on stderr as it happens, so CI consoles show it live.
// The result of a command goes to stdout and never through a Reporter.

#include <cstdio>
#include <string>
#include <string_view>

#include "shared/util/clock.hpp"

namespace phoenix::util {

enum class Verbosity { quiet, normal, verbose };

class Reporter {
 public:
  virtual ~Reporter() = default;
  // A step of the operation ("adding 3 servers of pool 42"). Hidden by --quiet.
  virtual void step(std::string_view message) = 0;
  // Extra detail for --verbose (each command sent, each retry).
  virtual void detail(std::string_view message) = 0;
  // Something the operator should look at; shown even with --quiet.
  virtual void warning(std::string_view message) = 0;
};

struct ConsoleStyle {
  Verbosity verbosity = Verbosity::normal;
  bool color = false;
};

// Writes "[+1.23s] message" lines (time since the command started) to a stream, redacted.
class ConsoleReporter final : public Reporter {
 public:
  ConsoleReporter(std::FILE* stream, ConsoleStyle style, const Clock& clock);
  void step(std::string_view message) override;
  void detail(std::string_view message) override;
  void warning(std::string_view message) override;

 private:
  void write(std::string_view prefix_color, std::string_view label, std::string_view message);

  std::FILE* stream_;
  ConsoleStyle style_;
  const Clock& clock_;
  Clock::Steady::time_point started_;
};

// Whether colour suits `stream`: a terminal, NO_COLOR unset, and not switched off.
bool color_wanted(std::FILE* stream, bool disabled_by_option);

}  // namespace phoenix::util
