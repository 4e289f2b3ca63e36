#pragma once
// String helpers with no domain knowledge.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace phoenix::util {

std::vector<std::string> split(std::string_view text, char separator);
// Splits on '\n', dropping a trailing '\r' from each line; no empty last line for a final '\n'.
std::vector<std::string> split_lines(std::string_view text);
std::string join(const std::vector<std::string>& parts, std::string_view separator);
std::string_view trim(std::string_view text);
std::string replace_all(std::string text, std::string_view from, std::string_view to);
std::string to_lower(std::string_view text);

// Whole-string integer parse: no sign surprises, no trailing junk, range-checked.
std::optional<std::int64_t> parse_int(std::string_view text);

bool is_valid_utf8(std::string_view text);

// ASCII letters and digits: locale-independent, unlike std::isalnum.
constexpr bool is_ascii_alnum(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
// The characters of names that travel everywhere unquoted (labels, file names, cloud label
// values, server ids): A-Z a-z 0-9 . _ -
constexpr bool is_name_char(char c) { return is_ascii_alnum(c) || c == '.' || c == '_' || c == '-'; }

// Makes arbitrary bytes printable on one line: registered secrets are redacted (before
// anything else, see util::redact), control and non-UTF-8 bytes become \xNN, and the result
// is cut to `max_length` characters with "..." appended.
std::string printable(std::string_view text, std::size_t max_length = 200);

// Quotes an argument the way a shell user would type it, for messages only (never executed).
std::string shell_quote(std::string_view argument);

// "1 server", "3 servers".
std::string plural(std::size_t count, std::string_view singular, std::string_view plural_form = {});

// Milliseconds as "850 ms" or "2.31 s".
std::string format_duration_ms(std::int64_t milliseconds);

}  // namespace phoenix::util
