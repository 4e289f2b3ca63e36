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
  CHECK(plain.error().message ==
        "the URL in $RUNTIME_TEST_FTP is not a valid URL: the scheme 'ftp' is not http or https (the value is not "
        "shown)");
  CHECK(plain.error().message.find("drop-secret-123") == std::string::npos);

  auto spaced =
      cli::notifier_url({{"RUNTIME_TEST_SPACE", "https://a.example/x y"}}, {.environment = "RUNTIME_TEST_SPACE"});
  REQUIRE_FALSE(spaced.ok());
  CHECK(spaced.error().message.find("x y") == std::string::npos);

  // Malformed beyond the scheme: refused when read, the problem named, no part of the URL shown.
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"https://hooks.example:70000/services/T0SECRET/B0SECRET", "port 70000 is above 65535"},
      {"https://[hooks.example/services/T0SECRET/B0SECRET", "'[' at position 9 has no closing ']'"},
      {"https:///services/T0SECRET/B0SECRET", "it has no host"},
      {"https://hooks.example/services/T0SECRET/B0SECRET%zz", "'%' at position 49 is not followed by two hex"},
  };
  for (const auto& [url, problem] : malformed) {
    INFO(url);
    auto read = cli::notifier_url({{"RUNTIME_TEST_BAD", url}}, {.environment = "RUNTIME_TEST_BAD"});
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().kind == ErrorKind::invalid);
    CHECK_THAT(read.error().message, Catch::StartsWith("the URL in $RUNTIME_TEST_BAD is not a valid URL: " + problem));
    CHECK(read.error().message.find("SECRET") == std::string::npos);
    CHECK(read.error().message.find("hooks.example") == std::string::npos);
  }

  testing::TempDir dir;
  auto unreadable = cli::notifier_url({}, {.file = dir.path() / "absent"});
  REQUIRE_FALSE(unreadable.ok());
  CHECK_THAT(unreadable.error().message, Catch::Contains("reading url_file"));
}
