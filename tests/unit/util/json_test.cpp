#include "shared/util/json.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

namespace {

std::string error_of(std::string_view text) {
  const auto parsed = util::parse_json(text, "web.json");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.error().kind == ErrorKind::invalid);
  return parsed.error().message;
}

}  // namespace

// "web.json:1:40: invalid JSON" said where, not what: the slips of a hand-edited file are named.
TEST_CASE("invalid JSON says what is wrong where the parser stopped", "[json]") {
  CHECK(error_of(R"({"pool": {"size": 1,}})") == "web.json:1:20: invalid JSON (a ',' before '}')");
  CHECK(error_of("[1, 2,]") == "web.json:1:6: invalid JSON (a ',' before ']')");
  CHECK(error_of("{\"service\": \"web\"\n \"pool\": 1}") == "web.json:2:2: invalid JSON (a ',' missing before '\"')");
  CHECK(error_of("{'service': 'web'}") ==
        "web.json:1:2: invalid JSON (a string in single quotes (JSON takes "
        "double quotes))");
  CHECK(error_of(R"({"pool": {"size": 1})") ==
        "web.json:1:21: invalid JSON (the text ends before every '{' and '[' is closed)");
  CHECK(error_of("garbage") == "web.json:1:1: invalid JSON (unexpected 'g')");
  CHECK(error_of("  \n") == "web.json:2:1: invalid JSON (the file is empty)");
}

// Where cJSON stops is not always where the slip is: at the end of a file with no final newline,
// one closer later, or on a space.
TEST_CASE("invalid JSON names the first slip wherever the parser stopped", "[json]") {
  CHECK(error_of(R"({"a": 1,})") == "web.json:1:8: invalid JSON (a ',' before '}')");
  CHECK(error_of(R"({"a": 1 ,  })") == "web.json:1:9: invalid JSON (a ',' before '}')");
  CHECK(error_of(R"({"a": {"b": 1,},})") == "web.json:1:14: invalid JSON (a ',' before '}')");
  CHECK(error_of(R"({"a": "unterminated)") == "web.json:1:7: invalid JSON (a string that is never closed)");
  CHECK(error_of(R"({"a": 1,, "b": 2})") == "web.json:1:9: invalid JSON (unexpected ',')");
  CHECK(error_of(R"({"a": {])") == "web.json:1:8: invalid JSON (a ']' where a '}' closes)");
  CHECK(error_of(std::string(1001, '[') + std::string(1001, ']')) ==
        "web.json:1:1001: invalid JSON (nested deeper than 1000 levels)");
  // Columns count characters, as an editor does, not bytes.
  CHECK(error_of("{\"\xC3\xA9\xC3\xA9\" \"x\"}") == "web.json:1:7: invalid JSON (a ',' missing before '\"')");
}
