#!/usr/bin/env python3
"""Relays Alertmanager webhook notifications to GoCD's pipeline-schedule API (docs/ci.md).

Alertmanager POSTs its own JSON document; GoCD schedules a pipeline with variables only through
POST /go/api/pipelines/<name>/schedule and a body of its own. This relay turns a firing
notification about one release of the service into that request:

    POST <gocd-url>/go/api/pipelines/<pipeline>/schedule
    Accept: application/vnd.go.cd.v1+json
    Content-Type: application/json
    Authorization: Bearer <the GoCD access token of the user "alertmanager">

    {"environment_variables": [
       {"name": "PHOENIX_EXPECT_LIVE", "value": "<commonLabels.release>", "secure": false},
       {"name": "PHOENIX_ROLLBACK_REASON", "value": "alert <alertname> on <release>: <summary>",
        "secure": false}],
     "update_materials_before_scheduling": false}

Usage:

    alertmanager-relay.py --listen 127.0.0.1:9095 --gocd-url https://gocd.example.com \\
        --pipeline web-alert-rollback --service web \\
        --gocd-token-file /etc/phoenix/relay/gocd-token \\
        --alertmanager-token-file /etc/phoenix/relay/alertmanager-token
    alertmanager-relay.py --print [--gocd-url URL] --pipeline NAME --service NAME < notification.json

--print reads one notification on stdin and prints the request it would send (the token shown
as <token>): exit 0 when it would schedule the pipeline, 3 when it would not (why on stderr).

Answers to Alertmanager: 200 when GoCD accepted the request, or when there is nothing to do (a
resolved notification); 401 without the Alertmanager token; 400/413/422 when the notification
cannot start a rollback (not an Alertmanager document, too large, another service, no single
common release label); GoCD's own 4xx when GoCD refused (409: the pipeline is already running,
locked or paused; 401/403/404: the token or the user's permissions; 422: a variable the
pipeline does not declare); 502 when GoCD did not answer, which Alertmanager retries. One line
per notification on stderr; tokens are never printed.
"""
import argparse
import hmac
import http.client
import http.server
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

# What deploy-pipeline accepts as a pool label (shared/core/label.cpp).
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
MAX_BODY = 1 << 20
MAX_REASON = 300
GOCD_TIMEOUT_S = 10


