#pragma once
// The Hetzner Cloud API (https://api.hetzner.cloud/v1) over HttpClient: JSON in and out,
// retries with exponential backoff and full jitter for what the API says is worth retrying
// (429 with RateLimit-Reset, 5xx, 423 locked, 409 conflict, transport errors), all bounded
// by a deadline on the injected clock, so tests run instantly. Errors name a call by its method
// and path as sent, query included ("GET /servers?label_selector=...&page=2&per_page=50"), and,
// when the API could not be reached, the endpoint ("... at https://api.hetzner.cloud/v1"):
// nothing in these URLs is secret; the token is sent only in the Authorization header.

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "shared/core/http_client.hpp"
#include "shared/util/clock.hpp"
#include "shared/util/json.hpp"
#include "shared/util/reporter.hpp"

namespace phoenix::hcloud {

struct ApiCall {
  std::string method = "GET";
  std::string path;  // "/servers?label_selector=..." (after the endpoint)
  std::string body;  // JSON, or "" for none
};

struct RetryPolicy {
  std::chrono::milliseconds deadline{120000};  // for one call, retries included
  std::chrono::milliseconds first_backoff{500};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds action_poll{100};  // doubles up to 2 s while actions run
};

class Api {
 public:
  Api(HttpClient& http, util::Clock& clock, util::Reporter& reporter, std::string endpoint, std::string token,
      RetryPolicy policy = {});

  // One call, retried as the API allows. Errors: `invalid` (401/403/422: fix the token or the
  // config), `failed` (404 and other refusals), `unavailable` (still failing at the deadline).
  Result<util::Json> call(const ApiCall& call);
  // Many calls at once (one batch per round, each retried on its own): one result per call.
  std::vector<Result<util::Json>> call_all(const std::vector<ApiCall>& calls);
  // Every item of a paginated list ("servers", "load_balancers", ...), following
  // meta.pagination.next_page with per_page=50.
  Result<std::vector<util::Json>> list(const std::string& path_and_query, const char* key);
  // Waits until every action succeeded; an action that ends in "error" fails the wait. With
  // `stop_requested`, asked after every poll that found actions still running, a stop ends
  // the wait there with ErrorCode::interrupted ("stopped by SIGTERM while <what> ..."); the
  // actions themselves run on at Hetzner, which has no way to cancel them.
  Status wait_for_actions(const std::vector<long long>& ids, std::chrono::milliseconds timeout, const std::string& what,
                          const std::function<bool()>& stop_requested = nullptr);

  // The ids of "action" and "next_actions" in a response.
  static std::vector<long long> action_ids(const cJSON* response);

 private:
  HttpRequest to_request(const ApiCall& call) const;
  std::chrono::milliseconds backoff(int attempt);

  HttpClient& http_;
  util::Clock& clock_;
  util::Reporter& reporter_;
  std::string endpoint_;
  std::string token_;
  RetryPolicy policy_;
  std::mt19937 random_;
  long long rate_limit_remaining_ = -1;  // from the last RateLimit-Remaining header
  long long rate_limit_reset_ = 0;       // unix seconds, from RateLimit-Reset
};

}  // namespace phoenix::hcloud
