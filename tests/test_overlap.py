"""Articles built and tagged in the extraction workers: the night stores those articles and writes
those tags instead of tagging after the load, so they must be the very tags the tag step would
make from the stored rows."""

import json
import os

import fixtures as fx
from fixture_server import Route
from signature_spy import assert_same_signature

import ingest.articles
import warehouse.rows
import warehouse.tags
from axiswatch.pipeline import run_pass
from ingest.articles import Download, PageExtractor, extract_html
from ingest.records import Entry, FeedSource
from transform.early_tags import TagOnExtract
from transform.settings import ClusterSettings
from transform.supply_events import SupplyEventExtractor
from transform.tagging import Tagger
from warehouse.db import connect

STORIES = [
    ("North Korean troops reach Kursk", fx.TROOPS, "en"),
    ("Asian markets rise", fx.MARKETS, "en"),
    ("КНДР передала России снаряды", ["КНДР передала России снаряды и ракеты, сообщила разведка Украины, ссылаясь на спутниковые снимки порта Раджин."] * 2, "ru"),
    ("북한군, 러시아 쿠르스크 전선 투입", ["국가정보원은 북한군 수천 명이 러시아 쿠르스크 전선에 추가로 투입됐다고 국회 정보위원회에 보고했다고 밝혔다."] * 2, "ko"),
]


def _pages(count: int) -> list[tuple[str, str]]:
    """``count`` distinct pages cycling through the stories (a number keeps each text its own)."""
    out = []
    for i in range(count):
        title, paragraphs, lang = STORIES[i % len(STORIES)]
        out.append((f"{title} {i}", fx.page(f"{title} {i}", [f"{p} ({i})" for p in paragraphs], lang)))
    return out


def _downloads(count: int) -> list[Download]:
    """``count`` downloaded pages of the stories, as the page fetch hands them to extraction."""
    return [Download(f"http://example.test/{i}", body.encode(), f"http://example.test/{i}", 200)
            for i, (_, body) in enumerate(_pages(count))]


def _extracted(count: int) -> tuple[list[tuple[str, object]], dict[str, Entry]]:
    """``count`` extracted pages of the stories by URL, and the feed entries that list them."""
    pages = [(f"http://example.test/{i}", extract_html(body, source="x")) for i, (_, body) in enumerate(_pages(count))]
    return pages, {url: Entry(feed="f", outlet="o", link=url, title=page.title) for url, page in pages}


def _where_and_title(pages: list) -> list[tuple[int, str]]:
    if any("boom" in url for url, _ in pages):
        raise RuntimeError("deriving failed")
    return [(os.getpid(), page.title) for _, page in pages]


def test_derive_runs_in_the_extraction_workers_and_a_failing_derive_gives_nothing():
    downloads = _downloads(12)
    downloads.append(Download("http://example.test/boom", _pages(1)[0][1].encode(), "http://example.test/boom", 200))
    with PageExtractor(workers=2, expected=len(downloads), derive=_where_and_title) as extractor:
        for download in downloads:
            extractor.submit(download)
        results = extractor.results()
        derived = extractor.derived
    assert len(results) == 13
    assert set(derived) == {d.url for d in downloads[:12]}  # the failing one has no value, its page is fine
    assert all(pid != os.getpid() for pid, _ in derived.values())
    assert all(derived[url][1] == results[url].title for url in derived)


