"""Slack incoming webhooks: a short Block Kit message per lifecycle event, readable on a phone.

``text`` is the notification fallback; blocks within Slack's limits (<= 50 blocks, header text
<= 150, section text <= 3000). Everything from alerts or people is escaped for mrkdwn
(``&``, ``<``, ``>``), so a title cannot mention @channel or make a link.
"""

from __future__ import annotations

from typing import Any

from mlsre.notify.channels.base import Message

HEADER_MAX = 150
SECTION_MAX = 3000


def escape(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def body(msg: Message) -> dict[str, Any]:
    inc = msg.incident
    headline = msg.headline()
    fields = [
        f"*Status:* {escape(inc.get('status'))}",
        f"*Severity:* {escape(inc.get('severity'))}",
        f"*Commander:* {escape((inc.get('roles') or {}).get('commander') or 'unassigned')}",
        f"*Model:* {escape(inc.get('model') or '-')}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(headline, HEADER_MAX)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f} for f in fields]},
    ]
    lines = []
    reason = (msg.event.get("data") or {}).get("reason")
    if msg.event_kind == "escalated" and reason:
        lines.append(f"*Why:* {escape(reason)}")
    if msg.likely_change:
        lines.append(f"*What changed:* {escape(msg.likely_change)}")
    if msg.findings:
        lines.append("*Latest findings:*\n" + "\n".join(f"• {escape(f)}" for f in msg.findings[:3]))
    if lines:
        text = _cut("\n".join(lines), SECTION_MAX)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if msg.link:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{msg.link}|Open {msg.ref} in mlsre>"}],
            }
        )
    return {"text": _cut(escape(headline), SECTION_MAX), "blocks": blocks}
