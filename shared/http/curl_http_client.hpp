#pragma once
// The real HttpClient: libcurl's multi interface, so a batch of requests (one per server)
// goes out at once and takes as long as the slowest, not the sum. libcurl is loaded on the
// first batch; when it cannot be, every request of the batch fails with that error.

#include <curl/curl.h>

#include "shared/core/http_client.hpp"
#include "shared/http/curl_library.hpp"

namespace phoenix::http {

class CurlHttpClient final : public HttpClient {
 public:
  CurlHttpClient();
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  std::vector<Result<HttpResponse>> perform(const std::vector<HttpRequest>& requests) override;
  Status usable() override;

 private:
  // Loads libcurl and creates the multi handle on the first batch (see http/curl_library).
  Status ready();

  const CurlLibrary* curl_ = nullptr;
  CURLM* multi_ = nullptr;  // kept between batches: its connection cache makes later batches cheaper
};

}  // namespace phoenix::http
