#include "shared/util/url.hpp"

#include <algorithm>
#include <cstdio>

#include "shared/util/strings.hpp"

namespace phoenix::util {

namespace {

constexpr int kMaxPort = 65535;
constexpr std::size_t kMaxShownPortDigits = 20;

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 3986's characters: unreserved, gen-delims and sub-delims ('%' is checked on its own).
bool is_rfc3986_character(char c) {
  return is_ascii_alnum(c) || std::string_view("-._~:/?#[]@!$&'()*+,;=").find(c) != std::string_view::npos;
}

std::string percent_encoded(char c) {
  char out[4];
  std::snprintf(out, sizeof out, "%%%02X", static_cast<unsigned>(static_cast<unsigned char>(c)));
  return out;
}

UrlProblem problem(UrlFault fault, std::size_t index, std::string shown = {}) {
  return {.fault = fault, .position = index + 1, .shown = std::move(shown)};
}

// The first character of `text` that may appear nowhere in a URL, or a '%' that does not start
// "%XX". `base` is the index of text[0] in the URL, for positions.
std::optional<UrlProblem> find_bad_character(std::string_view text, std::size_t base) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const auto byte = static_cast<unsigned char>(c);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      return problem(UrlFault::whitespace, base + i, std::string(1, c));
    }
    if (byte < 0x20 || byte == 0x7F) return problem(UrlFault::control_character, base + i, percent_encoded(c));
    if (byte >= 0x80) return problem(UrlFault::non_ascii, base + i);
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) {
        return problem(UrlFault::bad_percent_encoding, base + i);
      }
      continue;
    }
    if (!is_rfc3986_character(c)) return problem(UrlFault::not_allowed, base + i, std::string(1, c));
  }
  return std::nullopt;
}

// One to four hex digits.
bool is_ipv6_group(std::string_view group) {
  return !group.empty() && group.size() <= 4 && std::all_of(group.begin(), group.end(), is_hex);
}

// "192.168.0.1": four decimal numbers of 0-255 (no leading zeros beyond "0").
bool is_ipv4(std::string_view text) {
  const auto parts = split(text, '.');
  if (parts.size() != 4) return false;
  return std::all_of(parts.begin(), parts.end(), [](const std::string& part) {
    if (part.empty() || part.size() > 3 || !std::all_of(part.begin(), part.end(), is_digit)) return false;
    if (part.size() > 1 && part.front() == '0') return false;
    return std::stoi(part) <= 255;
  });
}

// The number of 16-bit groups in "1:2:3" (an IPv4 tail counts two), or nothing when one is
// malformed. "" is no group.
std::optional<int> ipv6_groups(std::string_view text, bool may_end_in_ipv4) {
  if (text.empty()) return 0;
  const auto groups = split(text, ':');
  int count = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    const bool last = i + 1 == groups.size();
    if (last && may_end_in_ipv4 && groups[i].find('.') != std::string::npos) {
      if (!is_ipv4(groups[i])) return std::nullopt;
      count += 2;
    } else if (is_ipv6_group(groups[i])) {
      ++count;
    } else {
      return std::nullopt;
    }
  }
  return count;
}

// RFC 4291 text form: eight groups, or fewer around one "::"; an IPv4 address may end it.
bool is_ipv6(std::string_view text) {
  constexpr int kGroups = 8;
  const std::size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    const auto groups = ipv6_groups(text, true);
    return groups && *groups == kGroups;
  }
  if (text.find("::", gap + 1) != std::string_view::npos) return false;
  const auto before = ipv6_groups(text.substr(0, gap), false);
  const auto after = ipv6_groups(text.substr(gap + 2), true);
  return before && after && *before + *after < kGroups;
}

