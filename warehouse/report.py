"""The static HTML report: new axis stories by topic, a timeline by country pair, top outlets and
feed health, in one self-contained file (charts are inline SVG: no server, no network, no script)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape

from ingest.text import safe_name
from warehouse.db import connect, fetch_dicts

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict) -> list[dict]:
    return fetch_dicts(con.execute(sql, params))


TOP_OUTLETS = 15


def gather(con: duckdb.DuckDBPyConnection, since: datetime, new_since: datetime | None = None) -> dict:
    """Everything the report shows, from the analyst views.

    The period is publication time (first seen when a source gives none): the timeline, the
    outlets and the stories cover axis stories published since ``since``. ``new_since`` (a run's
    report) lists only the stories the pipeline first stored since then."""
    stories = _rows(con, """
        SELECT cluster_id, first_seen_at, published_at, outlets, copies, headline, url, first_outlet, languages,
               countries, topics, score, event_id, coalesce(event_languages, []) AS event_languages,
               coalesce(event_outlets, []) AS event_outlets
        FROM v_axis_stories WHERE published_at >= $since AND ($new::TIMESTAMPTZ IS NULL OR first_seen_at >= $new)
        ORDER BY published_at DESC, outlets DESC, cluster_id""", {"since": since, "new": new_since})
    # Each story counts once, on the UTC day it was published, under its main pair (North Korea
    # before South Korea, Russia before Ukraine), so bar heights are stories per day;
    # v_daily_axis_counts counts every pair named.
    timeline = _rows(con, """
        SELECT CAST(timezone('UTC', published_at) AS DATE) AS day,
               CASE WHEN list_contains(countries, 'north_korea') THEN 'north_korea' ELSE 'south_korea' END || '–' ||
               CASE WHEN list_contains(countries, 'russia') THEN 'russia' ELSE 'ukraine' END AS country_pair,
               count(*) AS stories
        FROM v_axis_stories WHERE published_at >= $since GROUP BY ALL ORDER BY day, country_pair""", {"since": since})
    # One outlet per story is first to report (v_outlet_coverage's tie rule), so the column sums
    # to the stories of the period; outlets past the top ones are folded into one row.
    outlets = _rows(con, """
        WITH coverage AS (
            SELECT o.outlet, o.cluster_id, o.report_rank FROM v_outlet_coverage o
            JOIN v_axis_stories s ON s.cluster_id = o.cluster_id WHERE s.published_at >= $since
        ), ranked AS (
            SELECT outlet, row_number() OVER (ORDER BY count(*) DESC, count(*) FILTER (WHERE report_rank = 1) DESC,
                                                       outlet NULLS LAST) AS place
            FROM coverage GROUP BY outlet
        )
        SELECT CASE WHEN r.place <= $top THEN coalesce(c.outlet, '(no outlet)') ELSE 'other outlets' END AS outlet,
               count(DISTINCT c.cluster_id) AS stories, count(*) FILTER (WHERE c.report_rank = 1) AS first_to_report,
               min(r.place) AS place
        FROM coverage c JOIN ranked r ON r.outlet IS NOT DISTINCT FROM c.outlet
        GROUP BY ALL ORDER BY place""", {"since": since, "top": TOP_OUTLETS})
    # Who reports first, by outlet and language: each story has one first reporter (the same tie
    # rule), so "first to report" sums to the period's stories; the median lag is over every
    # story the outlet carried in that language (0 when it was first or published in the same minute).
    first_reporters = _rows(con, """
        SELECT v.outlet, v.language, min(v.affiliation) AS affiliation, count(*) AS stories,
               count(*) FILTER (WHERE v.report_rank = 1) AS first_to_report,
               median(epoch(v.lag)) AS median_lag_seconds
        FROM v_story_sources v JOIN v_axis_stories s ON s.cluster_id = v.cluster_id
        WHERE s.published_at >= $since
        GROUP BY v.outlet, v.language
        ORDER BY first_to_report DESC, stories DESC, v.outlet NULLS LAST, v.language NULLS LAST""", {"since": since})
    for row in first_reporters:
        row["median_lag"] = lag_text(row["median_lag_seconds"])
    feeds = _rows(con, """
        SELECT name, outlet, last_success_at, failure_streak, entries_per_night, failures_last_7
        FROM v_feed_health ORDER BY failure_streak DESC, name""", [])
    by_topic: dict[str, list[dict]] = defaultdict(list)
    for story in stories:
        for topic in story["topics"] or ["(no topic)"]:
            by_topic[topic].append(story)
    period_stories = con.execute("SELECT count(*) FROM v_axis_stories WHERE published_at >= ?", [since]).fetchone()[0]
    return {"stories": stories, "by_topic": dict(sorted(by_topic.items(), key=lambda kv: (-len(kv[1]), kv[0]))),
            "timeline": timeline, "outlets": outlets, "feeds": feeds, "period_stories": period_stories,
            "first_reporters": first_reporters}


def lag_text(seconds: float | None) -> str:
    """A lag as an ISO 8601 duration, the form every text output uses (PT0S, PT1H14M)."""
    if seconds is None:
        return "–"
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs else "")
    return text if text != "PT" else "PT0S"


def timeline_svg(timeline: list[dict], since: date, until: date, width: int = 760, height: int = 220) -> dict:
    """Stacked bars of axis stories per day by country pair, as SVG drawing instructions."""
    days = [since + timedelta(days=i) for i in range((until - since).days + 1)]
    pairs = sorted({row["country_pair"] for row in timeline})
    colors = {pair: PALETTE[i % len(PALETTE)] for i, pair in enumerate(pairs)}
    counts = defaultdict(dict)
    for row in timeline:
        counts[row["day"]][row["country_pair"]] = row["stories"]
    peak = max([sum(c.values()) for c in counts.values()] or [1])
    left, bottom, top = 40, 30, 10
    plot_w, plot_h = width - left - 10, height - bottom - top
    bar_w = max(2.0, plot_w / max(1, len(days)) - 2)
    bars = []
    for i, day in enumerate(days):
        y = top + plot_h
        for pair in pairs:
            n = counts.get(day, {}).get(pair, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            bars.append({"x": round(left + i * (plot_w / len(days)), 1), "y": round(y, 1), "w": round(bar_w, 1),
                         "h": round(h, 1), "color": colors[pair], "title": f"{day}: {n} {pair}"})
    ticks = [{"x": round(left + i * (plot_w / len(days)), 1), "label": d.strftime("%m-%d")}
             for i, d in enumerate(days) if i % max(1, len(days) // 8) == 0]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "peak": peak, "left": left,
            "top": top, "plot_h": plot_h, "legend": [{"pair": p, "color": c} for p, c in colors.items()]}


def render(con: duckdb.DuckDBPyConnection, since: datetime, title: str = "axiswatch report",
           new_since: datetime | None = None, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    data = gather(con, since, new_since)
    env = Environment(loader=PackageLoader("warehouse", "templates"), autoescape=select_autoescape(["html", "j2"]))
    chart = timeline_svg(data["timeline"], since.date(), now.date())
    return env.get_template("report.html.j2").render(
        title=title, since=since, new_since=new_since, now=now, chart=chart, utc=UTC, **data)


def write_report(con: duckdb.DuckDBPyConnection, out: str | Path, since: datetime, **kwargs) -> Path:
    return _write_whole(Path(out), render(con, since, **kwargs))


def _write_whole(out: Path, html: str) -> Path:
    """Write ``out`` whole or not at all (a reader never sees half a report)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out


def publish_run_report(snapshot: str | Path, reports_dir: str | Path, run_id: str, run_started: datetime,
                       days: int = 30) -> Path:
    """The report of one run as <run>.html and latest.html: the stories it stored first (published in
    the last ``days``) and the last ``days`` of timeline."""
    con = connect(snapshot, read_only=True)
    try:
        html = render_run_report(con, run_id, run_started, days)
    finally:
        con.close()
    return save_run_report(html, reports_dir, run_id)


def render_run_report(con: duckdb.DuckDBPyConnection, run_id: str, run_started: datetime, days: int = 30) -> str:
    """The HTML of ``publish_run_report``, from any connection that sees the run's stories: the
    command line renders it while the search index is still being built (the report reads no
    index) and saves it once the run is published."""
    return render(con, run_started - timedelta(days=days), title=f"axiswatch report – {run_id}", new_since=run_started)


def save_run_report(html: str, reports_dir: str | Path, run_id: str) -> Path:
    """Write a run's report as <run>.html (whole or not at all) and copy it to latest.html."""
    import shutil

    path = _write_whole(Path(reports_dir) / f"{safe_name(run_id)}.html", html)
    shutil.copyfile(path, path.parent / "latest.html")
    return path
