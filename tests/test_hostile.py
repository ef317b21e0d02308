"""Hostile feeds and pages: each case runs beside a good feed in the same pass and must end as a
recorded outcome, leave the good feed loaded, and send nothing to a refused address."""

import ipaddress

import duckdb
import fixtures as fx
import pytest
from fixture_server import Route
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from axiswatch.pipeline import run_pass
from ingest.http import HttpSettings
from ingest.records import FeedSource
from transform.tagging import Tagger


def rss(items: str, encoding: str = "utf-8", prolog: str | None = None) -> str:
    head = prolog if prolog is not None else f'<?xml version="1.0" encoding="{encoding}"?>'
    return f"{head}<rss version=\"2.0\"><channel><title>H</title><link>{{BASE}}/</link>{items}</channel></rss>"


def item(n: int, extra: str = "", title: str | None = None, guid: str | None = None) -> str:
    return (f"<item><title>{title or f'Item {n}'}</title><link>{{BASE}}/p/{n}.html</link>"
            f"<guid>{guid or f'g{n}'}</guid>{extra}</item>")


BOMB = rss("", prolog='<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>')
XXE = rss(item(1, title="&xxe;"), prolog='<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')

# name: (route for /feed.xml, expected feed status or error kind, extra routes)
FEED_CASES = {
    "redirect_loop": (Route(status=302, location="/feed.xml"), "redirect", {}),
    "redirect_to_internal": (Route(status=302, location="http://127.0.0.2:{PORT}/internal.xml"), "blocked", {}),
    "redirect_to_file_scheme": (Route(status=302, location="file:///etc/passwd"), "bad_url", {}),
    "redirect_to_metadata_ip": (Route(status=301, location="http://169.254.169.254/latest/meta-data/"), "blocked", {}),
    "lying_content_length": (Route(rss(item(1)), content_length=100_000, content_type="application/rss+xml"), "connection", {}),
    "declared_too_large": (Route(rss(item(1)), headers={"X-Pad": "1"}, content_length=10**9), "too_large", {}),
    "gzip_bomb": (Route(b"<rss>" + b" " * 30_000_000 + b"</rss>", gzip=True, content_type="application/rss+xml"), "too_large", {}),
    "drip_feed": (Route(rss(item(1)) * 20, drip=0.02), "timeout", {}),
    "slow_headers": (Route(rss(item(1)), delay=3), "timeout", {}),
    "not_found": (Route("gone", status=404), "http_status", {}),
    "server_error": (Route("boom", status=500), "http_status", {}),
    "rate_limited": (Route("slow down", fail_times=100, retry_after="0"), "http_status", {}),
    "html_as_feed": (Route("<!DOCTYPE html><html><body>Welcome</body></html>", content_type="text/html"), "not_a_feed", {}),
    "json_as_feed": (Route('{"items": []}', content_type="application/json"), "not_a_feed", {}),
    "billion_laughs": (Route(BOMB, content_type="application/rss+xml"), "unsafe_xml", {}),
    "xxe": (Route(XXE, content_type="application/rss+xml"), "unsafe_xml", {}),
    "empty_body": (Route("", content_type="application/rss+xml"), "not_a_feed", {}),
    "binary_garbage": (Route(bytes(range(256)) * 20, content_type="application/octet-stream"), "not_a_feed", {}),
    "truncated_xml_salvaged": (Route(rss(item(1) + item(2)).split("<item><title>Item 2")[0] + "<item><title>cut",
                                     content_type="application/rss+xml"), "ok", {}),
    "truncated_xml_nothing_usable": (Route('<?xml version="1.0"?><rss version="2.0"><channel><item><title>cut',
                                           content_type="application/rss+xml"), "malformed", {}),
    "empty_feed": (Route(rss(""), content_type="application/rss+xml"), "ok", {}),
    "nul_bytes_in_title": (Route(rss(item(1, title="bad\x00title")), content_type="application/rss+xml"), "ok", {}),
    "utf7_declared": (Route(rss(item(1), encoding="utf-7"), content_type="application/rss+xml"), "ok", {}),
    "unknown_charset": (Route(rss(item(1), encoding="x-no-such-charset"), content_type="application/rss+xml"), "ok", {}),
    "lone_surrogate_reference": (Route(rss(item(1, title="a&#xD800;b")), content_type="application/rss+xml"), "any", {}),
    "out_of_range_reference": (Route(rss(item(1, title="a&#x110000;b")), content_type="application/rss+xml"), "any", {}),
    "huge_feed_100k_entries": (Route(rss("".join(item(i % 50, guid=f"h{i}") for i in range(100_000))), content_type="application/rss+xml"), "ok", {}),
    "duplicate_guids": (Route(rss(item(1) + item(1) + item(2, guid="g1")), content_type="application/rss+xml"), "ok", {}),
    "future_dates": (Route(rss(item(1, "<pubDate>Tue, 01 Jan 2099 00:00:00 GMT</pubDate>")), content_type="application/rss+xml"), "ok", {}),
    "pdf_as_article": (Route(rss(item(7)), content_type="application/rss+xml"), "ok", {"/p/7.html": Route(b"%PDF-1.7 ...", content_type="application/pdf")}),
    "image_as_article": (Route(rss(item(8)), content_type="application/rss+xml"), "ok", {"/p/8.html": Route(b"\x89PNG\r\n", content_type="image/png")}),
    "article_redirects_inside": (Route(rss(item(9)), content_type="application/rss+xml"), "ok",
                                 {"/p/9.html": Route(status=302, location="http://10.0.0.1/admin")}),
    "pathological_article_html": (Route(rss(item(10)), content_type="application/rss+xml"), "ok",
                                  {"/p/10.html": Route("<html><body>" + "<div>" * 20000 + "x" + "</div>" * 20000 + "</body></html>")}),
}


