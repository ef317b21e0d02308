"""robots.txt for article pages: fetched once per host per run through the guarded client, with
its crawl-delay applied as the host's minimum interval between requests."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from ingest.http import FetchError, HttpClient

RobotsParser = RobotFileParser | None  # None: no usable robots.txt, everything allowed


class RobotsCache:
    """Answers "may we fetch this URL?" per host; an unreachable robots.txt allows everything,
    a robots.txt we cannot read (4xx) allows everything, as crawlers conventionally do."""

    def __init__(self, client: HttpClient, user_agent: str = "axiswatch") -> None:
        self.client = client
        self.user_agent = user_agent
        self._parsers: dict[str, RobotFileParser | None] = {}
        self._fetching: dict[str, threading.Event] = {}  # origin -> set when its answer is stored
        self._lock = threading.Lock()

    def _parser(self, url: str) -> RobotsParser:
        """The origin's parsed robots.txt, fetched once: pages of one host start together (the
        fetch workers take a feed's links in order), and every caller after the first waits for
        that one fetch instead of sending its own."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            if origin in self._parsers:
                return self._parsers[origin]
            pending = self._fetching.get(origin)
            fetching = pending is None
            if fetching:
                pending = self._fetching[origin] = threading.Event()
        if not fetching:
            pending.wait()
            with self._lock:
                return self._parsers.get(origin)
        parser: RobotFileParser | None = None
        try:
            parser = self._fetch(origin, parts.hostname or "")
        finally:  # whatever happened, the waiters get an answer (None: everything allowed)
            with self._lock:
                self._parsers[origin] = parser
                del self._fetching[origin]
            pending.set()
        return parser

    def _fetch(self, origin: str, host: str) -> RobotsParser:
        try:
            body = self.client.get(f"{origin}/robots.txt").body.decode("utf-8", "replace")
        except FetchError:
            return None
        parser = RobotFileParser()
        parser.parse(body.splitlines())
        delay = parser.crawl_delay(self.user_agent)
        if delay:
            self.client.set_host_delay(host, float(delay), only_if_unset=True)
        return parser

    def allowed(self, url: str) -> bool:
        """Whether robots.txt of ``url``'s origin lets us fetch it (fetching robots.txt first)."""
        parser = self._parser(url)
        return parser is None or parser.can_fetch(self.user_agent, url)