def test_a_batch_is_all_extracted_then_identified_then_derived(monkeypatch):
    """Alternating trafilatura, the language model and the deriver page by page evicts each
    one's data from the core's caches at every page; a batch runs each for all its pages in
    turn, and every page comes out as it does alone."""
    extracted: list[str] = []
    real_text, real_language = ingest.articles._download_text, ingest.articles.detect_language

    def counting(download, *args):
        extracted.append(download.url)
        return real_text(download, *args)

    seen_at_language: list[int] = []

    def language(*args):
        seen_at_language.append(len(extracted))
        return real_language(*args)

    seen_at_derive: list[int] = []

    def derive(pages):
        seen_at_derive.append(len(extracted))
        return [page.language for _, page in pages]  # the tagger takes it as identified

    downloads = _downloads(5)
    alone = [ingest.articles._extract_download(d) for d in downloads]
    monkeypatch.setattr(ingest.articles, "_download_text", counting)
    monkeypatch.setattr(ingest.articles, "detect_language", language)
    monkeypatch.setitem(ingest.articles._DERIVERS, -1, derive)
    pairs = ingest.articles._extract_batch(downloads, deriver=-1)
    assert seen_at_language == [5] * 5
    assert seen_at_derive == [5]
    assert [page for page, _ in pairs] == alone
    assert [page.language for page in alone] == ["en", "en", "ru", "ko", "en"]
    assert [derived for _, derived in pairs] == [page.language for page in alone]


def test_a_batch_derived_phase_by_phase_equals_its_pages_derived_one_by_one(repo_root):
    """A batch derived at once (phase by phase: build, tag, read, sign) gives each page what it
    gets derived alone, and of two pages with one text only the first is tagged."""
    tagger = Tagger.from_file(repo_root / "config" / "topics.yaml")
    events = SupplyEventExtractor.from_file()
    pages, entries = _extracted(6)
    pages.append(("http://example.test/copy", pages[0][1]))  # the first page's text again
    entries["http://example.test/copy"] = Entry(feed="f", outlet="o", link="http://example.test/copy",
                                                title=pages[0][1].title)

    def derive() -> TagOnExtract:
        return TagOnExtract(entries, tagger, events=events, clusters=ClusterSettings())

    batch = derive()(pages)
    alone = derive()
    one_by_one = [alone([pair])[0] for pair in pages]
    for mine, theirs in zip(batch, one_by_one, strict=True):
        assert (mine.article, mine.tag, mine.events) == (theirs.article, theirs.tag, theirs.events)
        assert (mine.signature is None) == (theirs.signature is None)
        if mine.signature is not None:
            assert_same_signature(mine.signature, theirs.signature)
    assert [early.tag is not None for early in batch] == [True] * 6 + [False]
    assert [early.tag.is_axis for early in batch[:6]] == [True, False, True, True, True, False]
    assert [None if early.events is None else [(e.supplier, e.item, e.recipient) for e in early.events]
            for early in batch] == [
        [("north_korea", "troops", "russia")], None,
        [("north_korea", "munitions", "russia"), ("north_korea", "missiles", "russia")], [],
        [("north_korea", "troops", "russia")], None, None]
    assert [early.signature is not None for early in batch] == [True] * 6 + [False]


def test_a_tagger_failing_on_one_page_of_a_batch_costs_only_that_pages_tag(repo_root):
    """The batch's other pages keep their tags, events and signatures; the failing page keeps its
    article (the tag step tags it from the stored row)."""
    tagger = Tagger.from_file(repo_root / "config" / "topics.yaml")

    class FailsOnPage2:
        def tag(self, id, title, *args, **kwargs):
            if title.endswith(" 2"):
                raise RuntimeError("tagger failed")
            return tagger.tag(id, title, *args, **kwargs)

    pages, entries = _extracted(5)
    derive = TagOnExtract(entries, FailsOnPage2(), events=SupplyEventExtractor.from_file(), clusters=ClusterSettings())
    batch = derive(pages)
    assert [early.article.canonical_url for early in batch] == [url for url, _ in pages]
    assert [early.tag is not None for early in batch] == [True, True, False, True, True]
    assert [early.events is not None for early in batch] == [True, False, False, True, True]  # axis ones
    assert all(early.signature is not None for early in batch)


def _count_pretagged(monkeypatch) -> list[int]:
    """How many tags made at extraction each call of the tag step was handed, in a list that
    fills as the night runs."""
    handed: list[int] = []
    real = warehouse.tags.tag_stored

    def spy(*args, pretagged=None, **kwargs):
        handed.append(len(pretagged or {}))
        return real(*args, pretagged=pretagged, **kwargs)

    monkeypatch.setattr(warehouse.tags, "tag_stored", spy)
    return handed


