#include "shared/hcloud/api.hpp"

#include <algorithm>

#include "shared/util/interrupt.hpp"
#include "shared/util/redact.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::hcloud {

namespace {

enum class Verdict { done, retry, fail };

struct Judged {
  Verdict verdict = Verdict::done;
  Result<util::Json> result = Error{ErrorKind::failed, ""};
  std::chrono::milliseconds wait{0};  // at least this long before retrying (rate limit)
};

// The "error" object of an error response; empty parts when the body has none.
struct ApiError {
  std::string code;  // "conflict", "locked", "uniqueness_error", ...
  std::string message;
};

ApiError api_error(const std::string& body) {
  auto document = util::parse_json(body, "response");
  if (!document) return {};
  const cJSON* error = cJSON_GetObjectItemCaseSensitive(document->get(), "error");
  return {util::json_string(error, "code").value_or(""), util::json_string(error, "message").value_or("")};
}

// The error codes callers act on, in Phoenix's words; the rest carry none.
ErrorCode error_code(long status, const ApiError& error) {
  if (error.code == "uniqueness_error" || error.code == "target_already_defined") return ErrorCode::already_exists;
  if (status == 404 || error.code == "not_found" || error.code == "load_balancer_target_not_found") {
    return ErrorCode::not_found;
  }
  return ErrorCode::none;
}

// "409 conflict: <message>"
std::string describe(long status, const ApiError& error) {
  std::string text = std::to_string(status);
  if (!error.code.empty()) text += " " + error.code;
  if (!error.message.empty()) text += ": " + util::printable(error.message, 200);
  return text;
}

// How messages name a call: its method and its path as sent, query included. Nothing in a
// Hetzner Cloud URL is secret (label selectors, names, ids, page numbers): the token goes in the
// Authorization header and user_data in the body, and neither is ever shown.
std::string call_name(const ApiCall& call) { return call.method + " " + call.path; }

}  // namespace

Api::Api(HttpClient& http, util::Clock& clock, util::Reporter& reporter, std::string endpoint, std::string token,
         RetryPolicy policy)
    : http_(http),
      clock_(clock),
      reporter_(reporter),
      endpoint_(std::move(endpoint)),
      token_(std::move(token)),
      policy_(policy),
      random_(std::random_device{}()) {}

HttpRequest Api::to_request(const ApiCall& call) const {
  HttpRequest request;
  request.method = call.method;
  request.url = endpoint_ + call.path;
  request.headers = {{"Authorization", "Bearer " + token_}, {"Accept", "application/json"}};
  if (!call.body.empty()) request.headers.emplace_back("Content-Type", "application/json");
  request.body = call.body;
  request.timeout = policy_.request_timeout;
  // Named by its path, not its whole URL: util::redact, which every line that leaves Phoenix
  // passes through, hides the query values of a URL. The endpoint follows without any user part.
  request.shown_as = call_name(call) + " at " + util::redact_url(endpoint_);
  return request;
}

std::chrono::milliseconds Api::backoff(int attempt) {
  // Full jitter: anywhere between nothing and the exponential ceiling.
  const auto ceiling = std::min(policy_.max_backoff.count(), policy_.first_backoff.count() << std::min(attempt, 16));
  std::uniform_int_distribution<long long> pick(policy_.first_backoff.count() / 2, std::max<long long>(ceiling, 1));
  return std::chrono::milliseconds(pick(random_));
}

std::vector<Result<util::Json>> Api::call_all(const std::vector<ApiCall>& calls) {
  std::vector<Result<util::Json>> results;
  results.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) results.emplace_back(Error{ErrorKind::unavailable, "not sent"});
  std::vector<std::size_t> pending(calls.size());
  for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  const auto deadline = clock_.now() + policy_.deadline;
  std::vector<std::string> last_problem(calls.size());

  for (int attempt = 0; !pending.empty(); ++attempt) {
    // Out of requests for this hour: wait for the window to reset rather than collect 429s.
    if (rate_limit_remaining_ == 0) {
      const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch()).count();
      const auto wait = std::chrono::seconds(std::max<long long>(0, rate_limit_reset_ - now_s));
      if (clock_.now() + wait >= deadline) break;
      if (wait.count() > 0) {
        reporter_.warning("Hetzner Cloud API rate limit reached; waiting " + std::to_string(wait.count()) + " s");
        clock_.sleep_for(wait);
      }
      rate_limit_remaining_ = -1;
    }
    std::vector<HttpRequest> requests;
    for (const auto index : pending) requests.push_back(to_request(calls[index]));
    const auto answers = http_.perform(requests);

    std::vector<std::size_t> retry;
    std::chrono::milliseconds wait{0};
    for (std::size_t k = 0; k < pending.size(); ++k) {
      const std::size_t index = pending[k];
      const ApiCall& call = calls[index];
      const std::string what = call_name(call);
      const auto& answer = answers[k];
      if (!answer.ok()) {
        last_problem[index] = answer.error().message;
        retry.push_back(index);
        continue;
      }
      const HttpResponse& response = *answer;
      if (auto remaining = util::parse_int(response.header("ratelimit-remaining"))) rate_limit_remaining_ = *remaining;
      if (auto reset = util::parse_int(response.header("ratelimit-reset"))) rate_limit_reset_ = *reset;
      const long status = response.status;
      if (status >= 200 && status < 300) {
        if (util::trim(response.body).empty()) {
          results[index] = util::Json(cJSON_CreateObject());
        } else {
          auto document = util::parse_json(response.body, what);
          results[index] = document
                               ? Result<util::Json>(std::move(*document))
                               : Result<util::Json>(Error{ErrorKind::unavailable, what + ": the answer is not JSON"});
        }
        continue;
      }
      const ApiError error = api_error(response.body);
      const std::string problem = what + ": " + describe(status, error);
      last_problem[index] = problem;
      if (status == 429) {
        const auto now_s =
            std::chrono::duration_cast<std::chrono::seconds>(clock_.wall_now().time_since_epoch()).count();
        if (rate_limit_reset_ > now_s)
          wait = std::max(wait, std::chrono::milliseconds((rate_limit_reset_ - now_s) * 1000));
        retry.push_back(index);
      } else if (status >= 500 || status == 423 || (status == 409 && error.code == "conflict")) {
        retry.push_back(index);
      } else if (status == 401 || status == 403) {
        results[index] =
            Error{ErrorKind::invalid, problem + " (check HCLOUD_TOKEN or provider.token_file: a read/write token)"};
      } else if (status == 422 || status == 400) {
        results[index] = Error{ErrorKind::invalid, problem, error_code(status, error)};
      } else {
        results[index] = Error{ErrorKind::failed, problem, error_code(status, error)};
      }
    }
    pending.swap(retry);
    if (pending.empty()) break;
    wait = std::max(wait, backoff(attempt));
    if (clock_.now() + wait >= deadline) break;
    reporter_.detail("Hetzner Cloud API: retrying " + util::plural(pending.size(), "call") + " in " +
                     util::format_duration_ms(wait.count()) + " (" + last_problem[pending.front()] + ")");
    clock_.sleep_for(wait);
  }
  for (const auto index : pending) {
    results[index] = Error{ErrorKind::unavailable, "the Hetzner Cloud API stayed unavailable for " +
                                                       util::format_duration_ms(policy_.deadline.count()) + ": " +
                                                       last_problem[index]};
  }
  return results;
}