@pytest.fixture
def http():
    return HttpSettings(connect_timeout=1, read_timeout=1, deadline=2, retries=1, backoff_base=0.01,
                        max_bytes=15_000_000, allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))


@pytest.fixture(scope="module")
def tagger():
    from conftest import ROOT

    return Tagger.from_file(ROOT / "config/topics.yaml")


@pytest.mark.parametrize("case", sorted(FEED_CASES))
def test_hostile_feed(case, server, tmp_path, http, tagger):
    route, expected, extra = FEED_CASES[case]
    if route.location:
        route.location = route.location.replace("{PORT}", str(server.port))
    server.add("/feed.xml", route)
    server.add("/internal.xml", Route(fx.RSS2))  # reachable only through a refused address
    for path, page in extra.items():
        server.add(path, page)
    server.add("/good.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    db = tmp_path / "w.duckdb"
    sources = [FeedSource(name="good", url=server.url("/good.xml")), FeedSource(name="hostile", url=server.url("/feed.xml"))]
    summary = run_pass(sources, db, http, tagger, workers=4)

    con = duckdb.connect(str(db), read_only=True)
    status, kind = con.execute("SELECT status, error_kind FROM feed_fetches WHERE feed = 'hostile'").fetchone()
    if expected == "ok":
        assert status == "ok", (status, kind)
    elif expected != "any":
        assert (status, kind) == ("error", expected)
    else:
        assert status == "ok" or kind  # recorded either way, never a crash
    good = con.execute("SELECT count(*) FROM articles WHERE feed = 'good'").fetchone()[0]
    assert good == 3 and summary.feeds_ok >= 1  # the good feed is untouched by its neighbour
    assert all("/internal.xml" not in path for path, _ in server.requests)
    titles = [r[0] for r in con.execute("SELECT title FROM articles").fetchall()]
    assert all("\x00" not in t for t in titles)
    if case == "huge_feed_100k_entries":
        # every entry is read (the body is capped in bytes); its 50 distinct links fit in one run
        assert con.execute("SELECT entries, entries_deferred FROM feed_fetches WHERE feed = 'hostile'").fetchone() == (100_000, 0)
    if case == "future_dates":
        assert con.execute("SELECT published_at FROM articles WHERE feed = 'hostile'").fetchone() == (None,)
    if case in ("pdf_as_article", "image_as_article", "article_redirects_inside"):
        reason = con.execute("SELECT fetch_error FROM articles WHERE feed = 'hostile'").fetchone()[0]
        assert ("not an HTML page" in reason) if case != "article_redirects_inside" else reason.startswith("blocked")
    if case == "duplicate_guids":
        assert con.execute("SELECT count(*) FROM articles WHERE feed = 'hostile'").fetchone()[0] == 2


def test_changing_guids_do_not_duplicate_articles(server, tmp_path, http, tagger):
    server.add("/feed.xml", Route(rss(item(1, guid="first")), content_type="application/rss+xml"))
    db = tmp_path / "w.duckdb"
    sources = [FeedSource(name="f", url=server.url("/feed.xml"))]
    run_pass(sources, db, http, tagger)
    server.routes["/feed.xml"].body = rss(item(1, guid="changed-guid") + item(2))
    second = run_pass(sources, db, http, tagger)
    assert second.articles_new == 1  # only item 2; item 1 is the same URL under a new guid


def test_robots_txt_is_obeyed_for_pages(server, tmp_path, http, tagger):
    server.add("/robots.txt", Route("User-agent: *\nDisallow: /p/\n", content_type="text/plain"))
    server.add("/feed.xml", Route(rss(item(1)), content_type="application/rss+xml"))
    server.add("/p/1.html", Route(fx.page("Secret", fx.TROOPS)))
    run_pass([FeedSource(name="f", url=server.url("/feed.xml"))], tmp_path / "w.duckdb", http, tagger)
    assert server.routes["/p/1.html"].hits == 0
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    assert "robots" in con.execute("SELECT fetch_error FROM articles").fetchone()[0]


def test_per_host_delay_spaces_requests(server, http):
    from ingest.http import HttpClient

    server.add("/a", Route("a"))
    slept = []
    with HttpClient(http, sleep=slept.append) as client:
        client.set_host_delay("127.0.0.1", 5.0)
        client.get(server.url("/a"))
        client.get(server.url("/a"))
    assert len(slept) == 1 and 4.5 < slept[0] <= 5.0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_survives_cleaning_and_storage(text):
    from ingest.text import clean_string, html_to_text
    from transform.fingerprint import content_hash

    cleaned = clean_string(text)
    con = duckdb.connect()
    con.execute("CREATE TABLE t (v VARCHAR)")
    con.execute("INSERT INTO t VALUES (?)", [cleaned])
    assert con.execute("SELECT v FROM t").fetchone()[0] == cleaned
    assert clean_string(cleaned) == cleaned  # idempotent
    html_to_text(text)  # never raises
    assert content_hash("t", text) == content_hash("t", text)


def test_feed_crawl_delay_overrides_robots_and_spaces_its_host(server, http):
    from ingest.feeds import fetch_feed
    from ingest.http import HttpClient
    from ingest.robots import RobotsCache

    server.add("/robots.txt", Route("User-agent: *\nCrawl-delay: 1\n", content_type="text/plain"))
    server.add("/feed.xml", Route(rss(item(1)), content_type="application/rss+xml"))
    slept = []
    with HttpClient(http, sleep=slept.append) as client:
        fetch_feed(client, FeedSource(name="f", url=server.url("/feed.xml"), crawl_delay=4.0), None)
        assert RobotsCache(client).allowed(server.url("/p/1.html"))  # robots' 1 s does not lower it
        client.get(server.url("/feed.xml"))
    assert slept and max(slept) > 3.0


def test_disk_full_is_its_own_error():
    import errno
    from pathlib import Path

    from warehouse.db import _classify

    error = _classify(Path("w.duckdb"), OSError(errno.ENOSPC, "No space left on device"))
    assert "disk full" in str(error) and "nothing was deleted" in str(error)
