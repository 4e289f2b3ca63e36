#include "shared/ci/snapshot.hpp"

#include <catch2/catch.hpp>

using namespace phoenix::ci;

TEST_CASE("GoCD: secret attributes and elements are masked, values encrypted with the server's key stay",
          "[ci][secrets]") {
  const std::string xml =
      "<cruise>\n"
      "  <server agentAutoRegisterKey=\"auto-key\" webhookSecret = 'hook-secret' serverId=\"id-1\"\n"
      "          tokenGenerationKey=\"token-key\">\n"
      "    <mailhost hostname=\"smtp\" password=\"mail-pass\" encryptedPassword=\"AES:a:b\"/>\n"
      "  </server>\n"
      "  <git url=\"https://git.example/web.git\" password=\"\" encryptedPassword=\"des-old\"/>\n"
      "  <property><key>Password</key><encryptedValue>AES:c:d</encryptedValue></property>\n"
      "  <property><key>Token</key><encryptedValue>plain-old</encryptedValue></property>\n"
      "  <variable name=\"A\" secure=\"true\"><value>typed-in</value></variable>\n"
      "  <variable name=\"B\"><value>not-secret</value></variable>\n"
      "</cruise>\n";
  int masked = 0;
  const auto out = mask_gocd_secrets(xml, masked);
  CHECK(masked == 7);
  for (const char* secret : {"auto-key", "hook-secret", "token-key", "mail-pass", "des-old", "plain-old", "typed-in"}) {
    INFO(secret);
    CHECK(out.find(secret) == std::string::npos);
  }
  CHECK_THAT(out, Catch::Contains("webhookSecret = '****'"));
  CHECK_THAT(out, Catch::Contains("serverId=\"id-1\""));
  CHECK_THAT(out, Catch::Contains("encryptedPassword=\"AES:a:b\""));
  CHECK_THAT(out, Catch::Contains("<encryptedValue>AES:c:d</encryptedValue>"));
  CHECK_THAT(out, Catch::Contains("<value>not-secret</value>"));
  CHECK_THAT(out, Catch::Contains("password=\"\""));  // nothing to mask
  int again = 0;
  CHECK(mask_gocd_secrets(out, again) == out);
  CHECK(again == 0);
  CHECK_FALSE(find_known_secret(out, true));
}

TEST_CASE("known secrets are found by their form, wherever they are", "[ci][secrets]") {
  CHECK(*find_known_secret("a\nb\n-----BEGIN RSA PRIVATE KEY-----\nMIIE\n", false) == "line 3: a private key");
  CHECK(*find_known_secret("url: https://bot:hunter2@git.example/x.git\n", false) == "line 1: a password in a URL");
  CHECK(*find_known_secret("TOKEN: ghp_0123456789abcdefghijABCDEFGHIJ0123\n", false) == "line 1: a GitHub token");
  CHECK(*find_known_secret("<server webhookSecret=\"abc\"/>", true) == "line 1: the attribute webhookSecret in clear");
  CHECK(*find_known_secret("<x>\n<password>clear</password></x>", true) == "line 2: a secret element in clear");
  CHECK(*find_known_secret("<encryptedValue>not-aes</encryptedValue>", true) == "line 1: an encryptedValue in clear");
  // What is not a secret by its form.
  CHECK_FALSE(find_known_secret("-----BEGIN CERTIFICATE-----\nMIIB\n", false));
  CHECK_FALSE(find_known_secret("https://****@git.example/x.git git@git.example:x.git", false));
  CHECK_FALSE(find_known_secret("<password>****</password><secret>{AQAAABAAAAAQ}</secret>", true));
  CHECK_FALSE(find_known_secret("ghp_short", false));
}

TEST_CASE("Jenkins restore takes masked secrets from the server, by place", "[ci][secrets]") {
  const std::string server =
      "<job><scm><password>real-1</password></scm><x><password>real-2</password></x>"
      "<y><token>****</token></y></job>";
  const std::string backup =
      "<job><description>new</description><scm><password>****</password></scm>"
      "<x><password>****</password></x><y><token>****</token></y></job>";
  const auto merged = keep_server_secrets(backup, server);
  CHECK(merged.missing.empty());
  CHECK(merged.kept == 2);
  CHECK(merged.xml ==
        "<job><description>new</description><scm><password>real-1</password></scm>"
        "<x><password>real-2</password></x><y><token>****</token></y></job>");
  CHECK(masked_secret_count(backup) == 3);
  CHECK(masked_secret_count(merged.xml) == 1);

  const auto moved = keep_server_secrets("<job><z><password>****</password></z></job>", server);
  CHECK(moved.missing == std::vector<std::string>{"job/z/password"});
}

TEST_CASE("Jenkins jobs in folders map to JENKINS_HOME's layout and back", "[ci]") {
  CHECK(jenkins_job_path("web-create") == "jenkins/jobs/web-create/config.xml");
  CHECK(jenkins_job_path("team/web") == "jenkins/jobs/team/jobs/web/config.xml");
  CHECK(jenkins_job_path("a/b/c") == "jenkins/jobs/a/jobs/b/jobs/c/config.xml");
  for (const char* name : {"web-create", "team/web", "a/b/c"}) {
    INFO(name);
    CHECK(jenkins_job_name(*jenkins_job_path(name)) == std::optional<std::string>(name));
  }
  CHECK_FALSE(jenkins_job_name("jenkins/jobs/team/builds/web/config.xml"));
  CHECK_FALSE(jenkins_job_name("jenkins/jobs/../config.xml"));
  CHECK_FALSE(jenkins_job_name("gocd/pipelines/web.gocd.yaml"));
  CHECK(is_jenkins_folder("<?xml version='1.1'?>\n<com.cloudbees.hudson.plugins.folder.Folder plugin=\"x\">"));
  CHECK_FALSE(is_jenkins_folder("<?xml version='1.1'?>\n<flow-definition>"));
  CHECK_FALSE(is_jenkins_folder("<com.cloudbees.hudson.plugins.folder.FolderLike>"));
}

TEST_CASE("Jenkins job names Jenkins allows are stored under a file name that reads back unchanged", "[ci]") {
  CHECK(job_file_name("web-create") == "web-create");
  CHECK(job_file_name("my job") == "my%20job");
  CHECK(job_file_name("caf\xc3\xa9 \"nightly\" (old)") == "caf%C3%A9%20%22nightly%22%20%28old%29");
  CHECK(jenkins_job_path("team a/my job") == "jenkins/jobs/team%20a/jobs/my%20job/config.xml");
  for (const char* name : {"my job", "team a/my job", "caf\xc3\xa9", "a+b=c, d'e", ".hidden", "~x"}) {
    INFO(name);
    CHECK(jenkins_job_name(*jenkins_job_path(name)) == std::optional<std::string>(name));
  }
  // Nothing else spells the same job: a raw space, lower-case hex, an encoded safe byte, a stray '%'.
  for (const char* file : {"my job", "my%2fjob", "my%2Djob", "my%job", "my%2", "%2E%2E"}) {
    INFO(file);
    CHECK_FALSE(job_name_of_file(file));
  }
  // A name that cannot be a file name at all is not stored.
  for (const std::string& name : {std::string(), std::string("."), std::string(".."), std::string(90, ' ')}) {
    INFO(name.size());
    CHECK_FALSE(job_file_name(name));
  }
  CHECK_FALSE(jenkins_job_path("team/.."));
  CHECK(job_file_name(std::string(255, 'x')));
  CHECK_FALSE(job_file_name(std::string(256, 'x')));
}
