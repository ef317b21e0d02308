"""The check a run makes before it writes (``warehouse.db.verify_file``: every header and block of
the DuckDB file read and checked against its checksum), timed on a warehouse of N history
articles (``benchmarks.history``), from disk ("cold": the file's pages dropped from the page cache
first) and from the page cache ("warm").

    python -m benchmarks.verify --articles 1000000 [--db PATH] [--keep]

An existing ``--db`` is measured as it is (nothing is generated). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def drop_from_cache(path: Path) -> bool:
    """Ask the kernel to forget the file's cached pages (Linux; the next read comes from disk)."""
    if not hasattr(os, "posix_fadvise"):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


def measure(db: Path, repeats: int = 3) -> dict:
    from warehouse.db import verify_file

    result: dict = {"file_mb": round(db.stat().st_size / 1e6, 1)}
    cold, warm = [], []
    for _ in range(repeats):
        result["cold_is_from_disk"] = drop_from_cache(db)
        cold.append(verify_file(db).seconds)
        check = verify_file(db)
        warm.append(check.seconds)
    result.update(blocks=check.blocks, cold_s=round(min(cold), 2), warm_s=round(min(warm), 2),
                  cold_mb_per_s=round(result["file_mb"] / min(cold)), warm_mb_per_s=round(result["file_mb"] / min(warm)))
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="measure this warehouse (generated there first if it does not exist)")
    parser.add_argument("--keep", action="store_true", help="keep a generated warehouse")
    args = parser.parse_args(argv)
    folder = None
    db = args.db
    if db is None:
        folder = tempfile.mkdtemp(prefix="axiswatch-verify-")
        db = Path(folder) / "w.duckdb"
    generated_s = None
    if not db.exists():
        from benchmarks.history import populate

        started = time.monotonic()
        populate(db, args.articles, "bench", datetime.now(UTC))
        generated_s = round(time.monotonic() - started, 1)
    result = {"articles": args.articles if generated_s is not None else None, "generated_s": generated_s,
              **measure(db), "date": f"{datetime.now(UTC):%Y-%m-%d}"}
    print(json.dumps(result))
    if folder and not args.keep:
        db.unlink()
        os.rmdir(folder)


if __name__ == "__main__":
    main()
