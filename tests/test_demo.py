"""The shipped demo corpus: up to date with its generator, and a full pass gives known figures."""

import filecmp
import importlib.util
import json
import re
import socket
import subprocess
import sys

import duckdb


def doc_sql(path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", text, flags=re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())]


def _load_builder(repo_root):
    spec = importlib.util.spec_from_file_location("build_site", repo_root / "demo/build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_site_matches_generator(repo_root, tmp_path):
    _load_builder(repo_root).build(tmp_path / "site")
    compare = filecmp.dircmp(repo_root / "demo/site", tmp_path / "site")

    def differences(cmp):
        found = cmp.left_only + cmp.right_only + cmp.diff_files
        for sub in cmp.subdirs.values():
            found += differences(sub)
        return found

    assert differences(compare) == []


def test_demo_twice(repo_root, tmp_path):
    db = tmp_path / "demo.duckdb"
    with socket.socket() as probe:  # a free port, the same for both runs (URLs include it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [sys.executable, "-m", "axiswatch", "demo", "--db", str(db), "--port", str(port), "--json"]
    first = subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["feeds_ok"] == 8 and summary["feeds_failed"] == 0
    assert summary["entries_seen"] == 70 and summary["articles_new"] == 42 and summary["duplicates"] == 20
    assert summary["axis_new"] == 21 and summary["stories_new"] == 33 and summary["axis_stories_new"] == 17
    second = json.loads(subprocess.run(cmd, cwd=repo_root, capture_output=True, text=True, timeout=300).stdout)
    assert second["articles_new"] == 0 and second["duplicates"] == 0 and second["axis_new"] == 0
    con = duckdb.connect(str(db), read_only=True)
    for doc in ("README.md", "docs/queries.md"):  # the documented analyst queries run on the demo warehouse
        for statement in doc_sql(repo_root / doc):
            assert con.execute(statement).fetchall(), statement
    assert len(doc_sql(repo_root / "docs/queries.md")) >= 10
    # who reported what, first: several affiliations, evidenced events in several languages, one
    # fast-growing story and the state-media-only ones, each alerted once
    affiliations = {r[0] for r in con.execute("SELECT DISTINCT affiliation FROM v_story_sources").fetchall()}
    assert {"wire", "independent", "state_ru", "unknown"} <= affiliations
    assert {r[0] for r in con.execute("SELECT DISTINCT language FROM v_axis_events").fetchall()} >= {"en", "ko", "ru", "uk"}
    alerted = dict(con.execute("SELECT rule, count(*) FROM alert_outbox WHERE rule IN ('breaking', 'state-media-only')"
                               " GROUP BY rule").fetchall())
    assert alerted == {"breaking": 1, "state-media-only": 3}
    titles = {r[0] for r in con.execute("SELECT title FROM articles WHERE outlet IN ('한빛일보', 'Московский вестник')").fetchall()}
    assert "서울 아파트값 상승폭 3주 연속 둔화" in titles and "Банк России сохранил ключевую ставку" in titles
