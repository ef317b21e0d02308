"""Alerts against real receivers on loopback: a webhook server and an SMTP server (aiosmtpd)."""

import json
import socket
import subprocess
import time
import sys

import duckdb
import fixtures as fx
import pytest
from aiosmtpd.controller import Controller
from fixture_server import Route
from pydantic import ValidationError

from alerts.config import AlertsConfig
from alerts.outbox import deliver, pending
from axiswatch.pipeline import run_pass
from ingest.records import FeedSource
from transform.tagging import Tagger

SECRET_PATH = "/hooks/T000-secret-token-abc123"


@pytest.fixture
def warehouse(server, tmp_path, fast_http, repo_root):
    """A warehouse with axis stories: the fixture feed carries one axis story and two others."""
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    db = tmp_path / "w.duckdb"
    run_pass([FeedSource(name="rss", url=server.url("/rss.xml"), outlet="Wire")], db, fast_http,
             Tagger.from_file(repo_root / "config/topics.yaml"))
    return db


def config(**rule):
    return AlertsConfig.model_validate({
        "channels": [{"name": "hook", "type": "webhook", "url_env": "TEST_HOOK_URL"}],
        "rules": [{"name": "axis", "channels": ["hook"], **rule}],
    })


def outbox(db):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT rule, channel, status, attempts, last_error FROM alert_outbox").fetchall()
    finally:
        con.close()


def test_webhook_delivery_once_per_story_and_nothing_on_rerun(warehouse, server, fast_http, monkeypatch):
    server.add(SECRET_PATH, Route(status=200))
    monkeypatch.setenv("TEST_HOOK_URL", server.url(SECRET_PATH))
    first = deliver(warehouse, config(), "run-1", fast_http)
    assert (first.queued, first.sent, first.failed, first.messages) == (1, 1, 0, 1)
    body = json.loads(server.posts[0][2])
    assert body["run_id"] == "run-1" and len(body["stories"]) == 1
    assert server.posts[0][1]["Idempotency-Key"] == body["idempotency_key"] == body["stories"][0]["idempotency_key"]
    story = body["stories"][0]
    assert {"cluster_id", "title", "url", "outlets", "countries", "topics", "first_seen"} <= set(story)
    assert story["title"] == "North Korean troops reach Kursk" and "troop_deployment" in story["topics"]
    again = deliver(warehouse, config(), "run-1", fast_http)  # a rerun of the same night
    assert (again.queued, again.sent) == (0, 0) and len(server.posts) == 1


def test_channel_down_then_up_and_the_secret_never_leaks(warehouse, server, fast_http, monkeypatch):
    server.add(SECRET_PATH, Route(status=503))
    monkeypatch.setenv("TEST_HOOK_URL", server.url(SECRET_PATH))
    down = deliver(warehouse, config(), "run-1", fast_http)
    assert down.failed == 1 and down.sent == 0
    [(rule, channel, status, attempts, error)] = outbox(warehouse)
    assert status == "pending" and attempts == 1 and "503" in error
    assert [p["rule"] for p in pending(warehouse)] == ["axis"]
    server.routes[SECRET_PATH].status = 200
    up = deliver(warehouse, config(), "run-2", fast_http)
    assert up.sent == 1 and outbox(warehouse)[0][2] == "sent"
    # The webhook URL (a secret) is in no table, no error and no message.
    server.routes[SECRET_PATH].status = 500
    con = duckdb.connect(str(warehouse), read_only=True)
    dump = json.dumps(con.execute("SELECT * FROM alert_outbox").fetchall(), default=str)
    con.close()
    assert "secret-token" not in dump and "secret-token" not in json.dumps(down.errors)


def test_secret_is_redacted_from_errors(warehouse, fast_http, monkeypatch):
    monkeypatch.setenv("TEST_HOOK_URL", "ftp://secret-token-xyz.example/hook")  # refused: not http(s)
    result = deliver(warehouse, config(), "run-1", fast_http)
    assert result.failed == 1 and "secret-token-xyz" not in result.errors[0] and "***" in result.errors[0]
    assert "secret-token-xyz" not in outbox(warehouse)[0][4]


