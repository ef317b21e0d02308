"""Growth with history: the same night on warehouses that already hold 0, 1x, 5x and 10x history
(by default 100,000 articles per x, so 10x is a warehouse of 1 million articles). Each night runs
in a fresh process and warehouse; prints one JSON line per size and a summary of slowdowns.

Usage: python -m benchmarks.growth [--unit 100000] [--multiples 0 1 5 10] [night options...]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.night import WAREHOUSE_STAGES

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unit", type=int, default=100_000, help="history articles per multiple")
    parser.add_argument("--multiples", type=int, nargs="+", default=[0, 1, 5, 10])
    parser.add_argument("--repeat", type=int, default=2, help="nights per size (the network stages vary by ±10 s)")
    args, night_args = parser.parse_known_args(argv)
    from benchmarks.corpus import START
    from transform.tagging import Tagger

    version = Tagger.from_file(ROOT / "config/topics.yaml").version
    results = []
    for multiple in args.multiples:
        history = Path(tempfile.mkdtemp(prefix="axiswatch-growth-history-")) / "history.duckdb"
        started = time.perf_counter()
        if multiple:  # its own process, so its memory is not counted against the night
            subprocess.run([sys.executable, "-m", "benchmarks.history", str(history), str(multiple * args.unit), version,
                            START.isoformat()], check=True, cwd=ROOT)
        history_s = time.perf_counter() - started
        nights = [_night(history if multiple else None, night_args, multiple) for _ in range(args.repeat)]
        shutil.rmtree(history.parent)
        result = dict(sorted(nights, key=lambda n: n["end_to_end_s"])[(len(nights) - 1) // 2])  # the median night
        result.update(history_multiple=multiple, history_articles=multiple * args.unit,
                      history_build_s=round(history_s, 1),
                      end_to_end_runs_s=[n["end_to_end_s"] for n in nights],
                      warehouse_stages_runs_s=[_warehouse_stages(n) for n in nights])
        results.append(result)
        print(json.dumps(result), flush=True)
    base = statistics.median(results[0]["end_to_end_runs_s"])
    base_warehouse = statistics.median(results[0]["warehouse_stages_runs_s"])
    print(json.dumps({
        "benchmark": "growth", "repeat": args.repeat,
        "history_articles": [r["history_articles"] for r in results],
        "end_to_end_median_s": [statistics.median(r["end_to_end_runs_s"]) for r in results],
        "slowdown_vs_first": [round(statistics.median(r["end_to_end_runs_s"]) / base - 1, 3) for r in results],
        "warehouse_stages_median_s": [statistics.median(r["warehouse_stages_runs_s"]) for r in results],
        "warehouse_stages_growth_vs_first_night": [
            round((statistics.median(r["warehouse_stages_runs_s"]) - base_warehouse) / base, 3) for r in results],
        "rerun_s": [r["rerun_s"] for r in results],
    }))


def _warehouse_stages(night: dict) -> float:
    return round(sum(v for k, v in night["stages_s"].items() if k in WAREHOUSE_STAGES), 2)


def _night(history: Path | None, night_args: list[str], multiple: int) -> dict:
    """One night in a fresh folder, on a copy of the history warehouse (or an empty one)."""
    work = Path(tempfile.mkdtemp(prefix="axiswatch-growth-"))
    db = work / "night.duckdb"
    if history is not None:
        shutil.copyfile(history, db)
    try:
        out = subprocess.run([sys.executable, "-m", "benchmarks.night", "--no-baselines", "--db", str(db), *night_args],
                             capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            sys.exit(f"night with {multiple}x history failed:\n{out.stderr[-3000:]}")
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
