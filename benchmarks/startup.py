"""Command start-up: wall time of the installed ``axiswatch`` for the commands people type most
(targets: ``--help`` under 0.3 s, a count over the demo warehouse under 1 s).

Usage: python -m benchmarks.startup [--db WAREHOUSE] [--repeat N]

Prints one JSON object: the median (and range) of N runs of each command, each in a fresh process
as a shell runs it. Without --db a demo warehouse is built first (``axiswatch demo`` on a free
port, in a temporary folder). One untimed run of each command comes first, and the runs are
made without PYTHONDONTWRITEBYTECODE, so Python's bytecode caches exist as they do for a user
after the first call; ``bytecode_cached`` says whether the installed packages ship compiled.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(argv: list[str], env: dict, repeat: int) -> dict:
    subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=False)  # bytecode caches, file cache
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
        seconds.append(time.perf_counter() - started)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return {"median_s": round(statistics.median(seconds), 3), "min_s": round(min(seconds), 3),
            "max_s": round(max(seconds), 3)}


def demo_warehouse(folder: Path, axiswatch: str, env: dict) -> Path:
    db = folder / "demo.duckdb"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run([axiswatch, "demo", "--db", str(db), "--port", str(port), "--json"], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"axiswatch demo failed: {result.stderr.strip()}")
    return db


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a warehouse with a snapshot (default: build the demo one)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    axiswatch = str(Path(sys.executable).with_name("axiswatch"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    import typer

    cached = any((Path(typer.__file__).parent / "__pycache__").glob("*.pyc"))
    with tempfile.TemporaryDirectory() as folder:
        db = args.db or str(demo_warehouse(Path(folder), axiswatch, env))
        figures = {
            "help": timed([axiswatch, "--help"], env, args.repeat),
            "version": timed([axiswatch, "--version"], env, args.repeat),
            "query_count": timed([axiswatch, "query", "SELECT count(*) FROM articles", "--db", db], env, args.repeat),
            "query_wide_records": timed([axiswatch, "query", "SELECT * FROM v_axis_stories LIMIT 5", "--db", db,
                                         "--format", "records"], env, args.repeat),
            "python_alone": timed([sys.executable, "-c", "pass"], env, args.repeat),
        }
    print(json.dumps({
        "repeat": args.repeat, "bytecode_cached": cached, "cores": os.cpu_count(),
        "load_1min": round(os.getloadavg()[0], 2),
        **figures,
        "help_under_0_3_s": figures["help"]["median_s"] < 0.3,
        "query_under_1_s": figures["query_count"]["median_s"] < 1.0,
    }, indent=2))


if __name__ == "__main__":
    main()
