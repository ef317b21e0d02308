"""The alert outbox: stories are queued per (story, rule, channel) after the load commits, then
delivered; a failed delivery stays queued and is retried on later runs, with backoff once it keeps
failing. A rerun queues nothing new (the key already exists), and a story that grows is queued
again only for rules that ask for updates (as the next ``version``).

Delivery is at least once, always with the same key: every message carries an idempotency key
(``Idempotency-Key`` header and ``idempotency_key`` body field; each story also carries its own)
derived from (story, rule, channel) and the version. The key is written to the outbox before the
first attempt, so a retry (in the same request, on a later run, after a crash between sending and
recording, or after a timeout whose outcome is unknown) sends the same stories under the same key;
a receiver that dedupes on the key sees each alert once.

The warehouse is not held while messages travel: deliveries are planned and their keys recorded,
the connection closed, the messages sent, and the outcomes recorded in a second short transaction.
These run after the run's ``prepare`` checked the file, so they do not read it end to end again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.channels import DeliveryError, send
from alerts.config import AlertsConfig, ChannelConfig
from alerts.messages import Message, Story, alert_key, message_key
from ingest.http import HttpSettings
from warehouse.db import fetch_dicts, open_warehouse
from warehouse.load import append_new

_QUALIFYING = """
    SELECT cluster_id, outlets FROM v_axis_stories
    WHERE score >= ? AND outlets >= ? AND first_seen_at >= ?
      AND (len(?::VARCHAR[]) = 0 OR list_has_any(countries, ?::VARCHAR[]))
      AND (len(?::VARCHAR[]) = 0 OR list_has_any(topics, ?::VARCHAR[]))
      AND (len(?::VARCHAR[]) = 0 OR list_has_any(languages, ?::VARCHAR[]))
