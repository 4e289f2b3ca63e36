#include "shared/util/redact.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "shared/util/strings.hpp"
#include "shared/util/url.hpp"

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

// Where a URL's authority that starts at `authority` (just after "://") ends: at the path,
// query or fragment, or at what ends a URL in free text (a space, a quote).
std::size_t authority_end(std::string_view text, std::size_t authority) {
  const std::size_t end = text.find_first_of("/?# \t\n\"'<>", authority);
  return end == std::string_view::npos ? text.size() : end;
}

// Removes "user:password@" (or "user@") from every "scheme://" authority in `text`.
std::string strip_url_credentials(std::string text) {
  std::size_t position = 0;
  while ((position = text.find("://", position)) != std::string::npos) {
    const std::size_t authority = position + 3;
    const std::size_t at = text.find('@', authority);
    if (at != std::string::npos && at < authority_end(text, authority)) text.erase(authority, at + 1 - authority);
    position = authority;
  }
  return text;
}

// Removes the user part of `url`, one whole URL (not a URL in free text, whose authority ends
// at a space or a quote): everything from "://" to the last '@' before the query. An '@' after
// the first '/' belongs to the path of a valid URL; in a malformed one it ends a user part whose
// password has a '/' ("http://u:p/ss@host", which names no port), so it is removed there too.
// Likewise a '?' or '#' in an unencoded password makes the URL malformed ("http://u:p?ss@host"):
// there the last '@' anywhere ends the user part, so no part of the password is left to show
// (an '@' in the query of a malformed URL may then hide its host too: hiding more is the safe side).
std::string strip_userinfo(std::string url, bool well_formed) {
  const std::size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const std::size_t authority = scheme + 3;
  const std::size_t query = well_formed ? std::min(url.find_first_of("?#", authority), url.size()) : url.size();
  const std::size_t at = url.rfind('@', query == 0 ? 0 : query - 1);
  if (at == std::string::npos || at < authority) return url;
  if (well_formed && url.find('/', authority) < at) return url;
  return url.erase(authority, at + 1 - authority);
}

// "a=1&b&c=" -> "a=<redacted>&<redacted>&c=": names kept, values hidden. An item without '='
// ("?SECRET", "?a=1&TOKEN") is a value, not a name: it is hidden whole.
std::string redact_query(std::string_view query) {
  std::vector<std::string> parameters;
  for (const auto& parameter : split(query, '&')) {
    const std::size_t equals = parameter.find('=');
    if (parameter.empty()) {
      parameters.emplace_back();  // "a=1&&b=2": nothing between the separators
    } else if (equals == std::string::npos) {
      parameters.emplace_back(kRedactedValue);
    } else {
      const bool has_value = equals + 1 < parameter.size();
      parameters.push_back(parameter.substr(0, equals + 1) + (has_value ? std::string(kRedactedValue) : ""));
    }
  }
  return join(parameters, "&");
}

// Where a URL in free text ends: at whitespace, a quote or an angle bracket (JSON, XML, a
// quoted value, "<redacted>" itself, so redacting twice changes nothing).
constexpr std::string_view kFreeTextUrlEnd = " \t\n\r\v\f\"'<>";

// The query values and the fragment of every "scheme://" URL in free text hidden, as redact_url
// hides them: "POST https://hooks.example/x?token=abc failed" -> "...?token=<redacted> failed".
// A value runs to where the URL ends, punctuation included: where a secret stops cannot be told.
std::string redact_url_queries(std::string_view text) {
  std::string out;
  std::size_t done = 0;
  std::size_t scheme = 0;
  while ((scheme = text.find("://", done)) != std::string_view::npos) {
    const std::size_t authority = scheme + 3;
    const std::size_t end = std::min(text.find_first_of(kFreeTextUrlEnd, authority), text.size());
    const std::string_view rest = text.substr(authority, end - authority);
    const std::size_t fragment = rest.find('#');
    const std::size_t query = rest.substr(0, fragment).find('?');
    const std::size_t shown_end = authority + std::min({query, fragment, rest.size()});
    out += text.substr(done, shown_end - done);
    if (query != std::string_view::npos) {
      const std::size_t query_end = std::min(fragment, rest.size());
      out += '?' + redact_query(rest.substr(query + 1, query_end - query - 1));
    }
    if (fragment != std::string_view::npos) {
      out += '#';
      if (fragment + 1 < rest.size()) out += kRedactedValue;
    }
    done = end;
  }
  out += text.substr(done);
  return out;
}

std::string redact_registered_secrets(std::string text) {
  auto& secrets = store();
  std::lock_guard lock(secrets.mutex);
  for (const auto& secret : secrets.secrets) text = replace_all(std::move(text), secret, "****");
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
  return redact_registered_secrets(redact_url_queries(strip_url_credentials(std::string(text))));
}

std::string redact_document(std::string_view text) {
  return redact_registered_secrets(strip_url_credentials(std::string(text)));
}

std::string redact_url(std::string_view url) {
  // Registered secrets first: a notifier's URL is one whole (and its path), as it was read.
  // Its query is hidden below as one whole too, not where a URL in free text would end.
  std::string out = strip_userinfo(redact_document(url), check_url(url).ok());
  const std::size_t scheme = out.find("://");
  const std::size_t path = scheme == std::string::npos ? 0 : authority_end(out, scheme + 3);
  const std::size_t fragment = out.find('#', path);
  const std::size_t query = out.substr(0, fragment).find('?', path);
  std::string redacted = out.substr(0, std::min(query, fragment));
  if (query != std::string::npos) {
    const std::size_t query_end = fragment == std::string::npos ? out.size() : fragment;
    redacted += '?' + redact_query(std::string_view(out).substr(query + 1, query_end - query - 1));
  }
  if (fragment != std::string::npos) {
    redacted += '#';
    if (fragment + 1 < out.size()) redacted += kRedactedValue;
  }
  return redacted;
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
