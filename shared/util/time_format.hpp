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
// Accepts "YYYY-MM-DDTHH:MM:SSZ" with optional fractional seconds.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace phoenix::util
