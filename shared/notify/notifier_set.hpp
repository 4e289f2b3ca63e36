#pragma once
// Every notifier the configuration lists, as one Notifier: a notification goes to all of them
// at once (the HTTP ones in one batch of the HttpClient, each command on a thread of its own
// beside it), so it takes as long as the slowest, bounded by the largest timeout_ms.
//
// A notifier that failed (after its retry) or that cannot work (its URL is missing) is
// reported once, in the error of the notification it failed, and then left out for the rest
// of the command: a hanging webhook delays a command once by its timeout, not once per event,
// and its warning appears once. The one exception is the end of an automatic rollback, sent to
// every notifier: it is the page that matters most, and the recovery is over when it is sent.

#include <memory>
#include <string>
#include <vector>

#include "shared/core/http_client.hpp"
#include "shared/core/notifier.hpp"
#include "shared/notify/command_notifier.hpp"
#include "shared/notify/http_notifiers.hpp"
#include "shared/util/clock.hpp"

namespace phoenix::notify {

class NotifierSet final : public Notifier {
 public:
  NotifierSet(HttpClient& http, util::Clock& clock);

  void add(std::unique_ptr<HttpNotifier> notifier);
  void add(std::unique_ptr<CommandNotifier> notifier);
  // A configured notifier that cannot work (its URL is missing or malformed): `why` is
  // reported with the first notification, and nothing is sent to it.
  void add_unusable(std::string name, Error why);
  bool empty() const;

  // Ok when every notifier still in use got it. Otherwise one error naming the notifiers that
  // did not and why, saying that they are left out from now on.
  Status notify(const Notification& notification) override;

 private:
  struct Unusable {
    std::string name;
    Error why;
    bool reported = false;
  };
  template <class T>
  struct Entry {
    std::unique_ptr<T> notifier;
    bool given_up = false;
  };

  HttpClient& http_;
  util::Clock& clock_;
  std::vector<Entry<HttpNotifier>> http_notifiers_;
  std::vector<Entry<CommandNotifier>> commands_;
  std::vector<Unusable> unusable_;
};

}  // namespace phoenix::notify
