#pragma once
// URL pieces.

#include <string>
#include <string_view>

namespace phoenix::http {

// Percent-encodes every byte but RFC 3986's unreserved characters (ALPHA, DIGIT, "-", ".", "_",
// "~"), as upper-case %XX, for query values and path segments: "a b/c" -> "a%20b%2Fc". The same
// output as curl_easy_escape, without loading libcurl (see http/curl_library).
std::string url_encode(std::string_view text);

}  // namespace phoenix::http
