"""A synthetic but realistic night: N feeds on H hosts, M entries each, article pages of realistic
size with boilerplate, a syndication rate, four languages; served on 127.0.0.x with latency."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SENTENCES = {
    "en": ["North Korea has sent more troops to Russia's Kursk region, officials in Seoul said.",
           "The central bank kept its key rate unchanged as inflation slowed in the third quarter.",
           "Farmers reported a strong harvest despite a dry summer and high fuel prices.",
           "Ukrainian forces repelled attacks near Pokrovsk overnight, the general staff said.",
           "Analysts expect exports of semiconductors to keep growing on demand for servers.",
           "The minister said talks with European partners would continue next week in Brussels."],
    "ko": ["국가정보원은 북한이 러시아에 병력을 추가로 파병했다고 밝혔다.", "한국은행은 기준금리를 동결하고 물가 흐름을 지켜보겠다고 밝혔다.",
           "서울 아파트 매매가격 상승폭이 3주 연속 둔화했다.", "정부는 내년 예산안에서 복지 지출을 늘리기로 했다."],
    "ru": ["Северная Корея продолжает поставлять России артиллерийские снаряды, сообщили аналитики.",
           "Банк России сохранил ключевую ставку, отметив замедление инфляции.",
           "В Москве ожидаются морозы до минус десяти градусов.", "Министерство финансов сообщило о росте налоговых поступлений."],
    "uk": ["Головне управління розвідки повідомило про нову партію ракет з КНДР для росії.",
           "Укренерго оголосило графіки відключень електроенергії на вівторок.",
           "У Києві відкрили оновлену станцію метро після ремонту.", "Уряд ухвалив рішення про підтримку малого бізнесу."],
}
ALPHABETS = {
    "en": "abcdefghijklmnopqrstuvwxyz",
    "ko": "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허고노도로모보소오조초",
    "ru": "абвгдежзийклмнопрстуфхцчшщыэюя",
    "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
}
BOILERPLATE = ("<header><nav><a href='/'>Home</a> <a href='/world'>World</a> <a href='/korea'>Korea</a> "
               "<a href='/russia'>Russia</a> <a href='/ukraine'>Ukraine</a></nav></header>"
               "<div class='cookie'>We use cookies to improve your experience. <button>Accept</button></div>")
FOOTER = ("<aside><h3>Related</h3><ul>" + "".join(f"<li><a href='/r/{i}'>Related story number {i}</a></li>" for i in range(8))
          + "</ul></aside><section class='comments'><p>Reader comment: interesting.</p></section>"
          "<footer>© 2026 Outlet. About · Contact · Privacy</footer>")


START = datetime(2026, 11, 20, tzinfo=UTC)  # pages are dated from here on


@dataclass
class Corpus:
    hosts: list[str]
    feeds: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (host, path) -> body
    pages: dict[tuple[str, str], bytes] = field(default_factory=dict)
    feed_urls: list[str] = field(default_factory=list)
    start: datetime = field(default_factory=lambda: START)  # the earliest page's date

    def routes(self) -> dict[tuple[str, str], bytes]:
        return {**self.feeds, **self.pages}


def build(n_feeds: int, entries_per_feed: int, pages: int, hosts: int = 50, dup_rate: float = 0.2,
          words: int = 600, seed: int = 5, port: int = 0) -> Corpus:
    """Entries point at ``pages`` distinct URLs (each listed by several feeds); a share of the pages
    carry another page's text (syndication) under their own URL and headline."""
    rng = random.Random(seed)
    host_ips = [f"127.0.0.{i + 2}" for i in range(hosts)]
    corpus = Corpus(host_ips)
    start = corpus.start
    texts: list[tuple[str, list[str]]] = []
    page_urls = []
    for p in range(pages):
        host = host_ips[p % hosts]
        lang = rng.choices(list(SENTENCES), weights=[6, 2, 1, 1])[0]
        if texts and rng.random() < dup_rate:
            lang, paragraphs = rng.choice(texts[-200:])
        else:
            pool, alphabet = SENTENCES[lang], ALPHABETS[lang]
            n = max(3, words // 60)
            # Template sentences plus story-specific words, so different stories really differ.
            paragraphs = [" ".join(rng.choice(pool) + " " + " ".join(
                "".join(rng.choices(alphabet, k=rng.randint(3, 8))) for _ in range(6)) for _ in range(3))
                for _ in range(n)]
            texts.append((lang, paragraphs))
        words_in_title = " ".join("".join(rng.choices(ALPHABETS[lang], k=rng.randint(3, 8))) for _ in range(4))
        title = f"{rng.choice(SENTENCES[lang])[:50]} {words_in_title}"
        html = (f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{title}</title></head><body>"
                f"{BOILERPLATE}<main><article><h1>{title}</h1>" + "".join(f"<p>{x}</p>" for x in paragraphs)
                + f"</article></main>{FOOTER}</body></html>")
        path = f"/a/{p}.html"
        corpus.pages[(host, path)] = html.encode()
        page_urls.append((host, path, title, start + timedelta(minutes=p)))
    for f in range(n_feeds):
        host = host_ips[f % hosts]
        items = []
        for e in range(entries_per_feed):
            h, path, title, when = page_urls[(f * entries_per_feed + e * 7) % len(page_urls)]
            items.append(f"<item><title>{title}</title><link>http://{h}:{{PORT}}{path}?utm_source=rss</link>"
                         f"<guid>{h}{path}</guid><pubDate>{format_datetime(when)}</pubDate>"
                         f"<description>Summary of story {path}</description></item>")
        body = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {f}</title>'
                f"<link>http://{host}/</link>{''.join(items)}</channel></rss>")
        path = f"/feed-{f}.xml"
        corpus.feeds[(host, path)] = body.encode()
        corpus.feed_urls.append(f"http://{host}:{{PORT}}{path}")
    return corpus


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def __init__(self, *args, responses: _Responses, latency: float, **kwargs):
        self.responses, self.latency = responses, latency
        super().__init__(*args, **kwargs)

    def log_message(self, *args) -> None:
        return None

    def do_GET(self) -> None:
        time.sleep(self.latency)
        host = self.server.server_address[0]
        self.wfile.write(self.responses.response(host, self.path, self.headers.get("If-None-Match")))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address) -> None:
        """A client that drops a kept-alive connection is normal (clients close their pools at the
        end of a pass): only other errors get the standard traceback on stderr."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ServerProcess:
    """The corpus's servers running in a child process (``shutdown`` stops it)."""

    def __init__(self, process: multiprocessing.process.BaseProcess) -> None:
        self.process = process

    def shutdown(self) -> None:
        self.process.terminate()
        self.process.join(10)


