#include "shared/notify/http_notifiers.hpp"

#include "shared/notify/payload.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::notify {

namespace {

constexpr std::chrono::milliseconds kMinHttpRetryBudget{100};

bool retry_may_help(const Status& status) { return !status.ok() && status.error().kind != ErrorKind::failed; }

struct Delivery {
  const HttpNotifier* notifier = nullptr;
  Status status;
  int attempts = 0;
  bool retry_skipped = false;  // it would have been retried, but its timeout was used up
};

Error named(const Delivery& delivery) {
  std::string message = delivery.notifier->name() + ": " + delivery.status.error().message;
  if (delivery.attempts > 1) message += " (after a retry)";
  if (delivery.retry_skipped) message += " (no time left for a retry)";
  return {delivery.status.error().kind, message};
}

// One batch: a POST for each of `pending`, each bounded by what is left of its timeout.
void attempt(HttpClient& http, util::Clock& clock, util::Clock::Steady::time_point started,
             std::vector<Delivery*>& pending, const Notification& notification) {
  std::vector<HttpRequest> requests;
  std::vector<std::chrono::milliseconds> budgets;
  const auto elapsed = std::chrono::milliseconds(util::elapsed_ms(started, clock.now()));
  for (const Delivery* delivery : pending) {
    budgets.push_back(delivery->notifier->timeout() - elapsed);
    requests.push_back(delivery->notifier->request(notification, budgets.back()));
  }
  const auto answers = http.perform(requests);
  for (std::size_t i = 0; i < pending.size(); ++i) {
    ++pending[i]->attempts;
    pending[i]->status = i < answers.size() ? judge_answer(answers[i], pending[i]->notifier->timeout())
                                            : Status(Error{ErrorKind::unavailable, "no answer from the HTTP client"});
  }
}

}  // namespace

HttpNotifier::HttpNotifier(HttpClient& http, util::Clock& clock, HttpTarget target)
    : http_(http), clock_(clock), target_(std::move(target)) {}

HttpRequest HttpNotifier::request(const Notification& notification, std::chrono::milliseconds timeout) const {
  HttpRequest request;
  request.method = "POST";
  request.url = target_.url;
  request.headers = {{"Content-Type", "application/json"}, {"User-Agent", "phoenix-notify/1"}};
  request.body = body(notification);
  request.timeout = timeout;
  return request;
}

Status HttpNotifier::notify(const Notification& notification) {
  return deliver(http_, clock_, {this}, notification).front();
}

std::string WebhookNotifier::body(const Notification& notification) const { return notification_json(notification); }

std::string SlackNotifier::body(const Notification& notification) const { return slack_message(notification); }

Status judge_answer(const Result<HttpResponse>& answer, std::chrono::milliseconds timeout) {
  if (!answer) {
    if (answer.error().kind == ErrorKind::timeout) {
      return Error{ErrorKind::timeout,
                   "no answer within its timeout (" + util::format_duration_ms(timeout.count()) + ")"};
    }
    return Error{ErrorKind::unavailable, answer.error().message};
  }
  const long status = answer->status;
  if (status >= 200 && status < 300) return {};
  const std::string said = "answered HTTP " + std::to_string(status) +
                           (answer->body.empty() ? std::string() : " '" + util::printable(answer->body, 80) + "'");
  // A redirect is not followed (the URL is a secret; it goes nowhere else) and repeats itself.
  const bool lasting = status < 500 && status != 408 && status != 429;
  return Error{lasting ? ErrorKind::failed : ErrorKind::unavailable, said};
}

std::vector<Status> deliver(HttpClient& http, util::Clock& clock, const std::vector<const HttpNotifier*>& notifiers,
                            const Notification& notification) {
  const auto started = clock.now();
  std::vector<Delivery> deliveries;
  deliveries.reserve(notifiers.size());
  for (const HttpNotifier* notifier : notifiers) deliveries.push_back({.notifier = notifier});
  std::vector<Delivery*> pending;
  for (auto& delivery : deliveries) pending.push_back(&delivery);
  if (!pending.empty()) attempt(http, clock, started, pending, notification);

  const auto elapsed = std::chrono::milliseconds(util::elapsed_ms(started, clock.now()));
  std::vector<Delivery*> retries;
  for (auto& delivery : deliveries) {
    if (!retry_may_help(delivery.status)) continue;
    if (delivery.notifier->timeout() - elapsed < kMinHttpRetryBudget) {
      delivery.retry_skipped = delivery.status.error().kind != ErrorKind::timeout;
      continue;
    }
    retries.push_back(&delivery);
  }
  if (!retries.empty()) attempt(http, clock, started, retries, notification);

  std::vector<Status> statuses;
  statuses.reserve(deliveries.size());
  for (const auto& delivery : deliveries) {
    statuses.push_back(delivery.status.ok() ? Status{} : Status(named(delivery)));
  }
  return statuses;
}

}  // namespace phoenix::notify
