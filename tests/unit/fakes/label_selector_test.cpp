// The contract fake must read label selectors as the API reference defines them, or the
// provider's tests prove nothing.
#include "fakes/hcloud/label_selector.hpp"

#include <catch2/catch.hpp>

using namespace phoenix::fakes::hcloud;

TEST_CASE("label selectors follow the API reference", "[fake-selector]") {
  const Labels labels = {{"phoenix-service", "web"}, {"phoenix-label", "42"}, {"env", "prod"}};
  const auto matches = [&](const char* text) {
    auto selector = parse_selector(text);
    REQUIRE(selector);
    return selector->matches(labels);
  };
  CHECK(matches("phoenix-service=web"));
  CHECK(matches("phoenix-service==web,phoenix-label=42"));
  CHECK_FALSE(matches("phoenix-service=web,phoenix-label=41"));
  CHECK(matches("env!=staging"));
  CHECK(matches("env"));
  CHECK_FALSE(matches("!env"));
  CHECK(matches("!missing"));
  CHECK(matches("phoenix-label in (41,42)"));
  CHECK_FALSE(matches("phoenix-label notin (41, 42)"));
  CHECK(matches("phoenix-label in (42),env in (prod,dev)"));
  CHECK(matches(""));
  CHECK_FALSE(parse_selector("in (a"));
  CHECK_FALSE(parse_selector("a b c"));
  CHECK_FALSE(parse_selector("bad key=1"));
}

TEST_CASE("label keys and values are refused as the API reference refuses them", "[fake-selector][hcloud-labels]") {
  // Values: empty, or 1-63 characters of [A-Za-z0-9._-] starting and ending alphanumeric.
  CHECK(valid_label_value(""));
  CHECK(valid_label_value("a"));
  CHECK(valid_label_value("checkout_broken-2.x"));
  CHECK(valid_label_value(std::string(63, 'a')));
  CHECK_FALSE(valid_label_value(std::string(64, 'a')));
  CHECK_FALSE(valid_label_value("checkout broken"));
  CHECK_FALSE(valid_label_value("-a"));
  CHECK_FALSE(valid_label_value("a."));
  CHECK_FALSE(valid_label_value("_"));
  CHECK_FALSE(valid_label_value("caf\xc3\xa9"));  // UTF-8: not [A-Za-z0-9]
  CHECK_FALSE(valid_label_value("a:b"));
  CHECK_FALSE(valid_label_value("a/b"));
  // Keys: a name like a value's, but never empty; an optional prefix that is a DNS subdomain.
  CHECK(valid_label_key("phoenix-reason"));
  CHECK(valid_label_key("example.com/phoenix-reason"));
  CHECK(valid_label_key("a-b.example/x"));
  CHECK_FALSE(valid_label_key(""));
  CHECK_FALSE(valid_label_key(std::string(64, 'k')));
  CHECK_FALSE(valid_label_key("/name"));
  CHECK_FALSE(valid_label_key("example.com/"));
  CHECK_FALSE(valid_label_key("bad prefix/name"));
  CHECK_FALSE(valid_label_key("under_score.example/name"));
  CHECK_FALSE(valid_label_key("-dash.example/name"));
  CHECK_FALSE(valid_label_key("double..dot/name"));
  CHECK_FALSE(valid_label_key(std::string(254, 'p') + "/name"));
}