"""

# The extra condition of each rule kind (RuleConfig.kind), with its parameters. Growth is read
# from publication times (v_story_sources.lag, v_story_copies), so a replayed or late night gives
# the same answer as the night it happened.
_STATE = "('state_ru', 'state_kp', 'state_cn', 'state_ua')"
_KINDS = {
    "story": ("", lambda rule, now: []),
    "breaking": (
        """ AND cluster_id IN (
              SELECT cluster_id FROM v_story_sources WHERE lag <= to_seconds(CAST(? AS DOUBLE))
              GROUP BY cluster_id HAVING count(*) - 1 >= ?)""",
        lambda rule, now: [rule.within_hours * 3600, rule.growth],
    ),
    "breaking_copies": (
        """ AND cluster_id IN (
              SELECT cluster_id FROM (
                  SELECT cluster_id, published_at - min(published_at) OVER (PARTITION BY cluster_id) AS lag FROM v_story_copies)
              WHERE lag <= to_seconds(CAST(? AS DOUBLE)) GROUP BY cluster_id HAVING count(*) - 1 >= ?)""",
        lambda rule, now: [rule.within_hours * 3600, rule.growth],
    ),
    "state_media_only": (
        " AND state_media_only AND published_at <= ?",
        lambda rule, now: [now - timedelta(hours=rule.within_hours)],
    ),
    "corroborated": (
        f""" AND first_reporter_affiliation IN {_STATE} AND cluster_id IN (
              SELECT cluster_id FROM v_story_sources WHERE NOT state_media AND affiliation <> 'unknown')""",
        lambda rule, now: [],
    ),
}


def _kind_condition(rule, now: datetime) -> tuple[str, list]:
    kind = "breaking_copies" if rule.kind == "breaking" and rule.growth_of == "copies" else rule.kind
    sql, params = _KINDS[kind]
    return sql, params(rule, now)


@dataclass
class Delivery:
    rule: str
    channel: ChannelConfig
    message: Message
    keys: list[str]  # cluster ids covered


@dataclass
class AlertSummary:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    messages: int = 0
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"alerts_queued": self.queued, "alerts_sent": self.sent, "alerts_failed": self.failed,
                "alert_messages": self.messages, "alert_errors": self.errors}


def enqueue(db: str | Path, config: AlertsConfig, run_id: str | None, now: datetime | None = None) -> int:
    """Queue every qualifying story for every channel of every rule; return rows queued."""
    now = now or datetime.now(UTC)
    con = open_warehouse(db, verify=False)
    queued = 0
    try:
        con.execute("BEGIN")
        for rule in config.rules:
            params = [rule.min_score, rule.min_outlets, now - timedelta(hours=rule.max_age_hours),
                      rule.countries, rule.countries, rule.topics, rule.topics, rule.languages, rule.languages]
            condition, extra = _kind_condition(rule, now)
            stories = con.execute(_QUALIFYING + condition, params + extra).fetchall()
            for channel in rule.channels:
                queued += append_new(con, "alert_outbox", [
                    {"cluster_id": cid, "rule": rule.name, "channel": channel, "status": "pending",
                     "created_at": now, "next_attempt_at": now, "run_id": run_id}
                    for cid, _ in stories
                ], ("cluster_id", "rule", "channel"))
                if rule.notify_updates:
                    grown = [cid for cid, _ in stories]
                    con.execute(
                        "UPDATE alert_outbox o SET status = 'pending', next_attempt_at = ?, attempts = 0, run_id = ?,"
                        " version = o.version + 1, message_key = NULL"
                        " FROM v_axis_stories s WHERE s.cluster_id = o.cluster_id AND o.rule = ? AND o.channel = ?"
                        " AND o.status = 'sent' AND s.outlets > o.outlets_at_send AND list_contains(?, o.cluster_id)",
                        [now, run_id, rule.name, channel, grown],
                    )
        con.execute("COMMIT")
    finally:
        con.close()
    return queued


def plan(db: str | Path, config: AlertsConfig, run_id: str | None, now: datetime | None = None) -> list[Delivery]:
    """The messages due now: one per rule and channel in digest mode, one per story in immediate
    mode; a message tried before is planned again as it was (its stories, its key). The key of
    every new message is recorded before anything is sent."""
    now = now or datetime.now(UTC)
    channels = {c.name: c for c in config.channels}
    modes = {r.name: r.mode for r in config.rules}
    con = open_warehouse(db, verify=False)
    try:
        rows = con.execute(
            """
            SELECT o.rule, o.channel, o.outlets_at_send IS NOT NULL AS update, s.cluster_id, s.headline, s.url,
                   s.outlets, s.first_seen_at, s.countries, s.topics, s.matched_terms, o.version, o.message_key
            FROM alert_outbox o JOIN v_axis_stories s ON s.cluster_id = o.cluster_id
            WHERE o.status = 'pending' AND o.next_attempt_at <= ?
            ORDER BY o.rule, o.channel, s.first_seen_at, s.cluster_id
            """,
            [now],
        ).fetchall()
        grouped: dict[tuple[str, str, str | None], list] = {}
        for row in rows:
            if row[0] in modes and row[1] in channels:  # rules or channels removed from config wait
                grouped.setdefault((row[0], row[1], row[12]), []).append(row)
        deliveries, new = [], []
        for (rule, channel, key), items in grouped.items():
            stories = [(Story(r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10] or [],
                              key=alert_key(r[3], rule, channel, r[11] or 0), version=r[11] or 0), r[2]) for r in items]
            batches = [stories] if key is not None or modes[rule] == "digest" else [[s] for s in stories]
            for batch in batches:
                keys = [s.cluster_id for s, _ in batch]
                message = Message(run_id or "", rule, [s for s, _ in batch], update=all(u for _, u in batch),
                                  key=key or message_key([s.key for s, _ in batch]))
                deliveries.append(Delivery(rule, channels[channel], message, keys))
                if key is None:
                    new.append(deliveries[-1])
        if new:
            con.execute("BEGIN")
            for delivery in new:
                con.executemany(
                    "UPDATE alert_outbox SET message_key = ? WHERE cluster_id = ? AND rule = ? AND channel = ?",
                    [[delivery.message.key, cid, delivery.rule, delivery.channel.name] for cid in delivery.keys],
                )
            con.execute("COMMIT")
    finally:
        con.close()
    return deliveries


def _next_attempt(now: datetime, attempts: int, base_minutes: float) -> datetime:
    """The first two failures are retried on the next run; after that, exponential backoff (≤ 1 day)."""
    if attempts <= 2:
        return now
    return now + timedelta(minutes=min(24 * 60, base_minutes * 2 ** (attempts - 3)))


def deliver(db: str | Path, config: AlertsConfig, run_id: str | None, http: HttpSettings,
            now: datetime | None = None) -> AlertSummary:
    """Queue what qualifies, send what is due, record each outcome."""
    now = now or datetime.now(UTC)
    config = config.effective()
    summary = AlertSummary()
    if not config.rules:
        return summary
    summary.queued = enqueue(db, config, run_id, now)
    outcomes = []
    for delivery in plan(db, config, run_id, now):
        try:
            send(delivery.channel, delivery.message, http)
            outcomes.append((delivery, None))
            summary.sent += len(delivery.keys)
        except DeliveryError as exc:
            outcomes.append((delivery, str(exc)))
            summary.failed += len(delivery.keys)
            summary.errors.append(f"{delivery.rule}/{delivery.channel.name}: {exc}")
        summary.messages += 1
    con = open_warehouse(db, verify=False)
    try:
        con.execute("BEGIN")
        for delivery, error in outcomes:
            for cluster_id in delivery.keys:
                key = [cluster_id, delivery.rule, delivery.channel.name]
                if error is None:
                    con.execute(
                        "UPDATE alert_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL,"
                        " outlets_at_send = (SELECT outlets FROM v_axis_stories WHERE cluster_id = ?)"
                        " WHERE cluster_id = ? AND rule = ? AND channel = ?",
                        [now, cluster_id, *key],
                    )
                else:
                    attempts = con.execute(
                        "SELECT attempts + 1 FROM alert_outbox WHERE cluster_id = ? AND rule = ? AND channel = ?", key
                    ).fetchone()[0]
                    con.execute(
                        "UPDATE alert_outbox SET attempts = ?, last_error = ?, next_attempt_at = ?"
                        " WHERE cluster_id = ? AND rule = ? AND channel = ?",
                        [attempts, error[:1000], _next_attempt(now, attempts, config.retry_base_minutes), *key],
                    )
        con.execute("COMMIT")
    finally:
        con.close()
    return summary


def pending(db: str | Path) -> list[dict]:
    """What waits in the outbox and why (for `axiswatch alerts pending`)."""
    con = open_warehouse(db)
    try:
        return fetch_dicts(con.execute(
            "SELECT o.rule, o.channel, o.cluster_id, s.headline, o.attempts, o.next_attempt_at, o.last_error"
            " FROM alert_outbox o LEFT JOIN v_axis_stories s ON s.cluster_id = o.cluster_id"
            " WHERE o.status = 'pending' ORDER BY o.next_attempt_at, o.rule, o.channel"
        ))
    finally:
        con.close()