class NotRelayed(Exception):
    """The notification starts no rollback: `status` is the answer to Alertmanager."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status = status
        self.why = why


def printable(text, limit):
    """One line, no control characters, at most `limit` characters."""
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text)).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def schedule_body(notification, service):
    """The GoCD schedule body for a notification, or NotRelayed saying why there is none."""
    if not isinstance(notification, dict) or not isinstance(notification.get("alerts"), list) or \
            not isinstance(notification.get("commonLabels"), dict):
        raise NotRelayed(400, "not an Alertmanager notification (no alerts or commonLabels)")
    if notification.get("status") != "firing":
        raise NotRelayed(200, f"nothing to do: the notification is {printable(notification.get('status'), 20)}")
    labels = notification["commonLabels"]
    if labels.get("service") != service:
        raise NotRelayed(422, f"the alerts are about service '{printable(labels.get('service', ''), 64)}', "
                              f"not '{service}': check the route's matchers")
    release = labels.get("release")
    if not isinstance(release, str) or not LABEL.fullmatch(release):
        raise NotRelayed(422, "the alerts have no common 'release' label naming a pool: label them with the "
                              "release and group them by it (group_by: [alertname, service, release])")
    annotations = notification.get("commonAnnotations")
    summary = annotations.get("summary", "") if isinstance(annotations, dict) else ""
    reason = f"alert {printable(labels.get('alertname', '?'), 100)} on {release}"
    if summary:
        reason += f": {printable(summary, MAX_REASON)}"
    return {
        "environment_variables": [
            {"name": "PHOENIX_EXPECT_LIVE", "value": release, "secure": False},
            {"name": "PHOENIX_ROLLBACK_REASON", "value": printable(reason, MAX_REASON), "secure": False},
        ],
        # The pipeline's material is irrelevant to a rollback: no update, no waiting for one.
        "update_materials_before_scheduling": False,
    }


def schedule_request(gocd_url, pipeline, token, body):
    return urllib.request.Request(
        f"{gocd_url.rstrip('/')}/go/api/pipelines/{urllib.parse.quote(pipeline, safe='')}/schedule",
        data=json.dumps(body).encode(), method="POST",
        headers={"Accept": "application/vnd.go.cd.v1+json", "Content-Type": "application/json",
                 "Authorization": f"Bearer {token}"})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following it would send the token to another address, and
    urllib turns a redirected POST into a GET."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def send(request):
    """(status to answer Alertmanager with, GoCD's answer in one line). GoCD's 4xx are passed on
    (Alertmanager does not retry them); anything else that is not a 2xx becomes 502, retried."""
    try:
        with OPENER.open(request, timeout=GOCD_TIMEOUT_S) as response:
            return 200, f"GoCD {response.status}: {printable(response.read(2000).decode(errors='replace'), 200)}"
    except urllib.error.HTTPError as error:
        answer = f"GoCD {error.code}: {printable(error.read(2000).decode(errors='replace'), 200)}"
        if 300 <= error.code < 400:
            answer += " (a redirect: give --gocd-url GoCD's final address)"
        return (error.code if 400 <= error.code < 500 else 502), answer
    except (OSError, ValueError, http.client.HTTPException) as error:  # refused, timed out, TLS
        return 502, f"GoCD did not answer: {printable(error, 200)}"


def log(line):
    print(f"alertmanager-relay: {line}", file=sys.stderr, flush=True)


def fail(message, code):
    log(f"error: {message}")
    sys.exit(code)


def read_token(path, what):
    try:
        with open(path) as source:
            token = source.read().strip()
    except OSError as error:
        fail(f"cannot read the {what} token file {path}: {error.strerror}", 2)
    if not token:
        fail(f"the {what} token file {path} is empty", 2)
    return token


def handler_class(options, gocd_token, alertmanager_token):
    class Relay(http.server.BaseHTTPRequestHandler):
        timeout = GOCD_TIMEOUT_S  # a client that sends nothing does not hold the relay
        server_version = "phoenix-alertmanager-relay"

        def answer(self, status, text):
            payload = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self):  # noqa: N802 (the name http.server calls)
            presented = self.headers.get("Authorization", "")
            if not hmac.compare_digest(presented.encode(), f"Bearer {alertmanager_token}".encode()):
                log(f"refused a request from {self.client_address[0]}: no valid Alertmanager token")
                return self.answer(401, "a valid 'Authorization: Bearer <token>' is required")
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                return self.answer(411, "Content-Length required")
            if length > MAX_BODY:
                return self.answer(413, f"a notification is at most {MAX_BODY} bytes")
            try:
                notification = json.loads(self.rfile.read(length))
                body = schedule_body(notification, options.service)
            except ValueError:
                return self.answer(400, "the body is not JSON")
            except NotRelayed as skipped:
                log(f"not scheduled: {skipped.why}")
                return self.answer(skipped.status, skipped.why)
            release = body["environment_variables"][0]["value"]
            status, answer = send(schedule_request(options.gocd_url, options.pipeline, gocd_token, body))
            log(f"{'scheduled' if status == 200 else 'not scheduled'} {options.pipeline} for release {release}: "
                f"{answer}")
            self.answer(status, answer)

        def do_GET(self):  # noqa: N802
            self.answer(405, "POST an Alertmanager notification")

        def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
            pass  # one line per notification, written by do_POST

    return Relay


def print_request(options):
    try:
        body = schedule_body(json.load(sys.stdin), options.service)
    except ValueError:
        fail("the input is not JSON", 2)
    except NotRelayed as skipped:
        log(f"not scheduled: {skipped.why} (answer {skipped.status})")
        return 3
    request = schedule_request(options.gocd_url, options.pipeline, "<token>", body)
    print(f"{request.get_method()} {request.full_url}")
    for name, value in request.header_items():
        print(f"{name}: {value}")
    print()
    print(request.data.decode())
    return 0


def main():
    parser = argparse.ArgumentParser(description="Alertmanager webhook -> GoCD pipeline schedule (docs/ci.md)")
    parser.add_argument("--listen", default="127.0.0.1:9095", help="HOST:PORT to serve Alertmanager on")
    parser.add_argument("--gocd-url", help="GoCD's address, without /go (--print: https://gocd.example.com)")
    parser.add_argument("--pipeline", required=True, help="the pipeline to schedule, e.g. web-alert-rollback")
    parser.add_argument("--service", required=True, help="the Phoenix service the alerts must name (label service)")
    parser.add_argument("--gocd-token-file", help="the GoCD access token of the user that schedules")
    parser.add_argument("--alertmanager-token-file", help="the bearer token Alertmanager must present")
    parser.add_argument("--print", action="store_true", help="print the request for the notification on stdin")
    options = parser.parse_args()
    if options.print:
        options.gocd_url = options.gocd_url or "https://gocd.example.com"
        return print_request(options)
    if not (options.gocd_url and options.gocd_token_file and options.alertmanager_token_file):
        parser.error("serving needs --gocd-url, --gocd-token-file and --alertmanager-token-file")
    gocd_token = read_token(options.gocd_token_file, "GoCD")
    alertmanager_token = read_token(options.alertmanager_token_file, "Alertmanager")
    host, _, port = options.listen.rpartition(":")
    try:
        server = http.server.HTTPServer((host or "127.0.0.1", int(port)),
                                        handler_class(options, gocd_token, alertmanager_token))
    except (OSError, ValueError) as error:
        fail(f"cannot listen on {options.listen}: {error}", 1)
    log(f"listening on {options.listen}, scheduling {options.pipeline} at {options.gocd_url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