def serve_apart(corpus: Corpus, latency: float = 0.1) -> tuple[list[ServerProcess], int]:
    """The corpus served from a forked child process, on one asyncio event loop (see
    ``_serve_quietly``): the hosts of a night are other machines, so their request handling must
    not take turns with the pipeline for this interpreter's lock (in the same process, the
    servers' threads held it for about as many samples as the pipeline's main thread in a
    profile of a 3,000-page night). They still share the machine's cores, so they serve as
    cheaply as they can."""
    context = multiprocessing.get_context("fork")
    ready = context.Queue()
    process = context.Process(target=_serve_until_killed, args=(corpus, latency, ready), daemon=True)
    process.start()
    port = ready.get(timeout=60)
    return [ServerProcess(process)], port


def _serve_until_killed(corpus: Corpus, latency: float, ready) -> None:
    asyncio.run(_serve_quietly(corpus, latency, ready))


class _Responses:
    """Every route's whole HTTP responses, built once: the 200 (with its ETag), the 304 for a
    client that holds that ETag, and a 404 for anything else. Both servers answer from it."""

    NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"

    def __init__(self, routes: dict[tuple[str, str], bytes], port: int) -> None:
        self._routes: dict[tuple[str, str], tuple[str, bytes, bytes]] = {}  # -> (ETag, 200, 304)
        for (host, path), body in routes.items():
            body = body.replace(b"{PORT}", str(port).encode())
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            kind = "application/rss+xml" if path.endswith(".xml") else "text/html; charset=utf-8"
            ok = (f"HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                  f"ETag: {etag}\r\n\r\n").encode() + body
            not_modified = f"HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n".encode()
            self._routes[(host, path)] = (etag, ok, not_modified)

    def response(self, host: str, target: str, if_none_match: str | None) -> bytes:
        route = self._routes.get((host, target.split("?")[0]))
        if route is None:
            return self.NOT_FOUND
        etag, ok, not_modified = route
        return not_modified if if_none_match == etag else ok


class _Connection(asyncio.Protocol):
    """One client connection to one host: each GET answered ``latency`` seconds after it arrived,
    kept alive for the next. The requests are a client's GETs (no bodies); headers are read for
    If-None-Match and Connection only."""

    def __init__(self, responses: _Responses, host: str, latency: float) -> None:
        self.responses, self.host, self.latency = responses, host, latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        loop = asyncio.get_running_loop()
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            response = self.responses.response(self.host, parts[1] if len(parts) > 1 else "/",
                                               headers.get("if-none-match"))
            loop.call_later(self.latency, self._send, response, headers.get("connection", "").lower() == "close")

    def _send(self, response: bytes, close: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(response)
        if close:
            self.transport.close()

    def connection_lost(self, exc) -> None:
        self.transport = None


async def _serve_quietly(corpus: Corpus, latency: float, ready) -> None:
    """Every host of ``corpus`` on one event loop, all on the same free port, each response
    built once beforehand. The threaded ``serve`` handles each request with the standard
    library's HTTP server (a thread per connection, its header parser): CPU that a night's real
    hosts spend elsewhere, taken here from the cores the night runs on (benchmarks/README.md has
    the figures)."""
    loop = asyncio.get_running_loop()
    probe = await loop.create_server(asyncio.Protocol, corpus.hosts[0], 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    responses = _Responses(corpus.routes(), port)
    for host in corpus.hosts:
        await loop.create_server(partial(_Connection, responses, host, latency), host, port, backlog=256,
                                 reuse_address=True)
    ready.put(port)
    await asyncio.Event().wait()


def serve(corpus: Corpus, latency: float = 0.1) -> tuple[list[ThreadingHTTPServer], int]:
    """One threaded server per host address, all on the same free port."""
    probe = ThreadingHTTPServer((corpus.hosts[0], 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()
    servers = []
    responses = _Responses(corpus.routes(), port)
    for host in corpus.hosts:
        server = _Server((host, port), partial(_Handler, responses=responses, latency=latency))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers, port
