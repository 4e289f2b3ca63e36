#include "shared/http/url.hpp"

#include <curl/curl.h>

#include <catch2/catch.hpp>
#include <string>

namespace phoenix::http {
namespace {

TEST_CASE("url_encode keeps unreserved characters and percent-encodes every other byte", "[http][url]") {
  CHECK(url_encode("") == "");
  CHECK(url_encode("AZaz09-._~") == "AZaz09-._~");
  CHECK(url_encode("a b/c") == "a%20b%2Fc");
  CHECK(url_encode("jobs[name]") == "jobs%5Bname%5D");
  CHECK(url_encode("phoenix-service=web,tier!=cold") == "phoenix-service%3Dweb%2Ctier%21%3Dcold");
  CHECK(url_encode(std::string("\0\xff\xc3\xa9", 4)) == "%00%FF%C3%A9");
}

TEST_CASE("url_encode gives what curl_easy_escape gives for every byte", "[http][url]") {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  char* escaped = curl_easy_escape(nullptr, all.data(), static_cast<int>(all.size()));
  REQUIRE(escaped != nullptr);
  const std::string expected(escaped);
  curl_free(escaped);
  CHECK(url_encode(all) == expected);
}

}  // namespace
}  // namespace phoenix::http
