"""One run at a time, and every run ends in a state that says what happened: two runs started
together, a run killed mid-way, a run that fails, a run that finds a dead one; `axiswatch runs`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import fixtures as fx
import pytest
from fixture_server import Route

from axiswatch.pipeline import run_pass
from ingest.records import FeedSource
from transform.tagging import Tagger
from warehouse.db import connect, open_warehouse
from warehouse.runs import RunBusy

CLI = [str(Path(sys.executable).parent / "axiswatch")]
# What a run stores, by a key that does not depend on the run (ids derive from URLs and text).
CONTENT = {
    "articles": "SELECT canonical_url, content_hash, fetch_status, title FROM articles",
    "article_duplicates": "SELECT canonical_url, article_id, reason FROM article_duplicates",
    "article_tags": "SELECT article_id, tagger_version, is_axis, score FROM article_tags",
    "article_clusters": "SELECT article_id, cluster_id FROM article_clusters",
    "story_clusters": "SELECT id, representative_article_id, member_count, outlets_count FROM story_clusters",
    "v_story_copies": "SELECT * EXCLUDE (first_seen_at, published_at) FROM v_story_copies",
    "feeds": "SELECT name, etag, body_hash, failure_streak FROM feeds",
}


def slow_site(server, pages: int = 6, delay: float = 0.4):
    """One feed of ``pages`` axis pages, each answering after ``delay`` seconds, plus an exact copy."""
    items = "".join(
        f"<item><title>Troops {i}</title><link>{{BASE}}/p/{i}.html</link><description>s {i}</description></item>"
        for i in range(pages)
    ) + "<item><title>Copy</title><link>{BASE}/p/copy.html</link><description>c</description></item>"
    server.add("/rss.xml", Route(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>",
                                 content_type="application/rss+xml"))
    for i in range(pages):
        paragraphs = [f"Report {i}: " + fx.TROOPS[0], *fx.TROOPS[1:]]
        server.add(f"/p/{i}.html", Route(fx.page(f"North Korean troops {i}", paragraphs), delay=delay))
    server.add("/p/copy.html", Route(fx.page("North Korean troops 0", [f"Report 0: " + fx.TROOPS[0], *fx.TROOPS[1:]]),
                                     delay=delay))
    return server


def write_config(tmp_path: Path, server, run_wait: float) -> tuple[Path, Path]:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: slow\n    url: {server.url('/rss.xml')}\n", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        f"feeds_file: {feeds}\nrun_wait_seconds: {run_wait}\nreports_dir: {tmp_path / 'reports'}\n"
        "workers: 2\nhttp:\n  allow_networks: ['127.0.0.1/32']\n  retries: 0\n",
        encoding="utf-8",
    )
    return settings, feeds


def start_run(settings: Path, db: Path, repo_root: Path) -> subprocess.Popen:
    return subprocess.Popen([*CLI, "run", "--config", str(settings), "--db", str(db), "--json"],
                            cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def content(db: Path | str) -> dict[str, list]:
    con = connect(db, read_only=True)
    try:
        return {table: sorted(con.execute(sql).fetchall(), key=repr) for table, sql in CONTENT.items()}
    finally:
        con.close()


def query(db, sql, params=()):
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def test_two_runs_started_together_leave_the_tables_one_run_leaves(server, tmp_path, repo_root):
    slow_site(server)
    settings, _ = write_config(tmp_path, server, run_wait=0)
    alone = tmp_path / "alone.duckdb"
    single = start_run(settings, alone, repo_root)
    assert single.wait(timeout=120) == 0, single.stderr.read()

    both = tmp_path / "both.duckdb"
    first, second = start_run(settings, both, repo_root), start_run(settings, both, repo_root)
    codes = sorted([first.wait(timeout=120), second.wait(timeout=120)])
    errors = first.stderr.read() + second.stderr.read()
    assert codes == [0, 2], errors
    refusal = [line for line in errors.splitlines() if "error:" in line]
    assert len(refusal) == 1 and "is in use by run run-" in refusal[0] and "PID" in refusal[0], errors
    assert "Traceback" not in errors
    assert content(both) == content(alone)
    assert query(both, "SELECT status FROM pipeline_runs") == [("finished",)]
    assert query(both, "SELECT count(*) FROM feed_fetches") == [(1,)]


def test_a_second_run_waits_for_the_first_and_then_adds_nothing(server, tmp_path, repo_root):
    slow_site(server)
    settings, _ = write_config(tmp_path, server, run_wait=120)
    db = tmp_path / "w.duckdb"
    first, second = start_run(settings, db, repo_root), start_run(settings, db, repo_root)
    outs = [p.communicate(timeout=180) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    summaries = sorted((json.loads(out) for out, _ in outs), key=lambda s: s["articles_new"])
    assert summaries[0]["articles_new"] == 0 and summaries[0]["duplicates"] == 0  # the waiter found it all stored
    assert summaries[1]["articles_new"] == 6 and summaries[1]["duplicates"] == 1
    assert any("waiting for run run-" in err for _, err in outs)
    assert query(db, "SELECT count(*) FROM article_duplicates") == [(1,)]  # never a copy of itself
    assert query(db, "SELECT sum(duplicates), sum(articles_new) FROM pipeline_runs") == [(1, 6)]  # = the JSON
    assert query(db, "SELECT status FROM pipeline_runs") == [("finished",), ("finished",)]


HOLD = """
import sys, time
from datetime import UTC, datetime
import duckdb
from warehouse.runs import Claimant, mark_running, unmark_running
db, marked = sys.argv[1], sys.argv[2] == "run"
if marked:
    mark_running(db, Claimant.this_process("run-holder", datetime.now(UTC)))