Result<util::Json> Api::call(const ApiCall& call) {
  auto results = call_all({call});
  return std::move(results.front());
}

Result<std::vector<util::Json>> Api::list(const std::string& path_and_query, const char* key) {
  std::vector<util::Json> items;
  const std::string separator = path_and_query.find('?') == std::string::npos ? "?" : "&";
  for (long long page = 1; page > 0;) {
    auto answer = call({"GET", path_and_query + separator + "page=" + std::to_string(page) + "&per_page=50", ""});
    if (!answer) return answer.error();
    const cJSON* array = cJSON_GetObjectItemCaseSensitive(answer->get(), key);
    if (!cJSON_IsArray(array)) {
      return Error{ErrorKind::unavailable, "GET " + path_and_query + ": the answer has no '" + key + "' list"};
    }
    const cJSON* item = nullptr;
    cJSON_ArrayForEach(item, array) items.emplace_back(cJSON_Duplicate(item, 1));
    const cJSON* pagination =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(answer->get(), "meta"), "pagination");
    const auto next = util::json_number(pagination, "next_page");
    page = next ? static_cast<long long>(*next) : 0;
  }
  return items;
}

std::vector<long long> Api::action_ids(const cJSON* response) {
  std::vector<long long> ids;
  const cJSON* action = cJSON_GetObjectItemCaseSensitive(response, "action");
  if (auto id = util::json_number(action, "id")) ids.push_back(static_cast<long long>(*id));
  const cJSON* next = nullptr;
  cJSON_ArrayForEach(next, cJSON_GetObjectItemCaseSensitive(response, "next_actions")) {
    if (auto id = util::json_number(next, "id")) ids.push_back(static_cast<long long>(*id));
  }
  return ids;
}

Status Api::wait_for_actions(const std::vector<long long>& ids, std::chrono::milliseconds timeout,
                             const std::string& what, const std::function<bool()>& stop_requested) {
  std::vector<long long> running = ids;
  const auto deadline = clock_.now() + timeout;
  auto pause = policy_.action_poll;
  while (!running.empty()) {
    // GET /actions?id=1&id=2 answers for many actions at once; keep URLs short.
    std::vector<ApiCall> calls;
    for (std::size_t start = 0; start < running.size(); start += 50) {
      std::string path = "/actions?per_page=50";
      for (std::size_t i = start; i < std::min(running.size(), start + 50); ++i)
        path += "&id=" + std::to_string(running[i]);
      calls.push_back({"GET", path, ""});
    }
    std::vector<long long> still;
    for (auto& answer : call_all(calls)) {
      if (!answer) return answer.error().context(what);
      const cJSON* action = nullptr;
      cJSON_ArrayForEach(action, cJSON_GetObjectItemCaseSensitive(answer->get(), "actions")) {
        const auto status = util::json_string(action, "status").value_or("");
        const auto id = static_cast<long long>(util::json_number(action, "id").value_or(0));
        if (status == "running") {
          still.push_back(id);
        } else if (status == "error") {
          const cJSON* error = cJSON_GetObjectItemCaseSensitive(action, "error");
          return Error{ErrorKind::failed, what + ": action " + util::json_string(action, "command").value_or("?") +
                                              " (" + std::to_string(id) + ") failed: " +
                                              util::json_string(error, "message").value_or("no message")};
        }
      }
    }
    running.swap(still);
    if (running.empty()) break;
    if (stop_requested && stop_requested()) {
      return util::stopped_by_signal("while " + what + " (" + util::plural(running.size(), "action") +
                                     " still running at Hetzner Cloud)");
    }
    if (clock_.now() + pause >= deadline) {
      return Error{ErrorKind::timeout, what + ": " + util::plural(running.size(), "action") + " still running after " +
                                           util::format_duration_ms(timeout.count())};
    }
    clock_.sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(2000));
  }
  return {};
}

}  // namespace phoenix::hcloud
