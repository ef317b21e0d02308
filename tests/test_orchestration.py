"""The Airflow task bodies without Airflow: staging, idempotent load, permanent config errors."""

import duckdb
import fixtures as fx
import pytest
from fixture_server import Route

from axiswatch import orchestration as orch
from axiswatch.config import ConfigError


@pytest.fixture
def config(server, tmp_path, monkeypatch, repo_root):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: rss\n    url: {server.url('/rss.xml')}\n")
    path = tmp_path / "settings.yaml"
    path.write_text(f"feeds_file: {feeds}\ndatabase: {tmp_path / 'w.duckdb'}\nstaging_dir: {tmp_path / 'staging'}\n"
                    "http:\n  allow_networks: ['127.0.0.1/32']\n  retries: 0\n")
    monkeypatch.setenv("AXISWATCH_HOME", str(repo_root))
    return str(path)


def run_all(config, run_id):
    names = orch.prepare(config, run_id)
    for name in names:
        orch.fetch_one_feed(config, run_id, name)
    for batch in orch.plan_pages(config, run_id):
        orch.fetch_page_batch(config, batch)
    loaded = orch.load_run(config, run_id)
    orch.tag_run(config, run_id)
    orch.cluster_run(config, run_id)
    orch.publish_run(config, run_id)
    return loaded


def test_tasks_in_order_then_a_cleared_load_is_a_no_op(config, tmp_path):
    run_id = "scheduled__2026-11-26T02:00:00+00:00"
    names = orch.prepare(config, run_id)
    for name in names:
        orch.fetch_one_feed(config, run_id, name)
    for batch in orch.plan_pages(config, run_id):
        orch.fetch_page_batch(config, batch)
    loaded = orch.load_run(config, run_id)
    assert loaded["articles_new"] == 3 and not loaded["already_loaded"]
    again = orch.load_run(config, run_id)
    assert again["already_loaded"] and again["articles_new"] == 0
    orch.tag_run(config, run_id)
    orch.cluster_run(config, run_id)
    orch.publish_run(config, run_id)
    summary = orch.run_summary(config, run_id)
    assert summary["status"] == "finished" and summary["failures_by_kind"] == {"page_http_status": 1}
    orch.clean_staging(config, "scheduled__2026-11-26T02:00:00+00:00")
    assert not any((tmp_path / "staging").iterdir())
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == 3


def test_snapshot_is_recopied_only_when_a_run_stored_something(config, tmp_path):
    snapshot = tmp_path / "w.snapshot.duckdb"
    run_all(config, "manual__first")
    first = snapshot.stat().st_mtime_ns
    run_all(config, "manual__quiet")  # same feed and pages: nothing new to store
    assert snapshot.stat().st_mtime_ns == first
    snapshot.unlink()
    run_all(config, "manual__quiet_again")
    assert snapshot.exists()  # none yet: always written


def test_a_feed_task_that_died_is_reported_and_the_rest_loads(config, server, tmp_path):
    run_id = "manual__x"
    orch.prepare(config, run_id)  # fetch_feed never ran (say, the worker was killed)
    assert orch.plan_pages(config, run_id) == []
    loaded = orch.load_run(config, run_id)
    assert loaded["feeds_failed"] == 1 and loaded["errors"] == 1
    assert orch.run_summary(config, run_id)["failures_by_kind"] == {"task": 1}


def test_bad_config_is_a_permanent_error(tmp_path, monkeypatch):
    bad = tmp_path / "settings.yaml"
    bad.write_text("workers: many\n")
    with pytest.raises(ConfigError, match="workers"):
        orch.prepare(str(bad), "r")
    with pytest.raises(ConfigError, match="not found"):
        orch.settings_for(str(tmp_path / "missing.yaml"))


def test_entries_staged_by_an_older_version_with_raw_fields_as_a_dict_still_load():
    from axiswatch.staging import entry_from_dict, entry_to_dict

    old = entry_from_dict({"feed": "f", "outlet": "o", "link": "https://x.example/a", "raw": {"title": "Ωμέγα"}})
    assert old.raw == '{"title": "Ωμέγα"}'
    assert entry_from_dict(entry_to_dict(old)) == old


def test_deferred_entries_reach_the_load_through_staging(config, tmp_path):
    """Under Airflow the plan and the load are different tasks: the deferral survives between."""
    path = tmp_path / "settings.yaml"
    path.write_text(path.read_text() + "feed:\n  max_entries: 1\n")
    run_id = "manual__capped"
    for name in orch.prepare(config, run_id):
        orch.fetch_one_feed(config, run_id, name)
    assert len(orch.plan_pages(config, run_id)) == 1  # one page, in one batch
    for batch in orch.plan_pages(config, run_id):
        orch.fetch_page_batch(config, batch)
    loaded = orch.load_run(config, run_id)
    assert loaded["articles_new"] == 1
    assert orch.run_summary(config, run_id)["failures_by_kind"].get("entries_deferred") == 1
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT entries, entries_deferred FROM feed_fetches").fetchone() == (3, 2)
    assert con.execute("SELECT coalesce(body_hash, '') FROM feeds").fetchone() == ("",)  # read again next run
