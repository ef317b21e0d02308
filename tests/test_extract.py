import fixtures as fx
from fixture_server import Route

from ingest.articles import extract_html, fetch_article


def test_extraction_drops_boilerplate():
    result = extract_html(fx.page("Troops reach Kursk", fx.TROOPS), source="x")
    assert result.reason == "" and result.title == "Troops reach Kursk"
    assert "intelligence agency" in result.text
    for boilerplate in ("We use cookies", "Related", "Comment:", "© 2026"):
        assert boilerplate not in result.text
    assert result.language == "en"


def test_windows_1251_page_declared_in_meta():
    html = fx.page("Новости", ["Северная Корея продолжает поставлять России артиллерийские снаряды, сообщили аналитики по спутниковым снимкам из порта Раджин."] * 2, "ru", "windows-1251")
    result = extract_html(html.encode("windows-1251"), source="x")
    assert "Северная Корея" in result.text and result.language == "ru"


def test_empty_and_non_html(server, client):
    assert extract_html(b"", source="x").reason == "empty page"
    url = server.add("/img", Route(b"\x89PNG", content_type="image/png"))
    assert "not an HTML page" in fetch_article(client, url).reason
    missing = fetch_article(client, server.url("/gone"))
    assert missing.reason.startswith("http_status") and missing.http_status == 404


def _pages(n: int, hang: int | None = None) -> list:
    from ingest.articles import Download

    return [Download(f"http://x.example/{i}",
                     b"HANG" if i == hang else fx.page(f"Story {i}", fx.TROOPS).encode(), f"http://x.example/{i}", 200)
            for i in range(n)]


def _hang_on_hang_pages(monkeypatch) -> None:
    """Extraction of a ``b"HANG"`` page sleeps a minute (the forked workers inherit the patch)."""
    import time

    import ingest.articles as articles

    real = articles._extract_text

    def slow_on_hang(html, *args):
        if html == b"HANG":
            time.sleep(60)
        return real(html, *args)

    monkeypatch.setattr(articles, "_extract_text", slow_on_hang)


def test_ready_hands_out_each_extraction_once_while_others_are_pending():
    import time

    from ingest.articles import PageExtractor

    downloads = _pages(24)
    handed: list[str] = []
    with PageExtractor(timeout=30, workers=2, batch_size=4) as extractor:
        for d in downloads:
            extractor.submit(d)
        deadline = time.monotonic() + 60
        while len(handed) < 24 and time.monotonic() < deadline:  # finished batches, without results()
            handed.extend(extractor.ready())
            time.sleep(0.05)
        everything = extractor.results()
        assert extractor.ready() == {}  # nothing is handed out twice
    assert sorted(handed) == sorted(d.url for d in downloads)
    assert set(everything) == set(handed) and all(r.reason == "" for r in everything.values())


def test_a_page_that_hangs_fails_alone_and_its_batch_mates_are_extracted(monkeypatch):
    """A batch killed at its time limit is retried page by page; only the hanging page fails."""
    import time

    import ingest.articles as articles

    _hang_on_hang_pages(monkeypatch)
    downloads = _pages(8, hang=5)
    handed: dict = {}
    with articles.PageExtractor(timeout=2, workers=2, batch_size=4) as extractor:
        for d in downloads:
            extractor.submit(d)
        time.sleep(3)  # the hanging batch has usually timed out by now (if not, results() finds it)
        handed.update(extractor.ready())
        everything = extractor.results()
        handed.update(extractor.ready())
    assert set(handed) == set(everything) == {d.url for d in downloads}
    assert everything["http://x.example/5"].reason == "extraction timed out after 2s"
    assert all(r.reason == "" and r.text for u, r in everything.items() if u != "http://x.example/5")


def test_fetch_articles_hands_every_page_over_once_by_canonical_url(server, client):
    from ingest.pages import fetch_articles
    from ingest.records import Entry

    entries = {}
    for i in range(20):
        path = server.add(f"/p/{i}", Route(fx.page(f"Story {i}", fx.TROOPS)))
        entries[f"https://canonical.example/{i}"] = Entry(feed="f", outlet="O", link=f"{path}?utm_source=rss", title=f"Story {i}")
    handed: list[str] = []
    pages = fetch_articles(client, entries, workers=4, on_extracted=lambda got: handed.extend(got))
    assert sorted(handed) == sorted(entries) == sorted(pages)
    assert all(p.reason == "" for p in pages.values())


