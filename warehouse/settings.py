"""The warehouse stage's limits, as sections of the one settings tree (``axiswatch.config``
assembles them; defaults live here, once)."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field


class SearchSettings(BaseModel):
    """The full-text index (the ``search:`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # New articles get a small index of their own until they pass this share of the archive;
    # then the whole index is rebuilt (rebuilding a million articles each night is most of it).
    rebuild_share: float = Field(0.2, gt=0)
    # DuckDB threads while the index is built (None: half the cores, at least one). The fts
    # build gains little wall time from more threads and spends far more CPU (benchmarks/README),
    # CPU that the tagging and clustering running beside it need.
    threads: int | None = Field(None, ge=1)

    def build_threads(self) -> int:
        """The thread count the index is built on."""
        return self.threads or max(1, (os.cpu_count() or 1) // 2)


class WarehouseSettings(BaseModel):
    """The DuckDB file's guards (the ``warehouse:`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # How long to wait for another process that holds the file (a DuckDB shell, a stray reader
    # of the writer's file) before giving up with its PID; runs wait for each other separately
    # (run_wait_seconds).
    lock_wait_seconds: float = Field(10, ge=0)
    # Before a run (or a maintenance command) writes, read the whole file and check every block's
    # checksum, so a damaged file is refused instead of written to (about 1 s per GB, see
    # benchmarks/README.md).
    verify_before_write: bool = True
