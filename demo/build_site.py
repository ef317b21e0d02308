"""Render demo/stories.yaml into the static demo site (feeds and article pages) under demo/site/.

Run from the repository root: ``python demo/build_site.py``. The output is committed so the demo
needs nothing but a static server; tests check that it is up to date with this script.
"""

from __future__ import annotations

import html
import shutil
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import yaml

HERE = Path(__file__).parent
SITE = HERE / "site"
BASE = "http://127.0.0.1:8765"

# slug: (display name, feed format, feed encoding, page encoding, language, country, tracking suffix)
OUTLETS = {
    "globalwire": ("Global Wire", "rss2", "utf-8", "utf-8", "en", "international", ""),
    "seoulherald": ("Seoul Herald Daily", "rss2", "utf-8", "utf-8", "en", "kr", "?utm_source=rss&utm_medium=feed&utm_campaign=world"),
    "hanbit": ("한빛일보", "rss2", "euc-kr", "utf-8", "ko", "kr", ""),
    "vestnik": ("Московский вестник", "rss2", "windows-1251", "windows-1251", "ru", "ru", "?utm_source=rss"),
    "kyivledger": ("Kyiv Ledger", "atom", "utf-8", "utf-8", "en", "ua", ""),
    "europost": ("Euro Observer Post", "rdf", "utf-8", "utf-8", "en", "eu", "#comments"),
    "pacifictimes": ("Pacific Times", "rss2", "utf-8", "utf-8", "en", "us", "?ref=rss&fbclid=IwAR0demo"),
}
FEED_FILES = {"rss2": "feed.xml", "atom": "atom.xml", "rdf": "index.rdf"}
# Who each fictional outlet is, for the demo of "who reported first, is it only state media":
# part of the fiction, not a classification of any real outlet. Pacific Times stays unclassified
# to show that an unknown outlet is never guessed.
AFFILIATIONS = {"globalwire": "wire", "seoulherald": "independent", "hanbit": "independent", "vestnik": "state_ru",
                "kyivledger": "independent", "europost": "independent", "pacifictimes": "unknown"}

NAV = ["Home", "World", "Korea", "Russia", "Ukraine", "Politics", "Business", "Opinion"]
COMMENTS = [
    ("reader_77", "Everyone knew North Korea and Russia were working together. Why is this news?"),
    ("kyiv_watcher", "Sanctions on Moscow and Pyongyang never work, they just find another route."),
    ("seoul_mom", "I just want the prices to go down."),
]


def rfc822(ts: datetime) -> str:
    return format_datetime(ts, usegmt=True)


def article_path(slug: str, story: dict) -> str:
    ts = story["date"]
    return f"/{slug}/{ts:%Y/%m}/{story['id']}.html"


def render_page(slug: str, story: dict, title: str, related: list[tuple[str, str]]) -> str:
    name, _, _, page_enc, lang, _, _ = OUTLETS[slug]
    ts = story["date"]
    lang = story["lang"] if story["lang"] != "en" else lang
    nav = "".join(f'<li><a href="/{slug}/{n.lower()}/">{html.escape(n)}</a></li>' for n in NAV)
    paragraphs = list(story["body"])
    if slug == "pacifictimes" and len(story["in"]) > 1:
        # Pacific Times runs wire copy under its own dateline: a near-duplicate, not an exact one.
        paragraphs[0] = "(Pacific Times with wire services) " + paragraphs[0]
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    rel = "".join(f'<li><a href="{BASE}{href}">{html.escape(t)}</a></li>' for t, href in related)
    comments = "".join(
        f'<div class="comment"><span class="user">{html.escape(u)}</span><p>{html.escape(c)}</p></div>'
        for u, c in COMMENTS
    )
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="{page_enc}">
<title>{html.escape(title)} | {html.escape(name)}</title>
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="{html.escape(name)}">
<meta property="article:published_time" content="{ts.isoformat()}">
<link rel="canonical" href="{BASE}{article_path(slug, story)}">
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to improve your experience and to show
personalised advertising. <button>Accept all</button> <button>Manage settings</button></div>
<header><div class="logo">{html.escape(name)}</div><nav><ul>{nav}</ul></nav>
<form class="search"><input name="q" placeholder="Search"></form></header>
<main>
<article>
<h1>{html.escape(title)}</h1>
<div class="byline">By Staff Reporter · <time datetime="{ts.isoformat()}">{ts:%d %B %Y %H:%M} UTC</time></div>
<div class="article-body">
{body}
</div>
<div class="share">Share on Facebook · Share on X · Copy link</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{rel}</ul></aside>
<section class="comments"><h2>Comments (3)</h2>{comments}</section>
</main>
<footer><p>© 2026 {html.escape(name)}. All rights reserved.</p>
<ul><li>About us</li><li>Contact</li><li>Privacy policy</li><li>Terms of use</li></ul></footer>
</body>
</html>
"""


def x(text: str) -> str:
    return html.escape(text, quote=False)


def render_feed(slug: str, items: list[tuple[dict, str]]) -> str:
    name, fmt, enc, _, lang, _, suffix = OUTLETS[slug]
    home = f"{BASE}/{slug}/"
    prolog = f'<?xml version="1.0" encoding="{enc}"?>\n'
    if fmt == "rss2":
        entries = "".join(
            f"""  <item>
    <title>{x(title)}</title>
    <link>{BASE}{article_path(slug, s)}{x(suffix)}</link>
    <guid isPermaLink="false">{slug}-{s['id']}</guid>
    <pubDate>{rfc822(s['date'])}</pubDate>
    <description>{x(s['body'][0])}</description>
  </item>
