#pragma once
// Notifiers that POST one document per notification: `webhook` (the JSON document of
// payload.hpp) and `slack` (a Slack-compatible incoming-webhook message). Their URLs are
// secrets: whoever reads one registers it (util::register_secret), and nothing here prints it.

#include <chrono>
#include <string>
#include <vector>

#include "shared/core/http_client.hpp"
#include "shared/core/notifier.hpp"
#include "shared/util/clock.hpp"

namespace phoenix::notify {

// Where an HTTP notifier posts.
struct HttpTarget {
  // Names the notifier in warnings without its URL: "slack (URL from $CHAT_HOOK)".
  std::string name;
  std::string url;  // a secret
  // The whole delivery of one notification, its retry included.
  std::chrono::milliseconds timeout{3000};
};

// One POST per notification. notify() delivers to this notifier alone; NotifierSet batches the
// POSTs of all of them through deliver().
class HttpNotifier : public Notifier {
 public:
  HttpNotifier(HttpClient& http, util::Clock& clock, HttpTarget target);

  const std::string& name() const { return target_.name; }
  std::chrono::milliseconds timeout() const { return target_.timeout; }
  // The POST of `notification`, bounded by `timeout`.
  HttpRequest request(const Notification& notification, std::chrono::milliseconds timeout) const;
  Status notify(const Notification& notification) override;

 protected:
  virtual std::string body(const Notification& notification) const = 0;

 private:
  HttpClient& http_;
  util::Clock& clock_;
  HttpTarget target_;
};

class WebhookNotifier final : public HttpNotifier {
 public:
  using HttpNotifier::HttpNotifier;

 protected:
  std::string body(const Notification& notification) const override;
};

class SlackNotifier final : public HttpNotifier {
 public:
  using HttpNotifier::HttpNotifier;

 protected:
  std::string body(const Notification& notification) const override;
};

// Whether an answer means delivered (any 2xx). Otherwise an error saying what happened:
// `failed` for an answer a retry cannot change (a 3xx, or a 4xx other than 408 and 429: a
// wrong or revoked URL, a payload refused), `timeout` (naming `timeout`, the notifier's) or
// `unavailable` for the rest.
Status judge_answer(const Result<HttpResponse>& answer, std::chrono::milliseconds timeout);

// Delivers `notification` to each of `notifiers`: their POSTs go out in one batch, then those
// that failed in a way a retry may change go out once more, each bounded by what is left of
// its own timeout (a retry needs at least 100 ms of it). One Status per notifier, in order;
// errors start with the notifier's name.
std::vector<Status> deliver(HttpClient& http, util::Clock& clock, const std::vector<const HttpNotifier*>& notifiers,
                            const Notification& notification);

}  // namespace phoenix::notify
