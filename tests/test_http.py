import gzip

import pytest
from fixture_server import Route

from ingest.http import (
    HttpClient,
    HttpSettings,
    HttpStatusError,
    RedirectError,
    TimeoutFetchError,
    TooLargeError,
    parse_retry_after,
)


def test_retries_503_then_succeeds_with_retry_after(server, fast_http):
    url = server.add("/flaky", Route("ok", fail_times=1, retry_after="7"))
    waits = []
    with HttpClient(fast_http, sleep=waits.append) as c:
        response = c.get(url)
    assert response.body == b"ok" and response.attempts == 2
    assert waits == [pytest.approx(7.0)]  # honoured Retry-After instead of the backoff


def test_retries_are_bounded(server, fast_http):
    url = server.add("/down", Route("x", fail_times=100))
    with HttpClient(fast_http, sleep=lambda s: None) as c, pytest.raises(HttpStatusError) as info:
        c.get(url)
    assert info.value.status == 503
    assert server.routes["/down"].hits == fast_http.retries + 1


def test_404_is_not_retried(server, client):
    with pytest.raises(HttpStatusError) as info:
        client.get(server.url("/nope"))
    assert info.value.status == 404 and info.value.kind == "http_status"
    assert len(server.requests) == 1


def test_gzip_is_decoded_and_identifying_user_agent_sent(server, client):
    url = server.add("/gz", Route("compressed body " * 10, gzip=True))
    assert client.get(url).body == b"compressed body " * 10
    assert "axiswatch" in server.requests[0][1]["User-Agent"]


def test_decoded_size_cap_stops_a_gzip_bomb(server, fast_http):
    bomb = Route(b"\0" * 5_000_000, gzip=True, content_type="application/xml")
    url = server.add("/bomb", bomb)
    assert len(gzip.compress(b"\0" * 5_000_000)) < 10_000
    settings = HttpSettings(**{**fast_http.__dict__, "max_bytes": 1_000_000})
    with HttpClient(settings) as c, pytest.raises(TooLargeError):
        c.get(url)


def test_total_deadline_cuts_off_a_dripping_server(server, fast_http):
    url = server.add("/drip", Route("x" * 200, drip=0.05))
    settings = HttpSettings(**{**fast_http.__dict__, "deadline": 1.0, "retries": 0})
    with HttpClient(settings) as c, pytest.raises(TimeoutFetchError):
        c.get(url)


def test_slow_server_times_out(server, fast_http):
    url = server.add("/slow", Route("late", delay=3))
    settings = HttpSettings(**{**fast_http.__dict__, "read_timeout": 0.5, "retries": 0})
    with HttpClient(settings) as c, pytest.raises(TimeoutFetchError):
        c.get(url)


def test_redirects_are_followed_and_capped(server, client):
    server.add("/final", Route("landed"))
    url = server.add("/r1", Route(status=301, location="/final"))
    response = client.get(url)
    assert response.body == b"landed" and response.url.endswith("/final")
    loop = server.add("/loop", Route(status=302, location="/loop"))
    with pytest.raises(RedirectError):
        client.get(loop)


def test_parse_retry_after():
    assert parse_retry_after("120") == 120
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
