#include "shared/util/strings.hpp"

#include <catch2/catch.hpp>

using namespace phoenix::util;

TEST_CASE("split, lines, join and trim", "[strings]") {
  CHECK(split("a,b,,c", ',') == std::vector<std::string>{"a", "b", "", "c"});
  CHECK(split_lines("one\r\ntwo\nthree\n") == std::vector<std::string>{"one", "two", "three"});
  CHECK(split_lines("").empty());
  CHECK(join({"a", "b"}, ", ") == "a, b");
  CHECK(trim("  x y \n") == "x y");
  CHECK(replace_all("{a}{a}", "{a}", "b") == "bb");
}

TEST_CASE("integers parse whole, or not at all", "[strings]") {
  CHECK(parse_int("42") == 42);
  CHECK(parse_int("-7") == -7);
  CHECK(parse_int("+3") == 3);
  CHECK_FALSE(parse_int("4x"));
  CHECK_FALSE(parse_int(""));
  CHECK_FALSE(parse_int("99999999999999999999"));
}

TEST_CASE("UTF-8 validation and printable text", "[strings]") {
  CHECK(is_valid_utf8("héllo ✓"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  CHECK(printable("a\nb\xff✓") == "a\\x0Ab\\xFF✓");
  CHECK(printable(std::string(300, 'x'), 10) == "xxxxxxxxxx...");
}

TEST_CASE("shell quoting is only for messages, and quotes what needs it", "[strings]") {
  CHECK(shell_quote("plain-arg") == "plain-arg");
  CHECK(shell_quote("two words") == "'two words'");
  CHECK(shell_quote("it's") == "'it'\\''s'");
  CHECK(shell_quote("") == "''");
}

TEST_CASE("plurals and durations read naturally", "[strings]") {
  CHECK(plural(1, "server") == "1 server");
  CHECK(plural(3, "server") == "3 servers");
  CHECK(plural(2, "process", "processes") == "2 processes");
  CHECK(format_duration_ms(850) == "850 ms");
  CHECK(format_duration_ms(2310) == "2.31 s");
}