// The port between `begin` and `end` of `url` (after the ':').
std::optional<UrlProblem> check_port(std::string_view url, std::size_t begin, std::size_t end, UrlParts& parts) {
  const std::string_view digits = url.substr(begin, end - begin);
  if (digits.empty()) return problem(UrlFault::empty_port, begin - 1);
  const auto other = std::find_if_not(digits.begin(), digits.end(), is_digit);
  if (other != digits.end()) {
    return problem(UrlFault::port_not_digits, begin + static_cast<std::size_t>(other - digits.begin()));
  }
  const std::string_view significant = digits.substr(std::min(digits.find_first_not_of('0'), digits.size()));
  const std::string shown(digits.substr(0, kMaxShownPortDigits));
  if (significant.empty()) return problem(UrlFault::port_zero, begin, shown);
  if (significant.size() > 5 || std::stoi(std::string(significant)) > kMaxPort) {
    return problem(UrlFault::port_too_large, begin, shown);
  }
  parts.port = std::stoi(std::string(significant));
  return std::nullopt;
}

// "[v6]" or "[v6]:port", starting at `begin` (the '[').
std::optional<UrlProblem> check_bracketed_host(std::string_view url, std::size_t begin, std::size_t end,
                                               UrlParts& parts) {
  const std::size_t close = url.find(']', begin);
  if (close == std::string_view::npos || close >= end) return problem(UrlFault::unclosed_bracket, begin, "[");
  const std::string_view address = url.substr(begin + 1, close - begin - 1);
  if (address.empty()) return problem(UrlFault::no_host, begin);
  if (!is_ipv6(address)) return problem(UrlFault::bad_ipv6, begin + 1);
  parts.host = std::string(address);
  if (close + 1 == end) return std::nullopt;
  if (url[close + 1] != ':') return problem(UrlFault::after_bracket, close + 1);
  return check_port(url, close + 2, end, parts);
}

// "name", "1.2.3.4", optionally ":port", from `begin` to `end`.
std::optional<UrlProblem> check_plain_host(std::string_view url, std::size_t begin, std::size_t end, UrlParts& parts) {
  const std::string_view host_port = url.substr(begin, end - begin);
  if (const auto bracket = host_port.find_first_of("[]"); bracket != std::string_view::npos) {
    return problem(UrlFault::not_allowed, begin + bracket, std::string(1, host_port[bracket]));
  }
  const std::size_t colon = host_port.find(':');
  if (colon != std::string_view::npos && host_port.find(':', colon + 1) != std::string_view::npos) {
    return problem(UrlFault::unbracketed_ipv6, begin + host_port.find(':', colon + 1));
  }
  const std::string_view host = host_port.substr(0, colon);
  if (host.empty()) return problem(UrlFault::no_host, begin);
  // RFC 3986's reg-name also takes sub-delims and "%XX", which no resolver (nor libcurl) does.
  const auto odd = std::find_if_not(host.begin(), host.end(), [](char c) { return is_name_char(c) || c == '~'; });
  if (odd != host.end()) {
    const auto index = static_cast<std::size_t>(odd - host.begin());
    return problem(UrlFault::bad_host_character, begin + index, std::string(1, *odd));
  }
  const bool numeric = std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
  if (numeric && !is_ipv4(host)) return problem(UrlFault::bad_ipv4, begin);
  parts.host = std::string(host);
  if (colon == std::string_view::npos) return std::nullopt;
  return check_port(url, begin + colon + 1, end, parts);
}

// The authority, from `begin` (after "://") to `end`.
std::optional<UrlProblem> check_authority(std::string_view url, std::size_t begin, std::size_t end, UrlParts& parts) {
  const std::string_view authority = url.substr(begin, end - begin);
  const std::size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    // Userinfo is a credential: check_url describes a fault in it by the part alone.
    const std::size_t bad = authority.substr(0, at).find_first_of("[]@");
    if (bad != std::string_view::npos) return problem(UrlFault::not_allowed, begin + bad);
    parts.has_userinfo = true;
    begin += at + 1;
  }
  if (begin == end) return problem(UrlFault::no_host, begin > 0 ? begin - 1 : 0);
  if (url[begin] == '[') return check_bracketed_host(url, begin, end, parts);
  return check_plain_host(url, begin, end, parts);
}

