#pragma once
// An HttpClient answering from a function, recording every batch.

#include <functional>
#include <vector>

#include "shared/core/http_client.hpp"

namespace phoenix::fakes {

class FakeHttpClient final : public HttpClient {
 public:
  using Handler = std::function<Result<HttpResponse>(const HttpRequest&)>;

  explicit FakeHttpClient(Handler handler) : handler_(std::move(handler)) {}
  std::vector<Result<HttpResponse>> perform(const std::vector<HttpRequest>& requests) override {
    batches.push_back(requests);
    std::vector<Result<HttpResponse>> results;
    for (const auto& request : requests) results.push_back(handler_(request));
    return results;
  }

  std::vector<std::vector<HttpRequest>> batches;

 private:
  Handler handler_;
};

inline HttpResponse http_answer(long status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

}  // namespace phoenix::fakes
