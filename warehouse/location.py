"""Where the warehouse lives: one DuckDB file, or a DuckLake (a SQL catalog plus Parquet files).

A location is one string, so it travels unchanged through settings, the CLI's ``--db`` and
Airflow task arguments:

- ``data/axiswatch.duckdb``: the embedded default, one file, one writing process;
- ``ducklake:<catalog>[?data_path=<folder>]``: a DuckLake whose catalog is a DuckDB file
  (``ducklake:data/lake.ducklake``, one process at a time), a SQLite file
  (``ducklake:sqlite:data/lake.sqlite``, several processes on one machine) or PostgreSQL
  (``ducklake:postgres:dbname=lake host=db user=axiswatch``, several machines). ``data_path`` is
  where the Parquet files go; it is only needed when the lake is created (DuckLake records it
  in the catalog) and defaults to ``<catalog file>.files/`` beside a file catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LAKE_PREFIX = "ducklake:"
_DATA_PATH = "?data_path="


@dataclass(frozen=True)
class Location:
    backend: str  # duckdb | ducklake
    target: str  # the DuckDB file, or the DuckLake catalog (what follows "ducklake:")
    data_path: str | None = None

    @classmethod
    def parse(cls, value: str | Path | Location) -> Location:
        if isinstance(value, Location):
            return value
        text = str(value)
        if not text.startswith(LAKE_PREFIX):
            return cls("duckdb", text)
        catalog, _, data_path = text[len(LAKE_PREFIX):].partition(_DATA_PATH)
        if not catalog:
            raise ValueError(f"DuckLake location {text!r} names no catalog (ducklake:<catalog>)")
        return cls("ducklake", catalog, data_path or None)

    def __str__(self) -> str:
        if self.backend == "duckdb":
            return self.target
        return f"{LAKE_PREFIX}{self.target}" + (f"{_DATA_PATH}{self.data_path}" if self.data_path else "")

    def absolute(self, base: Path) -> Location:
        """The same location with relative file paths resolved against ``base``."""
        def resolve(path: str) -> str:
            return path if Path(path).is_absolute() else str(base / path)

        if not self.is_lake:
            return Location("duckdb", resolve(self.target))
        target = self.target
        if self.catalog_kind == "sqlite":
            target = "sqlite:" + resolve(self.target.split(":", 1)[1])
        elif self.catalog_kind == "duckdb":
            target = resolve(self.target)
        data_path = self.data_path
        if data_path and "://" not in data_path:  # s3://... and the like stay as they are
            data_path = resolve(data_path.rstrip("/")) + ("/" if data_path.endswith("/") else "")
        return Location("ducklake", target, data_path)

    @property
    def is_lake(self) -> bool:
        return self.backend == "ducklake"

    @property
    def catalog_kind(self) -> str:
        """duckdb | sqlite | postgres: the database holding a lake's catalog."""
        for kind in ("sqlite", "postgres"):
            if self.target.startswith(f"{kind}:"):
                return kind
        return "duckdb"

    @property
    def catalog_file(self) -> Path | None:
        """The local file of a DuckDB or SQLite catalog (None for PostgreSQL)."""
        if self.catalog_kind == "postgres":
            return None
        return Path(self.target.split(":", 1)[1] if self.catalog_kind == "sqlite" else self.target)

    @property
    def files_dir(self) -> str:
        """Where a new lake puts its Parquet files."""
        if self.data_path:
            return self.data_path
        if self.catalog_file is None:
            raise ValueError(f"DuckLake location {self} needs ?data_path=<folder> (a PostgreSQL catalog has no folder)")
        return f"{self.catalog_file}.files/"

    @property
    def home(self) -> Path:
        """The local folder beside the warehouse (default home of reports, search and snapshots)."""
        if not self.is_lake:
            return Path(self.target).parent
        if self.catalog_file is not None:
            return self.catalog_file.parent
        return Path(self.files_dir)
