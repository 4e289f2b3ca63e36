#pragma once
// ISO 8601 timestamps in UTC ("2026-11-26T07:43:00Z"), the form every record and JSON output uses.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace phoenix::util {

std::string format_iso8601(std::chrono::system_clock::time_point time);
// With milliseconds ("2026-11-26T07:43:00.125Z"): records that order events made within a second.
std::string format_iso8601_ms(std::chrono::system_clock::time_point time);
// Accepts exactly "YYYY-MM-DDTHH:MM:SSZ", with optional fractional seconds before the Z, for a
// day the calendar has (2026-02-29 and 2026-04-31 do not exist) and a time from 00:00:00 to
// 23:59:59; anything else (signs, spaces, fewer digits, a leap second) is nullopt.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace phoenix::util