// Path, query and fragment, from `begin` to the end of `url`: '[' and ']' belong to an IPv6
// host only, and a URL has one fragment.
std::optional<UrlProblem> check_after_authority(std::string_view url, std::size_t begin, UrlParts& parts) {
  const std::string_view rest = url.substr(begin);
  if (const auto bracket = rest.find_first_of("[]"); bracket != std::string_view::npos) {
    return problem(UrlFault::not_allowed, begin + bracket, std::string(1, rest[bracket]));
  }
  const std::size_t fragment = rest.find('#');
  if (fragment != std::string_view::npos) {
    if (const auto second = rest.find('#', fragment + 1); second != std::string_view::npos) {
      return problem(UrlFault::not_allowed, begin + second, "#");
    }
    parts.has_fragment = true;
  }
  const std::size_t query = rest.substr(0, fragment).find('?');
  parts.has_query = query != std::string_view::npos;
  parts.path = std::string(rest.substr(0, std::min(query, fragment)));
  return std::nullopt;
}

// Whether url[index] is in the host: in the authority (`begin` to `end`), after any user part.
// A host name percent-encoded is no host name either, so a non-ASCII one has its own advice.
bool in_host(std::string_view url, std::size_t begin, std::size_t end, std::size_t index) {
  const std::size_t at = url.substr(begin, end - begin).rfind('@');
  const std::size_t host = at == std::string_view::npos ? begin : begin + at + 1;
  return index >= host && index < end;
}

// "http", "HTTPS": the scheme, or nothing for another one.
std::optional<UrlScheme> parse_scheme(std::string_view scheme) {
  std::string lower(scheme);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  if (lower == "http") return UrlScheme::http;
  if (lower == "https") return UrlScheme::https;
  return std::nullopt;
}

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool is_scheme_syntax(std::string_view scheme) {
  constexpr std::size_t kMaxShownScheme = 16;
  if (scheme.empty() || scheme.size() > kMaxShownScheme || !is_ascii_alnum(scheme.front()) ||
      is_digit(scheme.front())) {
    return false;
  }
  return std::all_of(scheme.begin(), scheme.end(),
                     [](char c) { return is_ascii_alnum(c) || c == '+' || c == '-' || c == '.'; });
}

// The plain name of the query parameter whose value holds url[index] ("token"), or "" when
// url[index] is in a name, in an item without '=', or the name is not plain enough to quote.
std::string parameter_of(std::string_view url, std::size_t query, std::size_t index) {
  constexpr std::size_t kMaxShownName = 32;
  const std::size_t separator = url.rfind('&', index);
  const std::size_t item = separator == std::string_view::npos || separator < query ? query + 1 : separator + 1;
  const std::size_t equals = url.find('=', item);
  if (equals == std::string_view::npos || equals >= index) return {};
  const std::string_view name = url.substr(item, equals - item);
  const bool plain = !name.empty() && name.size() <= kMaxShownName &&
                     std::all_of(name.begin(), name.end(), [](char c) { return is_name_char(c) || c == '~'; });
  return plain ? std::string(name) : std::string();
}

// Which secret part url[index] lies in. `authority` is where the authority starts (after
// "://"), npos for a path alone (check_url_path).
UrlSecretPart secret_part_at(std::string_view url, std::size_t authority, std::size_t index) {
  const std::size_t from = authority == std::string_view::npos ? 0 : authority;
  const std::size_t fragment = url.find('#', from);
  const std::size_t query = url.substr(0, fragment).find('?', from);
  if (fragment != std::string_view::npos && index > fragment) return UrlSecretPart::fragment;
  if (query != std::string_view::npos && index > query) return UrlSecretPart::query;
  if (authority == std::string_view::npos) return UrlSecretPart::none;
  // The user part ends at the last '@' before the query, as redact_url removes it: in a
  // malformed URL an '@' after a '/' may end a password that has an unencoded '/'.
  const std::size_t end = std::min({query, fragment, url.size()});
  const std::size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < authority || index >= at) return UrlSecretPart::none;
  if (url.find('/', authority) < at) return UrlSecretPart::maybe_userinfo;
  const std::size_t colon = url.find(':', authority);
  return colon < index ? UrlSecretPart::password : UrlSecretPart::user;
}