def test_growing_story_alerts_again_only_when_asked(warehouse, server, fast_http, monkeypatch):
    server.add(SECRET_PATH, Route(status=200))
    monkeypatch.setenv("TEST_HOOK_URL", server.url(SECRET_PATH))
    deliver(warehouse, config(), "run-1", fast_http)
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE story_clusters SET outlets_count = outlets_count + 3")  # more outlets picked it up
    con.close()
    assert deliver(warehouse, config(), "run-2", fast_http).sent == 0
    assert deliver(warehouse, config(notify_updates=True), "run-3", fast_http).sent == 1
    assert json.loads(server.posts[-1][2])["stories"][0]["outlets"] == 4
    first, update = (json.loads(p[2]) for p in (server.posts[0], server.posts[-1]))
    assert update["update"] and update["stories"][0]["version"] == 1 and first["stories"][0]["version"] == 0
    assert update["idempotency_key"] != first["idempotency_key"]  # an update is a new alert, with its own key


def test_rule_filters(warehouse, server, fast_http, monkeypatch):
    server.add(SECRET_PATH, Route(status=200))
    monkeypatch.setenv("TEST_HOOK_URL", server.url(SECRET_PATH))
    assert deliver(warehouse, config(topics=["sanctions"]), "r", fast_http).queued == 0
    assert deliver(warehouse, config(min_outlets=2), "r", fast_http).queued == 0
    assert deliver(warehouse, config(languages=["ko"]), "r", fast_http).queued == 0
    assert deliver(warehouse, config(countries=["north_korea"], min_score=0.6), "r", fast_http).queued == 1


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def test_email_over_a_real_smtp_server(warehouse, fast_http):
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        cfg = AlertsConfig.model_validate({
            "channels": [{"name": "mail", "type": "email", "smtp_host": "127.0.0.1", "smtp_port": port,
                          "smtp_starttls": False, "mail_from": "axiswatch@example.org", "mail_to": ["desk@example.org"]}],
            "rules": [{"name": "axis", "channels": ["mail"], "mode": "immediate"}],
        })
        result = deliver(warehouse, cfg, "run-1", fast_http)
    finally:
        controller.stop()
    assert result.sent == 1 and len(inbox.messages) == 1
    raw = inbox.messages[0].content.decode()
    assert "Subject: [axiswatch] North Korean troops reach Kursk" in raw
    assert "text/plain" in raw and "text/html" in raw and inbox.messages[0].rcpt_tos == ["desk@example.org"]
    assert "Message-ID: <axw-" in raw and "X-Idempotency-Key: axw-" in raw  # the same on every attempt


@pytest.mark.parametrize(
    "data,needle",
    [
        ({"channels": [], "rules": [{"name": "r", "channels": ["nope"]}]}, "unknown channel 'nope'"),
        ({"channels": [{"name": "h", "type": "webhook"}], "rules": []}, "needs url_env"),
        ({"channels": [{"name": "m", "type": "email", "smtp_host": "x"}], "rules": []}, "needs smtp_host, mail_from and mail_to"),
        ({"channels": [{"name": "h", "type": "pigeon"}], "rules": []}, "type"),
        ({"channels": [], "rules": [{"name": "r", "channels": [], "mode": "daily"}]}, "mode"),
    ],
)
def test_bad_alert_config_is_a_clear_error(data, needle):
    with pytest.raises(ValidationError, match=needle):
        AlertsConfig.model_validate(data)


def test_zero_config_webhook_from_the_environment(server, tmp_path, repo_root):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/hook", Route(status=500))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: rss\n    url: {server.url('/rss.xml')}\n")
    env = {"AXISWATCH_ALERT_WEBHOOK_URL": server.url("/hook"), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-m", "axiswatch", "run", "--feeds", str(feeds), "--db", str(tmp_path / "w.duckdb"),
           "--allow-network", "127.0.0.1/32", "--json"]
    down = json.loads(subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True, timeout=120).stdout)
    assert down["alerts_failed"] == 1 and len(server.posts) == 3  # the request itself retried 5xx twice
    server.routes["/hook"].status = 200
    up = json.loads(subprocess.run(cmd, cwd=repo_root, env=env, capture_output=True, text=True, timeout=120).stdout)
    assert up["articles_new"] == 0 and up["alerts_sent"] == 1  # retried on the next run
    body = json.loads(server.posts[-1][2])
    assert body["run_id"] == down["run_id"] or body["run_id"] == up["run_id"]
    assert [s["title"] for s in body["stories"]] == ["North Korean troops reach Kursk"]


