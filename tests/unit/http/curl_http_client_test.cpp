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
