#pragma once
// The real HttpClient: libcurl's multi interface, so a batch of requests (one per server)
// goes out at once and takes as long as the slowest, not the sum.

#include <curl/curl.h>

#include "shared/core/http_client.hpp"

namespace phoenix::http {

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient();
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  std::vector<Result<HttpResponse>> perform(const std::vector<HttpRequest>& requests) override;

 private:
  CURLM* multi_;  // kept between batches: its connection cache makes later batches cheaper
};

}  // namespace phoenix::http