con = duckdb.connect(db)
print("ok", flush=True)
time.sleep(float(sys.argv[3]))
con.close()
unmark_running(db, "run-holder")
"""


def hold(db: Path, as_run: bool, seconds: float, repo_root: Path) -> subprocess.Popen:
    """A process that holds the warehouse file for ``seconds``, saying it is a run or not."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), "run" if as_run else "stranger", str(seconds)],
                              cwd=repo_root, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "ok"
    return holder


def test_a_run_holding_the_file_through_a_long_step_is_waited_for(server, tmp_path, repo_root):
    """A step can hold the file longer than warehouse.lock_wait_seconds; a second run waits for
    that run (run_wait_seconds) instead of failing as locked, while a stranger holding the file
    (a DuckDB shell) still fails it at once. A run's marker names it while it runs, then goes."""
    slow_site(server, pages=2, delay=0.1)
    settings, _ = write_config(tmp_path, server, run_wait=60)
    settings.write_text(settings.read_text() + "warehouse:\n  lock_wait_seconds: 1\n", encoding="utf-8")
    db = tmp_path / "w.duckdb"
    marker = tmp_path / "w.duckdb.run"

    holder = hold(db, as_run=True, seconds=5, repo_root=repo_root)
    started = time.monotonic()
    waiter = start_run(settings, db, repo_root)
    out, err = waiter.communicate(timeout=120)
    holder.wait(timeout=30)
    assert waiter.returncode == 0, err
    assert "waiting for run run-holder" in err and time.monotonic() - started >= 4
    assert json.loads(out)["articles_new"] == 2
    assert not marker.exists()  # the waiter's own marker is gone with it; the holder removed its own

    stranger = hold(db, as_run=False, seconds=30, repo_root=repo_root)
    try:
        refused = start_run(settings, db, repo_root)
        _, err = refused.communicate(timeout=60)
        assert refused.returncode == 2 and f"is locked by PID {stranger.pid}" in err, err
        assert "waiting for run" not in err and "Traceback" not in err
    finally:
        stranger.kill()
        stranger.wait()


def test_a_running_run_names_its_process_beside_the_file(server, tmp_path, repo_root):
    slow_site(server, pages=4, delay=1.0)
    settings, _ = write_config(tmp_path, server, run_wait=0)
    db = tmp_path / "w.duckdb"
    marker = tmp_path / "w.duckdb.run"
    run = start_run(settings, db, repo_root)
    deadline = time.monotonic() + 60
    while not marker.exists() and time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.05)
    seen = json.loads(marker.read_text())
    assert seen["pid"] == run.pid and seen["run_id"].startswith("run-")
    assert run.wait(timeout=120) == 0
    assert not marker.exists()
    assert query(db, "SELECT run_id FROM pipeline_runs") == [(seen["run_id"],)]


