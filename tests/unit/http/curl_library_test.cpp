#include "shared/http/curl_library.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE("libcurl is loaded once, with every function Phoenix calls", "[http][curl]") {
  const auto first = http::curl_library();
  REQUIRE(first.ok());
  const http::CurlLibrary& curl = **first;
  for (const bool resolved :
       {curl.easy_init != nullptr, curl.easy_setopt != nullptr, curl.easy_getinfo != nullptr,
        curl.easy_strerror != nullptr, curl.easy_cleanup != nullptr, curl.slist_append != nullptr,
        curl.slist_free_all != nullptr, curl.multi_init != nullptr, curl.multi_add_handle != nullptr,
        curl.multi_perform != nullptr, curl.multi_info_read != nullptr, curl.multi_poll != nullptr,
        curl.multi_remove_handle != nullptr, curl.multi_cleanup != nullptr}) {
    CHECK(resolved);
  }
  const auto second = http::curl_library();
  REQUIRE(second.ok());
  CHECK(*second == *first);
  CHECK(std::string(curl.easy_strerror(CURLE_OPERATION_TIMEDOUT)) == "Timeout was reached");
}