// A problem as it may be shown: one in a secret part keeps neither its character nor its
// position (the fault stays, for callers that branch on it).
UrlProblem hide_secret_part(std::string_view url, std::size_t authority, UrlProblem found) {
  if (found.position == 0) return found;  // the URL as a whole: nothing of it is quoted
  const std::size_t index = found.position - 1;
  found.secret_part = secret_part_at(url, authority, index);
  if (found.secret_part == UrlSecretPart::none) return found;
  if (found.secret_part == UrlSecretPart::query) {
    const std::size_t from = authority == std::string_view::npos ? 0 : authority;
    found.parameter = parameter_of(url, url.substr(0, url.find('#', from)).find('?', from), index);
  }
  found.position = 0;
  found.shown.clear();
  return found;
}

// The phrase for a fault in a secret part: which part, and that it is not shown.
std::string describe_secret_part(UrlSecretPart part, const std::string& parameter) {
  constexpr std::string_view kTail = " that must be percent-encoded (which one and where is not shown: ";
  switch (part) {
    case UrlSecretPart::user:
      return "the user name has a character" + std::string(kTail) + "it is part of a credential)";
    case UrlSecretPart::password:
      return "the password has a character" + std::string(kTail) + "it is part of a credential)";
    case UrlSecretPart::maybe_userinfo:
      return "a character before the '@'" + std::string(kTail.substr(1)) +
             "it may be part of a credential; a '/' in a password is written %2F)";
    case UrlSecretPart::query:
      return (parameter.empty() ? std::string("the query") : "the value of query parameter '" + parameter + "'") +
             " has a character" + std::string(kTail) + "a query value can be a credential)";
    case UrlSecretPart::fragment:
      return "the fragment has a character" + std::string(kTail) + "a fragment can carry a credential)";
    case UrlSecretPart::none:
      break;
  }
  return "it is malformed";
}

std::string whitespace_name(const std::string& shown) {
  if (shown == " ") return "a space";
  if (shown == "\t") return "a tab";
  if (shown == "\n" || shown == "\r") return "a line break";
  return "whitespace";
}

}  // namespace

