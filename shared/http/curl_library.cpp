#include "shared/http/curl_library.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <string>

namespace phoenix::http {

namespace {

constexpr const char* kSoname = "libcurl.so.4";

Error cannot_use(const std::string& why) {
  return Error{ErrorKind::unavailable,
               "cannot use libcurl (" + std::string(kSoname) + "): " + why + "; install the Debian package libcurl4"};
}

// Resolves `name` into `into`; false when the library lacks it.
template <class Function>
bool resolve(void* library, const char* name, Function& into) {
  void* symbol = dlsym(library, name);
  if (symbol == nullptr) return false;
  into = reinterpret_cast<Function>(symbol);  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast): dlsym's contract
  return true;
}

std::string version_text(unsigned number) {
  char text[32];
  std::snprintf(text, sizeof text, "%u.%u.%u", (number >> 16U) & 0xffU, (number >> 8U) & 0xffU, number & 0xffU);
  return text;
}

Status check_version(void* library) {
  decltype(&::curl_version_info) version_info = nullptr;
  if (!resolve(library, "curl_version_info", version_info)) return cannot_use("it has no curl_version_info");
  const curl_version_info_data* data = version_info(CURLVERSION_NOW);
  if (data == nullptr || data->version_num < kMinimumCurlVersion) {
    return cannot_use("version " + (data == nullptr ? std::string("unknown") : version_text(data->version_num)) +
                      " is older than " + version_text(kMinimumCurlVersion));
  }
  return {};
}

Result<const CurlLibrary*> load() {
  // Never closed: libcurl stays loaded for the life of the process, as it would if linked.
  void* library = dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* why = dlerror();
    return cannot_use(why != nullptr ? why : "it could not be loaded");
  }
  PHX_TRY(check_version(library));
  static CurlLibrary curl;
  decltype(&::curl_global_init) global_init = nullptr;
  const bool complete = resolve(library, "curl_global_init", global_init) &&
                        resolve(library, "curl_easy_init", curl.easy_init) &&
                        resolve(library, "curl_easy_setopt", curl.easy_setopt) &&
                        resolve(library, "curl_easy_getinfo", curl.easy_getinfo) &&
                        resolve(library, "curl_easy_strerror", curl.easy_strerror) &&
                        resolve(library, "curl_easy_cleanup", curl.easy_cleanup) &&
                        resolve(library, "curl_slist_append", curl.slist_append) &&
                        resolve(library, "curl_slist_free_all", curl.slist_free_all) &&
                        resolve(library, "curl_multi_init", curl.multi_init) &&
                        resolve(library, "curl_multi_add_handle", curl.multi_add_handle) &&
                        resolve(library, "curl_multi_perform", curl.multi_perform) &&
                        resolve(library, "curl_multi_info_read", curl.multi_info_read) &&
                        resolve(library, "curl_multi_poll", curl.multi_poll) &&
                        resolve(library, "curl_multi_remove_handle", curl.multi_remove_handle) &&
                        resolve(library, "curl_multi_cleanup", curl.multi_cleanup);
  if (!complete) return cannot_use("a function Phoenix calls is missing from it");
  if (global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return cannot_use("curl_global_init failed");
  return &curl;
}

}  // namespace

Result<const CurlLibrary*> curl_library() {
  static const Result<const CurlLibrary*> loaded = load();  // thread-safe: a function-local static
  return loaded;
}

}  // namespace phoenix::http