def test_the_language_model_is_loaded_before_workers_are_forked(monkeypatch):
    """Forked extraction workers inherit the parent's model; each loading its own cost ~0.4 s."""
    import py3langid.langid

    from ingest.articles import PageExtractor

    monkeypatch.setattr(py3langid.langid, "IDENTIFIER", None)
    with PageExtractor(workers=1):  # in-process: no workers to prepare for
        assert py3langid.langid.IDENTIFIER is None
    with PageExtractor(workers=2, expected=100):
        assert py3langid.langid.IDENTIFIER is not None


def test_one_isolated_worker_still_kills_a_hanging_page(monkeypatch):
    """``extraction.processes: 1`` (a Celery worker sharing the machine's cores) keeps a pool of
    one: the time limit still holds, where in-process extraction would hang with the page."""
    import time

    import ingest.articles as articles

    _hang_on_hang_pages(monkeypatch)
    downloads = _pages(8, hang=2)
    started = time.monotonic()
    with articles.PageExtractor(timeout=2, workers=1, batch_size=4, isolate=True) as extractor:
        assert extractor._pool is not None
        for d in downloads:
            extractor.submit(d)
        everything = extractor.results()
    assert time.monotonic() - started < 30  # the hanging page sleeps 60 s if nothing kills it
    assert everything["http://x.example/2"].reason == "extraction timed out after 2s"
    assert all(r.reason == "" and r.text for u, r in everything.items() if u != "http://x.example/2")


def test_fetch_articles_takes_its_extraction_processes_from_the_settings(server, client, monkeypatch):
    import ingest.articles as articles
    from ingest.pages import fetch_articles
    from ingest.records import Entry
    from ingest.settings import ExtractionSettings

    made: list[int] = []
    real = articles.ProcessPool

    def pool(max_workers):
        made.append(max_workers)
        return real(max_workers=max_workers)

    monkeypatch.setattr(articles, "ProcessPool", pool)
    entries = {}
    for i in range(10):
        path = server.add(f"/q/{i}", Route(fx.page(f"Story {i}", fx.TROOPS)))
        entries[f"https://canonical.example/q{i}"] = Entry(feed="f", outlet="O", link=path, title=f"Story {i}")
    pages = fetch_articles(client, entries, workers=4, extraction=ExtractionSettings(processes=1))
    assert made == [1]
    assert all(p.reason == "" and p.text for p in pages.values())


def test_shared_trafilatura_options_extract_as_the_plain_call():
    """The per-day Extractor gives what trafilatura's own keyword call gives, page by page: same
    options, each page's own URL (fails when an option is dropped or a URL leaks between pages)."""
    import trafilatura
    from lxml import etree

    from ingest.articles import TRAFILATURA_OPTIONS, trafilatura_options

    def plain(doc) -> dict:
        return {k: etree.tostring(v) if isinstance(v, etree._Element) else v for k, v in doc.as_dict().items()}

    pages = [(f"https://outlet{i}.example/2026/11/story-{i}", fx.page(f"Story {i}", fx.TROOPS)) for i in range(3)]
    pages.append((None, fx.page("No address", fx.TROOPS)))
    for url, html in pages:
        expected = trafilatura.bare_extraction(html, url=url, **TRAFILATURA_OPTIONS)
        shared = trafilatura.bare_extraction(html, url=url, options=trafilatura_options(url))
        assert plain(shared) == plain(expected)
        assert shared.url == expected.url
    table_page = fx.page("Table", fx.TROOPS).replace("</article>", "<table><tr><td>TABLECELL</td></tr></table></article>")
    assert "TABLECELL" not in extract_html(table_page, source="x").text  # include_tables=False kept
    assert trafilatura_options("https://a.example/").url != trafilatura_options("https://b.example/").url


def test_letters_are_counted_without_digits_or_underscores():
    from ingest.language import detect_language

    # Seven letters among digits and underscores: too few to identify, the hint decides.
    assert detect_language("abc 2026_11_30 1234567 defg ___", "DE") == "de"
    assert detect_language("Северная Корея продолжает поставлять снаряды", "en") == "ru"
