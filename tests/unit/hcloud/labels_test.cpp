#include "shared/hcloud/labels.hpp"

#include <catch2/catch.hpp>

#include "fakes/hcloud/label_selector.hpp"

using namespace phoenix;
using namespace phoenix::hcloud;

TEST_CASE("label values keep what Hetzner accepts", "[hcloud-labels]") {
  CHECK(label_value("abc1234def") == "abc1234def");
  CHECK(label_value("checkout errors after 42!") == "checkout_errors_after_42");
  CHECK(label_value("-x-") == "x");
  CHECK(label_value(std::string(100, 'a')).size() == 63);
  for (const char* text : {"a b", "ünïcödé", "!!", "x.y_z-1"}) {
    CHECK(phoenix::fakes::hcloud::valid_label_value(label_value(text)));
  }
}

TEST_CASE("a free-text reason is stored as a value the API accepts, one '_' for each run it cannot hold",
          "[hcloud-labels]") {
  CHECK(label_value("automatic: 5xx ratio 0.31 over 10 s") == "automatic_5xx_ratio_0.31_over_10_s");
  CHECK(label_value("caf\xc3\xa9 cr\xc3\xa8me") == "caf_cr_me");
  CHECK(label_value("\xe6\x97\xa5\xe6\x9c\xac") == "");  // nothing label-safe: no reason label at all
  // 200 characters with spaces and non-ASCII: cut to 63, still valid.
  const std::string reason = "checkout fails for Z\xc3\xbcrich customers since 12:03 (" + std::string(150, 'x') + ")";
  const auto kept = label_value(reason);
  CHECK(kept.size() == kMaxLabelValue);
  CHECK(kept.rfind("checkout_fails_for_Z_rich_customers_since_12_03_xxx", 0) == 0);
  // A watch breach's reason, as the automatic rollback records it.
  const std::string breach =
      "automatic: watch checks failed 2 times in a row: checkout: expected status 200; got no answer: GET "
      "http://127.0.0.1:9/checkout?token=<redacted>: Couldn't connect to server";
  for (const auto& text : {reason, breach, std::string(" -.leading and trailing._ "), std::string(300, ' ')}) {
    INFO(text);
    CHECK(phoenix::fakes::hcloud::valid_label_value(label_value(text)));
  }
  PoolMetadata meta;
  meta.label = "42";
  meta.verdict = LiveVerdict::bad;
  meta.verdict_reason = breach;
  for (const auto& [key, value] : pool_labels("web", meta, 1, 2)) {
    INFO(key << "=" << value);
    CHECK(phoenix::fakes::hcloud::valid_label_value(value));
  }
  CHECK(metadata_from_labels(pool_labels("web", meta, 1, 2)).verdict_reason ==
        "automatic_watch_checks_failed_2_times_in_a_row_checkout_expecte");
}

TEST_CASE("server names are hostnames", "[hcloud-labels]") {
  CHECK(server_name("web", "42", 3) == "web-42-3");
  CHECK(server_name("Web", "v1.2_rc", 1) == "web-v1-2-rc-1");
}

TEST_CASE("pool metadata round-trips through labels", "[hcloud-labels]") {
  PoolMetadata meta;
  meta.label = "42-abc";
  meta.created_at = WallTime(std::chrono::milliseconds(1795000000123LL));
  meta.revision = "abc1234";
  meta.triggered_by = "ops-a";
  meta.smoke = SmokeVerdict::passed;
  meta.verdict = LiveVerdict::bad;
  meta.verdict_reason = "too slow";
  const auto labels = pool_labels("web", meta, 2, 3);
  for (const auto& [key, value] : labels) {
    INFO(key << "=" << value);
    CHECK(phoenix::fakes::hcloud::valid_label_key(key));
    CHECK(phoenix::fakes::hcloud::valid_label_value(value));
  }
  const auto back = metadata_from_labels(labels);
  CHECK(back.label == "42-abc");
  CHECK(back.created_at == meta.created_at);
  CHECK(back.smoke == SmokeVerdict::passed);
  CHECK(back.verdict == LiveVerdict::bad);
  CHECK(back.verdict_reason == "too_slow");
  CHECK(back.verdict_by.empty());  // labels written before who and when were kept
  CHECK_FALSE(back.verdict_at.has_value());
}

TEST_CASE("who gave the verdict and when round-trip through labels", "[hcloud-labels][verdicts]") {
  PoolMetadata meta;
  meta.label = "3";
  meta.verdict = LiveVerdict::bad;
  meta.verdict_reason = "rolled back to 2";
  meta.verdict_by = "ops-a@example.com";
  meta.verdict_at = WallTime(std::chrono::milliseconds(1795000000123LL));
  const auto labels = pool_labels("web", meta, 1, 2);
  for (const auto& [key, value] : labels) {
    INFO(key << "=" << value);
    CHECK(phoenix::fakes::hcloud::valid_label_key(key));
    CHECK(phoenix::fakes::hcloud::valid_label_value(value));
  }
  const auto back = metadata_from_labels(labels);
  CHECK(back.verdict_by == "ops-a_example.com");  // as a label value holds it
  CHECK(back.verdict_at == meta.verdict_at);
}

TEST_CASE("the last wake round-trips through labels, on servers and on snapshots", "[hcloud-labels][tiers]") {
  PoolMetadata meta;
  meta.label = "40";
  meta.created_at = WallTime(std::chrono::milliseconds(1795000000123LL));
  meta.last_wake = WakeRecord{Tier::cold, 41234, WallTime(std::chrono::milliseconds(1795000999000LL))};
  for (int index : {0, 1}) {
    const auto labels = pool_labels("web", meta, index, 3);
    for (const auto& [key, value] : labels) CHECK(phoenix::fakes::hcloud::valid_label_value(value));
    const auto back = metadata_from_labels(labels);
    REQUIRE(back.last_wake.has_value());
    CHECK(back.last_wake->from == Tier::cold);
    CHECK(back.last_wake->ms == 41234);
    CHECK(back.last_wake->at == meta.last_wake->at);
  }
  meta.last_wake.reset();
  CHECK_FALSE(metadata_from_labels(pool_labels("web", meta, 1, 3)).last_wake.has_value());
}
