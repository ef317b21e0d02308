"""`make bench-index-threads`: a full build of the search index (``refresh_index``: DuckDB's fts
plus our postings) of N stored articles at each ``search.threads``, alternating: wall and CPU
seconds of each build, the figures behind that setting's default. Prints one JSON object.

Usage: python -m benchmarks.index_threads [--articles 8000 --threads 1 2 --rounds 2]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

def _articles(count: int, seed: int = 7) -> list[tuple[str, str, str, str]]:
    """(id, title, text, summary) of ``count`` articles of about 400 words in four languages,
    from the night corpus's sentences with a numbered word each, so the vocabulary grows."""
    from benchmarks.corpus import SENTENCES

    rng = random.Random(seed)
    languages = list(SENTENCES)
    rows = []
    for i in range(count):
        sentences = SENTENCES[languages[i % len(languages)]]
        text = " ".join(f"{rng.choice(sentences)} w{rng.randrange(20000)}" for _ in range(30))
        rows.append((f"a{i}", f"Story {i} {rng.choice(sentences)[:60]}", text, ""))
    return rows


def build_seconds(articles: list[tuple[str, str, str, str]], threads: int, folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``refresh_index`` (a full build, ``search.threads`` = ``threads``)
    of ``articles`` stored in a fresh warehouse file."""
    import pyarrow as pa

    from warehouse.db import open_warehouse
    from warehouse.search import refresh_index
    from warehouse.settings import SearchSettings

    path = folder / f"index-{threads}-{time.monotonic_ns()}.duckdb"
    con = open_warehouse(path, verify=False)
    try:
        ids, titles, texts, summaries = (list(column) for column in zip(*articles))
        con.register("rows", pa.table({"id": ids, "title": titles, "text": texts, "summary": summaries}))
        con.execute(
            "INSERT INTO articles (id, canonical_url, url, title, text, summary, first_seen_at, content_hash,"
            " fetch_status, run_id) SELECT id, 'https://x.example/' || id, 'https://x.example/' || id, title,"
            " text, summary, now(), md5(id), 'ok', 'bench' FROM rows")
        started, cpu = time.perf_counter(), time.process_time()
        refresh_index(con, full=True, settings=SearchSettings(threads=threads))
        con.execute("CHECKPOINT")
        return time.perf_counter() - started, time.process_time() - cpu
    finally:
        con.close()
        path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=8000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2, help="alternating builds at each thread count")
    args = parser.parse_args(argv)
    articles = _articles(args.articles)
    runs: dict[int, list[dict]] = {t: [] for t in args.threads}
    with tempfile.TemporaryDirectory(prefix="axiswatch-index-") as folder:
        for _ in range(args.rounds):
            for threads in args.threads:
                wall, cpu = build_seconds(articles, threads, Path(folder))
                runs[threads].append({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)})
    print(json.dumps({"benchmark": "index_threads", "articles": args.articles, "runs": runs}))


if __name__ == "__main__":
    main()
