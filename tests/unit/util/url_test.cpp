#include "shared/util/url.hpp"

#include <curl/curl.h>

#include <catch2/catch.hpp>
#include <string>

namespace phoenix::util {
namespace {

// What check_url says about `url`: "" when it is valid, else the problem's phrase.
std::string problem_of(std::string_view url) {
  const auto check = check_url(url);
  return check.ok() ? std::string() : check.problem->describe();
}

UrlFault fault_of(std::string_view url) {
  const auto check = check_url(url);
  REQUIRE_FALSE(check.ok());
  return check.problem->fault;
}

// Whether libcurl's own URL parser (what a request would run into) takes `url`.
bool libcurl_parses(const std::string& url) {
  CURLU* handle = curl_url();
  REQUIRE(handle != nullptr);
  const CURLUcode code = curl_url_set(handle, CURLUPART_URL, url.c_str(), 0);
  curl_url_cleanup(handle);
  return code == CURLUE_OK;
}

const std::vector<std::string> kValid = {
    "http://shop.example",
    "https://shop.example/",
    "HTTPS://Shop.Example:443/health",
    "http://127.0.0.1:8080/health?probe=1&x=%20y#top",
    "http://[::1]:8080/",
    "http://[2001:db8::8a2e:370:7334]/x",
    "http://[::ffff:192.0.2.1]:80",
    "http://[1:2:3:4:5:6:7:8]",
    "https://deploy:pa55@shop.example:8443/a/b;c=d?e=f/g?h",
    "https://shop.example/~user/it's(ok)!*+,$",
    "http://shop.example:08080/",
    "http://my_host.internal:65535/",
    "https://shop.example/path?",
};

TEST_CASE("check_url takes the http and https URLs Phoenix uses and returns their parts", "[util][url]") {
  for (const auto& url : kValid) {
    INFO(url);
    CHECK(problem_of(url).empty());
  }
  const auto parts = check_url("https://u:p@shop.example:8443/health?t=1#f").parts;
  CHECK(parts.scheme == UrlScheme::https);
  CHECK(parts.has_userinfo);
  CHECK(parts.host == "shop.example");
  CHECK(parts.port == 8443);
  CHECK(parts.path == "/health");
  CHECK(parts.has_query);
  CHECK(parts.has_fragment);
  const auto v6 = check_url("http://[::1]").parts;
  CHECK(v6.host == "::1");
  CHECK_FALSE(v6.port.has_value());
  CHECK(v6.path.empty());
  CHECK_FALSE(v6.has_query);
}

TEST_CASE("check_url says exactly what is wrong and where", "[util][url]") {
  CHECK(problem_of("https://shop.example/he alth") == "it contains a space at position 24 (if it belongs there: %20)");
  CHECK(problem_of("https://shop.example:70000/health") == "port 70000 is above 65535");
  CHECK(problem_of("https://shop.example:99999999999/") == "port 99999999999 is above 65535");
  CHECK(problem_of("http://[::1:8080/health") == "'[' at position 8 has no closing ']'");
  CHECK(problem_of("http:///health") == "it has no host");
  CHECK(problem_of("http://") == "it has no host");
  CHECK(problem_of("http://:8080/") == "it has no host");
  CHECK(problem_of("http://user@/x") == "it has no host");
  CHECK(problem_of("") == "it is empty");
  CHECK(problem_of("shop.example/health") == "it does not start with http:// or https://");
  CHECK(problem_of("ftp://shop.example/") == "the scheme 'ftp' is not http or https");
  CHECK(problem_of("http://shop.example:0/") == "port 0 is not a port (1-65535)");
  CHECK(problem_of("http://shop.example:/") == "the ':' at position 20 is followed by no port (1-65535)");
  CHECK(problem_of("http://shop.example:80a/") ==
        "the port has a character other than a digit at position 23 (1-65535)");
  CHECK(problem_of("http://shop.example/a%2") ==
        "'%' at position 22 is not followed by two hex digits (write %25 for '%')");
  CHECK(problem_of("http://shop.example/a%zz") ==
        "'%' at position 22 is not followed by two hex digits (write %25 for '%')");
  CHECK(problem_of("http://shop.example/a<b") == "it contains '<' at position 22, which must be percent-encoded (%3C)");
  CHECK(problem_of("http://shop.example/a\tb") == "it contains a tab at position 22");
  CHECK(problem_of("http://shop.example/a\nb") == "it contains a line break at position 22");
  CHECK(problem_of("http://shop.example/a\x01") == "it contains a control character (%01) at position 22");
  CHECK(problem_of("http://shop.example/caf\xc3\xa9") ==
        "it contains a non-ASCII byte at position 24 (percent-encode it)");
  CHECK(problem_of("http://shop.example/a[1]") ==
        "'[' at position 22 is only allowed around an IPv6 host (percent-encode it as %5B)");
  // A second '#' lies in the fragment, which can carry a token: the part is named, not where.
  CHECK(problem_of("http://shop.example/a#b#c") ==
        "the fragment has a character that must be percent-encoded (which one and where is not shown: a fragment can "
        "carry a credential)");
  CHECK(problem_of("http://::1/") ==
        "the host has a second ':' at position 9 (write an IPv6 address in brackets: "
        "http://[::1]:8080/)");
  CHECK(problem_of("http://[::1]x/") == "after the ']' of the host at position 13 only ':port' or the path may follow");
  CHECK(problem_of("http://[::g]/") == "the host in [...] at position 9 is not an IPv6 address");
  CHECK(problem_of("http://shop$.example/") ==
        "the host has '$' at position 12 (a host name is letters, digits, '-', '.', '_' and '~')");
  CHECK(problem_of("http://999.1.1.1/") == "the host at position 8 is not an IPv4 address (four numbers of 0-255)");
}

TEST_CASE("check_url refuses every malformed form with its own fault", "[util][url]") {
  CHECK(fault_of("http://shop example/") == UrlFault::whitespace);
  CHECK(fault_of("http://shop.example/ ") == UrlFault::whitespace);
  CHECK(fault_of(" http://shop.example/") == UrlFault::no_scheme);
  CHECK(fault_of("http//shop.example/") == UrlFault::no_scheme);
  CHECK(fault_of("1http://shop.example/") == UrlFault::no_scheme);
  CHECK(fault_of("file:///etc/passwd") == UrlFault::unsupported_scheme);
  CHECK(fault_of("http://[::1") == UrlFault::unclosed_bracket);
  CHECK(fault_of("http://[::1/]") == UrlFault::unclosed_bracket);  // the ']' is in the path
  CHECK(fault_of("http://[]/") == UrlFault::no_host);
  CHECK(fault_of("http://[1:2:3:4:5:6:7:8:9]/") == UrlFault::bad_ipv6);
  CHECK(fault_of("http://[1::2::3]/") == UrlFault::bad_ipv6);
  CHECK(fault_of("http://[1:2:3:4:5:6:7]/") == UrlFault::bad_ipv6);
  CHECK(fault_of("http://[12345::]/") == UrlFault::bad_ipv6);
  CHECK(fault_of("http://[::1.2.3.256]/") == UrlFault::bad_ipv6);
  CHECK(fault_of("http://shop]/") == UrlFault::not_allowed);
  CHECK(fault_of("http://sh%6Fp.example/") == UrlFault::bad_host_character);
  CHECK(fault_of("http://shop!.example/") == UrlFault::bad_host_character);
  CHECK(fault_of("http://1.2.3/") == UrlFault::bad_ipv4);
  CHECK(fault_of("http://01.2.3.4/") == UrlFault::bad_ipv4);
  CHECK(fault_of("http://shop.example:-1/") == UrlFault::port_not_digits);
  CHECK(fault_of("http://shop.example:+80/") == UrlFault::port_not_digits);
  CHECK(fault_of("http://shop.example:65536/") == UrlFault::port_too_large);
  CHECK(fault_of("http://shop.example:0000/") == UrlFault::port_zero);
  CHECK(fault_of("http://shop.example/{x}") == UrlFault::not_allowed);
  CHECK(fault_of("http://shop.example/a\\b") == UrlFault::not_allowed);
  CHECK(fault_of("http://shop.example/\"") == UrlFault::not_allowed);
  CHECK(fault_of("http://shop.example/a%") == UrlFault::bad_percent_encoding);
  CHECK(fault_of("http://shop.example/\x7f") == UrlFault::control_character);
  CHECK(fault_of(std::string_view("http://shop.example/\0", 21)) == UrlFault::control_character);
}

TEST_CASE("a problem in a URL never shows its credentials or query values", "[util][url][secrets]") {
  // In the user part: the part, never the character nor its position (part of a password).
  const auto in_userinfo = check_url("https://deploy:p@[ss@shop.example/");
  REQUIRE_FALSE(in_userinfo.ok());
  CHECK(in_userinfo.problem->describe() ==
        "the password has a character that must be percent-encoded (which one and where is not shown: it is part of "
        "a credential)");
  CHECK(in_userinfo.problem->position == 0);
  CHECK(in_userinfo.problem->shown.empty());
  for (const char* url :
       {"https://hooks.example/services/T0SECRET/B0SECRET/x y",
        "https://hooks.example/services/T0SECRET?token=SECRET:70000 x",
        "https://deploy:SECRET@hooks.example:70000/SECRET", "https://SECRET@[::1/SECRET",
        "https://hooks.example:SECRET/x", "https://hooks.example/SECRET%zz", "https://hooks.example/?SECRET#SECRET#"}) {
    INFO(url);
    const auto check = check_url(url);
    REQUIRE_FALSE(check.ok());
    CHECK(check.problem->describe().find("SECRET") == std::string::npos);
  }
}

// Every fault a character can raise, inside a password, a query value or a fragment: the
// phrase names the part, and shows no character of the secret, not the offending one, and not
// where it is (a position counts the secret's characters before it).
TEST_CASE("a fault inside a password, a query value or a fragment shows nothing of it", "[util][url][secrets]") {
  struct Case {
    std::string url;
    UrlFault fault;
    std::string part;  // what the phrase must name
  };
  const std::vector<Case> cases = {
      {"https://deploy:Zq9 Secret@shop.example/", UrlFault::whitespace, "the password"},
      {"https://deploy:Zq9\tSecret@shop.example/", UrlFault::whitespace, "the password"},
      {"https://deploy:Zq9\x01Secret@shop.example/", UrlFault::control_character, "the password"},
      {"https://deploy:Zq9\xC3\xA9Secret@shop.example/", UrlFault::non_ascii, "the password"},
      {"https://deploy:Zq9<Secret@shop.example/", UrlFault::not_allowed, "the password"},
      {"https://deploy:Zq9[Secret@shop.example/", UrlFault::not_allowed, "the password"},
      {"https://deploy:Zq9@Secret@shop.example/", UrlFault::not_allowed, "the password"},
      {"https://deploy:Zq9%zSecret@shop.example/", UrlFault::bad_percent_encoding, "the password"},
      {"https://Zq9 Secret@shop.example/", UrlFault::whitespace, "the user name"},
      // A '/' in the password: the part before it reads as host and port, the '@' comes later.
      {"https://deploy:Zq9/Secret@shop.example/", UrlFault::port_not_digits, "before the '@'"},
      {"https://deploy:99999/Secret@shop.example/", UrlFault::port_too_large, "before the '@'"},
      {"https://deploy:Zq9/Sec ret@shop.example/", UrlFault::whitespace, "before the '@'"},
      {"https://shop.example/hook?token=Zq9 Secret", UrlFault::whitespace, "query parameter 'token'"},
      {"https://shop.example/hook?a=1&token=Zq9\nSecret", UrlFault::whitespace, "query parameter 'token'"},
      {"https://shop.example/hook?token=Zq9\x7fSecret", UrlFault::control_character, "query parameter 'token'"},
      {"https://shop.example/hook?token=Zq9\xC3\xA9Secret", UrlFault::non_ascii, "query parameter 'token'"},
      {"https://shop.example/hook?token=Zq9<Secret", UrlFault::not_allowed, "query parameter 'token'"},
      {"https://shop.example/hook?token=Zq9]Secret", UrlFault::not_allowed, "query parameter 'token'"},
      {"https://shop.example/hook?token=Zq9%zSecret", UrlFault::bad_percent_encoding, "query parameter 'token'"},
      {"https://shop.example/hook?Zq9 Secret", UrlFault::whitespace, "the query"},
      {"https://shop.example/hook#Zq9#Secret", UrlFault::not_allowed, "the fragment"},
      {"https://shop.example/hook#Zq9 Secret", UrlFault::whitespace, "the fragment"},
  };
  for (const auto& c : cases) {
    INFO(c.url);
    const auto check = check_url(c.url);
    REQUIRE_FALSE(check.ok());
    CHECK(check.problem->fault == c.fault);
    const std::string said = check.problem->describe();
    INFO(said);
    CHECK_THAT(said, Catch::Contains(c.part));
    for (const char* piece : {"Zq9", "Secret", "ret", "99999", "position", "'<'", "'['", "']'", "'#'", "%01", "%7F",
                              "space", "tab", "line break"}) {
      CHECK(said.find(piece) == std::string::npos);
    }
    CHECK(check.problem->position == 0);
    CHECK(check.problem->shown.empty());
  }
  // A configured path's query, the same.
  const auto in_path = check_url_path("/health?token=Zq9 Secret");
  REQUIRE(in_path.has_value());
  CHECK(in_path->describe() ==
        "the value of query parameter 'token' has a character that must be percent-encoded (which one and where is "
        "not shown: a query value can be a credential)");
  // Outside the secret parts, the character and its position are still said.
  CHECK(problem_of("https://deploy:pw@shop.example/he alth?token=x") ==
        "it contains a space at position 34 (if it belongs there: %20)");
}

TEST_CASE("a non-ASCII host name is refused with the way to write it, not with percent-encoding", "[util][url]") {
  // "%C3%BC" in a host is refused too (bad_host_character): the advice must be the ASCII name.
  CHECK(fault_of("http://b\xC3\xBC"
                 "cher.example/") == UrlFault::non_ascii_host);
  CHECK(problem_of("http://b\xC3\xBC"
                   "cher.example:8080/") ==
        "the host has a non-ASCII byte at position 9 (write the name in its ASCII form, xn--...)");
  CHECK(fault_of("http://u:p\xC3\xBC@shop.example/") == UrlFault::non_ascii);
  CHECK(fault_of("http://shop.example/b\xC3\xBC"
                 "cher") == UrlFault::non_ascii);
  CHECK(check_url("http://xn--bcher-kva.example/").ok());
}

TEST_CASE("check_url_path checks a configured path with the same rules", "[util][url]") {
  CHECK_FALSE(check_url_path("/health?probe=1#x").has_value());
  CHECK_FALSE(check_url_path("/").has_value());
  REQUIRE(check_url_path("health").has_value());
  CHECK(check_url_path("health")->describe() == "it does not start with '/'");
  CHECK(check_url_path("")->fault == UrlFault::path_not_absolute);
  CHECK(check_url_path("/he alth")->describe() == "it contains a space at position 4 (if it belongs there: %20)");
  CHECK(check_url_path("/a%g0")->fault == UrlFault::bad_percent_encoding);
  CHECK(check_url_path("/a|b")->fault == UrlFault::not_allowed);
  CHECK(check_url_path("/a[0]")->fault == UrlFault::not_allowed);
}

// The contract with libcurl: what check_url takes, a request can be made to; the forms a
// hostile probe found (a watch check breached on libcurl's "URL using bad/illegal format") are
// refused by both, so they are refused when the configuration is read.
TEST_CASE("what check_url takes, libcurl parses; the forms libcurl refuses, check_url refuses", "[util][url]") {
  for (const auto& url : kValid) {
    INFO(url);
    CHECK(libcurl_parses(url));
  }
  for (const std::string url :
       {"https://shop.example/he alth", "https://shop.example:70000/health", "http://[::1:8080/health",
        "http://shop.example:80a/", "http://[::g]/", "http://shop.example/a\nb"}) {
    INFO(url);
    CHECK_FALSE(libcurl_parses(url));
    CHECK_FALSE(check_url(url).ok());
  }
  // libcurl reads "http:///health" as the host "health" (a request to somewhere else); refused.
  CHECK(libcurl_parses("http:///health"));
  CHECK(check_url("http:///health").problem->fault == UrlFault::no_host);
}

}  // namespace
}  // namespace phoenix::util