def test_a_killed_run_is_abandoned_and_the_next_run_repairs_it(server, tmp_path, repo_root):
    slow_site(server, pages=8, delay=1.0)
    settings, _ = write_config(tmp_path, server, run_wait=0)
    db = tmp_path / "w.duckdb"
    victim = start_run(settings, db, repo_root)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until its row says running (the pages take seconds)
        try:
            if query(db, "SELECT status FROM pipeline_runs") == [("running",)]:
                break
        except Exception:  # noqa: BLE001 - the file may be missing or held for a moment
            pass
        time.sleep(0.2)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert query(db, "SELECT status, pid FROM pipeline_runs") == [("running", victim.pid)]

    after = start_run(settings, db, repo_root)
    out, err = after.communicate(timeout=180)
    assert after.returncode == 0, err
    summary = json.loads(out)
    rows = dict(query(db, "SELECT status, failure FROM pipeline_runs ORDER BY started_at"))
    assert summary["abandoned_runs"] and summary["status"] == "finished"
    assert "abandoned" in rows and f"PID {victim.pid}" in rows["abandoned"] and "finished" in rows
    assert query(db, "SELECT count(*) FROM articles") == [(8,)]
    untagged = "SELECT count(*) FROM articles a ANTI JOIN article_tags t ON t.article_id = a.id"
    assert query(db, untagged) == [(0,)]


def test_a_loaded_run_left_behind_is_tagged_clustered_and_published_by_the_next(server, tmp_path, repo_root,
                                                                                   fast_http):
    """A run that died after its load (its process gone, or older than the run deadline) left
    untagged, unclustered and unpublished articles; the next run finishes that work."""
    from axiswatch import steps
    from ingest.http import HttpClient
    from warehouse.snapshot import snapshot_path

    slow_site(server, pages=3, delay=0)
    sources = [FeedSource(name="slow", url=server.url("/rss.xml"))]
    db = tmp_path / "w.duckdb"
    ctx = steps.RunContext(run_id="run-dead", started_at=datetime.now(UTC) - timedelta(hours=5),
                           database=str(db), sources=sources, http=fast_http, orchestrator="airflow")
    prepared = steps.prepare(ctx)
    with HttpClient(fast_http) as client:
        results = steps.fetch_feeds(ctx, prepared.states, client)
        entries = steps.plan_pages(ctx, results).entries
        pages = steps.fetch_pages(ctx, entries, client)
    steps.load(ctx, results, entries, pages)  # ...and the process dies here
    assert query(db, "SELECT status FROM pipeline_runs") == [("loaded",)]
    assert not snapshot_path(db).exists()

    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    summary = run_pass(sources, db, fast_http, tagger, workers=2, reports_dir=tmp_path / "r",
                       stale_after=timedelta(hours=3))
    assert summary.abandoned_runs == ["run-dead"] and summary.articles_new == 0
    assert dict(query(db, "SELECT run_id, status FROM pipeline_runs")) == {"run-dead": "abandoned",
                                                                          summary.run_id: "finished"}
    assert query(db, "SELECT count(*) FROM articles") == [(3,)]  # 3 pages and an exact copy of one
    assert query(db, "SELECT count(*) FROM article_tags") == [(3,)]
    assert query(db, "SELECT count(*) FROM article_clusters") == [(3,)]
    assert query(snapshot_path(db), "SELECT count(*) FROM article_clusters") == [(3,)]  # published