def test_the_night_writes_the_tags_made_at_extraction_and_they_equal_tags_of_the_stored_rows(
        server, fast_http, repo_root, tmp_path, monkeypatch):
    items = []
    for i, (title, body) in enumerate(_pages(12)):
        link = server.add(f"/pages/{i}.html", Route(body))
        items.append(f"<item><title>{title}</title><link>{link}</link><description>Summary {i}.</description></item>")
    sources = _serve_feed(server, items)
    handed = _count_pretagged(monkeypatch)
    built_here = []
    real_build = warehouse.rows.build_article
    monkeypatch.setattr(warehouse.rows, "build_article", lambda *a: built_here.append(a) or real_build(*a))
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    db = tmp_path / "w.duckdb"
    summary = run_pass(sources, db, fast_http, tagger, workers=4)

    assert summary.articles_new == 12  # the short pages are kept as summary-only articles, tagged too
    assert handed == [12]  # every new article's tag was made at extraction
    assert built_here == []  # ...and its article built there: the load stores those
    stored = _stored_tags_equal_fresh_ones(db, tagger)
    assert len(stored) == 12 and summary.axis_new == sum(s[0] for s in stored.values()) > 0


def _stored_tags_equal_fresh_ones(db, tagger) -> dict:
    """The stored tags by article, each checked equal to the tagger's own tag of the stored row
    (the language identified again)."""
    con = connect(db, read_only=True)
    try:
        stored = {row[0]: row[1:] for row in con.execute(
            "SELECT article_id, is_axis, score, countries, topics, matches FROM article_tags").fetchall()}
        rows = con.execute("SELECT id, title, text, summary, language FROM articles").fetchall()
    finally:
        con.close()
    for row in rows:
        again = tagger.tag(*row)
        assert stored[row[0]] == (again.is_axis, again.score, again.countries, again.topics,
                                  json.dumps(again.matches, ensure_ascii=False)), row[1]
    return stored


def _serve_feed(server, items: list[str]) -> list[FeedSource]:
    """One RSS feed of these items, served at /f.xml."""
    server.add("/f.xml", Route(f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{"".join(items)}'
                               "</channel></rss>", content_type="application/rss+xml"))
    return [FeedSource(name="f", url=server.url("/f.xml"))]


def _one_feed_site(server, pages: int = 3) -> list[FeedSource]:
    items = []
    for i, (title, body) in enumerate(_pages(pages)):
        link = server.add(f"/p/{i}.html", Route(body))
        items.append(f"<item><title>{title}</title><link>{link}</link></item>")
    return _serve_feed(server, items)


def test_the_index_refreshed_beside_clustering_finds_the_new_articles(server, fast_http, repo_root, tmp_path):
    from warehouse.search import search

    db = tmp_path / "w.duckdb"
    run_pass(_one_feed_site(server), db, fast_http, Tagger.from_file(repo_root / "config/topics.yaml"), workers=4)
    con = connect(db, read_only=True)
    try:
        titles = search(con, "Kursk").column("title").to_pylist()
    finally:
        con.close()
    assert titles == ["North Korean troops reach Kursk 0"]  # the one page of three that names Kursk


