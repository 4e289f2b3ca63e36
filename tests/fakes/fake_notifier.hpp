#pragma once
// A Notifier that keeps every notification, and fails on request.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/notifier.hpp"

namespace phoenix::fakes {

class FakeNotifier final : public Notifier {
 public:
  Status notify(const Notification& notification) override {
    sent.push_back(notification);
    if (on_notify) on_notify(notification);
    if (failure) return *failure;
    return {};
  }

  // The event names in the order they were sent ("deploy.start", "deploy.success", ...).
  std::vector<std::string> events() const {
    std::vector<std::string> names;
    for (const auto& notification : sent) names.push_back(event_name(notification));
    return names;
  }

  std::vector<Notification> sent;
  std::optional<Error> failure;  // returned by every notify() while set
  // Called with each notification as it is sent (to look at the world at that moment).
  std::function<void(const Notification&)> on_notify;
};

}  // namespace phoenix::fakes
