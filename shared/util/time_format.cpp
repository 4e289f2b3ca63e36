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

namespace {

// The number written by the `count` characters of `text` at `at`, when all are digits.
std::optional<int> digits_at(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

// Nanoseconds from the digits after the decimal point, at least one; those beyond the ninth
// are below what a time point holds and ignored. Advances `at` past them.
std::optional<long long> fraction_at(std::string_view text, std::size_t& at) {
  long long nanoseconds = 0;
  long long scale = 100000000;
  const std::size_t first = at;
  for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
    nanoseconds += (text[at] - '0') * scale;
    scale /= 10;
  }
  if (at == first) return std::nullopt;
  return nanoseconds;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  using namespace std::chrono;
  // Fixed positions: YYYY-MM-DDTHH:MM:SS is 19 characters; an optional fraction and Z follow.
  constexpr std::size_t kFraction = 19;
  if (text.size() <= kFraction) return std::nullopt;
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':') return std::nullopt;
  const auto year_number = digits_at(text, 0, 4);
  const auto month_number = digits_at(text, 5, 2);
  const auto day_number = digits_at(text, 8, 2);
  const auto hour = digits_at(text, 11, 2);
  const auto minute = digits_at(text, 14, 2);
  const auto second = digits_at(text, 17, 2);
  if (!year_number || !month_number || !day_number || !hour || !minute || !second) return std::nullopt;
  // A day the calendar has (month lengths, leap years), and a time of day. No leap second:
  // system_clock has none, and no record holds one.
  const year_month_day date{year{*year_number}, month{static_cast<unsigned>(*month_number)},
                            day{static_cast<unsigned>(*day_number)}};
  if (!date.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;

  std::size_t position = kFraction;
  long long nanoseconds = 0;
  if (position < text.size() && text[position] == '.') {
    ++position;
    const auto fraction = fraction_at(text, position);
    if (!fraction) return std::nullopt;
    nanoseconds = *fraction;
  }
  if (position + 1 != text.size() || text[position] != 'Z') return std::nullopt;
  const auto since_midnight = hours(*hour) + minutes(*minute) + seconds(*second);
  return time_point_cast<system_clock::duration>(sys_days{date} + since_midnight +
                                                 std::chrono::nanoseconds(nanoseconds));
}

}  // namespace phoenix::util
