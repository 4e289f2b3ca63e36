#include "shared/core/label.hpp"

#include <catch2/catch.hpp>

using phoenix::ErrorKind;
using phoenix::LabelSources;
using phoenix::resolve_label;
using phoenix::validate_label;

TEST_CASE("labels that match the pattern are accepted", "[label]") {
  for (const char* label : {"1", "42", "v1.2.3", "release_7-rc.1", "a", "A9", "2026-11-26.1"}) {
    INFO(label);
    CHECK(validate_label(label, "--label").ok());
  }
  CHECK(validate_label(std::string(63, 'a'), "--label").ok());
}

TEST_CASE("labels outside the pattern are refused with a clear message", "[label]") {
  const std::pair<std::string, std::string> refused[] = {
      {"", "empty"},
      {std::string(64, 'a'), "64 characters"},
      {".hidden", "start with a letter or digit"},
      {"-x", "start with a letter or digit"},
      {"a/b", "'/' is not allowed"},
      {"..", "start with a letter or digit"},
      {"a..b/..", "'/' is not allowed"},
      {"has space", "' ' is not allowed"},
      {"semi;colon", "';' is not allowed"},
      {"colon:x", "':' is not allowed"},
      {"new\nline", "'\\x0A' is not allowed"},
      {"bad\xff", "'\\xFF' is not allowed"},
  };
  for (const auto& [label, why] : refused) {
    INFO(label);
    const auto status = validate_label(label, "GO_PIPELINE_LABEL");
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().kind == ErrorKind::invalid);
    CHECK_THAT(status.error().message, Catch::Contains(why));
    CHECK_THAT(status.error().message, Catch::Contains("GO_PIPELINE_LABEL"));
    CHECK(status.error().message.find('\n') == std::string::npos);
  }
}

TEST_CASE("the label comes from --label, else GoCD, else Jenkins", "[label]") {
  LabelSources sources;
  sources.jenkins_build = "17";
  CHECK(resolve_label(sources).value() == "17");
  sources.gocd_label = "42-abc1234";
  CHECK(resolve_label(sources).value() == "42-abc1234");
  sources.option = "manual.1";
  CHECK(resolve_label(sources).value() == "manual.1");
}

TEST_CASE("no label anywhere is a usage error", "[label]") {
  const auto result = resolve_label({});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().kind == ErrorKind::invalid);
  CHECK_THAT(result.error().message, Catch::Contains("--label"));
}

TEST_CASE("an invalid label from the environment is refused, not skipped", "[label]") {
  LabelSources sources;
  sources.gocd_label = "bad label";
  sources.jenkins_build = "17";
  const auto result = resolve_label(sources);
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message, Catch::Contains("GO_PIPELINE_LABEL"));
}
