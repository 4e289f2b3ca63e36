#pragma once
// What a notification looks like on the wire: the JSON document webhooks receive and commands
// read on stdin, one readable line, and a Slack-compatible incoming-webhook message. Every
// text field passes through util::redact before it is escaped, so no registered secret (a
// webhook URL, a token) can leave in a payload. The document is described in
// docs/notifications.md; its "version" changes only when a field changes meaning.

#include <string>

#include "shared/core/notifier.hpp"

namespace phoenix::notify {

// {"version": 1, "event", "phase", "action", "result", "service", "at", "from", "to", "who",
// "job", "why", "steps": [{"step", "duration_ms"}], "duration_ms", "text"}, on one line.
std::string notification_json(const Notification& notification);

// "web: deploy of pool 42 succeeded in 1.52 s (replacing 41) by ops-a", redacted, one line.
std::string notification_text(const Notification& notification);

// {"text": <the line>, "attachments": [{"color", "fallback", "fields": [...]}]}: understood by
// Slack's incoming webhooks and the chat servers that accept their format (Mattermost,
// Rocket.Chat). Text is escaped the way Slack asks (&, <, >).
std::string slack_message(const Notification& notification);

}  // namespace phoenix::notify