def test_the_report_rendered_beside_the_index_is_the_published_runs_report(server, fast_http, repo_root, tmp_path):
    """Rendered from the warehouse while the index is built, saved once the run is published: the
    same page as the report rendered afterwards from the run's snapshot."""
    import re

    from warehouse.report import publish_run_report
    from warehouse.snapshot import newest_snapshot

    db = tmp_path / "w.duckdb"
    summary = run_pass(_one_feed_site(server), db, fast_http, Tagger.from_file(repo_root / "config/topics.yaml"),
                       workers=4, reports_dir=tmp_path / "reports")
    written = (tmp_path / "reports" / "latest.html").read_text(encoding="utf-8")
    con = connect(db, read_only=True)
    try:
        (started,) = con.execute("SELECT started_at FROM pipeline_runs WHERE run_id = ?", [summary.run_id]).fetchone()
    finally:
        con.close()
    again = publish_run_report(newest_snapshot(db), tmp_path / "again", summary.run_id, started).read_text(encoding="utf-8")

    def generated(html: str) -> str:
        return re.sub(r"Generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "Generated", html)

    assert "North Korean troops reach Kursk 0" in written
    assert generated(written) == generated(again)


def test_a_snapshot_that_fails_leaves_no_report(server, fast_http, repo_root, tmp_path, monkeypatch):
    """The report rendered while the index was built is saved only once the run is published."""
    import pytest

    import warehouse.snapshot

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(warehouse.snapshot, "publish_snapshot", broken)
    with pytest.raises(OSError, match="disk full"):
        run_pass(_one_feed_site(server), tmp_path / "w.duckdb", fast_http,
                 Tagger.from_file(repo_root / "config/topics.yaml"), workers=4, reports_dir=tmp_path / "reports")
    assert not list((tmp_path / "reports").glob("*.html"))


def test_an_index_that_fails_fails_the_run_and_leaves_no_report(server, fast_http, repo_root, tmp_path, monkeypatch):
    import pytest

    import warehouse.search
    from warehouse.runs import recent_runs

    def broken(*args, **kwargs):
        raise RuntimeError("index broke")

    monkeypatch.setattr(warehouse.search, "refresh_index", broken)
    db = tmp_path / "w.duckdb"
    with pytest.raises(RuntimeError, match="index broke"):
        run_pass(_one_feed_site(server), db, fast_http, Tagger.from_file(repo_root / "config/topics.yaml"), workers=4,
                 reports_dir=tmp_path / "reports")
    assert not list((tmp_path / "reports").glob("*.html"))  # rendered while the index was built, never saved
    con = connect(db, read_only=True)
    try:
        run = recent_runs(con, 1)[0]
    finally:
        con.close()
    assert run["status"] == "failed" and "index broke" in run["failure"]


def test_supply_events_read_at_extraction_are_stored_and_equal_a_fresh_read(server, fast_http, repo_root, tmp_path,
                                                                             monkeypatch):
    from transform.supply_events import SupplyEventExtractor

    read_here = []
    real = SupplyEventExtractor.extract

    def counted(self, *args, **kwargs):
        read_here.append(os.getpid())  # the workers' calls land in their own copy of this list
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SupplyEventExtractor, "extract", counted)
    db = tmp_path / "w.duckdb"
    run_pass(_one_feed_site(server, pages=12), db, fast_http, Tagger.from_file(repo_root / "config/topics.yaml"),
             workers=4)
    con = connect(db, read_only=True)
    try:
        stored = sorted(con.execute("SELECT article_id, supplier, item, recipient, evidence FROM article_supply_events"
                                    ).fetchall())
        scanned = {r[0] for r in con.execute("SELECT article_id FROM supply_event_scans").fetchall()}
        rows = con.execute("SELECT a.id, coalesce(title, ''), coalesce(summary, ''), coalesce(text, ''),"
                           " coalesce(language, '') FROM articles a JOIN article_tags t ON t.article_id = a.id"
                           " WHERE t.is_axis").fetchall()
    finally:
        con.close()
    assert read_here == []  # every axis article was read where its page was extracted
    assert scanned == {r[0] for r in rows} and len(rows) >= 6
    extractor = SupplyEventExtractor.from_file()
    again = sorted((r[0], e.supplier, e.item, e.recipient, e.evidence) for r in rows for e in real(extractor, *r[1:]))
    assert stored == again and stored  # the Russian shells story names a supplier, an item and a recipient


