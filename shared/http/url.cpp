#include "shared/http/url.hpp"

namespace phoenix::http {

namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char byte : text) {
    const auto c = static_cast<unsigned char>(byte);
    if (unreserved(c)) {
      out += byte;
    } else {
      out += '%';
      out += kHex[c >> 4U];
      out += kHex[c & 0x0fU];
    }
  }
  return out;
}

}  // namespace phoenix::http
