"""The warehouse backends side by side: the same night loaded into a DuckDB file and into a
DuckLake (SQLite catalog, Parquet files), then analyst query latency on a warehouse of N articles
(default 1 million) on each: the views behind `axiswatch stories`, the report and docs/queries.md,
and full-text search, each read the way analysts read (the snapshot file, or the lake read-only).

It prints, per backend, the night's stage times, and ``lake_vs_file_warehouse_stages``: the
seconds of the stages that work in the warehouse (``benchmarks.night.WAREHOUSE_STAGES``) on the
lake over those on the file (target: at most 1.2).

Usage: python -m benchmarks.backends [--articles 1000000] [--repeat 3] [--no-latency] [night options...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.history import word
from benchmarks.night import WAREHOUSE_STAGES

QUERIES = {
    "v_axis_stories_latest": "SELECT * FROM v_axis_stories ORDER BY first_seen_at DESC LIMIT 20",
    "v_axis_stories_7d_by_outlets": "SELECT * FROM v_axis_stories WHERE first_seen_at >= $end - INTERVAL 7 DAY ORDER BY outlets DESC LIMIT 20",
    "v_daily_axis_counts_30d": "SELECT * FROM v_daily_axis_counts WHERE day >= CAST($end AS DATE) - 30 ORDER BY day",
    "v_outlet_coverage": "SELECT outlet, count(*) AS stories, avg(report_rank) AS rank FROM v_outlet_coverage GROUP BY outlet ORDER BY stories DESC LIMIT 20",
    "v_feed_health": "SELECT * FROM v_feed_health LIMIT 50",
    "v_articles_axis_7d": "SELECT count(*) FROM v_articles WHERE is_axis AND published_at >= $end - INTERVAL 7 DAY",
}
SEARCHES = {  # by how many articles they match: a few thousand, ~13%, and every one
    "selective": f"{word(12000)} {word(15000)}", "common": word(300), "every_article": f"history story {word(1)}"}


def _timed(fn, repeat: int) -> float:
    fn()  # warm: the first query also loads the extension and reads the catalog
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return round(statistics.median(runs), 3)


TABLES = ("feeds", "pipeline_runs", "feed_fetches", "articles", "article_duplicates", "article_tags",
          "article_clusters", "story_clusters", "story_axis")


def _copy_into(db: str, source: Path) -> None:
    """Fill a new warehouse with every row of an existing DuckDB warehouse (e.g. the one the growth
    benchmark left with a million articles), table by table."""
    from warehouse.db import in_transaction, open_warehouse, sql_string

    con = open_warehouse(db)
    try:
        con.execute(f"ATTACH {sql_string(str(source))} AS src (READ_ONLY)")
        for table in TABLES:
            in_transaction(con, lambda table=table: con.execute(f"INSERT INTO {table} SELECT * FROM src.{table}"))
        con.execute("DETACH src")
    finally:
        con.close()


def latency(backend: str, articles: int, repeat: int, source: Path | None = None) -> dict:
    from benchmarks.history import populate
    from transform.tagging import Tagger
    from warehouse.maintenance import rebuild_search_index
    from warehouse.search import search
    from warehouse.snapshot import open_snapshot, publish_snapshot

    work = Path(tempfile.mkdtemp(prefix=f"axiswatch-{backend}-"))
    db = str(work / "w.duckdb") if backend == "duckdb" else f"ducklake:sqlite:{work}/lake.sqlite"
    end = datetime(2026, 11, 20, tzinfo=UTC)
    version = Tagger.from_file(Path(__file__).resolve().parent.parent / "config/topics.yaml").version
    started = time.perf_counter()
    if source:
        _copy_into(db, source)
    else:
        populate(db, articles, version, end, index=False)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    rebuild_search_index(db)  # the full rebuild the maintenance DAG runs
    index_s = time.perf_counter() - started
    publish_snapshot(db)
    con = open_snapshot(db)
    result = {"backend": backend, "articles": con.execute("SELECT count(*) FROM articles").fetchone()[0],
              "build_s": round(build_s, 1), "search_full_rebuild_s": round(index_s, 1),
              "views_s": {}, "search_s": {}}
    for name, sql in QUERIES.items():
        result["views_s"][name] = _timed(lambda sql=sql: con.execute(sql, {"end": end} if "$end" in sql else None).fetchall(), repeat)
    for name, text in SEARCHES.items():
        result["search_s"][name] = _timed(lambda text=text: search(con, text, limit=20), repeat)
        result.setdefault("search_matches", {})[name] = search(con, text, limit=10_000_000).num_rows
    con.close()
    result["max_view_s"] = max(result["views_s"].values())
    result["max_search_s"] = max(result["search_s"].values())
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["duckdb", "ducklake"])
    parser.add_argument("--skip-night", action="store_true")
    parser.add_argument("--no-latency", action="store_true", help="the nights only, no query latency")
    parser.add_argument("--source", type=Path, help="copy an existing DuckDB warehouse instead of generating history")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args, night_args = parser.parse_known_args(argv)
    if args.one:
        print(json.dumps(latency(args.one, args.articles, args.repeat, args.source)))
        return
    warehouse_s = {}
    for backend in args.backends:
        if not args.skip_night:
            out = subprocess.run([sys.executable, "-m", "benchmarks.night", "--no-baselines", "--backend", backend,
                                  *night_args], capture_output=True, text=True)
            if out.returncode:
                sys.exit(f"night on {backend} failed:\n{out.stderr[-3000:]}")
            night = json.loads(out.stdout.strip().splitlines()[-1])
            warehouse_s[backend] = round(sum(night["stages_s"].get(s, 0.0) for s in WAREHOUSE_STAGES), 2)
            print(json.dumps({"benchmark": "backend-night", **{k: night[k] for k in (
                "backend", "end_to_end_s", "rerun_s", "articles_new", "warehouse_mb", "stages_s")},
                "warehouse_stages_s": warehouse_s[backend]}), flush=True)
        if args.no_latency:
            continue
        source = ["--source", str(args.source)] if args.source else []
        out = subprocess.run([sys.executable, "-m", "benchmarks.backends", "--one", backend, "--articles",
                              str(args.articles), "--repeat", str(args.repeat), *source], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"latency on {backend} failed:\n{out.stderr[-3000:]}")
        print(json.dumps({"benchmark": "backend-latency", **json.loads(out.stdout.strip().splitlines()[-1])}), flush=True)
    if {"duckdb", "ducklake"} <= set(warehouse_s):
        print(json.dumps({"benchmark": "backend-ratio", "warehouse_stages_s": warehouse_s,
                          "lake_vs_file_warehouse_stages": round(warehouse_s["ducklake"] / warehouse_s["duckdb"], 3)}))


if __name__ == "__main__":
    main()
