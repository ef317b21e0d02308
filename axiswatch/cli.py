"""The ``axiswatch`` command: the same steps the DAGs run, without a scheduler."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from warehouse.location import Location

# Where a command finds the warehouse: writers name it; readers open its snapshot (or the lake).
WarehouseOption = Annotated[
    Optional[str], typer.Option(help="Warehouse: a DuckDB file, or ducklake:<catalog>[?data_path=<folder>].")
]
ReaderOption = Annotated[
    Optional[str], typer.Option(help="The warehouse whose snapshot is read (a DuckDB file or a ducklake: location).")
]

app = typer.Typer(help="Watch the Korea–Russia–Ukraine axis across the world's press.", no_args_is_help=True)
err = Console(stderr=True)
out = Console()


def _fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def run(
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML (defaults apply when omitted).")] = None,
    feeds: Annotated[Optional[Path], typer.Option(help="Feeds YAML with a top-level 'feeds:' list.")] = None,
    db: WarehouseOption = None,
    allow_network: Annotated[
        list[str], typer.Option("--allow-network", help="CIDR the fetcher may reach although not public.")
    ] = [],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")] = False,
) -> None:
    """Run one full pass: feeds, pages, dedup, tags, warehouse."""
    _run(config if config else _default_settings(), feeds, db, allow_network, json_out)


def _run(config: Path | None, feeds: Path | None, db: str | None, allow_network: list[str], json_out: bool):
    from axiswatch.config import ConfigError, load_feeds, load_settings
    from axiswatch.pipeline import run_pass
    from transform.tagging import Tagger, TopicsError
    from warehouse.db import WarehouseError

    try:
        settings = load_settings(config)
        sources = load_feeds(feeds or settings.feeds_file)
        http = settings.http.settings(allow_network)
        tagger = Tagger.from_file(settings.topics_file)
    except (ConfigError, TopicsError, ValueError) as exc:
        _fail(str(exc))
    database = db or settings.database
    try:
        with _progress(quiet=json_out) as report:
            summary = run_pass(sources, database, http, tagger, progress=report, reports_dir=settings.reports_dir,
                               settings=settings, on_wait=lambda message: err.print(message, highlight=False))
    except WarehouseError as exc:
        _fail(str(exc))
    if json_out:
        print(json.dumps(summary.as_json(), ensure_ascii=False, default=str))
        return
    _print_summary(summary)


@app.command()
def demo(
    db: WarehouseOption = None,
    port: Annotated[int, typer.Option(help="Port for the demo server; URLs include it, so keep it between runs.")] = 8765,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")] = False,
) -> None:
    """Serve the offline demo corpus on 127.0.0.1 and run one full pass over it."""
    import threading

    from axiswatch.demo_server import make_server

    try:
        server = make_server("demo/site", port)
    except OSError as exc:
        _fail(f"cannot serve the demo on 127.0.0.1:{port}: {exc.strerror} (is another demo server running?)")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        actual = server.server_address[1]
        feeds = _feeds_for_port(actual) if actual != 8765 else None
        _run(Path("demo/settings.yaml"), feeds, db, [], json_out)
    finally:
        server.shutdown()
        server.server_close()


def _feeds_for_port(port: int) -> Path:
    """A copy of demo/feeds.yaml pointing at another port (written under data/)."""
    text = Path("demo/feeds.yaml").read_text(encoding="utf-8").replace("127.0.0.1:8765", f"127.0.0.1:{port}")
    path = Path("data") / f"demo-feeds-{port}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _default_settings() -> Path | None:
    path = Path("config/settings.yaml")
    return path if path.exists() else None


class _progress:
    """Rich progress bars on stderr, one per stage; silent with --json or without a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and err.is_terminal
        self.bar = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), console=err)
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.enabled:
            self.bar.start()
        return self.report

    def __exit__(self, *exc) -> None:
        if self.enabled:
            self.bar.stop()

    def report(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=total)
        self.bar.update(self.tasks[stage], completed=done, total=total)


