#include "shared/ci/ci_context.hpp"

#include <catch2/catch.hpp>

using namespace phoenix::ci;

TEST_CASE("GoCD's variables give label, revision, trigger user and job", "[ci]") {
  const Environment environment = {{"GO_SERVER_URL", "https://gocd:8154/go"},
                                   {"GO_PIPELINE_NAME", "web-create"},
                                   {"GO_PIPELINE_COUNTER", "42"},
                                   {"GO_PIPELINE_LABEL", "42-abc1234"},
                                   {"GO_STAGE_NAME", "create"},
                                   {"GO_STAGE_COUNTER", "1"},
                                   {"GO_JOB_NAME", "run"},
                                   {"GO_TRIGGER_USER", "changes"},
                                   {"GO_REVISION_WEB_REPO", "abc1234def"}};
  const auto context = read_ci_context(environment);
  CHECK(context.system == System::gocd);
  CHECK(context.label.gocd_label == std::string("42-abc1234"));
  CHECK(context.revision == "abc1234def");
  CHECK(context.trigger_user == "changes");
  CHECK(context.job == "web-create/42/create/1/run");
}

TEST_CASE("Jenkins' variables give label, revision and a sanitised job", "[ci]") {
  const Environment environment = {{"JENKINS_URL", "https://jenkins/"},
                                   {"BUILD_NUMBER", "17"},
                                   {"BUILD_TAG", "jenkins-folder/web create-17"},
                                   {"GIT_COMMIT", "fedcba"},
                                   {"BUILD_USER", "bot"}};
  const auto context = read_ci_context(environment);
  CHECK(context.system == System::jenkins);
  CHECK(context.label.jenkins_build == std::string("17"));
  CHECK(context.revision == "fedcba");
  CHECK(context.trigger_user == "bot");
  CHECK(context.job == "jenkins-folder-web-create-17");
}

TEST_CASE("by hand there is no CI system and the user is the login", "[ci]") {
  const auto context = read_ci_context({{"USER", "ops-c"}});
  CHECK_FALSE(context.system.has_value());
  CHECK(context.trigger_user == "ops-c");
  CHECK_FALSE(context.label.gocd_label);
}
