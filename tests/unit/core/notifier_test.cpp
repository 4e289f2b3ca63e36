#include "shared/core/notifier.hpp"

#include <catch2/catch.hpp>

using namespace phoenix;

TEST_CASE("switches notify start, success and failure; other events by their action's word", "[core][notify]") {
  Notification notification;
  notification.action = HistoryAction::deploy;
  notification.phase = NotificationPhase::start;
  CHECK(event_name(notification) == "deploy.start");
  CHECK(result_word(notification) == "started");
  notification.phase = NotificationPhase::end;
  CHECK(event_name(notification) == "deploy.success");
  CHECK(result_word(notification) == "succeeded");
  for (auto result : {HistoryResult::failed, HistoryResult::refused, HistoryResult::interrupted}) {
    notification.result = result;
    CHECK(event_name(notification) == "deploy.failure");
    CHECK(result_word(notification) == to_string(result));
  }
  notification.result = HistoryResult::succeeded;
  const std::vector<std::pair<HistoryAction, std::string>> expected = {
      {HistoryAction::rollback, "rollback.success"},
      {HistoryAction::auto_rollback, "auto-rollback.success"},
      {HistoryAction::repair, "repair.success"},
      {HistoryAction::delete_pool, "delete"},
      {HistoryAction::prune, "prune"},
      {HistoryAction::freeze, "freeze"},
      {HistoryAction::unfreeze, "unfreeze"},
      {HistoryAction::mark_bad, "mark-bad"},
      {HistoryAction::mark_good, "mark-good"}};
  for (const auto& [action, name] : expected) {
    notification.action = action;
    CHECK(event_name(notification) == name);
  }
}

TEST_CASE("a history event becomes the end notification with every field", "[core][notify]") {
  HistoryEvent event{.at = WallTime(std::chrono::seconds(1795000000)),
                     .action = HistoryAction::rollback,
                     .label = "41",
                     .from = "42,43",
                     .result = HistoryResult::succeeded,
                     .duration_ms = 812,
                     .by = "ops-a",
                     .job = "gocd web-deploy/12/rollback/1/switch",
                     .detail = "checkout errors"};
  const auto notification = notification_of("web", event, {{"admit 41:1", 3}});
  CHECK(notification.action == HistoryAction::rollback);
  CHECK(notification.phase == NotificationPhase::end);
  CHECK(notification.result == HistoryResult::succeeded);
  CHECK(notification.service == "web");
  CHECK(notification.at == event.at);
  CHECK(notification.from == std::vector<std::string>{"42", "43"});
  CHECK(notification.to == "41");
  CHECK(notification.who == "ops-a");
  CHECK(notification.job == "gocd web-deploy/12/rollback/1/switch");
  CHECK(notification.why == "checkout errors");
  REQUIRE(notification.steps.size() == 1);
  CHECK(notification.steps[0].step == "admit 41:1");
  CHECK(notification.steps[0].duration_ms == 3);
  CHECK(notification.duration_ms == 812);

  event.from = "";
  CHECK(notification_of("web", event).from.empty());
}

TEST_CASE("the new history actions have fixed words and auto-rollback counts as a switch", "[core][notify]") {
  const std::vector<std::pair<HistoryAction, std::string>> words = {{HistoryAction::auto_rollback, "auto-rollback"},
                                                                    {HistoryAction::freeze, "freeze"},
                                                                    {HistoryAction::unfreeze, "unfreeze"},
                                                                    {HistoryAction::mark_bad, "mark-bad"},
                                                                    {HistoryAction::mark_good, "mark-good"}};
  for (const auto& [action, word] : words) {
    CHECK(to_string(action) == word);
    CHECK(parse_history_action(word) == action);
  }
  CHECK(is_switch(HistoryAction::auto_rollback));
  for (auto action : {HistoryAction::freeze, HistoryAction::unfreeze, HistoryAction::mark_bad, HistoryAction::mark_good,
                      HistoryAction::delete_pool, HistoryAction::prune}) {
    CHECK_FALSE(is_switch(action));
  }
}
