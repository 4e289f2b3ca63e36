#pragma once
// libcurl, loaded by the commands that make HTTP requests instead of at every process start.
// Linked, its dependency tree (OpenSSL, GnuTLS, Kerberos, LDAP, SSH, ...) costs every command
// about 5 ms of start-up and 8 MB, paid even by the ones that make no HTTP request, such as a
// rollback on HAProxy with the local provider, whose time to recover counts from its start.
// cli/runtime loads it before a command whose configuration talks HTTP, and a smoke test before
// it judges a server (HttpClient::usable), so a missing libcurl is never taken for an answer.

#include <curl/curl.h>

#include "shared/util/result.hpp"

namespace phoenix::http {

// The libcurl functions Phoenix calls, resolved from the loaded library.
struct CurlLibrary {
  decltype(&::curl_easy_init) easy_init = nullptr;
  decltype(&::curl_easy_setopt) easy_setopt = nullptr;
  decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&::curl_easy_strerror) easy_strerror = nullptr;
  decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&::curl_slist_append) slist_append = nullptr;
  decltype(&::curl_slist_free_all) slist_free_all = nullptr;
  decltype(&::curl_multi_init) multi_init = nullptr;
  decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&::curl_multi_perform) multi_perform = nullptr;
  decltype(&::curl_multi_info_read) multi_info_read = nullptr;
  decltype(&::curl_multi_poll) multi_poll = nullptr;
  decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;
};

// The oldest libcurl Phoenix works with: CURLOPT_PROTOCOLS_STR came in 7.85.0.
inline constexpr unsigned kMinimumCurlVersion = 0x075500;

// Loads libcurl (libcurl.so.4, Debian package libcurl4) and initialises it, once per process;
// thread-safe. Every call after the first returns the same result. Errors (unavailable): the
// library is missing, lacks a function, or is older than kMinimumCurlVersion; the message names
// the package to install.
Result<const CurlLibrary*> curl_library();

}  // namespace phoenix::http
