"""The Airflow task bodies without Airflow: staging, idempotent load, permanent config errors."""

from pathlib import Path

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


def stage_pages(config, run_id) -> list[str]:
    """prepare -> feed batches -> plan -> page batches, as the DAG runs them; the page batches."""
    for batch in orch.prepare(config, run_id):
        orch.fetch_feed_batch(config, run_id, batch)
    batches = orch.plan_pages(config, run_id)
    for batch in batches:
        orch.fetch_page_batch(config, batch)
    return batches


def fetch_and_load(config, run_id):
    """stage_pages, then the load."""
    stage_pages(config, run_id)
    return orch.load_run(config, run_id)


def run_all(config, run_id):
    loaded = fetch_and_load(config, run_id)
    orch.tag_run(config, run_id)
    orch.cluster_run(config, run_id)
    orch.publish_run(config, run_id)
    return loaded


def test_tasks_in_order_then_a_cleared_load_is_a_no_op(config, tmp_path):
    run_id = "scheduled__2026-11-26T02:00:00+00:00"
    loaded = fetch_and_load(config, run_id)
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
    orch.prepare(config, run_id)  # fetch_feeds never ran (say, the worker was killed)
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
    for batch in orch.prepare(config, run_id):
        orch.fetch_feed_batch(config, run_id, batch)
    assert len(orch.plan_pages(config, run_id)) == 1  # one page, in one batch
    for batch in orch.plan_pages(config, run_id):
        orch.fetch_page_batch(config, batch)
    loaded = orch.load_run(config, run_id)
    assert loaded["articles_new"] == 1
    assert orch.run_summary(config, run_id)["failures_by_kind"].get("entries_deferred") == 1
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert con.execute("SELECT entries, entries_deferred FROM feed_fetches").fetchone() == (3, 2)
    assert con.execute("SELECT coalesce(body_hash, '') FROM feeds").fetchone() == ("",)  # read again next run


@pytest.mark.parametrize("count,size", [(0, 5), (1, 5), (5, 5), (6, 5), (318, 250), (500, 50), (501, 50)])
def test_batches_cover_every_item_once_in_even_batches_of_at_most_size(count, size):
    parts = orch.batches(count, size)
    assert [i for part in parts for i in part] == list(range(count))
    assert len(parts) == -(-count // size)  # as few batches as the size allows
    lengths = [len(p) for p in parts]
    assert all(n <= size for n in lengths) and (not lengths or max(lengths) - min(lengths) <= 1)


def test_a_failing_feed_fails_only_itself_inside_its_batch(config, server, tmp_path):
    """One batch of four feeds, two of them broken: the batch task succeeds, the two good feeds
    load, each broken one is recorded with its own error kind, and the XCom stays small."""
    import json

    server.add("/error.xml", Route("boom", status=500))
    server.add("/broken.xml", Route(fx.MALFORMED, content_type="application/xml"))
    server.add("/ko.xml", Route(fx.EUCKR, content_type="application/rss+xml"))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - name: {n}\n    url: {server.url(f'/{n}.xml')}\n"
                                          for n in ("rss", "error", "ko", "broken")))
    run_id = "manual__batched"
    assert orch.prepare(config, run_id) == [0]  # four feeds, feed_batch_size 125: one batch
    fetched = orch.fetch_feed_batch(config, run_id, 0)
    assert (fetched["feeds"], fetched["ok"], fetched["failed"]) == (4, 2, 2)
    assert set(fetched["errors"]) == {"error", "broken"} and fetched["more_errors"] == 0
    assert fetched["errors"]["error"].startswith("http_status")
    assert len(json.dumps(fetched)) < 1024
    for batch in orch.plan_pages(config, run_id):
        orch.fetch_page_batch(config, batch)
    loaded = orch.load_run(config, run_id)
    assert (loaded["feeds_ok"], loaded["feeds_failed"]) == (2, 2)
    kinds = orch.run_summary(config, run_id)["failures_by_kind"]
    assert kinds["http_status"] == 1 and kinds["not_a_feed"] == 1, kinds