def _print_summary(summary) -> None:
    from warehouse.queries import newest_axis_stories
    from warehouse.snapshot import reader_location

    table = Table(title=f"axiswatch run {summary.run_id}", show_header=False)
    for label, value in [
        ("feeds ok", summary.feeds_ok),
        ("feeds failed", summary.feeds_failed),
        ("entries seen", summary.entries_seen),
        ("new articles", summary.articles_new),
        ("exact duplicates", summary.duplicates),
        ("pages without text", summary.pages_failed),
        ("new axis articles", summary.axis_new),
        ("new stories (clusters)", summary.stories_new),
        ("new axis stories", summary.axis_stories_new),
        ("alerts sent / failed", f"{summary.alerts_sent} / {summary.alerts_failed}"),
    ]:
        table.add_row(label, str(value))
    out.print(table)
    if summary.abandoned_runs:
        out.print(f"Repaired after {len(summary.abandoned_runs)} abandoned run(s): {', '.join(summary.abandoned_runs)}")
    if summary.articles_new == 0 and summary.duplicates == 0:
        if summary.feeds_ok == 0 and summary.feeds_failed:
            out.print(f"[bold red]Nothing fetched[/]: all {summary.feeds_failed} feeds failed (errors below).")
        elif summary.feeds_failed:
            out.print(f"[bold]Nothing new[/] from the {summary.feeds_ok} feeds that answered; "
                      f"{summary.feeds_failed} failed (errors below).")
        else:
            out.print("[bold]Nothing new[/]: every entry is already in the warehouse.")
    for error in summary.errors[:20]:
        out.print(f"[red]{error['kind']}[/] {error['feed']}: {error['message']} ({error['url']})", highlight=False)
    if len(summary.errors) > 20:
        out.print(f"... and {len(summary.errors) - 20} more errors (see feed_fetches and articles.fetch_error)")
    stories = newest_axis_stories(summary.database, limit=10)
    if stories:
        axis = Table(title="Newest axis stories")
        for col in ("published", "outlets", "first outlet", "headline", "topics"):
            axis.add_column(col, overflow="fold")
        for s in stories:
            axis.add_row(
                f"{s['published']:%Y-%m-%d %H:%M}", str(s["outlets"]), s["outlet"], s["title"],
                ", ".join(s["topics"]),
            )
        out.print(axis)
    out.print(f"Warehouse: {summary.database} (analysts: {reader_location(summary.database)})")
    out.print(f"Report: {summary.report}")


@app.command()
def extract(
    sources: Annotated[list[str], typer.Argument(help="HTML files or http(s) URLs.")],
    allow_network: Annotated[list[str], typer.Option("--allow-network", help="CIDR allowed although not public.")] = [],
) -> None:
    """Print what extraction gives for each page, one JSON line each, in order."""
    from axiswatch.config import HttpConfig
    from ingest.articles import extract_source
    from ingest.http import HttpClient

    try:
        http = HttpConfig().settings(allow_network)
    except ValueError as exc:
        _fail(str(exc))
    with HttpClient(http) as client:
        for source in sources:
            result = extract_source(client, source)
            print(json.dumps({
                "source": result.source, "title": result.title, "text": result.text,
                "language": result.language, "date": result.date, "reason": result.reason or None,
            }, ensure_ascii=False), flush=True)


