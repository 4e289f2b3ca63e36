// README's "A session" runs, line by line, against the example configuration the package
// installs as /etc/phoenix/web.json (pipeline-configs/examples/web.local.json), with only its
// machine paths pointed at a private HAProxy, state directory and the sample app. A line the
// README marks as Hetzner Cloud or exec provider only must be refused (exit 2); every other
// line must work (exit 0).

#include <catch2/catch.hpp>

#include "shared/util/files.hpp"
#include "shared/util/strings.hpp"
#include "support/harness.hpp"

using namespace phoenix;
using namespace phoenix::testing;

namespace {

struct SessionLine {
  std::string text;
  std::vector<std::string> words;  // split as a shell would: double quotes group
  std::string comment;
};

std::vector<std::string> shell_words(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool quoted = false;
  bool any = false;
  for (const char c : command) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (c == ' ' && !quoted) {
      if (any) words.push_back(word);
      word.clear();
      any = false;
    } else {
      word += c;
      any = true;
    }
  }
  if (any) words.push_back(word);
  return words;
}

std::vector<SessionLine> readme_session() {
  const auto readme = util::read_file(source_directory() / "README.md");
  REQUIRE(readme.ok());
  const auto heading = readme->find("## A session");
  REQUIRE(heading != std::string::npos);
  const auto start = readme->find("```sh\n", heading);
  const auto end = readme->find("```", start + 6);
  REQUIRE(end != std::string::npos);
  std::vector<SessionLine> lines;
  for (const auto& line : util::split_lines(readme->substr(start + 6, end - start - 6))) {
    if (util::trim(line).empty()) continue;
    const auto hash = line.find(" #");
    SessionLine parsed{.text = line,
                       .words = shell_words(std::string(util::trim(line.substr(0, hash)))),
                       .comment = hash == std::string::npos ? "" : line.substr(hash + 2)};
    lines.push_back(parsed);
  }
  return lines;
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("README's session works with the shipped example configuration", "[e2e][readme]") {
  TempDir dir;
  Haproxy haproxy(dir.path());
  auto example = util::read_file(source_directory() / "pipeline-configs/examples/web.local.json");
  REQUIRE(example.ok());
  std::string config_text = *example;
  replace_once(config_text, "/var/lib/phoenix", (dir.path() / "state").string());
  replace_once(config_text, "/usr/lib/phoenix/phoenix-sample-app",
               (binary_directory() / "phoenix-sample-app").string());
  replace_once(config_text, "/run/haproxy/admin.sock", haproxy.socket().string());
  replace_once(config_text, "/etc/haproxy/haproxy.cfg", haproxy.config_file().string());
  const auto config = (dir.path() / "web.json").string();
  REQUIRE(util::write_file_atomic(config, config_text).ok());
  const auto run = [&](std::vector<std::string> words) {
    const std::string tool = words.front();
    words.erase(words.begin());
    return run_tool(tool, words, {"PHOENIX_CONFIG=" + config}, std::chrono::seconds(120));
  };
  // What the session starts from: 40 and 41 made, 41 live.
  for (const char* label : {"40", "41"}) REQUIRE(run({"create-pipeline", "run", "--label", label}).exit_code == 0);
  REQUIRE(run({"deploy-pipeline", "deploy", "--label", "41"}).exit_code == 0);

  const auto lines = readme_session();
  REQUIRE(lines.size() > 5);
  REQUIRE(lines.front().words == std::vector<std::string>{"export", "PHOENIX_CONFIG=/etc/phoenix/web.json"});
  Prober traffic(dir.path(), haproxy.url("/"), 2, std::chrono::minutes(3));  // a watch judges real requests
  for (std::size_t i = 1; i < lines.size(); ++i) {
    auto words = lines[i].words;
    for (std::size_t w = 0; w + 1 < words.size(); ++w) {
      if (words[w] == "--junit") words[w + 1] = (dir.path() / words[w + 1]).string();
      if (words[w] == "--watch") words[w + 1] = "10s";  // the session's 10m, shortened to one window
    }
    INFO(lines[i].text);
    const auto result = run(words);
    INFO("stdout: " << result.out << "stderr: " << result.err);
    if (lines[i].comment.find("Hetzner Cloud or exec provider only") != std::string::npos) {
      CHECK(result.exit_code == 2);
      CHECK_THAT(result.err, Catch::Contains("cold"));
    } else {
      CHECK(result.exit_code == 0);
    }
  }
  traffic.finish();
}