std::string UrlProblem::describe() const {
  if (secret_part != UrlSecretPart::none) return describe_secret_part(secret_part, parameter);
  const std::string at = " at position " + std::to_string(position);
  switch (fault) {
    case UrlFault::empty:
      return "it is empty";
    case UrlFault::no_scheme:
      return "it does not start with http:// or https://";
    case UrlFault::unsupported_scheme:
      return (shown.empty() ? std::string("the scheme") : "the scheme '" + shown + "'") + " is not http or https";
    case UrlFault::no_host:
      return "it has no host";
    case UrlFault::whitespace:
      return "it contains " + whitespace_name(shown) + at + (shown == " " ? " (if it belongs there: %20)" : "");
    case UrlFault::control_character:
      return "it contains a control character (" + shown + ")" + at;
    case UrlFault::non_ascii:
      return "it contains a non-ASCII byte" + at + " (percent-encode it)";
    case UrlFault::non_ascii_host:
      return "the host has a non-ASCII byte" + at + " (write the name in its ASCII form, xn--...)";
    case UrlFault::not_allowed:
      if (shown.empty()) return "it has a character" + at + " that must be percent-encoded";
      if (shown == "[" || shown == "]") {
        return "'" + shown + "'" + at + " is only allowed around an IPv6 host (percent-encode it as " +
               percent_encoded(shown[0]) + ")";
      }
      if (shown == "#") return "it has a second '#'" + at + " (percent-encode it as %23)";
      return "it contains '" + shown + "'" + at + ", which must be percent-encoded (" + percent_encoded(shown[0]) + ")";
    case UrlFault::bad_percent_encoding:
      return "'%'" + at + " is not followed by two hex digits (write %25 for '%')";
    case UrlFault::unclosed_bracket:
      return "'['" + at + " has no closing ']'";
    case UrlFault::bad_ipv6:
      return "the host in [...]" + at + " is not an IPv6 address";
    case UrlFault::bad_host_character:
      return "the host has '" + shown + "'" + at + " (a host name is letters, digits, '-', '.', '_' and '~')";
    case UrlFault::bad_ipv4:
      return "the host" + at + " is not an IPv4 address (four numbers of 0-255)";
    case UrlFault::after_bracket:
      return "after the ']' of the host" + at + " only ':port' or the path may follow";
    case UrlFault::unbracketed_ipv6:
      return "the host has a second ':'" + at + " (write an IPv6 address in brackets: http://[::1]:8080/)";
    case UrlFault::empty_port:
      return "the ':'" + at + " is followed by no port (1-65535)";
    case UrlFault::port_not_digits:
      return "the port has a character other than a digit" + at + " (1-65535)";
    case UrlFault::port_zero:
      return "port " + shown + " is not a port (1-65535)";
    case UrlFault::port_too_large:
      return "port " + shown + " is above 65535";
    case UrlFault::path_not_absolute:
      return "it does not start with '/'";
  }
  return "it is malformed";
}

namespace {

UrlCheck check_url_as_written(std::string_view url) {
  UrlCheck check;
  if (url.empty()) {
    check.problem = UrlProblem{.fault = UrlFault::empty};
    return check;
  }
  const std::size_t separator = url.find("://");
  const std::string_view scheme = url.substr(0, separator);
  if (separator == std::string_view::npos || !is_scheme_syntax(scheme)) {
    check.problem = UrlProblem{.fault = UrlFault::no_scheme};
    return check;
  }
  const auto known = parse_scheme(scheme);
  if (!known) {
    check.problem = UrlProblem{.fault = UrlFault::unsupported_scheme, .shown = std::string(scheme)};
    return check;
  }
  check.parts.scheme = *known;
  const std::size_t authority = separator + 3;
  const std::size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
  check.problem = find_bad_character(url.substr(authority), authority);
  if (check.problem) {
    check.problem->fault = in_host(url, authority, authority_end, check.problem->position - 1) &&
                                   check.problem->fault == UrlFault::non_ascii
                               ? UrlFault::non_ascii_host
                               : check.problem->fault;
    return check;
  }
  check.problem = check_authority(url, authority, authority_end, check.parts);
  if (check.problem) return check;
  check.problem = check_after_authority(url, authority_end, check.parts);
  return check;
}

std::optional<UrlProblem> check_url_path_as_written(std::string_view path) {
  if (path.empty() || path.front() != '/') return UrlProblem{.fault = UrlFault::path_not_absolute};
  if (auto bad = find_bad_character(path, 0)) return bad;
  UrlParts ignored;
  return check_after_authority(path, 0, ignored);
}

}  // namespace

// Every problem found passes through hide_secret_part here, whichever check found it.
UrlCheck check_url(std::string_view url) {
  UrlCheck check = check_url_as_written(url);
  if (check.problem) {
    const std::size_t separator = url.find("://");
    check.problem = hide_secret_part(url, separator == std::string_view::npos ? 0 : separator + 3, *check.problem);
  }
  return check;
}

std::optional<UrlProblem> check_url_path(std::string_view path) {
  auto problem = check_url_path_as_written(path);
  if (problem) problem = hide_secret_part(path, std::string_view::npos, *problem);
  return problem;
}

}  // namespace phoenix::util
