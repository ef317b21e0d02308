"""Settings and feed lists: validated on load, with one clear message naming what is wrong.

``Settings`` is the one settings tree: every limit of every stage, with its default, in the
models below and in the stages' own small settings modules (``ingest.settings``,
``transform.settings``, ``warehouse.settings``) that it assembles. ``config/settings.yaml``
overrides only what it names; an ``AXISWATCH_*`` environment variable overrides the file
(``AXISWATCH_WORKERS=4``, nested with a double underscore: ``AXISWATCH_HTTP__RETRIES=0``);
command-line flags override both.
"""

from __future__ import annotations

import os
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, Literal, get_type_hints

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.config import AlertsConfig
from ingest.http import HttpSettings
from ingest.netguard import parse_networks
from ingest.records import FeedSource
from ingest.settings import ExtractionSettings, FeedLimits, PageRetrySettings
from ingest.yamlfile import YamlFileError, read_yaml
from transform.settings import ClusterSettings
from warehouse.settings import SearchSettings, WarehouseSettings


class ConfigError(ValueError):
    """A settings or feeds file that cannot be used; the message names the file and field."""


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    url: str
    outlet: str = ""
    country: str = ""
    language: str = ""
    enabled: bool = True
    crawl_delay: float | None = Field(None, ge=0, le=300)
    affiliation: str = "unknown"  # ingest.outlets.AFFILIATIONS; cite the public source in a comment

    @field_validator("affiliation")
    @classmethod
    def _affiliation(cls, value: str) -> str:
        from ingest.outlets import check_affiliation

        return check_affiliation(value)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip()
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return value

    def source(self) -> FeedSource:
        return FeedSource(**self.model_dump())


class FeedsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feeds: list[FeedConfig]

    @model_validator(mode="after")
    def _one_affiliation_per_outlet(self) -> FeedsFile:
        """An outlet is one thing whichever of its feeds says so: two feeds of one outlet must agree."""
        seen: dict[str, tuple[str, str]] = {}
        for feed in self.feeds:
            if feed.outlet and feed.affiliation != "unknown":
                name, affiliation = seen.setdefault(feed.outlet, (feed.name, feed.affiliation))
                if affiliation != feed.affiliation:
                    raise ValueError(f"feeds {name!r} and {feed.name!r}: outlet {feed.outlet!r} is both"
                                     f" {affiliation!r} and {feed.affiliation!r}")
        return self


class _HttpSection(BaseModel):
    """What the ``http:`` section adds to ``HttpSettings``: networks as written (CIDR strings)."""

    model_config = ConfigDict(extra="forbid")

    allow_networks: list[str] = Field(default_factory=list)  # non-public networks the fetcher may reach

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)
        return value

    def settings(self, extra_networks: list[str] | None = None) -> HttpSettings:
        networks = parse_networks([*self.allow_networks, *(extra_networks or [])])
        data = self.model_dump(exclude={"allow_networks"})
        return HttpSettings(**data, allowed_networks=tuple(networks))


def _http_fields() -> dict[str, Any]:
    """Every field of ``HttpSettings`` with its type, bounds and default (the one place they are
    written), except the parsed networks, which the section takes as ``allow_networks``."""
    hints = get_type_hints(HttpSettings, include_extras=True)
    return {f.name: (hints[f.name], f.default) for f in dataclass_fields(HttpSettings) if f.name != "allowed_networks"}


