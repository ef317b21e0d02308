"""The command line as users and scripts call it: real subprocesses, real files."""

import json
import subprocess
import sys

import fixtures as fx
from fixture_server import Route


def axiswatch(*args, cwd, stdin=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "axiswatch", *args], cwd=cwd, input=stdin, capture_output=True,
        text=True, timeout=timeout,
    )


def test_run_json_contract_and_exit_code(server, tmp_path, repo_root):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Markets", fx.MARKETS)))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: wire\n    url: {server.url('/rss.xml')}\n  - name: dead\n    url: {server.url('/dead.xml')}\n")
    db = tmp_path / "w.duckdb"
    result = axiswatch("run", "--feeds", str(feeds), "--db", str(db), "--allow-network", "127.0.0.1/32", "--json", cwd=repo_root)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    for key in ("feeds_ok", "feeds_failed", "entries_seen", "articles_new", "duplicates", "axis_new", "errors"):
        assert key in summary
    assert (summary["feeds_ok"], summary["feeds_failed"], summary["articles_new"]) == (1, 1, 3)
    dead = [e for e in summary["errors"] if e["feed"] == "dead"][0]
    assert set(dead) >= {"feed", "url", "kind", "message"} and dead["kind"] == "http_status"


def test_run_refuses_loopback_without_allow_network(server, tmp_path, repo_root):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: wire\n    url: {server.url('/rss.xml')}\n")
    result = axiswatch("run", "--feeds", str(feeds), "--db", str(tmp_path / "w.duckdb"), "--json", cwd=repo_root)
    assert result.returncode == 0
    assert json.loads(result.stdout)["errors"][0]["kind"] == "blocked"
    assert server.requests == []


def test_bad_config_fails_with_one_line(tmp_path, repo_root):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - name: x\n    url: notaurl\n")
    result = axiswatch("run", "--feeds", str(feeds), "--db", str(tmp_path / "w.duckdb"), cwd=repo_root)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "feed #1 ('x'): url" in lines[0]
    assert not (tmp_path / "w.duckdb").exists()


def test_unwritable_warehouse_fails_clearly(tmp_path, repo_root):
    (tmp_path / "blocker").write_text("")
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - name: x\n    url: https://example.invalid/rss\n")
    result = axiswatch("run", "--feeds", str(feeds), "--db", str(tmp_path / "blocker" / "w.duckdb"), cwd=repo_root)
    assert result.returncode == 2 and "cannot open warehouse" in result.stderr


def test_extract_prints_one_json_line_per_source_in_order(tmp_path, repo_root):
    good = tmp_path / "good.html"
    good.write_text(fx.page("Troops reach Kursk", fx.TROOPS), encoding="utf-8")
    result = axiswatch("extract", str(good), str(tmp_path / "missing.html"), cwd=repo_root)
    assert result.returncode == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [l["source"] for l in lines] == [str(good), str(tmp_path / "missing.html")]
    assert lines[0]["title"] == "Troops reach Kursk" and lines[0]["reason"] is None and lines[0]["language"] == "en"
    assert "cannot read file" in lines[1]["reason"]
    assert set(lines[0]) == {"source", "title", "text", "language", "date", "reason"}


def test_tag_reads_stdin_and_keeps_order(repo_root):
    items = [
        {"id": "a", "title": "North Korea sends troops to Russia", "text": ""},
        {"id": "b", "title": "Seoul apartment prices slow", "summary": "Housing market cools."},
    ]
    stdin = "\n".join(json.dumps(i) for i in items) + "\n"
    result = axiswatch("tag", "-", cwd=repo_root, stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b"] and [o["is_axis"] for o in out] == [True, False]
    assert set(out[0]) >= {"id", "is_axis", "score", "countries", "topics", "matches"}
