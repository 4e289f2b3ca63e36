#pragma once
// The one check of every URL Phoenix is given (configuration, options, secret files): a
// malformed URL is refused when it is read, with what is wrong and where, never later as
// libcurl's "URL using bad/illegal format" in the middle of a switch or a watch. Parsed by
// hand after RFC 3986, for the subset Phoenix uses, so checking does not load libcurl:
//
//   http[s]://[userinfo@]host[:port][/path][?query][#fragment]
//
// - the scheme is http or https (any case), followed by "://";
// - the host is not empty: a name (RFC 3986's unreserved characters: letters, digits, '-', '.',
//   '_', '~'), an IPv4 address (a host of digits and dots must be a dotted quad of 0-255), or
//   an IPv6 address in "[...]";
// - a port, if there is a ':' after the host, is 1-65535, digits only;
// - no whitespace, control character or non-ASCII byte anywhere; every other character is one
//   RFC 3986 allows where it stands ('[' and ']' only around an IPv6 host, one '#'), or
//   percent-encoded, and '%' is followed by two hex digits.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace phoenix::util {

enum class UrlFault {
  empty,                 // nothing at all
  no_scheme,             // does not start with "<scheme>://"
  unsupported_scheme,    // a scheme other than http or https
  no_host,               // "http://", "http://:8080/x", "http://user@/x"
  whitespace,            // a space, tab or line break
  control_character,     // another byte below 0x20, or 0x7F
  non_ascii,             // a byte of 0x80 or above (percent-encode it)
  non_ascii_host,        // a byte of 0x80 or above in the host (an IDN: write its xn-- form)
  not_allowed,           // a character RFC 3986 does not allow there
  bad_percent_encoding,  // '%' not followed by two hex digits
  unclosed_bracket,      // '[' without a closing ']'
  bad_ipv6,              // what is between '[' and ']' is not an IPv6 address
  bad_ipv4,              // digits and dots that are not a dotted quad of 0-255
  bad_host_character,    // a host name with other than letters, digits, '-', '.', '_', '~'
  after_bracket,         // something other than ':' or the path after "]"
  unbracketed_ipv6,      // more than one ':' in the authority: an IPv6 address needs "[...]"
  empty_port,            // a ':' after the host and no port
  port_not_digits,       // the port has something other than digits
  port_zero,             // port 0
  port_too_large,        // above 65535
  path_not_absolute,     // check_url_path: a path that does not start with '/'
};

// The parts of a URL whose text can be a credential. A fault in one of them is described by
// the part alone: neither the offending character nor its position is kept, since either tells
// something about the secret ("a space at position 17" is the password's fourth character).
enum class UrlSecretPart {
  none,            // the fault is elsewhere (scheme, host, port, path)
  user,            // the user name of "user:password@"
  password,        // the password of "user:password@"
  maybe_userinfo,  // before an '@' after the first '/': a password with an unencoded '/', or a path
  query,           // the query (parameter names are no secret, but an item without '=' is a value)
  fragment,        // after the '#', which can carry a token ("#access_token=...")
};

// What is wrong with a URL. `position` is 1-based (the first character is 1), 0 when the
// fault is the URL as a whole or lies in a secret part. `shown` is what describe() may quote:
// the offending character outside the secret parts, or the digits of a port. Never more of the
// URL, so a problem can be shown for a secret URL.
struct UrlProblem {
  UrlFault fault = UrlFault::empty;
  std::size_t position = 0;
  std::string shown;
  UrlSecretPart secret_part = UrlSecretPart::none;
  // For a fault in a query value: the name of its parameter ("token"), when it has a plain one.
  std::string parameter;

  // One phrase: "contains a space at position 23 (percent-encode it as %20)", "port 70000 is
  // above 65535", "'[' at position 8 has no closing ']'", "no host", "the password has a
  // character that must be percent-encoded (...)".
  std::string describe() const;
};

enum class UrlScheme { http, https };

// The parts of a valid URL.
struct UrlParts {
  UrlScheme scheme = UrlScheme::http;
  bool has_userinfo = false;
  std::string host;           // as written; an IPv6 address without its brackets
  std::optional<int> port;    // 1-65535 when given
  std::string path;           // "" or starting with '/'
  bool has_query = false;     // a '?' (even with nothing after it)
  bool has_fragment = false;  // a '#'
};

// The parts of `url`, or the first thing wrong with it (in reading order).
struct UrlCheck {
  std::optional<UrlProblem> problem;
  UrlParts parts;  // meaningful only when there is no problem

  bool ok() const { return !problem.has_value(); }
};

UrlCheck check_url(std::string_view url);

// The same rules for what follows the authority when a URL is built from a host Phoenix knows
// and a configured path ("/health?probe=1"): starts with '/', allowed characters only.
// Positions count from the first character of `path`.
std::optional<UrlProblem> check_url_path(std::string_view path);

}  // namespace phoenix::util
