import json
from datetime import UTC, datetime

import fixtures as fx
import pytest
from fixture_server import Route

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
