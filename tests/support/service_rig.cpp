#include "support/service_rig.hpp"

#include <signal.h>

#include <catch2/catch.hpp>

#include "shared/http/curl_http_client.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"

namespace phoenix::testing {

ServiceRig::ServiceRig(const ServiceOptions& options, std::optional<ThenDeploy> pools)
    : service(options.service), config(write_service_config(dir.path(), haproxy, options).string()) {
  if (pools) create_pools_1_and_2(config, *pools);
}

ToolResult ServiceRig::run(const std::string& tool, std::vector<std::string> arguments) const {
  arguments.insert(arguments.end(), {"--config", config});
  return run_tool(tool, arguments);
}

void ServiceRig::ok(const std::string& tool, const std::vector<std::string>& arguments) const {
  const auto result = run(tool, arguments);
  INFO(tool << " " << util::join(arguments, " ") << ": " << result.err);
  REQUIRE(result.exit_code == 0);
}

void ServiceRig::create(const std::string& label) const { ok("create-pipeline", {"run", "--label", label}); }

void ServiceRig::deploy(const std::string& label) const { ok("deploy-pipeline", {"deploy", "--label", label}); }

fs::path ServiceRig::state() const { return dir.path() / "state" / service; }

bool ServiceRig::watch_recorded() const { return fs::exists(watch_record()) && !fs::exists(deploy_lock()); }

std::string ServiceRig::live() const { return http_get(haproxy.url()).second; }

util::Json ServiceRig::status_json() const {
  return parse_output(run("deploy-pipeline", {"status", "--output", "json"}).out);
}

bool ServiceRig::listed(const std::string& label) const {
  const auto listing = parse_output(run("create-pipeline", {"list", "--output", "json"}).out);
  return listed_pool(listing, label) != nullptr;
}

std::string ServiceRig::pool_field(const std::string& label, const char* field) const {
  const auto listing = parse_output(run("create-pipeline", {"list", "--output", "json"}).out);
  const cJSON* value = cJSON_GetObjectItem(listed_pool(listing, label), field);
  return cJSON_IsString(value) ? value->valuestring : "";
}

std::vector<std::string> ServiceRig::history_details(const std::string& action) const {
  const auto history = parse_output(run("deploy-pipeline", {"history", "--output", "json"}).out);
  std::vector<std::string> details;
  const cJSON* event = nullptr;
  cJSON_ArrayForEach(event, cJSON_GetObjectItem(history.get(), "events")) {
    if (action == cJSON_GetObjectItem(event, "action")->valuestring) {
      details.emplace_back(cJSON_GetObjectItem(event, "detail")->valuestring);
    }
  }
  return details;
}

std::vector<PoolServer> ServiceRig::servers(const std::string& label) const {
  const auto text = util::read_file(state() / "pools" / label / "pool.json");
  REQUIRE(text.ok());
  const auto document = util::parse_json(*text, "pool.json");
  REQUIRE(document.ok());
  std::vector<PoolServer> out;
  const cJSON* server = nullptr;
  cJSON_ArrayForEach(server, cJSON_GetObjectItem(document->get(), "servers")) {
    out.push_back({util::json_string(server, "host").value_or("") + ":" +
                       std::to_string(static_cast<int>(util::json_number(server, "port").value_or(0))),
                   static_cast<pid_t>(util::json_number(server, "pid").value_or(0))});
  }
  return out;
}

std::vector<pid_t> ServiceRig::pids(const std::string& label) const {
  std::vector<pid_t> out;
  for (const auto& server : servers(label)) out.push_back(server.pid);
  return out;
}

void ServiceRig::kill_servers(const std::string& label) const {
  const auto killed = servers(label);
  for (const auto& server : killed) {
    REQUIRE(server.pid > 0);
    ::kill(server.pid, SIGKILL);
  }
  for (const auto& server : killed) {
    for (int i = 0; i < 200 && http_get("http://" + server.address + "/health").first == 200; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

void ServiceRig::turn_bad(const std::string& label) const {
  http::CurlHttpClient client;
  for (const auto& server : servers(label)) {
    HttpRequest request;
    request.method = "POST";
    request.url = "http://" + server.address + "/admin/fail";
    request.headers.emplace_back("Host", server.address);
    request.timeout = std::chrono::seconds(2);
    const auto answers = client.perform({request});
    REQUIRE(answers.front().ok());
    REQUIRE(answers.front()->status == 200);
  }
}

std::thread ServiceRig::start_watched_deploy(const std::string& label, const std::string& duration, ToolResult& result,
                                             std::atomic<bool>& done) const {
  std::thread deploy([this, label, duration, &result, &done] {
    result = run("deploy-pipeline", {"deploy", "--label", label, "--watch", duration});
    done = true;
  });
  const std::string answer = label + "\n";
  for (int i = 0; i < 500 && !done && live() != answer; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return deploy;
}

}  // namespace phoenix::testing