def test_an_active_run_elsewhere_blocks_with_one_line_naming_it(server, tmp_path, repo_root, fast_http):
    db = tmp_path / "w.duckdb"
    con = open_warehouse(db)
    con.execute("INSERT INTO pipeline_runs (run_id, started_at, status, host, orchestrator)"
                " VALUES ('scheduled__2026-11-30T02:00:00+00:00', now(), 'running', 'worker-7', 'airflow')")
    con.close()
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    with pytest.raises(RunBusy, match=r"in use by run scheduled__2026-11-30T02:00:00\+00:00 \(airflow, worker-7"):
        run_pass([], db, fast_http, tagger, run_wait=0)
    assert query(db, "SELECT count(*) FROM pipeline_runs") == [(1,)]  # the refused run left no row


def test_a_failing_step_marks_the_run_failed_with_its_reason(server, tmp_path, repo_root, fast_http):
    slow_site(server, pages=2, delay=0)
    db = tmp_path / "w.duckdb"

    class Broken(Tagger):
        def tag(self, *args, **kwargs):
            raise RuntimeError("tagger exploded")

    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    tagger.__class__ = Broken
    with pytest.raises(RuntimeError, match="exploded"):
        run_pass([FeedSource(name="slow", url=server.url("/rss.xml"))], db, fast_http, tagger, workers=2)
    assert query(db, "SELECT status, failure FROM pipeline_runs") == [("failed", "RuntimeError: tagger exploded")]
    # ...and the next run is not blocked by it, and tags what it left
    good = Tagger.from_file(repo_root / "config/topics.yaml")
    summary = run_pass([FeedSource(name="slow", url=server.url("/rss.xml"))], db, fast_http, good, workers=2,
                       run_wait=0)
    assert summary.status == "finished" and summary.axis_new >= 2


def test_runs_command_lists_states_counts_and_errors(server, tmp_path, repo_root, fast_http):
    slow_site(server, pages=2, delay=0)
    server.add("/gone.xml", Route("nope", status=404))
    db = tmp_path / "w.duckdb"
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    sources = [FeedSource(name="slow", url=server.url("/rss.xml")), FeedSource(name="gone", url=server.url("/gone.xml"))]
    summary = run_pass(sources, db, fast_http, tagger, workers=2, reports_dir=tmp_path / "r")
    result = subprocess.run([*CLI, "runs", "--db", str(db), "--json"], cwd=repo_root, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["run_id"] == summary.run_id and row["status"] == "finished"
    assert (row["feeds_ok"], row["feeds_failed"], row["articles_new"], row["duplicates"]) == (1, 1, 2, 1)
    assert (row["tagged"], row["clustered"], row["stories_new"]) == (2, 2, summary.stories_new)
    assert [e["kind"] for e in row["errors"]] == ["http_status"]
    assert datetime.fromisoformat(row["started_at"]).tzinfo is not None
    table = subprocess.run([*CLI, "runs", "--db", str(db)], cwd=repo_root, capture_output=True, text=True,
                           timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert table.returncode == 0 and summary.run_id in table.stdout and "finished" in table.stdout
    missing = subprocess.run([*CLI, "runs", "--db", str(tmp_path / "none.duckdb")], cwd=repo_root,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "no such warehouse" in missing.stderr and "Traceback" not in missing.stderr


def test_migration_renames_old_success_rows_to_finished(tmp_path):
    """Warehouses written before run states existed called a finished run 'success'."""
    from warehouse.db import migrate, migrations

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
    for version, name, sql in migrations():
        if version < 10:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
    con.execute("INSERT INTO pipeline_runs (run_id, started_at, status) VALUES ('old', now(), 'success')")
    assert "010_run_state" in migrate(con)
    assert con.execute("SELECT status FROM pipeline_runs").fetchall() == [("finished",)]
    con.close()


def test_a_run_where_every_feed_failed_says_so(server, tmp_path, repo_root):
    """Not "nothing new: every entry is already in the warehouse" on an empty warehouse."""
    server.add("/rss.xml", Route("boom", status=500))
    settings, _ = write_config(tmp_path, server, run_wait=0)
    result = subprocess.run([*CLI, "run", "--config", str(settings), "--db", str(tmp_path / "w.duckdb")],
                            cwd=repo_root, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "Nothing fetched: all 1 feeds failed" in result.stdout
    assert "already in the warehouse" not in result.stdout