@app.command("demo-server")
def demo_server(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    root: Annotated[Path, typer.Option(help="Folder to serve.")] = Path("demo/site"),
) -> None:
    """Serve the offline demo corpus on 127.0.0.1 until interrupted."""
    from axiswatch.demo_server import make_server

    if not root.is_dir():
        _fail(f"{root}: no such folder (run from the repository root or pass --root)")
    try:
        server = make_server(root, port)
    except OSError as exc:
        _fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}")
    err.print(f"serving {root} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _read_jsonl(path: str):
    """Yield (line number, object) from a JSON-lines file or stdin ('-')."""
    handle = sys.stdin if path == "-" else open(path, encoding="utf-8")
    try:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    _fail(f"{path}:{number}: not valid JSON: {exc.msg}")
    finally:
        if handle is not sys.stdin:
            handle.close()


@app.command()
def tag(
    file: Annotated[str, typer.Argument(help="JSON lines (id, title, summary, text, language) or '-'.")] = "-",
    topics: Annotated[Path, typer.Option(help="Topics file.")] = Path("config/topics.yaml"),
) -> None:
    """Tag articles: JSON lines in, one JSON line out per input, in order."""
    from transform.tagging import Tagger, TopicsError

    try:
        tagger = Tagger.from_file(topics)
    except TopicsError as exc:
        _fail(str(exc))
    for number, item in _read_jsonl(file):
        if "id" not in item:
            _fail(f"{file}:{number}: missing 'id'")
        result = tagger.tag(
            str(item["id"]), item.get("title") or "", item.get("text") or "",
            item.get("summary") or "", item.get("language") or "",
        )
        print(json.dumps(result.as_json(), ensure_ascii=False), flush=False)
    sys.stdout.flush()


@app.command()
def dedup(
    file: Annotated[str, typer.Argument(help="JSON lines (id, url, title, text, optional published) or '-'.")] = "-",
    window_days: Annotated[float, typer.Option(help="Near-duplicates further apart than this stay apart.")] = 7.0,
) -> None:
    """Cluster copies of the same story: JSON lines in, one {id, cluster_id} line out per input, in order."""
    from datetime import UTC, datetime

    from transform.clusters import ClusterSettings, Doc, cluster_docs

    docs = []
    for number, item in _read_jsonl(file):
        if "id" not in item:
            _fail(f"{file}:{number}: missing 'id'")
        published = item.get("published")
        when = None
        if published:
            try:
                when = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
            except ValueError:
                _fail(f"{file}:{number}: 'published' is not an ISO date/time: {published!r}")
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
        docs.append(Doc(
            id=str(item["id"]), title=item.get("title") or "", text=item.get("text") or "",
            summary=item.get("summary") or "", url=item.get("url") or "", time=when,
        ))
    for doc, cluster in zip(docs, cluster_docs(docs, ClusterSettings(window_days=window_days))):
        print(json.dumps({"id": doc.id, "cluster_id": cluster}, ensure_ascii=False))


def _parse_since(value: str | None):
    """'7d', '12h' or an ISO date/time, as an aware UTC datetime."""
    from datetime import UTC, datetime, timedelta

    if not value:
        return None
    value = value.strip()
    units = {"d": "days", "h": "hours", "w": "weeks"}
    if value[-1:] in units and value[:-1].isdigit():
        return datetime.now(UTC) - timedelta(**{units[value[-1]]: int(value[:-1])})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"--since {value!r}: use an ISO date (2026-11-01) or an age such as 7d or 12h")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@app.command()
