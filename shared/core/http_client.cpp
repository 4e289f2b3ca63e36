#include "shared/core/http_client.hpp"

namespace phoenix {

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return {};
}

}  // namespace phoenix