def test_feed_batches_follow_the_setting_and_a_retried_batch_fetches_only_what_is_missing(config, server, tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text(path.read_text() + "feed_batch_size: 2\n")
    for n in range(5):
        server.add(f"/f{n}.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n" + "".join(f"  - name: f{n}\n    url: {server.url(f'/f{n}.xml')}\n" for n in range(5)))
    run_id = "manual__retried"
    assert orch.prepare(config, run_id) == [0, 1, 2]  # five feeds in batches of 1, 2 and 2
    first = orch.fetch_feed_batch(config, run_id, 1)  # f1 and f2
    assert first["feeds"] == 2 and first["ok"] == 2
    assert [server.routes[f"/f{n}.xml"].hits for n in range(5)] == [0, 1, 1, 0, 0]
    staged = orch.run_folder(orch.settings_for(config), run_id) / "feeds"
    (staged / "f2.json").unlink()  # as if the worker died after staging f1 only
    again = orch.fetch_feed_batch(config, run_id, 1)  # ...and the task's retry runs
    assert again == first
    assert [server.routes[f"/f{n}.xml"].hits for n in range(5)] == [0, 1, 2, 0, 0]
    with pytest.raises(orch.PlanMissing):
        orch.fetch_feed_batch(config, run_id, 3)


def test_many_failing_feeds_keep_the_batch_xcom_under_1_kb(config, server, tmp_path):
    import json

    feeds = tmp_path / "feeds.yaml"
    names = [f"a-feed-with-a-long-name-{'x' * 40}-{n}" for n in range(30)]
    feeds.write_text("feeds:\n" + "".join(f"  - name: {name}\n    url: {server.url(f'/gone-{n}.xml')}\n"
                                          for n, name in enumerate(names)))
    run_id = "manual__dead"
    [batch] = orch.prepare(config, run_id)
    fetched = orch.fetch_feed_batch(config, run_id, batch)
    assert fetched["failed"] == 30 and fetched["errors"]
    assert len(fetched["errors"]) + fetched["more_errors"] == 30
    assert len(json.dumps(fetched)) < 1024


def test_tags_and_events_made_in_the_page_tasks_equal_those_made_late(config, tmp_path):
    """The page tasks tag new articles where they are extracted and stage the tags; the tag task
    stores those instead of reading the articles back. The stored tags must be the ones the tag
    task would have made itself: the same corpus with the early files removed stores the same."""
    import shutil

    late_config = tmp_path / "late.yaml"
    late_config.write_text(Path(config).read_text().replace("w.duckdb", "late.duckdb")
                           .replace("/staging", "/late-staging"))
    stored = {}
    for cfg, name in ((config, "early"), (str(late_config), "late")):
        run_id = f"manual__{name}"
        stage_pages(cfg, run_id)
        folder = orch.run_folder(orch.settings_for(cfg), run_id)
        early = orch._early(folder, "tags")["tags"]
        if name == "late":
            shutil.rmtree(folder / "early")
            assert orch._early(folder, "tags")["tags"] == {}
        else:
            assert len(early) == 3  # every new article, its page fetched or not (a 404 is tagged from its entry)
        orch.load_run(cfg, run_id)
        tagged = orch.tag_run(cfg, run_id)
        orch.cluster_run(cfg, run_id)
        con = duckdb.connect(str(orch.settings_for(cfg).database), read_only=True)
        try:
            stored[name] = (tagged["tagged"], tagged["axis_new"], con.execute(
                "SELECT article_id, is_axis, score, countries, topics, matches, tagger_version FROM article_tags"
                " ORDER BY article_id").fetchall(), con.execute("SELECT count(*) FROM supply_event_scans").fetchone())
        finally:
            con.close()
    assert stored["early"] == stored["late"]
    assert stored["early"][0] == 3


def _stored_hashes(config) -> list[tuple[str, str, str]]:
    """(id, stored content hash, the hash made again from the stored row) of every article."""
    from transform.fingerprint import content_hash

    con = duckdb.connect(str(orch.settings_for(config).database), read_only=True)
    try:
        rows = con.execute("SELECT id, content_hash, title, text, summary FROM articles ORDER BY id").fetchall()
    finally:
        con.close()
    return [(i, stored, content_hash(title, text, summary)) for i, stored, title, text, summary in rows]


def test_the_load_takes_the_content_hashes_the_page_tasks_made(config, monkeypatch):
    """The page tasks stage each article's content hash; the load stores those (it hashes no
    text itself), and they equal the hash made again from the stored title, text and summary."""
    import transform.articles

    run_id = "manual__hashes"
    stage_pages(config, run_id)
    folder = orch.run_folder(orch.settings_for(config), run_id)
    assert len(orch._early(folder, "hashes")["hashes"]) == 3

    def hashed_again(*args):
        raise AssertionError("the load hashed an article the page task had hashed")

    with monkeypatch.context() as patched:
        patched.setattr(transform.articles, "content_hash", hashed_again)
        orch.load_run(config, run_id)
    stored = _stored_hashes(config)
    assert len(stored) == 3
    assert all(hash_ == again for _, hash_, again in stored)


def test_early_files_of_the_one_file_per_batch_layout_are_still_read(config):
    """A run staged before each kind had its own file (one early file per batch, every kind in
    it, no hashes) is read the same: the tasks take what it has and make the hashes late."""
    import shutil

    from axiswatch import staging

    run_id = "manual__older"
    batches = stage_pages(config, run_id)
    folder = orch.run_folder(orch.settings_for(config), run_id)
    kinds = ("tags", "events", "signatures")
    made = orch._early(folder, *kinds)
    assert all(made[kind] for kind in ("tags", "signatures"))
    for batch in batches:
        name = Path(batch).name
        staging.write_json(folder / "early" / name,
                           {kind: staging.read_json(folder / "early" / kind / name) for kind in kinds})
    for kind in orch.EARLY_KINDS:
        shutil.rmtree(folder / "early" / kind)
    assert orch._early(folder, *kinds) == made
    assert orch._early(folder, "hashes") == {"hashes": {}}
    orch.load_run(config, run_id)
    assert all(hash_ == again for _, hash_, again in _stored_hashes(config))


def test_a_page_task_killed_after_its_pages_leaves_no_early_file_of_an_earlier_attempt(config, monkeypatch):
    """A retried page task removes the early file an earlier attempt staged before it stages its
    own pages: killed between the pages and the early file, it leaves nothing made early, so the
    load hashes (and the tag task tags) its articles itself instead of taking another attempt's."""
    from axiswatch import staging

    run_id = "manual__retried"
    batches = stage_pages(config, run_id)
    folder = orch.run_folder(orch.settings_for(config), run_id)
    early_file = folder / "early" / "hashes" / Path(batches[0]).name
    made = staging.read_json(early_file)
    staging.write_json(early_file, {url: "0" * 64 for url in made})  # an attempt whose pages differed

    real_write = staging.write_json

    def killed_after_pages(path, data):
        if path.parent.parent.name == "early":
            raise KeyboardInterrupt("killed")
        return real_write(path, data)

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(staging, "write_json", killed_after_pages)
        orch.fetch_page_batch(config, batches[0])
    assert not early_file.exists()
    orch.load_run(config, run_id)
    stored = _stored_hashes(config)
    assert len(stored) == 3
    assert all(hash_ == again for _, hash_, again in stored)


def test_the_index_task_refreshes_the_index_when_the_load_changed_articles(config, tmp_path):
    from warehouse.search import search

    run_id = "manual__indexed"
    loaded = fetch_and_load(config, run_id)
    orch.tag_run(config, run_id)
    assert orch.index_run(config, run_id, loaded) == {"refreshed": True}
    orch.cluster_run(config, run_id)
    orch.publish_run(config, run_id, indexed=True)
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert search(con, "Kursk troops", limit=5).column("url").to_pylist()[0].endswith("/pages/troops.html")
    finally:
        con.close()
    quiet = "manual__quiet"
    for batch in orch.prepare(config, quiet):
        orch.fetch_feed_batch(config, quiet, batch)
    orch.plan_pages(config, quiet)
    assert orch.index_run(config, quiet, orch.load_run(config, quiet)) == {"refreshed": False}


def test_cluster_task_takes_the_signatures_the_page_tasks_staged(config, monkeypatch):
    """The page tasks' extraction workers make each new article's story signature and stage it;
    the cluster task makes none itself, and what it takes is the signature of the stored row."""
    from signature_spy import STORED_ROWS, SignatureSpy, assert_signatures_of_rows

    from axiswatch.config import Settings

    run_id = "manual__signatures"
    fetch_and_load(config, run_id)
    orch.tag_run(config, run_id)
    spy = SignatureSpy(monkeypatch)
    assert orch.cluster_run(config, run_id)["clustered"] == 3
    assert spy.made_here == []
    con = duckdb.connect(str(Path(orch.settings_for(config).database)), read_only=True)
    try:
        rows = con.execute(STORED_ROWS).fetchall()
    finally:
        con.close()
    assert_signatures_of_rows(spy.handed[0], rows, Settings().clusters)


def test_a_signature_staged_by_another_version_is_made_again():
    """A staged signature whose MinHash length differs from this code's is not used."""
    import numpy as np

    from axiswatch.staging import signature_from_dict, signature_to_dict
    from transform.clusters import NUM_PERM, Signature

    sig = Signature(np.arange(NUM_PERM, dtype=np.uint32) * 7919, None, frozenset({"kursk"}), "u", head=5, caption=True)
    back = signature_from_dict(signature_to_dict(sig))
    assert np.array_equal(back.lede, sig.lede) and back.text is None and back.lede.dtype == np.uint32
    assert (back.title_tokens, back.url, back.head, back.caption) == (sig.title_tokens, "u", 5, True)
    short = signature_to_dict(Signature(np.arange(64, dtype=np.uint32), None, frozenset(), "u"))
    assert signature_from_dict(short) is None


def test_feed_and_page_tasks_collect_garbage_as_seldom_as_a_night_does(config, monkeypatch):
    """The feed and page tasks build a night's heap as ``axiswatch run`` does, and run with its
    collector thresholds (restored after)."""
    import gc

    from axiswatch import steps
    from axiswatch.collection import NIGHT_THRESHOLDS

    before = gc.get_threshold()
    seen = []
    for name in ("fetch_feeds", "fetch_pages"):
        real = getattr(steps, name)

        def spy(*args, _real=real, **kwargs):
            seen.append(gc.get_threshold())
            return _real(*args, **kwargs)

        monkeypatch.setattr(steps, name, spy)
    assert fetch_and_load(config, "gc-run")["articles_new"] == 3
    assert seen == [NIGHT_THRESHOLDS, NIGHT_THRESHOLDS] and gc.get_threshold() == before
