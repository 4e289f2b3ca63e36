#pragma once
// Secrets stay secret: every value read as a secret is registered here, and every line that
// leaves the program (progress, results, errors) passes through redact().

#include <string>
#include <string_view>

namespace phoenix::util {

// Registers a secret for the rest of the process. Values shorter than 4 characters are still
// registered; empty ones are ignored.
void register_secret(std::string_view secret);

// `text` with every registered secret replaced by "****" and the credentials of any URL
// ("https://user:password@host") removed.
std::string redact(std::string_view text);

}  // namespace phoenix::util
