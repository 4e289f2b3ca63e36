#pragma once
// URL pieces, with libcurl doing the encoding.

#include <string>
#include <string_view>

namespace phoenix::http {

// Percent-encodes everything but unreserved characters (for query values and path segments).
std::string url_encode(std::string_view text);

}  // namespace phoenix::http
