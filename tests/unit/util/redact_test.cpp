#include "shared/util/redact.hpp"

#include <catch2/catch.hpp>

using namespace phoenix::util;

TEST_CASE("registered secrets never leave in clear", "[redact]") {
  register_secret("s3cr3t-token-value");
  CHECK(redact("Authorization: Bearer s3cr3t-token-value failed") == "Authorization: Bearer **** failed");
  CHECK(redact("twice s3cr3t-token-value s3cr3t-token-value") == "twice **** ****");
  CHECK(redact("nothing to hide") == "nothing to hide");
}

TEST_CASE("credentials in URLs are removed", "[redact]") {
  CHECK(redact("GET https://user:pass@ci.example/api") == "GET https://****@ci.example/api");
  CHECK(redact("https://ci.example/a@b") == "https://ci.example/a@b");
}
