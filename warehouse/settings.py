"""The warehouse stage's limits, as sections of the one settings tree (``axiswatch.config``
assembles them; defaults live here, once)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SearchSettings(BaseModel):
    """The full-text index (the ``search:`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # New articles get a small index of their own until they pass this share of the archive;
    # then the whole index is rebuilt (rebuilding a million articles each night is most of it).
    rebuild_share: float = Field(0.2, gt=0)
