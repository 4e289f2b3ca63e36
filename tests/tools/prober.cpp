// phoenix-prober: sends GET requests through the balancer on a few keep-alive connections,
// and reports how many failed and, per release, how many answered and when first and last.
// "Every response comes from the target release" from the last time any other release
// answered: that is how tests and benchmarks measure a switch.
//
//   phoenix-prober --url URL [--connections N] [--duration-ms MS] [--max-requests N] [--out FILE]
//   phoenix-prober --summarize FILE --target RELEASE --since-ns NS
//
// Stops at the duration, the request limit, or SIGTERM/SIGINT, then writes a JSON summary.
// Times are wall-clock nanoseconds since the epoch, comparable with `date +%s%N` in a script.
// --summarize reads such a summary and prints one line for scripts:
//   requests=N failed=N switch_ms=N   (switch_ms: from NS until only RELEASE answered)

#include <curl/curl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "shared/util/files.hpp"
#include "shared/util/json.hpp"
#include "shared/util/strings.hpp"
#include "tools/arguments.hpp"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// --summarize: one key=value line from a summary file.
int summarize(const std::string& file, const std::string& target, long long since_ns) {
  auto text = phoenix::util::read_file(file);
  if (!text) {
    std::fprintf(stderr, "phoenix-prober: %s\n", text.error().message.c_str());
    return 1;
  }
  auto document = phoenix::util::parse_json(*text, file);
  if (!document) {
    std::fprintf(stderr, "phoenix-prober: %s\n", document.error().message.c_str());
    return 1;
  }
  const auto number = [](const cJSON* object, const char* key) {
    return static_cast<long long>(phoenix::util::json_number(object, key).value_or(0));
  };
  long long others_last = 0;
  const cJSON* release = nullptr;
  cJSON_ArrayForEach(release, cJSON_GetObjectItemCaseSensitive(document->get(), "releases")) {
    if (target != release->string) others_last = std::max(others_last, number(release, "last_ns"));
  }
  const long long switch_ms = others_last > since_ns ? (others_last - since_ns) / 1000000 : 0;
  std::printf("requests=%lld failed=%lld switch_ms=%lld\n", number(document->get(), "requests"),
              number(document->get(), "failed"), switch_ms);
  return 0;
}

struct Seen {
  long long count = 0;
  long long first_ns = 0;
  long long last_ns = 0;
  void add(long long at) {
    if (count == 0) first_ns = at;
    last_ns = at;
    ++count;
  }
};

struct Slot {
  CURL* easy = nullptr;
  std::string body;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<Slot*>(user)->body.append(data, size * count);
  return size * count;
}

const char* const kUsage =
    "usage: phoenix-prober --url URL [--connections N] [--duration-ms MS] [--max-requests N] [--out FILE]\n"
    "       phoenix-prober --summarize FILE --target RELEASE --since-ns NS\n"
    "Sends GET requests to URL (http://127.x.x.x only) on N keep-alive connections (4, at most 256) until MS\n"
    "milliseconds (60000) or N requests have passed, or SIGTERM; writes a JSON summary to FILE (else stdout).\n"
    "--summarize prints requests=N failed=N switch_ms=N: from NS until only RELEASE answered.\n";

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  std::string out;
  std::string summary_file;
  std::string target;
  long long since_ns = 0;
  int connections = 4;
  long long duration_ms = 60000;
  long long max_requests = 10000000;
  phoenix::tools::Arguments arguments("phoenix-prober", kUsage);
  arguments.text("--url", url)
      .number("--connections", connections, 1, 256)
      .number("--duration-ms", duration_ms, 1, 24LL * 3600 * 1000)
      .number("--max-requests", max_requests, 1, 1000000000000LL)
      .text("--out", out)
      .text("--summarize", summary_file)
      .text("--target", target)
      .number("--since-ns", since_ns, 0, std::numeric_limits<long long>::max());
  arguments.parse(argc, argv);
  if (!summary_file.empty()) {
    if (target.empty()) arguments.fail("--summarize needs --target");
    return summarize(summary_file, target, since_ns);
  }
  if (url.empty()) arguments.fail("--url is required");
  // Traffic stays on loopback: the prober refuses anything else.
  if (url.rfind("http://127.", 0) != 0) arguments.fail("only http://127.x.x.x URLs are allowed");
  ::signal(SIGTERM, on_signal);
  ::signal(SIGINT, on_signal);
  ::signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  std::vector<Slot> slots(static_cast<std::size_t>(connections));
  for (auto& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEDATA, &slot);
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
    curl_multi_add_handle(multi, slot.easy);
  }

  std::map<std::string, Seen> releases;
  Seen failures;
  std::vector<std::string> error_samples;
  long long requests = 0;
  const long long started = now_ns();
  const long long deadline = started + duration_ms * 1000000LL;
  int running = 0;
  bool draining = false;
  do {
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      Slot* slot = nullptr;
      curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&slot));
      const long long at = now_ns();
      long status = 0;
      curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &status);
      ++requests;
      if (message->data.result != CURLE_OK || status != 200) {
        failures.add(at);
        if (error_samples.size() < 10) {
          error_samples.push_back(message->data.result != CURLE_OK ? curl_easy_strerror(message->data.result)
                                                                   : "status " + std::to_string(status) + ": " +
                                                                         phoenix::util::printable(slot->body, 60));
        }
      } else {
        releases[std::string(phoenix::util::trim(slot->body))].add(at);
      }
      slot->body.clear();
      curl_multi_remove_handle(multi, slot->easy);
      draining = draining || g_stop != 0 || at >= deadline || requests >= max_requests;
      if (!draining) curl_multi_add_handle(multi, slot->easy);
    }
    if (running > 0 || !draining) curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    if (g_stop != 0 || now_ns() >= deadline) draining = true;
  } while (running > 0 || !draining);

  phoenix::util::Json summary(cJSON_CreateObject());
  phoenix::util::add_number(summary.get(), "requests", static_cast<double>(requests));
  phoenix::util::add_number(summary.get(), "failed", static_cast<double>(failures.count));
  phoenix::util::add_number(summary.get(), "started_ns", static_cast<double>(started));
  phoenix::util::add_number(summary.get(), "ended_ns", static_cast<double>(now_ns()));
  if (failures.count > 0) {
    phoenix::util::add_number(summary.get(), "first_failure_ns", static_cast<double>(failures.first_ns));
    phoenix::util::add_number(summary.get(), "last_failure_ns", static_cast<double>(failures.last_ns));
  }
  cJSON* by_release = cJSON_AddObjectToObject(summary.get(), "releases");
  for (const auto& [release, seen] : releases) {
    cJSON* item = cJSON_AddObjectToObject(by_release, release.c_str());
    phoenix::util::add_number(item, "count", static_cast<double>(seen.count));
    phoenix::util::add_number(item, "first_ns", static_cast<double>(seen.first_ns));
    phoenix::util::add_number(item, "last_ns", static_cast<double>(seen.last_ns));
  }
  cJSON* errors = cJSON_AddArrayToObject(summary.get(), "errors");
  for (const auto& sample : error_samples) cJSON_AddItemToArray(errors, cJSON_CreateString(sample.c_str()));
  const std::string text = phoenix::util::print_json(summary.get(), true);
  if (out.empty()) {
    std::fputs(text.c_str(), stdout);
  } else if (!phoenix::util::write_file_atomic(out, text).ok()) {
    std::fprintf(stderr, "phoenix-prober: cannot write %s\n", out.c_str());
    return 1;
  }
  for (auto& slot : slots) curl_easy_cleanup(slot.easy);
  curl_multi_cleanup(multi);
  return 0;
}
