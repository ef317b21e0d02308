"""Telling ops what went wrong: a message to a webhook (Slack-compatible ``{"text": ...}``) when
``AXISWATCH_OPS_WEBHOOK`` is set, and always an error in the log. The webhook URL is a secret: it
comes from the environment only and is never logged.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("axiswatch.ops")


def notify_ops(subject: str, lines: list[str] | None = None) -> bool:
    """Log the message and send it to the ops webhook if one is configured; True when sent."""
    text = subject + ("\n" + "\n".join(f"• {line}" for line in lines) if lines else "")
    log.error("%s", text)
    url = os.environ.get("AXISWATCH_OPS_WEBHOOK", "").strip()
    if not url:
        return False
    from axiswatch.orchestration import settings_for
    from ingest.http import FetchError, HttpClient

    settings = settings_for(os.environ.get("AXISWATCH_CONFIG"))
    try:
        with HttpClient(settings.http.settings()) as client:
            client.post_json(url, {"text": text})
    except FetchError as exc:
        log.error("ops webhook failed (%s): %s", exc.kind, exc)
        return False
    return True


def task_failed(context: dict) -> None:
    """Failure callback: which DAG, run and task failed, and the exception."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(context.get("dag"), "dag_id", None) or getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    run_id = context.get("run_id") or getattr(ti, "run_id", "?")
    notify_ops(f"axiswatch: {dag_id}.{task_id} failed in {run_id}", [repr(context.get("exception"))])


def deadline_missed(**kwargs) -> None:
    """Deadline callback: the nightly run is too slow or did not run at all."""
    dag_id = kwargs.get("dag_id") or "axiswatch_ingest"
    notify_ops(f"axiswatch: {dag_id} missed its deadline (still running, or never started)",
               [f"{k}={v}" for k, v in sorted(kwargs.items()) if k != "context"])


def report_unhealthy(summary: dict) -> None:
    """Warn ops about feeds that have failed several runs in a row."""
    feeds = summary.get("unhealthy_feeds") or []
    if feeds:
        notify_ops(
            f"axiswatch: {len(feeds)} feed(s) failing run after run",
            [f"{f['feed']}: {f['failing_runs']} runs" for f in feeds],
        )
