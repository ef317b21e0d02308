"""The ingest stage's limits, as sections of the one settings tree (``axiswatch.config.Settings``
assembles them; defaults live here, once). Light on purpose: the command line and the DAG files
import the settings at start."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FeedLimits(BaseModel):
    """How much of one feed a run reads (the ``feed:`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_entries: int = Field(2000, ge=1)  # new entries fetched per feed per run; the rest wait for the next run
    max_title: int = Field(1000, ge=1)  # characters of an entry's title
    max_summary: int = Field(20000, ge=1)  # characters of an entry's summary
    max_child_sitemaps: int = Field(3, ge=1)  # child sitemaps read from a news sitemap index
    # feeds parsed at once in one process: a 15 MiB body's parse peaks at several times its size
    max_parallel_parses: int = Field(2, ge=1)
    # seconds one feed's parse may take in a parse worker (a run of many feeds parses them in worker
    # processes, on every core) before the worker is killed and the feed fails as malformed
    parse_timeout: float = Field(60.0, gt=0)


class PageRetrySettings(BaseModel):
    """Pages that failed for a network reason are fetched again on later runs (the ``pages:``
    section): after ``retry_after_minutes``, doubling each time, up to ``max_attempts`` fetches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(4, ge=1)  # fetches of one page in all, the first included; 1: never retry
    retry_after_minutes: float = Field(30.0, ge=0)  # wait before the second fetch; doubles for each one after


class ExtractionSettings(BaseModel):
    """How article pages are extracted (the ``extraction:`` section)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Seconds a worker process may spend on one batch of pages before it is killed; the batch's
    # pages are then extracted again one by one, each with this limit.
    timeout: float = Field(20.0, gt=0)
    min_text_chars: int = Field(80, ge=0)  # shorter extracted text counts as no text (the summary is kept)
    # Worker processes extracting one fetch's pages; None: one per core. Where several page
    # fetches share a machine's cores (Celery workers on one host), cores / fetches at once.
    processes: int | None = Field(None, ge=1)
