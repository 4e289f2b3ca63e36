#include "shared/http/url.hpp"

#include <curl/curl.h>

namespace phoenix::http {

std::string url_encode(std::string_view text) {
  // libcurl ignores the handle argument of curl_easy_escape since 7.82.
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  if (escaped == nullptr) return {};
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

}  // namespace phoenix::http
