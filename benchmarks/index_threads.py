"""`make bench-index-threads`: the search index's build (DuckDB's fts plus our postings) on N
articles at each DuckDB thread count, alternating: wall and CPU seconds of each build, the
figures behind ``search.threads``. Prints one JSON object.

Usage: python -m benchmarks.index_threads [--articles 8000 --threads 1 2 --rounds 2]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def build_seconds(articles: list[tuple[str, str, str, str]], threads: int, folder: Path) -> tuple[float, float]:
    """Wall and CPU seconds to build the index of ``articles`` in a fresh DuckDB file."""
    import duckdb
    import pyarrow as pa

    from warehouse.db import load_extension
    from warehouse.search import _build_index

    path = folder / f"index-{threads}-{time.monotonic_ns()}.duckdb"
    con = duckdb.connect(str(path))
    try:
        load_extension(con, "fts")
        columns = list(zip(*articles))
        rows = pa.table({name: pa.array(values, pa.string())
                         for name, values in zip(("id", "title", "text", "summary"), columns)})
        con.register("rows", rows)
        con.execute("CREATE TABLE docs AS SELECT * FROM rows")
        con.execute(f"SET threads = {threads}")
        started, cpu = time.perf_counter(), _cpu()
        _build_index(con, "", "docs")
        con.execute("CHECKPOINT")
        return time.perf_counter() - started, _cpu() - cpu
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
