#include "shared/core/verdict_history.hpp"

#include <catch2/catch.hpp>

#include "shared/util/time_format.hpp"

using namespace phoenix;

namespace {

HistoryEvent event(HistoryAction action, const std::string& label, const std::string& from, int minute,
                   HistoryResult result = HistoryResult::succeeded) {
  return HistoryEvent{.at = *util::parse_iso8601("2026-11-27T07:" + std::string(minute < 10 ? "0" : "") +
                                                 std::to_string(minute) + ":00Z"),
                      .action = action,
                      .label = label,
                      .from = from,
                      .result = result,
                      .duration_ms = 0,
                      .by = "by-" + std::to_string(minute),
                      .job = "",
                      .detail = ""};
}

}  // namespace

TEST_CASE("the bad mark of a pool is the first since its last mark-good", "[verdicts]") {
  std::vector<HistoryEvent> events = {
      event(HistoryAction::deploy, "2", "1", 1), event(HistoryAction::rollback, "1", "3,2", 2, HistoryResult::refused),
      event(HistoryAction::breach, "2", "1", 3), event(HistoryAction::auto_rollback, "1", "2", 4),
      event(HistoryAction::rollback, "1", "2", 5)};
  auto mark = bad_mark_of(events, "2");
  REQUIRE(mark);
  CHECK(mark->by == "by-3");  // the breach, not the later rollbacks, nor the refused one
  CHECK_FALSE(bad_mark_of(events, "1"));

  events.push_back(event(HistoryAction::mark_good, "2", "", 6));
  CHECK_FALSE(bad_mark_of(events, "2"));
  events.push_back(event(HistoryAction::rollback, "1", "3,2", 7, HistoryResult::failed));
  events.push_back(event(HistoryAction::mark_bad, "2", "", 8));
  mark = bad_mark_of(events, "2");
  REQUIRE(mark);
  CHECK(mark->by == "by-7");

  Pool pool;
  pool.meta.label = "2";
  pool.meta.verdict = LiveVerdict::bad;
  pool.meta.verdict_reason = "leaks memory";
  CHECK(describe_bad_mark(pool, mark) == "marked bad by by-7 at 2026-11-27T07:07:00Z: leaks memory");
  CHECK(describe_bad_mark(pool, std::nullopt) == "marked bad: leaks memory");
}

// review4 F4: a rollback killed before its end record leaves history without the event that
// marked the pool it left; the pool's record says who marked it and when, without the CI job.
TEST_CASE("without a history event the bad mark is described from the pool's record", "[verdicts]") {
  Pool pool;
  pool.meta.label = "3";
  pool.meta.verdict = LiveVerdict::bad;
  pool.meta.verdict_reason = "rolled back to 2";
  CHECK(describe_bad_mark(pool, std::nullopt) == "marked bad: rolled back to 2");  // a record from before
  pool.meta.verdict_by = "vm";
  pool.meta.verdict_at = util::parse_iso8601("2026-11-27T07:05:00Z");
  CHECK(describe_bad_mark(pool, std::nullopt) == "marked bad by vm at 2026-11-27T07:05:00Z: rolled back to 2");
  // History's event, with its job, wins where there is one.
  auto mark = event(HistoryAction::rollback, "2", "3", 6);
  mark.job = "gocd web/7";
  CHECK(describe_bad_mark(pool, mark) ==
        "marked bad by by-6 (job gocd web/7) at 2026-11-27T07:06:00Z: rolled back to 2");
  pool.meta.verdict_at.reset();
  CHECK(describe_bad_mark(pool, std::nullopt) == "marked bad by vm: rolled back to 2");
}

TEST_CASE("a breach is unanswered until a switch or a mark-good follows it", "[verdicts]") {
  const auto since = *util::parse_iso8601("2026-11-27T07:02:00Z");
  std::vector<HistoryEvent> events = {event(HistoryAction::breach, "2", "1", 1),  // an earlier watch's
                                      event(HistoryAction::deploy, "2", "1", 2)};
  CHECK_FALSE(unanswered_breach_of(events, "2", since));
  events.push_back(event(HistoryAction::breach, "2", "1", 3));
  events.push_back(event(HistoryAction::mark_bad, "3", "", 4));  // about another pool
  const auto breach = unanswered_breach_of(events, "2", since);
  REQUIRE(breach);
  CHECK(breach->by == "by-3");
  CHECK_FALSE(unanswered_breach_of(events, "3", since));

  auto answered = events;
  answered.push_back(event(HistoryAction::auto_rollback, "1", "2", 5, HistoryResult::failed));
  CHECK_FALSE(unanswered_breach_of(answered, "2", since));
  answered = events;
  answered.push_back(event(HistoryAction::mark_good, "2", "", 5));
  CHECK_FALSE(unanswered_breach_of(answered, "2", since));
  // A rollback refused (its target marked bad, or none to go to) changed nothing: still unanswered.
  auto refused = events;
  refused.push_back(event(HistoryAction::rollback, "1", "2", 5, HistoryResult::refused));
  CHECK(unanswered_breach_of(refused, "2", since));
}

TEST_CASE("a refusal names a bad mark with its reason in parentheses, or none", "[verdicts]") {
  Pool pool;
  pool.meta.verdict = LiveVerdict::bad;
  CHECK(describe_bad_mark_briefly(pool) == "marked bad");
  pool.meta.verdict_reason = "leaks memory";
  CHECK(describe_bad_mark_briefly(pool) == "marked bad (leaks memory)");
}

TEST_CASE("a pool has served when a successful switch made it live or replaced it", "[verdicts][hot]") {
  const std::vector<HistoryEvent> events = {
      event(HistoryAction::deploy, "2", "1", 1),
      event(HistoryAction::deploy, "3", "2", 2, HistoryResult::interrupted),
      event(HistoryAction::rollback, "4", "2", 3, HistoryResult::refused),
      event(HistoryAction::mark_good, "5", "", 4),
      event(HistoryAction::repair, "6", "2,7", 5),
  };
  CHECK(has_served(events, "1"));        // replaced
  CHECK(has_served(events, "2"));        // made live
  CHECK(has_served(events, "7"));        // one of several replaced
  CHECK_FALSE(has_served(events, "3"));  // only an interrupted switch's target
  CHECK_FALSE(has_served(events, "4"));  // only a refused one's
  CHECK_FALSE(has_served(events, "5"));  // a verdict is not a switch
  CHECK(has_served(events, "6"));
  CHECK_FALSE(has_served({}, "1"));
}
