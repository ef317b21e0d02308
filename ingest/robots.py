"""robots.txt for article pages: fetched once per host per run through the guarded client, with
its crawl-delay applied as the host's minimum interval between requests."""

from __future__ import annotations

import threading
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from ingest.http import FetchError, HttpClient

MAX_CRAWL_DELAY = 30.0


class RobotsCache:
    """Answers "may we fetch this URL?" per host; an unreachable robots.txt allows everything,
    a robots.txt we cannot read (4xx) allows everything, as crawlers conventionally do."""

    def __init__(self, client: HttpClient, user_agent: str = "axiswatch") -> None:
        self.client = client
        self.user_agent = user_agent
        self._parsers: dict[str, RobotFileParser | None] = {}
        self._lock = threading.Lock()

    def _parser(self, url: str) -> RobotFileParser | None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            if origin in self._parsers:
                return self._parsers[origin]
        parser: RobotFileParser | None = None
        try:
            body = self.client.get(f"{origin}/robots.txt").body.decode("utf-8", "replace")
            parser = RobotFileParser()
            parser.parse(body.splitlines())
            delay = parser.crawl_delay(self.user_agent)
            if delay:
                self.client.set_host_delay(parts.hostname or "", min(float(delay), MAX_CRAWL_DELAY), only_if_unset=True)
        except FetchError:
            parser = None
        with self._lock:
            self._parsers[origin] = parser
        return parser

    def allowed(self, url: str) -> bool:
        parser = self._parser(url)
        return parser is None or parser.can_fetch(self.user_agent, url)
