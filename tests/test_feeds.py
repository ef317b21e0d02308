import json
import os
from datetime import UTC, datetime

import fixtures as fx
import pytest
from fixture_server import Route

import ingest.feeds as feeds_module
from ingest.feeds import FeedParseError, fetch_feed, parse_feed
from ingest.records import FeedSource, FeedState

SRC = FeedSource(name="t", url="http://127.0.0.1/feed", outlet="Test")


def test_rss2_entries_are_normalized():
    entries, fmt = parse_feed(fx.RSS2.replace("{BASE}", "http://example.com").encode(), SRC)
    assert fmt == "rss20" and len(entries) == 3
    first = entries[0]
    assert first.title == "North Korean troops reach Kursk"
    assert first.summary == "North Korea has sent thousands of troops."  # HTML stripped
    assert first.published_at == datetime(2026, 11, 23, 21, 10, tzinfo=UTC)  # +0900 to UTC
    assert first.guid == "tw-1" and first.language == "en"
    assert entries[2].guid.endswith("missing.html")
    raw = json.loads(first.raw)  # the item's own fields, kept as JSON text for articles.raw_entry
    assert raw["link"] == first.link and raw["id"] == "tw-1" and raw["title"] == first.title


def test_summaries_with_scripts_styles_and_markup_become_plain_text():
    """feedparser does not sanitize (``html_to_text`` makes the text): what a script or a style
    holds never reaches a title or a summary, in RSS (escaped HTML) or Atom (xhtml content)."""
    rss = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title><item>'
           b"<title>Troops &lt;b&gt;reach&lt;/b&gt; Kursk&lt;script&gt;alert(1)&lt;/script&gt;</title>"
           b"<link>http://e.com/a</link><description>&lt;p onclick='x()'&gt;North Korea "
           b"&lt;a href='/rel'&gt;sent&lt;/a&gt; shells.&lt;/p&gt;&lt;style&gt;p{color:red}&lt;/style&gt;"
           b"&lt;script&gt;document.write('x')&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;</description>"
           b"</item></channel></rss>")
    atom = (b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>f</title><entry>'
            b'<title type="html">Kim &amp;amp; Putin</title><link href="http://e.com/b"/><id>b</id>'
            b'<updated>2026-11-23T10:00:00Z</updated><summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            b"Arms <script>steal()</script>for <em>Russia</em><style>.x{}</style></div></summary></entry></feed>")
    (rss_entry,), _ = parse_feed(rss, SRC)
    assert rss_entry.title == "Troops reach Kursk"
    assert rss_entry.summary == "North Korea sent shells."
    (atom_entry,), _ = parse_feed(atom, SRC)
    assert atom_entry.title == "Kim & Putin"
    assert atom_entry.summary == "Arms for Russia"


def test_a_summary_that_is_a_whole_html_document_is_text_and_the_feed_still_parses():
    """lxml refuses a fragment that is a document with no body ("too many bodies"): such a
    summary still becomes text, scripts dropped, and the feed's other entries are read."""
    items = "".join(
        f"<item><title>Story {i}</title><link>http://e.com/{i}</link><description>{body}</description></item>"
        for i, body in enumerate([
            "&lt;html&gt;&lt;/html&gt;",
            "&lt;!DOCTYPE html&gt;&lt;script&gt;steal()&lt;/script&gt;&lt;p&gt;Shells &amp;amp; troops&lt;/p&gt;",
            "&lt;html&gt;&lt;head&gt;&lt;style&gt;p{}&lt;/style&gt;&lt;/head&gt;&lt;/html&gt; Kursk",
            "Plain text",
        ]))
    body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{items}</channel></rss>'.encode()
    entries, _ = parse_feed(body, SRC)
    assert [e.summary for e in entries] == ["", "Shells & troops", "Kursk", "Plain text"]


def test_atom_and_rdf():
    atom, fmt = parse_feed(fx.ATOM.replace("{BASE}", "http://e.com").encode(), SRC)
    assert fmt == "atom10" and atom[0].link == "http://e.com/pages/markets-copy.html"
    rdf, fmt = parse_feed(fx.RDF.replace("{BASE}", "http://e.com").encode(), SRC)
    assert fmt == "rss10" and rdf[0].published_at == datetime(2026, 11, 23, 10, tzinfo=UTC)


@pytest.mark.parametrize("body,title", [(fx.CP1251, fx.RUSSIAN_TITLE), (fx.EUCKR, fx.KOREAN_TITLE)])
def test_legacy_encodings_declared_in_prolog(body, title):
    entries, _ = parse_feed(body, SRC)
    assert entries[0].title == title
    assert json.loads(entries[0].raw)["title"] == title and title in entries[0].raw  # not \u-escaped


def test_wrong_charset_header_loses_to_the_bytes():
    # Served as UTF-8 but the bytes are windows-1251 as the prolog says.
    entries, _ = parse_feed(fx.CP1251, SRC, content_type="application/rss+xml; charset=utf-8")
    assert entries[0].title == fx.RUSSIAN_TITLE


def test_news_sitemap_is_a_source_too():
    entries, fmt = parse_feed(fx.SITEMAP.replace("{BASE}", "http://e.com").encode(), SRC)
    assert fmt == "sitemap" and entries[0].title == "Sitemap story"
    assert entries[0].published_at == datetime(2026, 11, 23, 23, tzinfo=UTC)


@pytest.mark.parametrize("body", [fx.MALFORMED.encode(), b"", b"\x00\xff garbage", b"<rss><channel><item>"])
def test_malformed_bodies_raise_a_clear_error(body):
    with pytest.raises(FeedParseError):
        parse_feed(body, SRC)


def test_conditional_get_and_body_hash(server, client):
    url = server.add("/feed", Route(fx.RSS2, content_type="application/rss+xml", etag='"v1"'))
    source = FeedSource(name="t", url=url)
    first = fetch_feed(client, source, FeedState())
    assert first.status == "ok" and len(first.entries) == 3 and first.state.etag == '"v1"'
    second = fetch_feed(client, source, first.state)
    assert second.status == "not_modified" and second.http_status == 304 and second.entries == []
    assert server.requests[-1][1]["If-None-Match"] == '"v1"'
    # A server without validators: the unchanged body is recognised by its hash.
    url2 = server.add("/novalid", Route(fx.RSS2, content_type="application/rss+xml"))
    src2 = FeedSource(name="n", url=url2)
    state = fetch_feed(client, src2, None).state
    assert fetch_feed(client, src2, state).status == "unchanged"


def test_failures_are_returned_with_a_kind(server, client):
    server.add("/500", Route("boom", status=500))
    server.add("/bad", Route(fx.MALFORMED, content_type="application/xml"))
    cases = {"/404": "http_status", "/500": "http_status", "/bad": "not_a_feed"}
    for path, kind in cases.items():
        result = fetch_feed(client, FeedSource(name=path, url=server.url(path)), None)
        assert not result.ok and result.error_kind == kind and result.error


def test_sitemap_index_follows_children(server, client):
    server.add("/child.xml", Route(fx.SITEMAP, content_type="application/xml"))
    index = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>{BASE}/child.xml</loc></sitemap></sitemapindex>"
    )
    url = server.add("/index.xml", Route(index, content_type="application/xml"))
    result = fetch_feed(client, FeedSource(name="idx", url=url), None)
    assert result.status == "ok" and [e.title for e in result.entries] == ["Sitemap story"]


