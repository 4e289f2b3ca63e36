#include "shared/util/redact.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "shared/util/strings.hpp"

namespace phoenix::util {

namespace {

struct SecretStore {
  std::mutex mutex;
  std::vector<std::string> secrets;
};

SecretStore& store() {
  static SecretStore instance;
  return instance;
}

// Removes "user:password@" after "scheme://".
std::string strip_url_credentials(std::string text) {
  std::size_t position = 0;
  while ((position = text.find("://", position)) != std::string::npos) {
    const std::size_t authority = position + 3;
    const std::size_t end = text.find_first_of("/ \t\n\"'", authority);
    const std::size_t at = text.find('@', authority);
    if (at != std::string::npos && (end == std::string::npos || at < end)) {
      text.replace(authority, at + 1 - authority, "****@");
    }
    position = authority;
  }
  return text;
}

}  // namespace

void register_secret(std::string_view secret) {
  if (secret.empty()) return;
  auto& secrets = store();
  std::lock_guard lock(secrets.mutex);
  if (std::find(secrets.secrets.begin(), secrets.secrets.end(), secret) == secrets.secrets.end()) {
    secrets.secrets.emplace_back(secret);
    // Longest first, so a secret that contains another is replaced whole.
    std::sort(secrets.secrets.begin(), secrets.secrets.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  }
}

std::string redact(std::string_view text) {
  std::string out = strip_url_credentials(std::string(text));
  auto& secrets = store();
  std::lock_guard lock(secrets.mutex);
  for (const auto& secret : secrets.secrets) out = replace_all(std::move(out), secret, "****");
  return out;
}

namespace {
const char* character_name(unsigned char c) {
  if (c == '\r') return "a carriage return";
  if (c == '\n') return "a line break";
  if (c == ' ' || c == '\t') return "a space";
  if (c >= 0x80) return "a non-ASCII byte";
  return "a control character";
}
}  // namespace

Status check_token_characters(std::string_view value, const std::string& what) {
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c > 0x20 && c < 0x7F) continue;
    return Error{ErrorKind::invalid, what + " is not a valid token: character " + std::to_string(i + 1) + " of " +
                                         std::to_string(value.size()) + " is " + character_name(c) +
                                         " (a token is one line of printable characters without spaces; the "
                                         "value is not shown)"};
  }
  return {};
}

}  // namespace phoenix::util
