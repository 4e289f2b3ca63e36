// phoenix-webhook-receiver: a test webhook endpoint, for tests only. It records every request
// it receives, as it arrives, as one JSON line {"method", "path", "content_type", "body"} in
// --record, then answers, after --delay-ms (a receiver that hangs), with --status (200), or
// with 500 to the first --fail-first requests (a receiver that fails once, then recovers).
//
//   phoenix-webhook-receiver --port-file FILE --record FILE [--delay-ms N] [--status N]
//                            [--fail-first N]
//
// It serves with cpp-httplib (fakes/http/loopback_server.hpp) on 127.0.0.1 and writes its port
// to --port-file once it accepts connections. Any method and path are accepted: the path is
// part of what a test checks (a webhook URL's path holds its secret).

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "fakes/http/loopback_server.hpp"
#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "tools/arguments.hpp"

using namespace phoenix;

namespace {

constexpr const char* kUsage =
    "usage: phoenix-webhook-receiver --port-file FILE --record FILE [--delay-ms N] [--status N] [--fail-first N]\n"
    "\n"
    "A test webhook endpoint on 127.0.0.1: records each request as one JSON line in --record\n"
    "when it arrives, then answers --status (200) after --delay-ms (0), or 500 to the first\n"
    "--fail-first requests.\n";

std::atomic<bool> g_stop{false};
void on_signal(int /*signal*/) { g_stop = true; }

struct Options {
  std::string port_file;
  std::string record;
  int delay_ms = 0;
  int status = 200;
  int fail_first = 0;
};

class Recorder {
 public:
  explicit Recorder(const Options& options) : options_(options) {}

  void handle(const httplib::Request& request, httplib::Response& response) {
    const int number = received_.fetch_add(1) + 1;
    record(request);
    if (options_.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(options_.delay_ms));
    response.status = number <= options_.fail_first ? 500 : options_.status;
    response.set_content(response.status < 300 ? "ok" : "receiver says no", "text/plain");
  }

 private:
  void record(const httplib::Request& request) {
    util::Json line(cJSON_CreateObject());
    util::add_string(line.get(), "method", request.method);
    util::add_string(line.get(), "path", request.path);
    util::add_string(line.get(), "content_type", request.get_header_value("Content-Type"));
    util::add_string(line.get(), "body", request.body);
    const std::string text = util::print_json(line.get()) + "\n";
    const std::lock_guard<std::mutex> lock(mutex_);
    std::FILE* file = std::fopen(options_.record.c_str(), "a");
    if (file == nullptr) return;
    std::fwrite(text.data(), 1, text.size(), file);
    std::fclose(file);
  }

  const Options& options_;
  std::atomic<int> received_{0};
  std::mutex mutex_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  tools::Arguments arguments("phoenix-webhook-receiver", kUsage);
  arguments.text("--port-file", options.port_file, true)
      .text("--record", options.record, true)
      .number("--delay-ms", options.delay_ms, 0, 600000)
      .number("--status", options.status, 100, 599)
      .number("--fail-first", options.fail_first, 0, 1000);
  arguments.parse(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);

  Recorder recorder(options);
  fakes::http::LoopbackServer server([&recorder](const httplib::Request& request, httplib::Response& response) {
    recorder.handle(request, response);
  });
  server.start();
  if (!util::write_file_atomic(options.port_file, std::to_string(server.port()) + "\n").ok()) return 1;
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server.stop();
  // Handlers still sleeping out a --delay-ms must not hold the process: it ends here.
  std::fflush(nullptr);
  std::_Exit(0);
}
