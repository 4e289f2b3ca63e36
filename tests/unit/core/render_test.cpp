#include "shared/core/render.hpp"

#include <catch2/catch.hpp>

#include "shared/util/json.hpp"
#include "shared/util/time_format.hpp"

using namespace phoenix;

namespace {

RecoverySummary sample_summary() {
  RecoverySummary summary;
  summary.events = 12;
  summary.since = *util::parse_iso8601("2026-10-30T10:00:00Z");
  summary.months = {MonthSummary{.month = "2026-12", .deploys = 1}, MonthSummary{.month = "2026-11",
                                                                                 .deploys = 3,
                                                                                 .rollbacks = 2,
                                                                                 .auto_rollbacks = 1,
                                                                                 .recoveries = 3,
                                                                                 .median_recovery_ms = 600000,
                                                                                 .worst_recovery_ms = 1800000}};
  return summary;
}

}  // namespace

TEST_CASE("history --summary renders one row per month, newest first", "[core][render][summary]") {
  const auto table = render_recovery_table(sample_summary(), {"history.jsonl:3: not JSON"});
  CHECK_THAT(table, Catch::StartsWith("MONTH"));
  CHECK_THAT(table, Catch::Contains("MEDIAN TTR"));
  const auto december = table.find("2026-12");
  const auto november = table.find("2026-11");
  REQUIRE(december != std::string::npos);
  REQUIRE(november != std::string::npos);
  CHECK(december < november);
  CHECK_THAT(table, Catch::Contains("10 min 00 s"));
  CHECK_THAT(table, Catch::Contains("30 min 00 s"));
  CHECK_THAT(table, Catch::Contains("from 12 history events since 2026-10-30T10:00:00Z"));
  CHECK_THAT(table, Catch::Contains("unreadable: history.jsonl:3: not JSON"));
  CHECK(render_recovery_table({}, {}) == "no deploys or rollbacks yet\n");
}

TEST_CASE("history --summary --output json has every figure, null where there is none", "[core][render][summary]") {
  const auto text = render_recovery_json("web", sample_summary(), {});
  auto document = util::parse_json(text, "summary");
  REQUIRE(document.ok());
  CHECK(util::json_string(document->get(), "service") == "web");
  CHECK(util::json_number(document->get(), "events") == 12);
  CHECK(util::json_string(document->get(), "since") == "2026-10-30T10:00:00.000Z");
  const cJSON* months = cJSON_GetObjectItemCaseSensitive(document->get(), "months");
  REQUIRE(cJSON_GetArraySize(months) == 2);
  const cJSON* december = cJSON_GetArrayItem(months, 0);
  CHECK(util::json_string(december, "month") == "2026-12");
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(december, "median_recovery_ms")));
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(december, "worst_recovery_ms")));
  const cJSON* november = cJSON_GetArrayItem(months, 1);
  CHECK(util::json_number(november, "deploys") == 3);
  CHECK(util::json_number(november, "rollbacks") == 2);
  CHECK(util::json_number(november, "auto_rollbacks") == 1);
  CHECK(util::json_number(november, "recoveries") == 3);
  CHECK(util::json_number(november, "median_recovery_ms") == 600000);
  CHECK(util::json_number(november, "worst_recovery_ms") == 1800000);
  CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(document->get(), "unreadable")));
}

TEST_CASE("times to recover read as people say them", "[core][render][summary]") {
  CHECK(format_recovery_time(850) == "850 ms");
  CHECK(format_recovery_time(12400) == "12.40 s");
  CHECK(format_recovery_time(4 * 60000 + 3000) == "4 min 03 s");
  CHECK(format_recovery_time(2 * 3600000LL + 5 * 60000) == "2 h 05 min");
  CHECK(format_recovery_time(3 * 86400000LL + 4 * 3600000LL) == "3 d 4 h");
}
