"""Growth with history: the same night on warehouses that already hold 0, 1x, 5x and 10x history
(by default 100,000 articles per x, so 10x is a warehouse of 1 million articles). Each night runs
in a fresh process and warehouse; prints one JSON line per size and a summary of slowdowns.

Usage: python -m benchmarks.growth [--unit 100000] [--multiples 0 1 5 10] [night options...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", type=int, default=100_000, help="history articles per multiple")
    parser.add_argument("--multiples", type=int, nargs="+", default=[0, 1, 5, 10])
    args, night_args = parser.parse_known_args(argv)
    from benchmarks.corpus import START
    from transform.tagging import Tagger

    version = Tagger.from_file(ROOT / "config/topics.yaml").version
    results = []
    for multiple in args.multiples:
        db = Path(tempfile.mkdtemp(prefix="axiswatch-growth-")) / "night.duckdb"
        started = time.perf_counter()
        if multiple:  # its own process, so its memory is not counted against the night
            subprocess.run([sys.executable, "-m", "benchmarks.history", str(db), str(multiple * args.unit), version,
                            START.isoformat()], check=True, cwd=ROOT)
        history_s = time.perf_counter() - started
        out = subprocess.run([sys.executable, "-m", "benchmarks.night", "--no-baselines", "--db", str(db), *night_args],
                             capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            sys.exit(f"night with {multiple}x history failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result.update(history_multiple=multiple, history_articles=multiple * args.unit,
                      history_build_s=round(history_s, 1))
        results.append(result)
        print(json.dumps(result), flush=True)
    base = results[0]["end_to_end_s"]
    print(json.dumps({
        "benchmark": "growth",
        "history_articles": [r["history_articles"] for r in results],
        "end_to_end_s": [r["end_to_end_s"] for r in results],
        "slowdown_vs_first": [round(r["end_to_end_s"] / base - 1, 3) for r in results],
        "rerun_s": [r["rerun_s"] for r in results],
    }))


if __name__ == "__main__":
    main()
