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
    assert set(tasks) == {"prepare", "fetch_feed", "plan_pages", "fetch_pages", "load", "tag_and_cluster", "publish"}
    writers = {t for t, op in tasks.items() if op.pool == "axiswatch_warehouse"}
    assert writers == {"prepare", "plan_pages", "load", "tag_and_cluster"}
    assert str(tasks["load"].trigger_rule) in ("all_done", "TriggerRule.ALL_DONE")
    assert [o.name for o in tasks["publish"].outlets] == ["axiswatch_warehouse"]
    assert set(dag.params) >= {"feeds_file", "retag", "retag_since"}
    assert dag.deadline is not None  # the nightly deadline alert


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
    feeds.write_text("feeds:\n" + "".join(f"  - name: {n}\n    url: {server.url(f'/{n}.xml')}\n" for n in ("rss", "ko", "error", "broken")))
    db = tmp_path / "w.duckdb"
    settings = (f"feeds_file: {feeds}\ndatabase: {db}\nstaging_dir: {tmp_path / 'staging'}\narticle_batch_size: 2\n"
                "http:\n  allow_networks: ['127.0.0.1/32']\n  retries: 0\n")

    first, second = run_dag(repo_root, tmp_path, settings, times=2)

    assert first["state"] == "success"  # two broken feeds do not fail the night
    summary = first["summary"]
    assert (summary["feeds_ok"], summary["feeds_failed"]) == (2, 2)
    kinds = summary["failures_by_kind"]
    assert kinds["http_status"] == 1 and kinds["not_a_feed"] == 1 and kinds["page_http_status"] == 1, kinds
    assert summary["articles_new"] == 4 and summary["stories_new"] == 4
    assert sum(1 for t in first["tasks"] if t.startswith("fetch_pages[")) == 2  # 4 pages in batches of 2
    assert not (tmp_path / "staging").exists() or not any((tmp_path / "staging").iterdir())  # cleaned

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
