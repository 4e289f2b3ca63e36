#include "shared/util/reporter.hpp"

#include <unistd.h>

#include <cstdlib>

#include "shared/util/redact.hpp"

namespace phoenix::util {

ConsoleReporter::ConsoleReporter(std::FILE* stream, ConsoleStyle style, const Clock& clock)
    : stream_(stream), style_(style), clock_(clock), started_(clock.now()) {}

void ConsoleReporter::step(std::string_view message) {
  if (style_.verbosity != Verbosity::quiet) write("\033[1m", "", message);
}

void ConsoleReporter::detail(std::string_view message) {
  if (style_.verbosity == Verbosity::verbose) write("\033[2m", "", message);
}

void ConsoleReporter::warning(std::string_view message) { write("\033[33m", "warning: ", message); }

void ConsoleReporter::write(std::string_view prefix_color, std::string_view label, std::string_view message) {
  const double seconds = static_cast<double>(elapsed_ms(started_, clock_.now())) / 1000.0;
  const std::string text = redact(message);
  if (style_.color) {
    std::fprintf(stream_, "\033[2m[+%.3fs]\033[0m %.*s%.*s%s\033[0m\n", seconds, static_cast<int>(prefix_color.size()),
                 prefix_color.data(), static_cast<int>(label.size()), label.data(), text.c_str());
  } else {
    std::fprintf(stream_, "[+%.3fs] %.*s%s\n", seconds, static_cast<int>(label.size()), label.data(), text.c_str());
  }
  std::fflush(stream_);
}

bool color_wanted(std::FILE* stream, bool disabled_by_option) {
  if (disabled_by_option) return false;
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  return ::isatty(::fileno(stream)) != 0;
}

}  // namespace phoenix::util
