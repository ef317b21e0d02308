"""Readable output: --version, help with plain types and real defaults, one ISO 8601 form for
date/times and durations in every text format, wide rows that stay readable at 160 columns, and
a start that imports nothing heavy."""

import csv
import io
import json
import os
import re
import subprocess
import sys
import unicodedata
from importlib.metadata import version

import duckdb
from conftest import ROOT, run_axiswatch
from test_cli_hostile import commands

from warehouse.snapshot import snapshot_path


def test_version_is_the_installed_package_version():
    result = run_axiswatch("--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"axiswatch {version('axiswatch')}")


def test_help_shows_plain_types_and_real_defaults():
    typer_labels = re.compile(r"<(str|int|float|bool|path|list\[[^\]]*\]|[a-z]+ range)>")
    for words, _ in [([], None), *commands()]:
        result = run_axiswatch(*words, "--help")
        assert result.returncode == 0, (words, result.stderr)
        assert not typer_labels.search(result.stdout), (words, typer_labels.search(result.stdout).group(0))
    query = " ".join(run_axiswatch("query", "--help").stdout.split())
    for shown in ["--format table|records|csv|json|parquet", "[default: table]", "--max-width CHARS", "[default: 40;",
                  "--db LOCATION", "data/axiswatch.duckdb", "--out FILE"]:
        assert shown in query, shown
    demo = " ".join(run_axiswatch("demo", "--help").stdout.split())
    assert "--port PORT" in demo and "[default: 8765; 0<=x<=65535]" in demo
    run = " ".join(run_axiswatch("run", "--help").stdout.split())
    assert "--allow-network CIDR" in run and "Repeat the option" in run and "config/settings.yaml" in run


def test_one_iso_8601_form_for_times_and_durations_in_every_format(demo_warehouse):
    sql = ("SELECT cluster_id, first_seen_at, published_at, published_at - TIMESTAMPTZ '2026-11-01 00:00:00+00' AS since_nov,"
           " INTERVAL 90 MINUTES AS ninety FROM v_axis_stories ORDER BY cluster_id LIMIT 3")
    with duckdb.connect(str(snapshot_path(demo_warehouse)), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        truth = con.execute(sql).fetchall()
    expected = [(cid, first.isoformat(), pub.isoformat()) for cid, first, pub, *_ in truth]
    assert all("T" in f and f.endswith("+00:00") for _, f, _ in expected)

    def run(fmt, *extra):
        result = run_axiswatch("query", sql, "--db", str(demo_warehouse), "--format", fmt, *extra,
                               env={**os.environ, "COLUMNS": "400"})
        assert result.returncode == 0, result.stderr
        return result.stdout

    as_json = [json.loads(line) for line in run("json").splitlines()]
    as_csv = list(csv.DictReader(io.StringIO(run("csv"))))
    for rows in (as_json, as_csv):
        assert [(r["cluster_id"], r["first_seen_at"], r["published_at"]) for r in rows] == expected
        assert {r["ninety"] for r in rows} == {"PT1H30M"}
        assert all(re.fullmatch(r"P\d+DT(\d+H)?(\d+M)?(\d+S)?|P\d+D", r["since_nov"]) for r in rows), rows
    for text in (run("records"), run("table", "--max-width", "0")):
        for cid, first, published in expected:
            assert cid in text and first in text and published in text
        assert "PT1H30M" in text and "MonthDayNano" not in text


def terminal_width(line: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_wide_rows_are_readable_at_160_columns(demo_warehouse):
    """The issue's example: 15 columns with a long matched_terms wrapped over ~25 lines. At 160
    columns it comes out as records (every value whole, one line each); a narrower selection as a
    grid that fits, cut cells marked and said."""
    env = {**os.environ, "COLUMNS": "160"}
    wide = run_axiswatch("query", "SELECT * FROM v_axis_stories ORDER BY cluster_id LIMIT 5", "--db", str(demo_warehouse),
                         env=env)
    assert wide.returncode == 0, wide.stderr
    with duckdb.connect(str(snapshot_path(demo_warehouse)), read_only=True) as con:
        terms = con.execute("SELECT matched_terms FROM v_axis_stories ORDER BY cluster_id LIMIT 1").fetchone()[0]
        columns = len(con.execute("SELECT * FROM v_axis_stories LIMIT 0").description)  # 15 and the later additions
    assert columns >= 15
    assert wide.stderr.strip().splitlines() == [f"5 rows; {columns} columns do not fit in 160: shown as records (--format records)"]
    blocks = wide.stdout.split("-[ row ")[1:]
    assert len(blocks) == 5 and all(len(b.strip().splitlines()) == columns + 1 for b in blocks)  # header + columns
    assert re.search(rf"^matched_terms +\| {re.escape(', '.join(terms))}$", wide.stdout, re.M)
    narrow = run_axiswatch("query", "SELECT cluster_id, outlets, headline, first_outlet, topics, published_at"
                           " FROM v_axis_stories ORDER BY cluster_id LIMIT 5", "--db", str(demo_warehouse), env=env)
    lines = narrow.stdout.splitlines()
    assert narrow.returncode == 0 and len(lines) == 2 + 5
    assert all(terminal_width(line) <= 160 for line in lines) and len({terminal_width(line) for line in lines}) == 1
    assert "…" in narrow.stdout and "long cells are cut" in narrow.stderr


def test_importing_the_cli_loads_nothing_heavy():
    """`axiswatch --help` must stay fast: the CLI module may import typer, not the warehouse engine,
    Arrow, extraction, clustering, the HTTP stack, rich or Airflow (each loads on demand)."""
    heavy = ["duckdb", "pyarrow", "numpy", "trafilatura", "datasketch", "scipy", "airflow", "rich", "httpx", "pydantic",
             "jinja2", "yaml", "pebble", "feedparser"]
    probe = f"import sys, axiswatch.cli; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (result.returncode, result.stdout.strip()) == (0, "[]"), result.stderr
    helped = subprocess.run([sys.executable, "-c", "import sys, runpy; sys.argv = ['axiswatch', '--help'];\n"
                             "try: runpy.run_module('axiswatch', run_name='__main__')\n"
                             f"except SystemExit: pass\nprint(sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert helped.stderr.strip() == "[]", helped.stderr  # rendering the help does not load rich either
