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

// `text` with every registered secret replaced by "****" and the credentials of any URL
// ("https://user:password@host") removed. Redact before cutting or escaping text: a cut
// secret, or one whose bytes were escaped, is no longer recognised (util::printable does).
std::string redact(std::string_view text);

// Whether `value` can be a credential sent in an HTTP header: one line of printable ASCII
// without spaces. Otherwise an `invalid` error that says which character at which position
// is wrong and never shows the value: "<what> is not a valid token: ...".
Status check_token_characters(std::string_view value, const std::string& what);

}  // namespace phoenix::util
