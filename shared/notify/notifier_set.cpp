#include "shared/notify/notifier_set.hpp"

#include <future>

#include "shared/util/strings.hpp"

namespace phoenix::notify {

NotifierSet::NotifierSet(HttpClient& http, util::Clock& clock) : http_(http), clock_(clock) {}

void NotifierSet::add(std::unique_ptr<HttpNotifier> notifier) { http_notifiers_.push_back({std::move(notifier)}); }

void NotifierSet::add(std::unique_ptr<CommandNotifier> notifier) { commands_.push_back({std::move(notifier)}); }

void NotifierSet::add_unusable(std::string name, Error why) { unusable_.push_back({std::move(name), std::move(why)}); }

bool NotifierSet::empty() const { return http_notifiers_.empty() && commands_.empty() && unusable_.empty(); }

namespace {

// The outcome of a recovery Phoenix started by itself is the page that matters most, and it is
// sent once the recovery is over, when a slow receiver delays nothing: it goes to every
// notifier, even one left out after an earlier failure.
bool goes_to_all(const Notification& notification) {
  return notification.action == HistoryAction::auto_rollback && notification.phase == NotificationPhase::end;
}

}  // namespace

Status NotifierSet::notify(const Notification& notification) {
  const bool to_all = goes_to_all(notification);
  std::vector<std::string> failures;
  for (auto& unusable : unusable_) {
    if (unusable.reported) continue;
    unusable.reported = true;
    failures.push_back(unusable.name + ": " + unusable.why.message);
  }

  // The commands run on their own threads while this one performs the HTTP batch.
  std::vector<std::pair<Entry<CommandNotifier>*, std::future<Status>>> running;
  for (auto& entry : commands_) {
    if (entry.given_up && !to_all) continue;
    CommandNotifier* notifier = entry.notifier.get();
    running.emplace_back(
        &entry, std::async(std::launch::async, [notifier, &notification] { return notifier->notify(notification); }));
  }
  std::vector<Entry<HttpNotifier>*> http_entries;
  std::vector<const HttpNotifier*> http_notifiers;
  for (auto& entry : http_notifiers_) {
    if (entry.given_up && !to_all) continue;
    http_entries.push_back(&entry);
    http_notifiers.push_back(entry.notifier.get());
  }
  if (!http_notifiers.empty()) {
    const auto statuses = deliver(http_, clock_, http_notifiers, notification);
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      if (statuses[i].ok()) continue;
      http_entries[i]->given_up = true;
      failures.push_back(statuses[i].error().message);
    }
  }
  for (auto& [entry, future] : running) {
    const Status status = future.get();
    if (status.ok()) continue;
    entry->given_up = true;
    failures.push_back(status.error().message);
  }

  if (failures.empty()) return {};
  return Error{ErrorKind::unavailable,
               "notification " + event_name(notification) + " not delivered to " + util::join(failures, "; to ") +
                   (failures.size() == 1 ? "; it is" : "; they are") + " left out for the rest of this command"};
}

}  // namespace phoenix::notify
