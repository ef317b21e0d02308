"""Small hand-written feeds and pages for tests (the demo corpus is exercised separately)."""

from __future__ import annotations


def page(title: str, paragraphs: list[str], lang: str = "en", charset: str = "utf-8") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}"><title>{title}</title></head>
<body><div class="cookie-banner">We use cookies. <button>Accept</button></div>
<nav><a href="/">Home</a> <a href="/korea">Korea</a> <a href="/russia">Russia</a> <a href="/ukraine">Ukraine</a></nav>
<main><article><h1>{title}</h1>{body}</article>
<aside><h3>Related</h3><ul><li><a href="/x">North Korea sends troops to Russia</a></li></ul></aside>
<section class="comments"><p>Comment: Russia and North Korea again!</p></section></main>
<footer>© 2026 Test Outlet</footer></body></html>"""


TROOPS = [
    "North Korea has sent thousands of additional troops to Russia's Kursk region, South Korea's intelligence agency said on Tuesday, citing satellite images and intercepted communications.",
    "The soldiers were moved by rail and assigned to assault units fighting Ukrainian forces, the agency told lawmakers in Seoul during a closed briefing.",
    "Moscow and Pyongyang have not commented on the report. Ukraine called it a dangerous escalation.",
]
MARKETS = [
    "Stock markets in Asia rose on Tuesday as investors bet on lower interest rates in the United States later this year, with technology shares leading gains across the region.",
    "Analysts said the rally could fade if inflation data due on Thursday comes in higher than expected by economists.",
]

RSS2 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Test Wire</title><link>{BASE}/</link><language>en</language>
<item><title>North Korean troops reach Kursk</title>
<link>{BASE}/pages/troops.html?utm_source=rss&amp;utm_medium=feed</link>
<guid isPermaLink="false">tw-1</guid><pubDate>Tue, 24 Nov 2026 06:10:00 +0900</pubDate>
<description>&lt;p&gt;North Korea has sent &lt;b&gt;thousands&lt;/b&gt; of troops.&lt;/p&gt;</description></item>
<item><title>Asian markets rise</title><link>{BASE}/pages/markets.html#top</link>
<pubDate>Tue, 24 Nov 2026 01:00:00 GMT</pubDate><description>Stocks rose.</description></item>
<item><title>A page that is gone</title><link>{BASE}/pages/missing.html</link>
<guid>{BASE}/pages/missing.html</guid><description>Summary kept when the page fails.</description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom Test</title><id>urn:atom-test</id>
<updated>2026-11-24T00:00:00Z</updated>
<entry><title>Markets copy under another headline</title><link rel="alternate" href="{BASE}/pages/markets-copy.html"/>
<id>urn:atom-test:1</id><updated>2026-11-24T02:00:00Z</updated><summary>Asian stocks gain</summary></entry>
</feed>"""

RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{BASE}/"><title>RDF Test</title><link>{BASE}/</link><description>d</description></channel>
<item rdf:about="{BASE}/pages/rdf1.html"><title>RDF item</title><link>{BASE}/pages/rdf1.html</link>
<dc:date>2026-11-23T10:00:00Z</dc:date></item>
</rdf:RDF>"""

RUSSIAN_TITLE = "КНДР передала России снаряды"
CP1251 = f"""<?xml version="1.0" encoding="windows-1251"?>
<rss version="2.0"><channel><title>Вестник</title><link>{{BASE}}/</link>
<item><title>{RUSSIAN_TITLE}</title><link>{{BASE}}/pages/ru1.html</link>
<description>Пхеньян продолжает поставки.</description></item></channel></rss>""".encode("windows-1251")

KOREAN_TITLE = "북한군, 러시아 쿠르스크 전선 투입"
EUCKR = f"""<?xml version="1.0" encoding="euc-kr"?>
<rss version="2.0"><channel><title>한빛</title><link>{{BASE}}/</link>
<item><title>{KOREAN_TITLE}</title><link>{{BASE}}/pages/ko1.html</link>
<description>국정원이 밝혔다.</description></item></channel></rss>""".encode("euc-kr")

MALFORMED = """<?xml version="1.0"?><html><body>this is not <b>a feed</body>"""

SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{BASE}/pages/sm1.html</loc><news:news><news:publication><news:name>Wire</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-24T08:00:00+09:00</news:publication_date><news:title>Sitemap story</news:title></news:news></url>
</urlset>"""
