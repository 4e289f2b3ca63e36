#include "shared/util/time_format.hpp"

#include <catch2/catch.hpp>

using namespace phoenix::util;
using std::chrono::system_clock;

TEST_CASE("ISO 8601 round trips in UTC, with milliseconds where asked", "[time]") {
  const auto time = system_clock::time_point(std::chrono::milliseconds(1795000000123LL));
  CHECK(format_iso8601(time) == "2026-11-18T11:06:40Z");
  CHECK(format_iso8601_ms(time) == "2026-11-18T11:06:40.123Z");
  CHECK(parse_iso8601("2026-11-18T11:06:40.123Z") == time);
  CHECK(parse_iso8601("2026-11-18T11:06:40Z") == time - std::chrono::milliseconds(123));
}

TEST_CASE("malformed timestamps are refused", "[time]") {
  for (const char* text : {"", "2026-11-18", "2026-11-18T11:06:40", "2026-13-18T11:06:40Z", "2026-11-18T11:06:40Zjunk",
                           "2026-11-18 11:06:40Z"}) {
    INFO(text);
    CHECK_FALSE(parse_iso8601(text));
  }
}

TEST_CASE("days the calendar does not have are refused, leap days where they exist are kept", "[time]") {
  for (const char* text :
       {"2026-02-29T00:00:00Z", "2026-02-31T12:00:00Z", "2026-04-31T00:00:00Z", "2026-06-31T00:00:00Z",
        "2026-09-31T00:00:00Z", "2026-11-31T00:00:00Z", "2100-02-29T00:00:00Z", "2026-00-10T00:00:00Z",
        "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z"}) {
    INFO(text);
    CHECK_FALSE(parse_iso8601(text));
  }
  CHECK(parse_iso8601("2024-02-29T00:00:00Z"));
  CHECK(parse_iso8601("2000-02-29T00:00:00Z"));
  CHECK(parse_iso8601("2026-12-31T23:59:59Z"));
  // The day after 2024-02-28 is 2024-02-29, and 2024-03-01 comes after it.
  CHECK(*parse_iso8601("2024-02-29T00:00:00Z") - *parse_iso8601("2024-02-28T00:00:00Z") == std::chrono::hours(24));
  CHECK(*parse_iso8601("2024-03-01T00:00:00Z") - *parse_iso8601("2024-02-29T00:00:00Z") == std::chrono::hours(24));
}

TEST_CASE("times of day that do not exist, and loose forms sscanf would take, are refused", "[time]") {
  for (const char* text :
       {"2026-11-18T24:00:00Z", "2026-11-18T23:60:00Z", "2026-11-18T23:59:60Z", "2026-11-18T-1:06:40Z",
        "2026-11-18T11:-6:40Z", "2026-11-18T11:06:-4Z", "2026-11-18T 1:06:40Z", "2026-11-18T1:06:40Z",
        "2026-1-18T11:06:40Z", "+026-11-18T11:06:40Z", " 2026-11-18T11:06:40Z", "2026-11-18T11:06:40.Z",
        "2026-11-18T11:06:40.12aZ", "2026-11-18t11:06:40Z", "2026-11-18T11:06:40z"}) {
    INFO(text);
    CHECK_FALSE(parse_iso8601(text));
  }
  CHECK(parse_iso8601("2026-11-18T11:06:40.123456789Z") ==
        *parse_iso8601("2026-11-18T11:06:40Z") + std::chrono::nanoseconds(123456789));
}
