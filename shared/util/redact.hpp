#pragma once
// Secrets stay secret: every value read as a secret is registered here, and every line that
// leaves the program (progress, results, errors) passes through redact().

#include <string>
#include <string_view>

#include "shared/util/result.hpp"

namespace phoenix::util {

// Registers a secret for the rest of the process. Values shorter than 4 characters are still
// registered; empty ones are ignored.
void register_secret(std::string_view secret);

// `text` with every registered secret replaced by "****", and every "scheme://" URL in it shown
// as redact_url shows one: its credentials removed ("https://user:password@host" ->
// "https://host"), its query values and fragment replaced by kRedactedValue. A URL in free
// text ends at whitespace, a quote or an angle bracket, so an error from libcurl or a webhook
// body ("POST https://hooks.example/x?token=abc: timed out") keeps no token; punctuation after
// a query value is hidden with it. Redact before cutting or escaping text: a cut secret, or one
// whose bytes were escaped, is no longer recognised (util::printable does). Redacting twice
// changes nothing more.
std::string redact(std::string_view text);

// redact() for a document that must stay valid and restorable (a CI configuration backup):
// registered secrets and URL credentials go, query strings and fragments stay, since they are
// part of what the document configures (and "<redacted>" would break its XML).
std::string redact_document(std::string_view text);

// What replaces a query value or a fragment in a redacted URL.
inline constexpr std::string_view kRedactedValue = "<redacted>";

// A URL as Phoenix shows and records it, wherever it goes (messages, history, watch records,
// notifications, -v logs): without "user:password@", every query value and the fragment
// replaced by kRedactedValue, the parameter names kept. Query strings and userinfo carry tokens.
//   "https://u:p@shop.example/health?token=abc&v=&probe#x"
//     -> "https://shop.example/health?token=<redacted>&v=&<redacted>#<redacted>"
// An empty value stays empty (nothing to hide); an item without "=" ("?SECRET", "&probe") is a
// value itself and is replaced whole.
// Text without "scheme://" is taken as a path with an optional query ("/health?token=abc").
std::string redact_url(std::string_view url);

// Whether `value` can be a credential sent in an HTTP header: one line of printable ASCII
// without spaces. Otherwise an `invalid` error that says which character at which position
// is wrong and never shows the value: "<what> is not a valid token: ...".
Status check_token_characters(std::string_view value, const std::string& what);

}  // namespace phoenix::util
