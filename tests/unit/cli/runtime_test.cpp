#include "shared/cli/runtime.hpp"

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "shared/util/redact.hpp"
#include "support/harness.hpp"

using namespace phoenix;

TEST_CASE("a notifier URL comes from the environment and becomes a secret at once", "[cli][notify][secrets]") {
  const std::string url = "https://hooks.slack.example/services/T0RUNTIME/B0RUNTIME/s3cr3tRuntimeTok";
  const ci::Environment environment = {{"RUNTIME_TEST_CHAT_URL", "  " + url + "\n"}};
  auto read = cli::notifier_url(environment, {.environment = "RUNTIME_TEST_CHAT_URL"});
  REQUIRE(read.ok());
  CHECK(*read == url);
  CHECK(util::redact("posting to " + url) == "posting to ****");
  // The part after the host is the credential: redacted wherever it appears alone.
  CHECK(util::redact("GET /services/T0RUNTIME/B0RUNTIME/s3cr3tRuntimeTok") == "GET ****");
}

TEST_CASE("a notifier URL comes from the first line of a file", "[cli][notify][secrets]") {
  testing::TempDir dir;
  const auto file = dir.path() / "hook-url";
  REQUIRE(util::write_file_atomic(file, "http://127.0.0.1:9/hooks/file-secret-9a8b7c\n").ok());
  auto read = cli::notifier_url({}, {.file = file});
  REQUIRE(read.ok());
  CHECK(*read == "http://127.0.0.1:9/hooks/file-secret-9a8b7c");
  CHECK(util::redact("/hooks/file-secret-9a8b7c") == "****");
  // A short path names an endpoint, not a credential: it is not redacted on its own.
  REQUIRE(util::write_file_atomic(file, "http://127.0.0.1:9/h\n").ok());
  REQUIRE(cli::notifier_url({}, {.file = file}).ok());
  CHECK(util::redact("GET /h") == "GET /h");
}

TEST_CASE("a missing or malformed notifier URL is refused without showing it", "[cli][notify][secrets]") {
  auto missing = cli::notifier_url({}, {.environment = "RUNTIME_TEST_UNSET"});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::invalid);
  CHECK(missing.error().message == "the URL in $RUNTIME_TEST_UNSET is missing or empty");

  auto plain = cli::notifier_url({{"RUNTIME_TEST_FTP", "ftp://files.example/drop-secret-123"}},
                                 {.environment = "RUNTIME_TEST_FTP"});
  REQUIRE_FALSE(plain.ok());
  CHECK_THAT(plain.error().message, Catch::Contains("is not an http:// or https:// URL"));
  CHECK(plain.error().message.find("drop-secret-123") == std::string::npos);

  auto spaced =
      cli::notifier_url({{"RUNTIME_TEST_SPACE", "https://a.example/x y"}}, {.environment = "RUNTIME_TEST_SPACE"});
  REQUIRE_FALSE(spaced.ok());
  CHECK(spaced.error().message.find("x y") == std::string::npos);

  testing::TempDir dir;
  auto unreadable = cli::notifier_url({}, {.file = dir.path() / "absent"});
  REQUIRE_FALSE(unreadable.ok());
  CHECK_THAT(unreadable.error().message, Catch::Contains("reading url_file"));
}