HttpConfig = create_model("HttpConfig", __base__=_HttpSection, **_http_fields())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="forbid", env_prefix="AXISWATCH_", env_nested_delimiter="__")

    feeds_file: str = "config/feeds.yaml"
    topics_file: str = "config/topics.yaml"
    database: str = "data/axiswatch.duckdb"
    # Warehouse backend: "duckdb" (the file above) or "ducklake" (a catalog plus Parquet files);
    # with ducklake, `database` is derived from the catalog and data path (see warehouse.location).
    backend: Literal["duckdb", "ducklake"] = "duckdb"
    lake_catalog: str | None = None  # e.g. sqlite:data/lake.sqlite or postgres:dbname=lake host=db
    lake_data_path: str | None = None  # folder (or shared volume) for the Parquet files
    workers: int = Field(8, ge=1, le=128)
    http: HttpConfig = Field(default_factory=HttpConfig)
    feed: FeedLimits = Field(default_factory=FeedLimits)
    extraction: ExtractionSettings = Field(default_factory=ExtractionSettings)
    pages: PageRetrySettings = Field(default_factory=PageRetrySettings)
    clusters: ClusterSettings = Field(default_factory=ClusterSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    # Airflow and maintenance
    schedule: str = "0 2 * * *"  # nightly ingest (cron, UTC); AXISWATCH_SCHEDULE overrides per deployment
    staging_dir: str = "data/staging"  # run-scoped files passed between Airflow tasks
    # Work per mapped Airflow task: each task costs seconds of scheduling and process start
    # (benchmarks/README.md, "The night through the cluster"), so a task takes many feeds or pages.
    feed_batch_size: int = Field(125, ge=1)  # feeds per mapped fetch_feeds task
    article_batch_size: int = Field(1000, ge=1)  # pages per mapped fetch_pages task
    deadline_minutes: int = Field(180, ge=0)  # alert when a run has not finished this long after it was queued; an unfinished run older than this is abandoned (0: neither)
    run_wait_seconds: float = Field(300, ge=0)  # how long a run waits for another run on the same warehouse before giving up (exit 2)
    unhealthy_after: int = Field(3, ge=1)  # a feed failing this many runs in a row is reported unhealthy
    backups_dir: str = "data/backups"
    backups_keep: int = Field(7, ge=1)
    reports_dir: str = "data/reports"  # the HTML report of each run (latest.html is the newest)
    export_dir: str = "data/export"  # Parquet for tools outside DuckDB, partitioned by day
    retention_days: int = Field(30, ge=1)  # staging folders and fetch logs older than this are removed

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        """The environment wins over the settings file (passed in as init values)."""
        return (env_settings, init_settings)

    def stale_after(self):
        """How old an unfinished run must be to count as abandoned (None: never, by age)."""
        from datetime import timedelta

        return timedelta(minutes=self.deadline_minutes) if self.deadline_minutes else None

    @model_validator(mode="after")
    def _lake_location(self) -> Settings:
        if self.backend == "ducklake":
            if not self.lake_catalog:
                raise ValueError("backend ducklake needs lake_catalog (e.g. sqlite:data/lake.sqlite)")
            from warehouse.location import Location

            location = Location("ducklake", self.lake_catalog, self.lake_data_path)
            if location.catalog_file is None and not self.lake_data_path:
                raise ValueError("a PostgreSQL lake_catalog needs lake_data_path (a folder all workers share)")
            self.database = str(location)
        return self


def _read_yaml(path: Path, what: str) -> Any:
    try:
        return read_yaml(path, what)
    except YamlFileError as exc:
        raise ConfigError(str(exc)) from None


def _describe(exc: ValidationError, path: Path, data: Any) -> str:
    """One line naming the file, the feed (by name when it has one) and the field."""
    err = exc.errors()[0]
    loc = list(err["loc"])
    where = ".".join(str(p) for p in loc)
    if len(loc) >= 2 and loc[0] == "feeds" and isinstance(loc[1], int):
        item = data["feeds"][loc[1]] if isinstance(data, dict) else None
        name = item.get("name") if isinstance(item, dict) else None
        feed = f"feed #{loc[1] + 1}" + (f" ({name!r})" if name else "")
        field = ".".join(str(p) for p in loc[2:]) or "entry"
        return f"{path}: {feed}: {field}: {err['msg']}"
    return f"{path}: {where or 'file'}: {err['msg']}"


def load_settings(path: str | Path | None) -> Settings:
    """Settings from a YAML file; ``None`` gives the defaults."""
    data: Any = {}
    if path is not None:
        path = Path(path)
        data = _read_yaml(path, "settings file") or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_from_environment(exc) or _describe(exc, path or Path("settings"), data)) from None


def _from_environment(exc: ValidationError) -> str | None:
    """The message for a bad value that came from an ``AXISWATCH_*`` variable (it wins over the
    file, so naming the file would send the reader to the wrong place)."""
    err = exc.errors()[0]
    name = "AXISWATCH_" + "__".join(str(part) for part in err["loc"]).upper()
    return f"{name}: {err['msg']}" if name in os.environ else None


def load_feeds(path: str | Path) -> list[FeedSource]:
    """Feed sources from a YAML file with a top-level ``feeds:`` list; names must be unique."""
    path = Path(path)
    data = _read_yaml(path, "feeds file")
    if not isinstance(data, dict) or "feeds" not in data:
        raise ConfigError(f"{path}: expected a top-level 'feeds:' list")
    try:
        parsed = FeedsFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, data)) from None
    seen: set[str] = set()
    for index, feed in enumerate(parsed.feeds, 1):
        if feed.name in seen:
            raise ConfigError(f"{path}: feed #{index} ({feed.name!r}): name: duplicate feed name")
        seen.add(feed.name)
    return [f.source() for f in parsed.feeds]