def test_alerts_test_command_sends_a_sample(server, tmp_path, repo_root):
    server.add("/hook", Route(status=200))
    settings = tmp_path / "s.yaml"
    settings.write_text("alerts:\n  channels:\n    - {name: hook, type: webhook, url_env: HOOK}\n"
                        "  rules:\n    - {name: desk, channels: [hook]}\n")
    env = {"HOOK": server.url("/hook"), "PATH": "/usr/bin:/bin"}
    ok = subprocess.run([sys.executable, "-m", "axiswatch", "alerts", "test", "--rule", "desk", "--config", str(settings),
                         "--allow-network", "127.0.0.1/32"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Sample" in json.loads(server.posts[0][2])["stories"][0]["title"]
    missing = subprocess.run([sys.executable, "-m", "axiswatch", "alerts", "test", "--rule", "nope", "--config",
                              str(settings)], cwd=repo_root, env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "no alert rule named 'nope'" in missing.stderr


class SlowReceiver:
    """A webhook on 127.0.0.1 that accepts every POST (reads and keeps it) and answers only after
    ``delay`` seconds: past the client's timeout, so the sender cannot know it arrived."""

    def __init__(self, delay: float):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.delay = delay
        self.received: list[tuple[str, dict]] = []  # (Idempotency-Key header, JSON body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                receiver.received.append((self.headers.get("Idempotency-Key"), body))
                time.sleep(receiver.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the client gave up

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def axis_pages(server, names):
    """One feed with an axis story per name, each told in its own words (so each is its own story)."""
    items = "".join(f"<item><title>North Korean troops: {n}</title><link>{{BASE}}/s/{n}.html</link></item>"
                    for n in names)
    server.add("/axis.xml", Route(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>",
                                  content_type="application/rss+xml"))
    for n in names:
        words = " ".join(f"{n}{w}" for w in range(60))
        server.add(f"/s/{n}.html", Route(fx.page(f"North Korean troops: {n}", [
            f"North Korea has sent troops to Russia's Kursk region near {n}, officials said. {words}",
            f"Ukraine said the North Korean soldiers fought near {n} alongside Russian forces. {words}"])))


def test_a_receiver_answering_after_the_timeout_gets_every_copy_under_one_key(server, tmp_path, repo_root, monkeypatch):
    from ingest.http import HttpSettings

    names = ["alpha", "bravo", "charlie"]
    axis_pages(server, names)
    db = tmp_path / "w.duckdb"
    http = HttpSettings(connect_timeout=1, read_timeout=0.5, deadline=1, retries=1, backoff_base=0.01,
                        allowed_networks=(__import__("ipaddress").ip_network("127.0.0.0/8"),))
    source = [FeedSource(name="axis", url=server.url("/axis.xml"), outlet="Wire")]
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    run_pass(source, db, http, tagger)
    receiver = SlowReceiver(delay=2.0)
    monkeypatch.setenv("TEST_HOOK_URL", receiver.url())
    try:
        first = deliver(db, config(), "run-1", http)  # the digest of 3 stories: accepted, answered too late
        assert (first.sent, first.failed, first.messages) == (0, 3, 1)
        assert "outcome unknown" in first.errors[0] and "retried with the same key" in first.errors[0]
        assert len(receiver.received) == 2  # the request retried the timeout itself
        axis_pages(server, [*names, "delta"])  # a new story arrives before the next run
        run_pass(source, db, http, tagger)
        second = deliver(db, config(), "run-2", http)
        assert second.messages == 2 and second.sent == 0  # the same digest again, and one for the new story
        receiver.delay = 0
        third = deliver(db, config(), "run-3", http)
        assert third.sent == 4 and third.failed == 0
        assert deliver(db, config(), "run-4", http).messages == 0
    finally:
        receiver.close()
    by_key: dict[str, list[dict]] = {}
    for header, body in receiver.received:
        assert header == body["idempotency_key"]
        by_key.setdefault(header, []).append(body)
    assert len(receiver.received) == 2 + 4 + 2  # 3 runs' attempts: 2, 2 messages x 2, 2 messages
    assert len(by_key) == 2  # a receiver deduping on the key sees two messages...
    stories = [s["cluster_id"] for copies in by_key.values() for s in copies[0]["stories"]]
    assert len(stories) == len(set(stories)) == 4  # ...and each story once
    for copies in by_key.values():  # every copy of a message: the same stories, the same story keys
        assert len({tuple(sorted(s["idempotency_key"] for s in c["stories"])) for c in copies}) == 1
    digest = next(copies for copies in by_key.values() if len(copies[0]["stories"]) == 3)
    assert {c["run_id"] for c in digest} == {"run-1", "run-2", "run-3"}