def retag(
    db: WarehouseOption = None,
    since: Annotated[Optional[str], typer.Option(help="Only articles published since (ISO date or 7d).")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML.")] = None,
    topics: Annotated[Optional[Path], typer.Option(help="Topics file (default from settings).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON summary object.")] = False,
) -> None:
    """Re-apply the current tagger to stored articles, keeping earlier versions' tags."""
    from axiswatch.config import ConfigError, load_settings
    from axiswatch.pipeline import retag as retag_step
    from transform.tagging import Tagger, TopicsError
    from warehouse.db import WarehouseError

    try:
        settings = load_settings(config if config else _default_settings())
        tagger = Tagger.from_file(topics or settings.topics_file)
    except (ConfigError, TopicsError) as exc:
        _fail(str(exc))
    database = db or settings.database
    if not Location.parse(database).is_lake and not Path(database).exists():
        _fail(f"{database}: no such warehouse (run `axiswatch run` first or pass --db)")
    try:
        with _progress(quiet=json_out) as report:
            summary = retag_step(database, tagger, _parse_since(since), report)
    except WarehouseError as exc:
        _fail(str(exc))
    if json_out:
        print(json.dumps(summary.as_json()))
    else:
        out.print(
            f"retagged {summary.articles} articles with {summary.tagger_version}: "
            f"{summary.axis} axis, {summary.changed} changed their verdict"
        )


def _database(db: str | None, config: Path | None = None) -> str:
    from axiswatch.config import ConfigError, load_settings

    if db:
        return db
    try:
        return load_settings(config if config else _default_settings()).database
    except ConfigError as exc:
        _fail(str(exc))


def _flat_for_csv(table):
    """CSV has no lists or structs: such columns (countries, topics, ...) are written as JSON."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            values = [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in table.column(i).to_pylist()]
            table = table.set_column(i, field.name, pa.array(values, type=pa.string()))
    return table


def _emit(table, fmt: str, dest: Path | None) -> None:
    """Print or write an Arrow table as a rich table, CSV, JSON lines or Parquet."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        if not dest:
            _fail("--format parquet needs --out FILE")
        pq.write_table(table, dest)
        err.print(f"wrote {table.num_rows} rows to {dest}")
        return
    if fmt == "csv":
        table = _flat_for_csv(table)
        if dest:
            pacsv.write_csv(table, dest)
        else:
            sink = sys.stdout.buffer
            pacsv.write_csv(table, sink)
            sink.flush()
        return
    if fmt == "json":
        lines = (json.dumps(row, ensure_ascii=False, default=str) for row in table.to_pylist())
        text = "\n".join(lines) + ("\n" if table.num_rows else "")
        if dest:
            dest.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    grid = Table(show_lines=False)
    for name in table.column_names:
        grid.add_column(name, overflow="fold")
    for row in table.to_pylist():
        grid.add_row(*["" if v is None else ", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in row.values()])
    (out if out.is_terminal else Console(width=200)).print(grid)
    err.print(f"{table.num_rows} rows")


FORMATS = ["table", "csv", "json", "parquet"]


def _from_snapshot(db: Path | None, fmt: str, read):
    """Open the warehouse's snapshot, run ``read(con)`` for an Arrow table, and emit it as ``fmt``.

    ``read`` may raise duckdb.Error (a bad query) or WarehouseError; both end as one clear line."""
    import duckdb

    from warehouse.db import WarehouseError
    from warehouse.snapshot import open_snapshot

    if fmt not in FORMATS:
        _fail(f"--format must be one of {', '.join(FORMATS)}")
    try:
        con = open_snapshot(_database(db))
        try:
            table = read(con)
        finally:
            con.close()
    except WarehouseError as exc:
        _fail(str(exc))
    except duckdb.Error as exc:
        _fail(f"query failed: {exc}")
    return table.read_all() if hasattr(table, "read_all") else table


@app.command()
def query(
    sql: Annotated[str, typer.Argument(help="SQL to run against the warehouse's read-only snapshot.")],
    db: ReaderOption = None,
    format: Annotated[str, typer.Option("--format", help="table, csv, json (lines) or parquet.")] = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Run SQL against the latest snapshot (never the file the night is writing)."""
    _emit(_from_snapshot(db, format, lambda con: con.execute(sql).arrow()), format, out)


@app.command()
def stories(
    since: Annotated[str, typer.Option(help="Stories first seen since (7d, 24h or an ISO date).")] = "7d",
    db: ReaderOption = None,
    limit: Annotated[int, typer.Option(help="At most this many stories.")] = 50,
    format: Annotated[str, typer.Option("--format", help="table, csv, json (lines) or parquet.")] = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """List the latest axis stories (one row per story, not per copy)."""
    start = _parse_since(since)
    sql = ("SELECT published_at, outlets, headline, url, countries, topics, round(score, 2) AS score, cluster_id"
           " FROM v_axis_stories WHERE first_seen_at >= ? OR published_at >= ?"
           " ORDER BY published_at DESC, outlets DESC LIMIT ?")
    _emit(_from_snapshot(db, format, lambda con: con.execute(sql, [start, start, limit]).arrow()), format, out)


@app.command()
def report(
    since: Annotated[str, typer.Option(help="Period covered (30d, or an ISO date).")] = "30d",
    out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("data/reports/report.html"),
    db: ReaderOption = None,
) -> None:
    """Write the static HTML report (no server or network needed to view it)."""
    from warehouse.db import WarehouseError
    from warehouse.report import write_report
    from warehouse.snapshot import open_snapshot

    try:
        con = open_snapshot(_database(db))
    except WarehouseError as exc:
        _fail(str(exc))
    try:
        path = write_report(con, out, _parse_since(since))
    finally:
        con.close()
    err.print(f"report written to {path}")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Words to look for (BM25 over titles and text).")],
    since: Annotated[Optional[str], typer.Option(help="Only articles published since (7d or an ISO date).")] = None,
    axis_only: Annotated[bool, typer.Option("--axis-only", help="Only axis-tagged articles.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 20,
    db: ReaderOption = None,
    format: Annotated[str, typer.Option("--format", help="table, csv, json (lines) or parquet.")] = "table",
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of stdout.")] = None,
) -> None:
    """Full-text search over stored articles (refreshed after each load)."""
    from warehouse.search import search as run_search

    start = _parse_since(since)
    _emit(_from_snapshot(db, format, lambda con: run_search(con, text, start, axis_only, limit)), format, out)


@app.command()
def snapshot(db: WarehouseOption = None) -> None:
    """Publish a fresh read-only snapshot of the warehouse now (runs do this after each load)."""
    from warehouse.db import WarehouseError
    from warehouse.snapshot import publish_snapshot

    try:
        err.print(f"snapshot published: {publish_snapshot(_database(db))}")
    except WarehouseError as exc:
        _fail(str(exc))


@app.command()
def export(
    db: ReaderOption = None,
    out: Annotated[Path, typer.Option(help="Folder for the Parquet files.")] = Path("data/export"),
) -> None:
    """Export articles, stories and axis stories as Parquet partitioned by day."""
    from warehouse.db import WarehouseError
    from warehouse.maintenance import export_parquet
    from warehouse.snapshot import reader_location

    source = reader_location(_database(db))
    if isinstance(source, Path) and not source.exists():
        _fail(f"no snapshot at {source}: run `axiswatch run` first")
    try:
        counts = export_parquet(source, out)
    except WarehouseError as exc:
        _fail(str(exc))
    err.print(", ".join(f"{name}: {n} rows" for name, n in counts.items()) + f" -> {out}")


alerts_app = typer.Typer(help="Alert rules and the outbox.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("test")
def alerts_test(
    rule: Annotated[str, typer.Option(help="Rule whose channels get a sample message.")],
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML.")] = None,
    allow_network: Annotated[list[str], typer.Option("--allow-network", help="CIDR allowed although not public.")] = [],
) -> None:
    """Send a sample message to every channel of a rule, to check the channel works."""
    from alerts.channels import DeliveryError, send
    from alerts.messages import SAMPLE, Message
    from axiswatch.config import ConfigError, load_settings

    try:
        settings = load_settings(config if config else _default_settings())
        http = settings.http.settings(allow_network)
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))
    alerts = settings.alerts.effective()
    chosen = next((r for r in alerts.rules if r.name == rule), None)
    if chosen is None:
        _fail(f"no alert rule named {rule!r} (rules: {', '.join(r.name for r in alerts.rules) or 'none'})")
    channels = {c.name: c for c in alerts.channels}
    failed = False
    for name in chosen.channels:
        try:
            send(channels[name], Message("test", chosen.name, [SAMPLE]), http)
            out.print(f"[green]sent[/] sample to {name} ({channels[name].type})")
        except DeliveryError as exc:
            failed = True
            out.print(f"[red]failed[/] {name}: {exc}", highlight=False)
    if failed:
        raise typer.Exit(1)


@alerts_app.command("pending")
def alerts_pending(
    db: WarehouseOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List alerts waiting in the outbox, with attempts and the last error."""
    from alerts.outbox import pending
    from warehouse.db import WarehouseError

    try:
        rows = pending(_database(db))
    except WarehouseError as exc:
        _fail(str(exc))
    if json_out:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=str))
        return
    grid = Table(title=f"{len(rows)} alert(s) pending")
    for col in ("rule", "channel", "headline", "attempts", "next attempt", "last error"):
        grid.add_column(col, overflow="fold")
    for r in rows:
        grid.add_row(r["rule"], r["channel"], r["headline"] or r["cluster_id"], str(r["attempts"]),
                     f"{r['next_attempt_at']:%Y-%m-%d %H:%M}", r["last_error"] or "")
    out.print(grid)


@app.command()
def runs(
    db: WarehouseOption = None,
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object per run, one per line.")] = False,
) -> None:
    """List recent runs: state (running, loaded, finished, failed, abandoned), counts and errors."""
    from warehouse.db import WarehouseError, connect
    from warehouse.runs import recent_runs

    database = _database(db)
    if not Location.parse(database).is_lake and not Path(database).exists():
        _fail(f"{database}: no such warehouse (run `axiswatch run` first or pass --db)")
    try:
        con = connect(database, read_only=True)
        try:
            rows = recent_runs(con, limit)
        finally:
            con.close()
    except WarehouseError as exc:
        _fail(str(exc))
    for row in rows:
        row["errors"] = json.loads(row["errors"] or "[]")
    if json_out:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=_iso))
        return
    grid = Table(title=f"runs in {database}")
    for col in ("run", "status", "started", "took", "feeds ok/failed", "new", "dups", "axis", "stories", "errors", "why"):
        grid.add_column(col, overflow="fold")
    for r in rows:
        took = f"{(r['finished_at'] - r['started_at']).total_seconds():.0f}s" if r["finished_at"] else ""
        grid.add_row(
            r["run_id"], r["status"], f"{r['started_at']:%Y-%m-%d %H:%M}", took,
            f"{r['feeds_ok'] or 0}/{r['feeds_failed'] or 0}", str(r["articles_new"] or 0), str(r["duplicates"] or 0),
            str(r["axis_new"] or 0), str(r["stories_new"] or 0), str(len(r["errors"])), r["failure"] or "",
        )
    out.print(grid)


def _iso(value):
    """JSON for what json cannot write itself: times as ISO 8601."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def main() -> None:  # pragma: no cover
    app()
