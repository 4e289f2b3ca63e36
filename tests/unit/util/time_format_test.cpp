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
