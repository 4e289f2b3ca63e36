#pragma once
// HTTP as an interface: requests go out together and come back together.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "shared/util/result.hpp"

namespace phoenix {

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
  // HTTP basic credentials, sent with the first request (Jenkins answers 403, not 401).
  std::string basic_user;
  std::string basic_password;
  // How errors name the request, such as "GET /servers?page=2 at https://api.example/v1": for a
  // caller whose URLs carry no secret in their query. It must hold none (registered secrets are
  // still replaced where it is printed). Empty: the method and util::redact_url(url), which
  // hides every query value, since webhook and CI URLs carry tokens there.
  std::string shown_as;
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  // The value of the first header with this (lower-case) name, or "".
  std::string header(const std::string& name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Performs all requests concurrently. One result per request, in order: a response (any
  // status), or an error (`timeout`, or `unavailable` for connection failures).
  virtual std::vector<Result<HttpResponse>> perform(const std::vector<HttpRequest>& requests) = 0;
  // Whether requests can be sent at all (the real client: its library loads). A client that
  // cannot is an installation problem, not an answer: callers that judge servers by the
  // answers (smoke tests, watch checks) ask first, so that no verdict is drawn from it.
  // Errors: `invalid` (exit 2), saying what to install.
  virtual Status usable() { return {}; }
};

}  // namespace phoenix
