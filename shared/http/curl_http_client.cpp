#include "shared/http/curl_http_client.hpp"

#include <memory>
#include <optional>
#include <string_view>

#include "shared/http/curl_library.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::http {

namespace {

struct Transfer {
  std::size_t index = 0;  // position in the request batch
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse response;
  char error_buffer[CURL_ERROR_SIZE] = {};
  std::optional<Error> error;
  bool done = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  transfer->response.body.append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    transfer->response.headers.emplace_back(util::to_lower(util::trim(line.substr(0, colon))),
                                            std::string(util::trim(line.substr(colon + 1))));
  } else if (line.rfind("HTTP/", 0) == 0) {
    transfer->response.headers.clear();  // a new response (after 100-continue or a redirect)
  }
  return size * count;
}

void configure(const CurlLibrary& curl, Transfer& transfer, const HttpRequest& request) {
  CURL* easy = transfer.easy;
  curl.easy_setopt(easy, CURLOPT_URL, request.url.c_str());
  curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl.easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl.easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl.easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl.easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer.error_buffer);
  // TLS verification stays on: it is libcurl's default and nothing here turns it off.
  if (request.method == "GET") {
    curl.easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl.easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    curl.easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl.easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl.easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.c_str());
  }
  if (!request.basic_user.empty()) {
    curl.easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);  // basic only: sent pre-emptively
    curl.easy_setopt(easy, CURLOPT_USERNAME, request.basic_user.c_str());
    curl.easy_setopt(easy, CURLOPT_PASSWORD, request.basic_password.c_str());
  }
  transfer.headers = curl.slist_append(transfer.headers, "Expect:");
  for (const auto& [name, value] : request.headers) {
    transfer.headers = curl.slist_append(transfer.headers, (name + ": " + value).c_str());
  }
  curl.easy_setopt(easy, CURLOPT_HTTPHEADER, transfer.headers);
}

// How messages name `request` (HttpRequest::shown_as).
std::string shown(const HttpRequest& request) {
  return request.shown_as.empty() ? request.method + " " + util::redact_url(request.url) : request.shown_as;
}

// Why a header of `request` cannot be sent, or nothing: a line break (or NUL) in a name or a
// value would end the header early and inject others. The value is never shown: it may be a
// credential.
std::optional<std::string> broken_header(const HttpRequest& request) {
  for (const auto& [name, value] : request.headers) {
    if ((name + value).find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return "refusing to send header '" + util::printable(name, 60) +
             "': it holds a line break or NUL (the value is not shown)";
    }
  }
  return std::nullopt;
}

Error transfer_error(const CurlLibrary& curl, const HttpRequest& request, CURLcode code, const char* detail) {
  const ErrorKind kind = code == CURLE_OPERATION_TIMEDOUT ? ErrorKind::timeout : ErrorKind::unavailable;
  const std::string reason = (detail != nullptr && *detail != '\0') ? detail : curl.easy_strerror(code);
  return {kind, shown(request) + ": " + util::redact(reason)};
}

}  // namespace

CurlHttpClient::CurlHttpClient() = default;

CurlHttpClient::~CurlHttpClient() {
  if (multi_ != nullptr) curl_->multi_cleanup(multi_);
}

Status CurlHttpClient::ready() {
  if (multi_ != nullptr) return {};
  PHX_TRY_ASSIGN(curl_, curl_library());
  multi_ = curl_->multi_init();
  if (multi_ == nullptr) return Error{ErrorKind::unavailable, "libcurl could not create a multi handle"};
  return {};
}

Status CurlHttpClient::usable() {
  auto loaded = ready();
  if (!loaded.ok()) return Error{ErrorKind::invalid, loaded.error().message};
  return {};
}

std::vector<Result<HttpResponse>> CurlHttpClient::perform(const std::vector<HttpRequest>& requests) {
  if (auto loaded = ready(); !loaded.ok()) return std::vector<Result<HttpResponse>>(requests.size(), loaded.error());
  const CurlLibrary& curl = *curl_;
  std::vector<std::unique_ptr<Transfer>> transfers;
  transfers.reserve(requests.size());
  for (const auto& request : requests) {
    auto transfer = std::make_unique<Transfer>();
    transfer->index = transfers.size();
    if (auto broken = broken_header(request)) {
      transfer->error = Error{ErrorKind::invalid, shown(request) + ": " + *broken};
      transfer->done = true;
      transfers.push_back(std::move(transfer));
      continue;
    }
    transfer->easy = curl.easy_init();
    if (transfer->easy == nullptr) {
      transfer->error = Error{ErrorKind::unavailable, "libcurl could not create a handle"};
      transfer->done = true;
    } else {
      configure(curl, *transfer, request);
      curl.easy_setopt(transfer->easy, CURLOPT_PRIVATE, transfer.get());
      curl.multi_add_handle(multi_, transfer->easy);
    }
    transfers.push_back(std::move(transfer));
  }

  int running = 0;
  do {
    const CURLMcode code = curl.multi_perform(multi_, &running);
    if (code != CURLM_OK) break;
    int queued = 0;
    while (CURLMsg* message = curl.multi_info_read(multi_, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Transfer* transfer = nullptr;
      curl.easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&transfer));
      if (message->data.result == CURLE_OK) {
        curl.easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &transfer->response.status);
      } else {
        transfer->error = transfer_error(curl, requests[transfer->index], message->data.result, transfer->error_buffer);
      }
      transfer->done = true;
    }
    if (running > 0) curl.multi_poll(multi_, nullptr, 0, 1000, nullptr);
  } while (running > 0);

  std::vector<Result<HttpResponse>> results;
  results.reserve(transfers.size());
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    Transfer& transfer = *transfers[i];
    if (transfer.easy != nullptr) {
      curl.multi_remove_handle(multi_, transfer.easy);
      curl.easy_cleanup(transfer.easy);
    }
    curl.slist_free_all(transfer.headers);
    if (transfer.error) {
      results.emplace_back(*transfer.error);
    } else if (!transfer.done) {
      results.emplace_back(Error{ErrorKind::unavailable, shown(requests[i]) + ": the transfer did not complete"});
    } else {
      results.emplace_back(std::move(transfer.response));
    }
  }
  return results;
}

}  // namespace phoenix::http
