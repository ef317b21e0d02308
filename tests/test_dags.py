"""Airflow: the DAGs import cleanly and a real `dag.test()` run on SQLite loads the warehouse."""

import json
import os
import subprocess
import sys
import time

import duckdb
import fixtures as fx
import pytest
from fixture_server import Route


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory, repo_root_for_dags):
    home = tmp_path_factory.mktemp("airflow")
    os.environ.setdefault("AIRFLOW_HOME", str(home))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(repo_root_for_dags / "dags"))
    bag.parse_seconds = time.perf_counter() - started
    return bag


@pytest.fixture(scope="module")
def repo_root_for_dags():
    from conftest import ROOT

    return ROOT


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == {"axiswatch_ingest", "axiswatch_maintenance", "axiswatch_alerts"}


@pytest.mark.parametrize("dag_id", ["axiswatch_ingest", "axiswatch_maintenance", "axiswatch_alerts"])
def test_dags_have_retries_tags_and_single_active_run(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    assert "axiswatch" in dag.tags and dag.max_active_runs == 1 and dag.catchup is False
    assert all(t.retries >= 1 for t in dag.tasks)


def test_ingest_shape(dagbag):
    dag = dagbag.dags["axiswatch_ingest"]
    tasks = {t.task_id: t for t in dag.tasks}
    assert set(tasks) == {"prepare", "fetch_feeds", "plan_pages", "fetch_pages", "load", "tag", "cluster", "index",
                          "publish"}
    writers = {t for t, op in tasks.items() if op.pool == "axiswatch_warehouse"}
    assert writers == {"prepare", "plan_pages", "load", "tag", "cluster", "index", "publish"}  # a DuckDB file
    assert tasks["index"].upstream_task_ids == {"load"} and "index" in tasks["publish"].upstream_task_ids
    assert not any(op.multiple_outputs for op in tasks.values())  # one small XCom per task, not one per key
    assert str(tasks["load"].trigger_rule) in ("all_done", "TriggerRule.ALL_DONE")
    assert [o.name for o in tasks["publish"].outlets] == ["axiswatch_warehouse"]
    assert set(dag.params) >= {"feeds_file", "retag", "retag_since"}
    assert dag.deadline is not None  # the nightly deadline alert...
    [deadline] = dag.deadline if isinstance(dag.deadline, list) else [dag.deadline]
    assert "QueuedAt" in type(deadline.reference).__name__  # ...from when the run was queued, however started


def test_beside_a_lake_the_index_task_takes_no_writer_slot(repo_root_for_dags):
    """On a lake the search index is a file of its own: its task runs beside tag and cluster.
    In a DuckDB file it is inside the warehouse, so the index task holds the writers' pool."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("ingest_dag_for_pools", repo_root_for_dags / "dags/axiswatch_ingest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.index_pool("ducklake") is None
    assert module.index_pool("duckdb") == module.POOL == "axiswatch_warehouse"


def test_dag_folder_parses_fast(dagbag):
    assert dagbag.parse_seconds < 5  # generous bound; the benchmark prints the real figure


def run_dag(repo_root, tmp_path, settings: str, times: int = 1, conf: str = "{}"):
    sys.path.insert(0, str(repo_root / "scripts"))
    from airflow_dag_test import airflow_env

    (tmp_path / "settings.yaml").write_text(settings, encoding="utf-8")
    env = {**os.environ, **airflow_env(tmp_path / "airflow"), "AXISWATCH_CONFIG": str(tmp_path / "settings.yaml"),
           "AXISWATCH_DEADLINE_MINUTES": "0"}
    (tmp_path / "airflow").mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, str(repo_root / "scripts/airflow_dag_test.py"), "axiswatch_ingest", "--times", str(times),
         "--conf", conf],
        env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    runs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(runs) == times, result.stdout[-3000:] + result.stderr[-3000:]
    return runs


def test_ingest_dag_end_to_end_with_a_failing_feed_and_a_rerun(server, tmp_path, repo_root):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml", etag='"v1"'))
    server.add("/ko.xml", Route(fx.EUCKR, content_type="application/rss+xml"))
    server.add("/error.xml", Route("boom", status=500))
    server.add("/broken.xml", Route(fx.MALFORMED, content_type="application/xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    server.add("/pages/ko1.html", Route(fx.page("북한군", ["국가정보원은 북한군 수천 명이 러시아 쿠르스크 전선에 추가로 투입됐다고 국회 정보위원회에 보고했다고 밝혔다."] * 2, "ko")))
    feeds = tmp_path / "feeds.yaml"
    # Batches of two feeds: a good and a broken feed share each fetch_feeds task.
    feeds.write_text("feeds:\n" + "".join(f"  - name: {n}\n    url: {server.url(f'/{n}.xml')}\n" for n in ("rss", "error", "ko", "broken")))
    db = tmp_path / "w.duckdb"
    settings = (f"feeds_file: {feeds}\ndatabase: {db}\nstaging_dir: {tmp_path / 'staging'}\narticle_batch_size: 2\n"
                "feed_batch_size: 2\n"
                "http:\n  allow_networks: ['127.0.0.1/32']\n  retries: 0\n")

    first, second = run_dag(repo_root, tmp_path, settings, times=2)

    assert first["state"] == "success"  # two broken feeds do not fail the night
    summary = first["summary"]
    assert (summary["feeds_ok"], summary["feeds_failed"]) == (2, 2)
    kinds = summary["failures_by_kind"]
    assert kinds["http_status"] == 1 and kinds["not_a_feed"] == 1 and kinds["page_http_status"] == 1, kinds
    assert summary["articles_new"] == 4 and summary["stories_new"] == 4
    assert sum(1 for t in first["tasks"] if t.startswith("fetch_pages[")) == 2  # 4 pages in batches of 2
    feed_tasks = {t: state for t, state in first["tasks"].items() if t.startswith("fetch_feeds[")}
    assert len(feed_tasks) == 2 and set(feed_tasks.values()) == {"success"}, feed_tasks  # broken feeds fail no task
    assert not (tmp_path / "staging").exists() or not any((tmp_path / "staging").iterdir())  # cleaned
    assert 0 < max(first["xcom_bytes"].values()) < 1024, first["xcom_bytes"]  # small values; bulk data is staged

    assert second["state"] == "success" and second["summary"]["articles_new"] == 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM article_clusters").fetchone()[0] == 4
        assert con.execute("SELECT count(DISTINCT tagger_version), count(*) FROM article_tags").fetchone() == (1, 4)
        streaks = dict(con.execute("SELECT name, failure_streak FROM feeds").fetchall())
        assert streaks == {"rss": 0, "ko": 0, "error": 2, "broken": 2}
        runs = con.execute("SELECT status FROM pipeline_runs").fetchall()
        assert runs == [("finished",), ("finished",)]
    finally:
        con.close()


def test_alerts_dag_follows_the_warehouse_asset(dagbag):
    dag = dagbag.dags["axiswatch_alerts"]
    assert "axiswatch_warehouse" in str(dag.timetable.asset_condition)


def test_a_bad_parameter_fails_prepare_alone_and_writes_nothing(server, tmp_path, repo_root):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: rss\n    url: {server.url('/rss.xml')}\n")
    db = tmp_path / "w.duckdb"
    settings = (f"feeds_file: {feeds}\ndatabase: {db}\nstaging_dir: {tmp_path / 'staging'}\n"
                f"reports_dir: {tmp_path / 'reports'}\nhttp:\n  allow_networks: ['127.0.0.1/32']\n")

    [run] = run_dag(repo_root, tmp_path, settings, conf='{"retag": true, "retag_since": "last tuesday"}')

    assert run["state"] == "failed", run
    failed = [t for t, state in run["tasks"].items() if state == "failed"]
    assert failed == ["prepare"], run["tasks"]  # one failed task: one ops alert for one mistake
    assert all(state in ("skipped", "upstream_failed") for t, state in run["tasks"].items() if t != "prepare")
    assert not db.exists() and server.routes["/rss.xml"].hits == 0  # nothing fetched, nothing written


# Columns that name the run or the moment rather than what was stored.
_RUN_COLUMNS = {"run_id", "duration_ms", "host", "pid", "orchestrator", "started_at", "finished_at", "failure"}


def _stored(db) -> dict[str, list]:
    """Every base table's rows, without the columns that differ between any two runs."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        # The full-text index's own tables number terms in the order articles reached it, which
        # differs with the order of page batches; what it answers is compared through search.
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
            " AND table_catalog = current_database() AND table_schema NOT LIKE 'fts_%' ORDER BY 1, 2").fetchall()
        stored = {}
        for schema, table in tables:
            columns = [name for name, kind in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ?"
                " AND table_name = ? AND table_catalog = current_database() ORDER BY ordinal_position",
                [schema, table]).fetchall()
                if name not in _RUN_COLUMNS and not kind.startswith("TIMESTAMP") and name != "errors"]
            rows = con.execute(f'SELECT {", ".join(columns)} FROM "{schema}"."{table}"').fetchall()
            stored[f"{schema}.{table}"] = sorted(map(repr, rows))
        return stored
    finally:
        con.close()


