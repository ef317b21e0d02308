import pytest

from ingest.records import Entry, Extraction
from transform.articles import build_article, split_exact_duplicates, unique_entries
from transform.canonical import canonical_url
from transform.fingerprint import article_id, content_hash


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("HTTP://News.Example.COM:80/a/story.html?utm_source=rss&utm_medium=feed", "http://news.example.com/a/story.html"),
        ("https://example.com:443/x?b=2&a=1#comments", "https://example.com/x?a=1&b=2"),
        ("https://example.com/x?id=5&fbclid=abc&gclid=1&ref=rss", "https://example.com/x?id=5"),
        ("https://example.com/view.php?aid=77&utm_campaign=x", "https://example.com/view.php?aid=77"),
        ("https://example.com", "https://example.com/"),
    ],
)
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


def test_canonical_keeps_article_identifying_parameters_apart():
    assert canonical_url("https://e.com/news?no=1") != canonical_url("https://e.com/news?no=2")


BODY = "North Korea has sent thousands of troops to Russia's Kursk region, officials said. " * 4


def test_content_hash_ignores_headline_and_punctuation_when_there_is_a_body():
    assert content_hash("Headline A", BODY) == content_hash("Headline B!", BODY.replace(",", " ,").upper())


def test_content_hash_uses_headline_without_a_body():
    caption = "A photo caption reused by many stories."
    assert content_hash("Story one", "", caption) != content_hash("Story two", "", caption)


def test_article_id_is_stable():
    assert article_id("https://e.com/a") == article_id("https://e.com/a") != article_id("https://e.com/b")


def _entry(link, title="t", summary="s"):
    return Entry(feed="f", outlet="o", link=link, title=title, summary=summary)


def test_unique_entries_collapses_tracking_variants():
    entries = [_entry("https://e.com/a?utm_source=x"), _entry("https://E.com/a#top"), _entry("https://e.com/b")]
    assert list(unique_entries(entries)) == ["https://e.com/a", "https://e.com/b"]


def test_failed_page_keeps_summary_and_reason():
    article = build_article("https://e.com/a", _entry("https://e.com/a", "Title", "Feed summary"),
                            Extraction(source="https://e.com/a", reason="http_status: HTTP 404", http_status=404))
    assert article.fetch_status == "failed" and article.text == ""
    assert article.summary == "Feed summary" and "404" in article.fetch_error


def test_exact_duplicates_within_batch_and_against_store():
    page = Extraction(source="x", text=BODY, title="t")
    a = build_article("https://one.com/a", _entry("https://one.com/a", "Headline one"), page)
    b = build_article("https://two.com/b", _entry("https://two.com/b", "Headline two"), page)
    fresh, dups = split_exact_duplicates([a, b], {})
    assert [x.id for x in fresh] == [a.id] and dups[0].article_id == a.id
    fresh, dups = split_exact_duplicates([b], {a.content_hash: "stored-id"})
    assert fresh == [] and dups[0].article_id == "stored-id"
