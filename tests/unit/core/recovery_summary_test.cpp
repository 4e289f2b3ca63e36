#include "shared/core/recovery_summary.hpp"

#include <catch2/catch.hpp>

#include "shared/util/time_format.hpp"

using namespace phoenix;

namespace {

HistoryEvent summary_event(const char* at, HistoryAction action, const std::string& label, const std::string& from,
                           HistoryResult result = HistoryResult::succeeded) {
  HistoryEvent event;
  event.at = *util::parse_iso8601(at);
  event.action = action;
  event.label = label;
  event.from = from;
  event.result = result;
  return event;
}

constexpr long long kMinute = 60 * 1000;

}  // namespace

TEST_CASE("time to recover runs from the bad release going live to the rollback's end", "[core][summary]") {
  const std::vector<HistoryEvent> events = {
      summary_event("2026-10-30T10:00:00Z", HistoryAction::deploy, "40", ""),
      summary_event("2026-11-02T09:00:00Z", HistoryAction::deploy, "41", "40"),
      // 41 is bad: rolled back by a person 30 minutes after it went live.
      summary_event("2026-11-02T09:30:00Z", HistoryAction::rollback, "40", "41"),
      summary_event("2026-11-10T12:00:00Z", HistoryAction::deploy, "42", "40"),
      // A failed deploy neither counts nor makes anything live.
      summary_event("2026-11-11T12:00:00Z", HistoryAction::deploy, "43", "42", HistoryResult::failed),
      // 42 is bad: rolled back automatically 2 minutes after it went live.
      summary_event("2026-11-10T12:02:00Z", HistoryAction::auto_rollback, "40", "42"),
      summary_event("2026-11-20T08:00:00Z", HistoryAction::deploy, "44", "40"),
      summary_event("2026-11-20T08:10:00Z", HistoryAction::rollback, "40", "44"),
      summary_event("2026-11-21T08:00:00Z", HistoryAction::delete_pool, "44", ""),
      summary_event("2026-12-01T00:00:01Z", HistoryAction::deploy, "45", "40"),
  };
  const auto summary = summarize_recovery(events);
  CHECK(summary.events == events.size());
  REQUIRE(summary.since);
  CHECK(util::format_iso8601(*summary.since) == "2026-10-30T10:00:00Z");
  REQUIRE(summary.months.size() == 3);
  CHECK(summary.months[0].month == "2026-12");  // newest first
  CHECK(summary.months[0].deploys == 1);
  CHECK(summary.months[0].recoveries == 0);
  CHECK_FALSE(summary.months[0].median_recovery_ms);
  CHECK_FALSE(summary.months[0].worst_recovery_ms);

  const MonthSummary& november = summary.months[1];
  CHECK(november.month == "2026-11");
  CHECK(november.deploys == 3);
  CHECK(november.rollbacks == 2);
  CHECK(november.auto_rollbacks == 1);
  CHECK(november.recoveries == 3);
  CHECK(november.median_recovery_ms == 10 * kMinute);  // of 30, 2 and 10 minutes
  CHECK(november.worst_recovery_ms == 30 * kMinute);

  CHECK(summary.months[2].month == "2026-10");
  CHECK(summary.months[2].deploys == 1);
}

TEST_CASE("a rollback whose bad release went live before history began has no time to recover", "[core][summary]") {
  const auto summary = summarize_recovery({summary_event("2026-11-02T09:30:00Z", HistoryAction::rollback, "40", "41"),
                                           summary_event("2026-11-03T09:30:00Z", HistoryAction::deploy, "41", "40")});
  REQUIRE(summary.months.size() == 1);
  CHECK(summary.months[0].rollbacks == 1);
  CHECK(summary.months[0].recoveries == 0);
  CHECK_FALSE(summary.months[0].median_recovery_ms);
}

TEST_CASE("the bad release is the newest switch to one of the pools rolled back from", "[core][summary]") {
  // A repair made 41 live again later than its deploy: the bad state began then.
  const auto summary = summarize_recovery({
      summary_event("2026-11-02T09:00:00Z", HistoryAction::deploy, "41", "40"),
      summary_event("2026-11-02T10:00:00Z", HistoryAction::deploy, "42", "41"),
      summary_event("2026-11-02T11:00:00Z", HistoryAction::repair, "41", "41,42"),
      summary_event("2026-11-02T11:05:00Z", HistoryAction::rollback, "40", "41,42"),
  });
  REQUIRE(summary.months.size() == 1);
  CHECK(summary.months[0].deploys == 2);  // the repair is not a deploy
  CHECK(summary.months[0].recoveries == 1);
  CHECK(summary.months[0].worst_recovery_ms == 5 * kMinute);
}

TEST_CASE("the median of an even count is the mean of the two middle values", "[core][summary]") {
  CHECK_FALSE(median({}));
  CHECK(median({7}) == 7);
  CHECK(median({9, 1, 5}) == 5);
  CHECK(median({10, 2, 4, 30}) == 7);
}

TEST_CASE("months are UTC calendar months", "[core][summary]") {
  const auto summary = summarize_recovery({summary_event("2026-11-30T23:59:59Z", HistoryAction::deploy, "1", ""),
                                           summary_event("2026-12-01T00:00:00Z", HistoryAction::deploy, "2", "1")});
  REQUIRE(summary.months.size() == 2);
  CHECK(summary.months[0].month == "2026-12");
  CHECK(summary.months[1].month == "2026-11");
}

TEST_CASE("an empty history has no months", "[core][summary]") {
  const auto summary = summarize_recovery({});
  CHECK(summary.months.empty());
  CHECK(summary.events == 0);
  CHECK_FALSE(summary.since);
}