def test_the_command_line_and_the_dag_store_the_same_tables(server, tmp_path, repo_root):
    """The same corpus through `axiswatch run` and through `dag.test()`: every table equal, bar
    the columns that name the run and its moments."""
    from axiswatch.config import load_feeds, load_settings
    from axiswatch.pipeline import run_pass
    from transform.tagging import Tagger

    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml", etag='"v1"'))
    server.add("/ko.xml", Route(fx.EUCKR, content_type="application/rss+xml"))
    server.add("/error.xml", Route("boom", status=500))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    server.add("/pages/markets-copy.html", Route(fx.page("Markets copy", fx.MARKETS)))
    server.add("/pages/ko1.html", Route(fx.page("북한군", ["국가정보원은 북한군 수천 명이 러시아 쿠르스크 전선에 추가로 투입됐다고 국회 정보위원회에 보고했다고 밝혔다."] * 2, "ko")))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - name: {n}\n    url: {server.url(f'/{n}.xml')}\n    crawl_delay: 0.1\n"
                                          for n in ("rss", "ko", "error")))
    settings_text = (f"feeds_file: {feeds}\nstaging_dir: {tmp_path / 'staging'}\nreports_dir: {tmp_path / 'reports'}\n"
                     "article_batch_size: 2\nhttp:\n  allow_networks: ['127.0.0.1/32']\n  retries: 0\n")
    by_dag, by_cli = tmp_path / "dag.duckdb", tmp_path / "cli.duckdb"

    [run] = run_dag(repo_root, tmp_path, settings_text + f"database: {by_dag}\n")
    assert run["state"] == "success", run
    (tmp_path / "cli.yaml").write_text(settings_text, encoding="utf-8")
    settings = load_settings(tmp_path / "cli.yaml")
    summary = run_pass(load_feeds(feeds), by_cli, settings.http.settings(), Tagger.from_file(repo_root / "config/topics.yaml"),
                       settings.workers, reports_dir=tmp_path / "reports")

    dag_tables, cli_tables = _stored(by_dag), _stored(by_cli)
    assert summary.articles_new == run["summary"]["articles_new"] == 4
    assert set(dag_tables) == set(cli_tables)
    for table in sorted(dag_tables):
        assert dag_tables[table] == cli_tables[table], table
    from warehouse.search import search

    def found(db, text):
        con = duckdb.connect(str(db), read_only=True)
        try:
            return sorted(zip(*search(con, text, limit=50).select(["url", "relevance"]).to_pydict().values()))
        finally:
            con.close()

    for text in ("Kursk troops", "markets", "북한군"):
        assert found(by_dag, text) == found(by_cli, text), text


def test_the_task_import_benchmark_covers_every_ingest_task(dagbag):
    from benchmarks.dag_parse import TASK_IMPORTS

    assert set(TASK_IMPORTS) == {t.task_id for t in dagbag.dags["axiswatch_ingest"].tasks}
