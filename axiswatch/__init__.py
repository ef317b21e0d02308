"""axiswatch: watch the Korea–Russia–Ukraine axis across the world's press.

For analysts in Python (a notebook, a script)::

    import axiswatch
    con = axiswatch.connect()            # the newest published snapshot, read-only
    con.sql("SELECT * FROM v_axis_stories").df()
    con = axiswatch.connect()            # later, after another run: the newer snapshot

Nothing heavy is imported until ``connect`` is called.
"""

from __future__ import annotations

from pathlib import Path


def connect(db: str | Path | None = None, config: str | Path | None = None):
    """A read-only DuckDB connection to the newest published snapshot of the warehouse.

    ``db`` is the warehouse (``data/axiswatch.duckdb``), its snapshot path, or a DuckLake
    location; without it, the ``database`` of ``config`` (default ``config/settings.yaml`` when
    it exists, else the built-in default). Call it again to see a newer snapshot: unlike
    ``duckdb.connect(snapshot, read_only=True)``, which DuckDB answers with the database it
    already has open for that path, each call opens the newest snapshot file."""
    from warehouse.snapshot import connect_newest

    if db is None:
        from axiswatch.config import load_settings

        if config is None and Path("config/settings.yaml").exists():
            config = Path("config/settings.yaml")
        db = load_settings(Path(config) if config else None).database
    return connect_newest(db)