def test_story_signatures_made_at_extraction_equal_signatures_of_the_stored_rows(server, fast_http, repo_root,
                                                                                  tmp_path, monkeypatch):
    """The cluster step takes each new article's signature from its extraction worker instead of
    making it again; it must be the very signature the stored row gives."""
    from signature_spy import STORED_ROWS, SignatureSpy, assert_signatures_of_rows

    import warehouse.clusters
    from axiswatch.config import Settings

    spy = SignatureSpy(monkeypatch)
    db = tmp_path / "w.duckdb"
    run_pass(_one_feed_site(server, pages=12), db, fast_http, Tagger.from_file(repo_root / "config/topics.yaml"),
             workers=4)
    con = connect(db, read_only=True)
    try:
        docs = warehouse.clusters.unclustered(con)  # none: every article has its story
        stored = con.execute("SELECT count(*) FROM article_clusters").fetchone()[0]
        rows = con.execute(STORED_ROWS).fetchall()
    finally:
        con.close()
    assert docs == [] and stored == len(rows) >= 12
    assert spy.made_here == []  # every article's signature came from its extraction worker
    assert_signatures_of_rows(spy.handed[0], rows, Settings().clusters)


def _site_with_copies(server, pages: int = 8, copies: int = 4) -> list[FeedSource]:
    """``pages`` distinct stories, then ``copies`` pages that each carry one of them word for word
    under their own address and headline (syndication), listed after the originals: copies of
    the English ones, long enough to be identified by their text alone."""
    items = []
    stories = _pages(pages)
    for i, (title, body) in enumerate(stories):
        link = server.add(f"/p/{i}.html", Route(body))
        items.append(f"<item><title>{title}</title><link>{link}</link></item>")
    english = [i for i in range(pages) if STORIES[i % len(STORIES)][2] == "en"]
    for j in english[:copies]:
        title, body = stories[j]
        link = server.add(f"/copy/{j}.html", Route(body.replace(f"<h1>{title}</h1>", "").replace(title, f"Wire copy {j}")))
        items.append(f"<item><title>Wire copy {j}</title><link>{link}</link></item>")
    return _serve_feed(server, items)


def _assert_every_article_tagged_as_fresh_and_in_a_story(db, tagger) -> None:
    stored = _stored_tags_equal_fresh_ones(db, tagger)
    con = connect(db, read_only=True)
    try:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]
        storyless = con.execute("SELECT count(*) FROM articles a ANTI JOIN article_clusters c ON c.article_id = a.id"
                                ).fetchone()[0]
    finally:
        con.close()
    assert len(stored) == articles and storyless == 0


def test_copies_of_a_text_are_not_tagged_at_extraction(server, fast_http, repo_root, tmp_path, monkeypatch):
    """Only the first page with a text is tagged where it is extracted: the load stores one copy.
    Fails when every copy is tagged there too (12 tags handed over for 8 texts)."""
    handed = _count_pretagged(monkeypatch)
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    db = tmp_path / "w.duckdb"
    summary = run_pass(_site_with_copies(server), db, fast_http, tagger, workers=4)
    assert (summary.articles_new, summary.duplicates) == (8, 4)
    assert handed == [8]  # one tag per text (the copy's, when it was extracted first: the tag step tags the kept one)
    _assert_every_article_tagged_as_fresh_and_in_a_story(db, tagger)


def test_articles_whose_work_a_copy_took_are_tagged_signed_and_read_later(server, fast_http, repo_root, tmp_path,
                                                                          monkeypatch):
    """The stored copy of a text is not always the first one extracted: then its tag, signature and
    supply events are made by the tag and cluster steps. Here no page is ever first."""
    import transform.first_copies

    monkeypatch.setattr(transform.first_copies.FirstCopies, "first", lambda self, content_hash: False)
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    db = tmp_path / "w.duckdb"
    summary = run_pass(_site_with_copies(server), db, fast_http, tagger, workers=4)
    assert (summary.articles_new, summary.duplicates) == (8, 4)
    _assert_every_article_tagged_as_fresh_and_in_a_story(db, tagger)
    con = connect(db, read_only=True)
    try:
        axis = {r[0] for r in con.execute("SELECT article_id FROM article_tags WHERE is_axis").fetchall()}
        scanned = {r[0] for r in con.execute("SELECT article_id FROM supply_event_scans").fetchall()}
    finally:
        con.close()
    assert axis and axis <= scanned  # every axis article was read for supply events all the same
