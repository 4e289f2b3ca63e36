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
