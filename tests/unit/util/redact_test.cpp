#include "shared/util/redact.hpp"

#include <catch2/catch.hpp>

#include "shared/util/strings.hpp"

using namespace phoenix::util;

TEST_CASE("registered secrets never leave in clear", "[redact]") {
  register_secret("s3cr3t-token-value");
  CHECK(redact("Authorization: Bearer s3cr3t-token-value failed") == "Authorization: Bearer **** failed");
  CHECK(redact("twice s3cr3t-token-value s3cr3t-token-value") == "twice **** ****");
  CHECK(redact("nothing to hide") == "nothing to hide");
}

TEST_CASE("credentials in URLs are removed", "[redact]") {
  CHECK(redact("GET https://user:pass@ci.example/api") == "GET https://ci.example/api");
  CHECK(redact("GET https://token@ci.example?x=1 failed") == "GET https://ci.example?x=<redacted> failed");
  CHECK(redact("https://ci.example/a@b") == "https://ci.example/a@b");
  CHECK(redact("'http://a:b@one.example' and http://c:d@two.example:8080/x") ==
        "'http://one.example' and http://two.example:8080/x");
}

// An error from libcurl, a webhook's answer, a git message: URLs in them are shown as
// redact_url shows one, wherever the text goes (output, history).
TEST_CASE("URLs in free text lose their query values and fragment, as redact_url hides them", "[redact][url]") {
  CHECK(redact("POST https://hooks.example/hook?token=Zq9Secret failed: HTTP 500") ==
        "POST https://hooks.example/hook?token=<redacted> failed: HTTP 500");
  CHECK(redact("https://deploy:Zq9Secret@hooks.example/x?sig=Zq9Secret&v=&Zq9Secret#Zq9Secret") ==
        "https://hooks.example/x?sig=<redacted>&v=&<redacted>#<redacted>");
  // Where a URL ends in JSON, XML, quotes and lines; the text around it stays.
  CHECK(redact(R"({"text":"see https://hooks.example/cb?code=Zq9Secret","n":1})") ==
        R"({"text":"see https://hooks.example/cb?code=<redacted>","n":1})");
  CHECK(redact("<url>https://hooks.example/x?a=Zq9Secret</url>") == "<url>https://hooks.example/x?a=<redacted></url>");
  CHECK(redact("first 'http://one.example/?t=Zq9Secret' then\nhttp://two.example:8080/?Zq9Secret\tend") ==
        "first 'http://one.example/?t=<redacted>' then\nhttp://two.example:8080/?<redacted>\tend");
  // A value runs to the end of the URL: punctuation after it may be the secret's own.
  CHECK(redact("(see https://hooks.example/x?t=Zq9Secret).") == "(see https://hooks.example/x?t=<redacted>");
  // Nothing to hide: unchanged; so is text already redacted.
  CHECK(redact("https://hooks.example/x? and https://hooks.example/y?v=") ==
        "https://hooks.example/x? and https://hooks.example/y?v=");
  CHECK(redact("a ? b # c = d & e") == "a ? b # c = d & e");
  for (const char* text : {"POST https://u:p@hooks.example/x?token=Zq9Secret&Zq9Secret#Zq9Secret: timed out",
                           "curl: (6) Could not resolve host: hooks.example (https://hooks.example/?k=Zq9Secret)"}) {
    INFO(text);
    const auto once = redact(text);
    CHECK(once.find("Zq9") == std::string::npos);
    CHECK(redact(once) == once);
  }
  const auto shown = redact_url("https://hooks.example/x?token=Zq9Secret#f");
  CHECK(redact("GET " + shown + ": HTTP 500") == "GET " + shown + ": HTTP 500");
}

TEST_CASE("a document keeps its query strings; only secrets and URL credentials go", "[redact]") {
  register_secret("Zq9Registered");
  CHECK(redact_document("<url>https://u:pw@git.example/repo?ref=main&amp;depth=1#top</url> Zq9Registered") ==
        "<url>https://git.example/repo?ref=main&amp;depth=1#top</url> ****");
}

TEST_CASE("a URL Phoenix shows or records has no userinfo and no query values", "[redact]") {
  // Userinfo: gone entirely, with or without a password.
  CHECK(redact_url("https://user:pa55@shop.example/health") == "https://shop.example/health");
  CHECK(redact_url("https://deploy@shop.example:8443/health") == "https://shop.example:8443/health");
  // Query values: hidden, names kept; empty values have nothing to hide.
  CHECK(redact_url("https://shop.example/health?token=abc123&probe=1") ==
        "https://shop.example/health?token=<redacted>&probe=<redacted>");
  CHECK(redact_url("https://shop.example/health?empty=&flag") == "https://shop.example/health?empty=&<redacted>");
  CHECK(redact_url("https://shop.example/?a=1&&b=x=y") == "https://shop.example/?a=<redacted>&&b=<redacted>");
  CHECK(redact_url("https://shop.example?sig=abc") == "https://shop.example?sig=<redacted>");
  // An item without '=' is a value, not a name: shown as <redacted> alone, never as a name.
  CHECK(redact_url("https://shop.example/health?SECRET") == "https://shop.example/health?<redacted>");
  CHECK(redact_url("https://shop.example/health?a=1&TOKEN") == "https://shop.example/health?a=<redacted>&<redacted>");
  CHECK(redact_url("/health?SECRET#x") == "/health?<redacted>#<redacted>");
  for (const char* url : {"https://shop.example/h?SECRET", "https://shop.example/h?a=1&SECRET&b=2"}) {
    CHECK(redact_url(url).find("SECRET") == std::string::npos);
  }
  // A fragment can carry a token too.
  CHECK(redact_url("https://shop.example/cb#access_token=abc") == "https://shop.example/cb#<redacted>");
  CHECK(redact_url("https://u:p@shop.example/x?t=1#f") == "https://shop.example/x?t=<redacted>#<redacted>");
  // Nothing to hide: unchanged.
  CHECK(redact_url("https://shop.example/health") == "https://shop.example/health");
  CHECK(redact_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/");
  CHECK(redact_url("https://shop.example/path?") == "https://shop.example/path?");
  // An '@' in the path is no userinfo.
  CHECK(redact_url("https://shop.example/a@b?k=v") == "https://shop.example/a@b?k=<redacted>");
  // A path alone (a smoke check's): its query is hidden the same way.
  CHECK(redact_url("/health?token=abc") == "/health?token=<redacted>");
  CHECK(redact_url("") == "");
}

TEST_CASE("a malformed URL is shown without its userinfo too", "[redact][url]") {
  // The URL is one whole value: its user part ends at the last '@' before the path, whatever
  // the password holds (a space, a quote, '<'), not where a URL in free text would end.
  CHECK(redact_url("http://deploy:pa ss@shop.example/health") == "http://shop.example/health");
  CHECK(redact_url("http://deploy:pa\"ss@shop.example/") == "http://shop.example/");
  CHECK(redact_url("http://deploy:pa'ss@shop.example/") == "http://shop.example/");
  CHECK(redact_url("http://deploy:pa<ss>@shop.example/") == "http://shop.example/");
  CHECK(redact_url("http://deploy:pa\tss@shop.example/") == "http://shop.example/");
  // A '/' in an unencoded password makes the URL malformed ("p" is no port): the '@' after it
  // still ends the user part.
  CHECK(redact_url("http://deploy:pa/ss@shop.example:8080/health") == "http://shop.example:8080/health");
  // So does a '?' or '#' in an unencoded password: the query or fragment it seems to start
  // would otherwise show the user and the password's first characters.
  CHECK(redact_url("http://deploy:pa?ss@shop.example/health") == "http://shop.example/health");
  CHECK(redact_url("http://deploy:pa#ss@shop.example/health?k=v") == "http://shop.example/health?k=<redacted>");
  // A valid URL keeps an '@' of its path.
  CHECK(redact_url("http://shop.example/a:b@c;d") == "http://shop.example/a:b@c;d");
  for (const char* url : {"http://deploy:SECRET x@shop.example/", "https://deploy:SE/CRET@api.example:70000/v1",
                          "http://deploy:SE\"CRET@[::1/x", "http://deploy:SE?CRET@shop.example/",
                          "http://deploy:SE#CRET@shop.example/"}) {
    INFO(url);
    const auto shown = redact_url(url);
    CHECK(shown.find("SE") == std::string::npos);
    CHECK(shown.find("deploy") == std::string::npos);
  }
}

TEST_CASE("printable redacts before it cuts or escapes, so no part of a secret shows", "[redact]") {
  register_secret("cut-me-0123456789abcdef");
  // The cut falls inside the secret: its first characters would remain.
  const auto cut = printable("the API said: invalid token cut-me-0123456789abcdef", 40);
  CHECK(cut.find("cut-me") == std::string::npos);
  CHECK(cut == "the API said: invalid token ****");
  // Escaping changes a secret's bytes: it would no longer be recognised afterwards.
  register_secret("esc\x01ped-secret-value");
  const auto escaped = printable("token esc\x01ped-secret-value refused");
  CHECK(escaped == "token **** refused");
  CHECK(redact(escaped) == escaped);
}

TEST_CASE("a token must be one line of printable characters; the refusal never shows it", "[redact]") {
  CHECK(check_token_characters("hct-7f3a9c2e5b1d4a6f8e0c2b4d6f8a0c2e", "HCLOUD_TOKEN").ok());
  const auto line_break = check_token_characters("abc\ndef-secret", "HCLOUD_TOKEN");
  REQUIRE_FALSE(line_break.ok());
  CHECK(line_break.error().kind == phoenix::ErrorKind::invalid);
  CHECK(line_break.error().message ==
        "HCLOUD_TOKEN is not a valid token: character 4 of 14 is a line break (a token is one line of printable "
        "characters without spaces; the value is not shown)");
  CHECK_THAT(check_token_characters("abc\rdef", "t").error().message, Catch::Contains("is a carriage return"));
  CHECK_THAT(check_token_characters("abc def", "t").error().message, Catch::Contains("is a space"));
  CHECK_THAT(check_token_characters("abc\x7f", "t").error().message, Catch::Contains("is a control character"));
  CHECK_THAT(check_token_characters("t\xc3\xa9", "t").error().message, Catch::Contains("is a non-ASCII byte"));
  for (const char* token : {"abc\ndef-secret", "abc\rdef", "abc def"}) {
    const auto message = check_token_characters(token, "t").error().message;
    CHECK(message.find("abc") == std::string::npos);
  }
}