"""
            for s, title in items
        )
        return prolog + f"""<rss version="2.0">
<channel>
  <title>{x(name)}</title>
  <link>{home}</link>
  <description>Latest news from {x(name)}</description>
  <language>{lang}</language>
{entries}</channel>
</rss>
"""
    if fmt == "atom":
        entries = "".join(
            f"""  <entry xml:lang="{s['lang']}">
    <title>{x(title)}</title>
    <link rel="alternate" href="{BASE}{article_path(slug, s)}{x(suffix)}"/>
    <id>tag:kyivledger.example,2026:{s['id']}</id>
    <updated>{s['date'].isoformat().replace('+00:00', 'Z')}</updated>
    <summary>{x(s['body'][0])}</summary>
  </entry>
"""
            for s, title in items
        )
        latest = max(s["date"] for s, _ in items).isoformat().replace("+00:00", "Z")
        return prolog + f"""<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{x(name)}</title>
  <link rel="alternate" href="{home}"/>
  <id>tag:kyivledger.example,2026:feed</id>
  <updated>{latest}</updated>
{entries}</feed>
"""
    seq = "".join(f'      <rdf:li rdf:resource="{BASE}{article_path(slug, s)}"/>\n' for s, _ in items)
    entries = "".join(
        f"""  <item rdf:about="{BASE}{article_path(slug, s)}">
    <title>{x(title)}</title>
    <link>{BASE}{article_path(slug, s)}{x(suffix)}</link>
    <description>{x(s['body'][0])}</description>
    <dc:date>{s['date'].isoformat().replace('+00:00', 'Z')}</dc:date>
    <dc:language>{s['lang']}</dc:language>
  </item>
"""
        for s, title in items
    )
    return prolog + f"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="{home}">
    <title>{x(name)}</title>
    <link>{home}</link>
    <description>Europe and the world</description>
    <items><rdf:Seq>
{seq}    </rdf:Seq></items>
  </channel>
{entries}</rdf:RDF>
"""


def render_sitemap(slug: str, items: list[tuple[dict, str]]) -> str:
    urls = "".join(
        f"""  <url>
    <loc>{BASE}{article_path(slug, s)}</loc>
    <news:news>
      <news:publication><news:name>{x(OUTLETS[slug][0])}</news:name><news:language>{s['lang']}</news:language></news:publication>
      <news:publication_date>{s['date'].isoformat()}</news:publication_date>
      <news:title>{x(title)}</news:title>
    </news:news>
  </url>
"""
        for s, title in items
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
{urls}</urlset>
"""


def build(site: Path = SITE) -> None:
    stories = yaml.safe_load((HERE / "stories.yaml").read_text(encoding="utf-8"))["stories"]
    for story in stories:
        if isinstance(story["date"], str):
            story["date"] = datetime.fromisoformat(story["date"].replace("Z", "+00:00"))
    if site.exists():
        shutil.rmtree(site)
    by_outlet: dict[str, list[tuple[dict, str]]] = {slug: [] for slug in OUTLETS}
    for story in stories:
        for n, (slug, title) in enumerate(story["in"].items()):
            # The first outlet listed breaks the story; the others pick it up 37 minutes apart.
            copy = {**story, "date": story["date"] + timedelta(minutes=37 * n)}
            by_outlet[slug].append((copy, title))
    for slug, items in by_outlet.items():
        items.sort(key=lambda item: item[0]["date"], reverse=True)
        page_enc = OUTLETS[slug][3]
        for index, (story, title) in enumerate(items):
            related = [(t, article_path(slug, s)) for s, t in items if s["id"] != story["id"]][:4]
            page = site / article_path(slug, story).lstrip("/")
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_bytes(render_page(slug, story, title, related).encode(page_enc, "xmlcharrefreplace"))
        feed = site / slug / FEED_FILES[OUTLETS[slug][1]]
        feed.write_bytes(render_feed(slug, items).encode(OUTLETS[slug][2], "xmlcharrefreplace"))
    wire = by_outlet["globalwire"]
    (site / "globalwire" / "news-sitemap.xml").write_text(render_sitemap("globalwire", wire), encoding="utf-8")
    (site / "index.html").write_text(
        "<!DOCTYPE html><html><body><h1>axiswatch demo corpus</h1><ul>"
        + "".join(f'<li><a href="/{s}/{FEED_FILES[o[1]]}">{html.escape(o[0])}</a></li>' for s, o in OUTLETS.items())
        + "</ul></body></html>\n",
        encoding="utf-8",
    )
    feeds = ["# Feeds of the offline demo corpus, served by `axiswatch demo-server` (port 8765).",
             "# The outlets are fictional; their affiliations are part of the fiction (the demo's story of",
             "# who reports first and who only repeats state media), not a classification of any real outlet.",
             "feeds:"]
    for slug, (name, fmt, enc, _, lang, country, _) in OUTLETS.items():
        feeds += [f"  - name: {slug}", f"    url: {BASE}/{slug}/{FEED_FILES[fmt]}", f'    outlet: "{name}"',
                  f"    country: {country}", f"    language: {lang}", f"    affiliation: {AFFILIATIONS[slug]}"]
    feeds += ["  - name: globalwire-sitemap", f"    url: {BASE}/globalwire/news-sitemap.xml",
              '    outlet: "Global Wire"', "    country: international", "    language: en",
              f"    affiliation: {AFFILIATIONS['globalwire']}"]
    (HERE / "feeds.yaml").write_text("\n".join(feeds) + "\n", encoding="utf-8")


if __name__ == "__main__":
    build()
    print(f"demo site written to {SITE}")
