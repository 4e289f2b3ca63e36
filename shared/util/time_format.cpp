#include "shared/util/time_format.hpp"

#include <cstdio>
#include <ctime>

namespace phoenix::util {

std::string format_iso8601(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return buffer;
}

std::string format_iso8601_ms(std::chrono::system_clock::time_point time) {
  const auto milliseconds =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  std::string text = format_iso8601(time);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03lld",
                static_cast<long long>(milliseconds < 0 ? milliseconds + 1000 : milliseconds));
  text.insert(text.size() - 1, fraction);
  return text;
}

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  std::tm parts{};
  int consumed = 0;
  const std::string copy(text);
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &parts.tm_year, &parts.tm_mon, &parts.tm_mday,
                  &parts.tm_hour, &parts.tm_min, &parts.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::size_t position = static_cast<std::size_t>(consumed);
  long long nanoseconds = 0;
  if (position < copy.size() && copy[position] == '.') {
    long long scale = 100000000;
    for (++position; position < copy.size() && copy[position] >= '0' && copy[position] <= '9'; ++position) {
      nanoseconds += (copy[position] - '0') * scale;
      scale /= 10;
    }
  }
  if (position + 1 != copy.size() || copy[position] != 'Z') return std::nullopt;
  parts.tm_year -= 1900;
  parts.tm_mon -= 1;
  if (parts.tm_mon < 0 || parts.tm_mon > 11 || parts.tm_mday < 1 || parts.tm_mday > 31 || parts.tm_hour > 23 ||
      parts.tm_min > 59 || parts.tm_sec > 60) {
    return std::nullopt;
  }
  const std::time_t seconds = timegm(&parts);
  return std::chrono::system_clock::from_time_t(seconds) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(nanoseconds));
}

}  // namespace phoenix::util
