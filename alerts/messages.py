"""What an alert says: the earliest headline, outlets, first seen, countries, topics, the terms
that made it an axis story, and links; as JSON, plain text, HTML and Slack blocks."""

from __future__ import annotations

import hashlib
import html
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime


def alert_key(cluster_id: str, rule: str, channel: str, version: int = 0) -> str:
    """The idempotency key of one story's alert for a rule and channel: the same for every
    attempt, different for each update sent again (``version``)."""
    return _key("\x1f".join([cluster_id, rule, channel, str(version)]))


def message_key(story_keys: list[str]) -> str:
    """The key of a message: its one story's key, or for a digest a key derived from all of them."""
    keys = sorted(story_keys)
    return keys[0] if len(keys) == 1 else _key("\x1e".join(keys))


def _key(text: str) -> str:
    return "axw-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class Story:
    cluster_id: str
    title: str
    url: str
    outlets: int
    first_seen: datetime
    countries: list[str]
    topics: list[str]
    matched_terms: list[str]
    key: str = ""  # this story's alert key (``alert_key``)
    version: int = 0

    def as_json(self) -> dict:
        return {"cluster_id": self.cluster_id, "title": self.title, "url": self.url, "outlets": self.outlets,
                "countries": self.countries, "topics": self.topics, "first_seen": self.first_seen.isoformat(),
                "matched_terms": self.matched_terms, "idempotency_key": self.key, "version": self.version}


@dataclass
class Message:
    run_id: str
    rule: str
    stories: list[Story]
    update: bool = False
    key: str = field(default="")  # the Idempotency-Key: the same on every attempt to send this message

    def __post_init__(self) -> None:
        if not self.key:
            self.key = message_key([s.key or alert_key(s.cluster_id, self.rule, "", s.version) for s in self.stories])

    @property
    def subject(self) -> str:
        if len(self.stories) == 1:
            prefix = "Update: " if self.update else ""
            return f"[axiswatch] {prefix}{self.stories[0].title}"
        return f"[axiswatch] {len(self.stories)} new axis stories ({self.rule})"

    def payload(self) -> dict:
        """The generic JSON webhook body."""
        return {"idempotency_key": self.key, "run_id": self.run_id, "rule": self.rule, "update": self.update,
                "stories": [s.as_json() for s in self.stories]}

    def headers(self) -> dict[str, str]:
        """HTTP headers every attempt carries: receivers dedupe on ``Idempotency-Key``."""
        return {"Idempotency-Key": self.key}

    def by_topic(self) -> dict[str, list[Story]]:
        groups: dict[str, list[Story]] = defaultdict(list)
        for story in self.stories:
            groups[(story.topics or ["other"])[0]].append(story)
        return dict(sorted(groups.items()))

    def text(self) -> str:
        lines = [self.subject, ""]
        for topic, stories in self.by_topic().items():
            lines.append(f"== {topic} ==")
            for s in stories:
                lines += [
                    f"* {s.title}",
                    f"  {s.outlets} outlet(s) · first seen {s.first_seen:%Y-%m-%d %H:%M UTC} · "
                    f"{', '.join(s.countries)} · {', '.join(s.topics)}",
                    f"  matched: {', '.join(s.matched_terms[:8])}",
                    f"  {s.url}",
                ]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def html(self) -> str:
        parts = [f"<h2>{html.escape(self.subject)}</h2>"]
        for topic, stories in self.by_topic().items():
            parts.append(f"<h3>{html.escape(topic)}</h3><ul>")
            for s in stories:
                parts.append(
                    f'<li><a href="{html.escape(s.url)}">{html.escape(s.title)}</a><br>'
                    f"{s.outlets} outlet(s) · first seen {s.first_seen:%Y-%m-%d %H:%M UTC} · "
                    f"{html.escape(', '.join(s.countries))} · {html.escape(', '.join(s.topics))}<br>"
                    f"<small>matched: {html.escape(', '.join(s.matched_terms[:8]))}</small></li>"
                )
            parts.append("</ul>")
        return "<html><body>" + "".join(parts) + "</body></html>"

    def slack(self) -> dict:
        blocks = [{"type": "header", "text": {"type": "plain_text", "text": self.subject[:150]}}]
        for s in self.stories[:40]:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
                f"*<{s.url}|{s.title}>*\n{s.outlets} outlet(s) · first seen {s.first_seen:%Y-%m-%d %H:%M UTC}\n"
                f"{', '.join(s.countries)} · {', '.join(s.topics)} · matched: {', '.join(s.matched_terms[:6])}")}})
        blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": f"alert {self.key}"}]})
        return {"text": self.subject, "blocks": blocks}


SAMPLE = Story(
    cluster_id="s-sample", title="Sample: North Korean troops reported in Kursk (axiswatch test message)",
    url="https://example.org/axiswatch-test", outlets=3, first_seen=datetime(2026, 1, 1),
    countries=["north_korea", "russia"], topics=["troop_deployment"], matched_terms=["north korean", "kursk", "troops"],
)