def _mixed_site(server) -> list[FeedSource]:
    """Feeds of every outcome a parse has: entries, a sitemap index, a refused and a broken body."""
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/atom.xml", Route(fx.ATOM, content_type="application/atom+xml"))
    server.add("/child.xml", Route(fx.SITEMAP, content_type="application/xml"))
    server.add("/index.xml", Route('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                                   "<sitemap><loc>{BASE}/child.xml</loc></sitemap></sitemapindex>",
                                   content_type="application/xml"))
    server.add("/bad.xml", Route(fx.MALFORMED, content_type="application/xml"))
    server.add("/html.xml", Route("<!doctype html><html><body>hi</body></html>", content_type="text/html"))
    return [FeedSource(name=n, url=server.url(f"/{n}.xml")) for n in ("rss", "atom", "index", "bad", "html")]


def _outcomes(results):
    return [(r.source.name, r.status, r.error_kind, r.feed_format, [(e.link, e.title, e.summary, e.published_at)
                                                                   for e in r.entries]) for r in results]


_PARENT = os.getpid()
_PARSE_IN_WORKER = feeds_module._parse_in_worker


def _only_in_a_worker(*args):
    """``_parse_in_worker`` that refuses to parse in the test's own process."""
    if os.getpid() == _PARENT:
        return ("error", "parsed in the parent process", "not_in_a_worker")
    return _PARSE_IN_WORKER(*args)


def test_feeds_parsed_in_worker_processes_give_what_parsing_in_the_thread_gives(server, client, monkeypatch):
    sources = _mixed_site(server)
    monkeypatch.setattr(feeds_module.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(feeds_module, "_parse_in_worker", _only_in_a_worker)  # the workers fork with it
    in_workers = feeds_module.fetch_feeds(client, sources, {}, workers=4)
    monkeypatch.undo()
    in_thread = [feeds_module.fetch_feed(client, s, None) for s in sources]
    assert _outcomes(in_workers) == _outcomes(in_thread)
    assert [r.error_kind for r in in_workers] == ["", "", "", "not_a_feed", "not_a_feed"]
    assert in_workers[2].feed_format == "sitemap" and in_workers[2].entries  # the index's children were read


def test_a_parse_past_its_time_limit_fails_that_feed_alone(server, client, monkeypatch):
    from ingest.settings import FeedLimits

    monkeypatch.setattr(feeds_module.os, "cpu_count", lambda: 2)
    items = "".join(f"<item><title>Story {i}</title><link>{{BASE}}/s/{i}</link><description>Text {i}</description></item>"
                    for i in range(15000))  # feedparser needs about ten seconds for these
    server.add("/long.xml", Route(f'<?xml version="1.0"?><rss version="2.0"><channel><title>L</title>{items}</channel></rss>',
                                  content_type="application/rss+xml"))
    sources = [*_mixed_site(server), FeedSource(name="long", url=server.url("/long.xml"))]
    results = {r.source.name: r for r in feeds_module.fetch_feeds(client, sources, {}, workers=4,
                                                                  limits=FeedLimits(parse_timeout=1.0))}
    assert not results["long"].ok and results["long"].error_kind == "malformed"
    assert "feed.parse_timeout" in results["long"].error
    assert results["rss"].ok and results["atom"].ok and len(results["rss"].entries) == 3
