#include "shared/http/curl_http_client.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE("a header with a line break is refused before anything is sent, its value unseen", "[http][secrets]") {
  http::CurlHttpClient client;
  HttpRequest injected;
  injected.url = "http://127.0.0.1:9/v1/servers";  // never contacted
  injected.headers = {{"Authorization", "Bearer tok3n\r\nX-Injected: yes"}};
  HttpRequest fine = injected;
  fine.headers = {{"Accept", "application/json"}};
  fine.timeout = std::chrono::milliseconds(500);
  const auto results = client.perform({injected, fine});
  REQUIRE(results.size() == 2);
  REQUIRE_FALSE(results[0].ok());
  CHECK(results[0].error().kind == ErrorKind::invalid);
  CHECK(results[0].error().message ==
        "GET http://127.0.0.1:9/v1/servers: refusing to send header 'Authorization': it holds a line break or NUL "
        "(the value is not shown)");
  // The other request of the batch goes out (and finds nobody listening).
  REQUIRE_FALSE(results[1].ok());
  CHECK(results[1].error().kind == ErrorKind::unavailable);
}

TEST_CASE("a failed request names its URL without credentials and with its query values redacted", "[http][secrets]") {
  http::CurlHttpClient client;
  HttpRequest request;
  request.url = "http://deploy:pa55w0rd@127.0.0.1:9/checkout?token=tok-secret-42&probe=1";  // nobody listens
  request.timeout = std::chrono::milliseconds(500);
  const auto results = client.perform({request});
  REQUIRE(results.size() == 1);
  REQUIRE_FALSE(results[0].ok());
  const std::string& message = results[0].error().message;
  CHECK_THAT(message, Catch::StartsWith("GET http://127.0.0.1:9/checkout?token=<redacted>&probe=<redacted>: "));
  for (const char* secret : {"pa55w0rd", "deploy", "tok-secret-42", "probe=1"}) {
    CHECK(message.find(secret) == std::string::npos);
  }
}

TEST_CASE("a failed request whose caller names it is named so", "[http][secrets]") {
  http::CurlHttpClient client;
  HttpRequest request;
  request.url = "http://127.0.0.1:9/v1/servers?label_selector=phoenix-pool%3D42";  // nobody listens
  request.shown_as = "GET /servers?label_selector=phoenix-pool%3D42 at http://127.0.0.1:9/v1";
  request.timeout = std::chrono::milliseconds(500);
  const auto results = client.perform({request});
  REQUIRE(results.size() == 1);
  REQUIRE_FALSE(results[0].ok());
  CHECK_THAT(results[0].error().message,
             Catch::StartsWith("GET /servers?label_selector=phoenix-pool%3D42 at http://127.0.0.1:9/v1: "));
}
