"""The ``axiswatch`` command: the same steps the DAGs run, without a scheduler.

Start-up is kept cheap (``axiswatch --help`` is typed often and every cron line pays it): at import
only typer and the standard library load; rich, DuckDB, pyarrow and the pipeline are imported by
the commands that use them. Help is plain text (typer's rich help would import rich on every call).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from warehouse.location import Location

# Where a command finds the warehouse: writers name it; readers open its snapshot (or the lake).
WarehouseOption = Annotated[
    Optional[str],
    typer.Option(help="Warehouse: a DuckDB file, or ducklake:<catalog>[?data_path=<folder>].",
                 metavar="LOCATION", show_default="the settings' database, data/axiswatch.duckdb"),
]
ReaderOption = Annotated[
    Optional[str],
    typer.Option(help="The warehouse whose snapshot is read (a DuckDB file or a ducklake: location).",
                 metavar="LOCATION", show_default="the settings' database, data/axiswatch.duckdb"),
]


class _LazyConsole:
    """A rich Console created on first use, so importing the CLI does not import rich."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console = None

    def real(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.real(), name)


class _App(typer.Typer):
    """The typer app, run so that every failure is one line on stderr.

    Click prints usage errors as four lines (usage, hint, blank, error) and typer shows a
    traceback for anything unexpected; here both become ``error: ...`` on one line, exit 2 for
    input the command cannot use. ``AXISWATCH_TRACEBACK=1`` shows the traceback of an
    unexpected error instead."""

    def __call__(self, args=None, prog_name: str | None = "axiswatch", **extra):
        from typer._click.exceptions import ClickException, NoArgsIsHelpError
        from typer.exceptions import Abort
        from typer.main import get_command

        command = get_command(self)
        _plain_help(command)
        # SQL pasted with a leading comment ("-- the latest stories\nSELECT ...") is no option: click
        # would say "No such option"; a leading newline changes nothing in SQL and ends the confusion.
        args = ["\n" + a if a.startswith(("-- ", "--\n")) else a for a in (sys.argv[1:] if args is None else args)]
        empty = _empty_option(command, args)
        if empty:
            _say(f"{prog_name}: {empty} is empty: give it a value or leave the option out")
            sys.exit(2)
        try:
            code = command.main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            print(exc.ctx.get_help())
            code = 2
        except ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else prog_name
            hint = f" (see {where} --help)" if exc.exit_code == 2 else ""
            _say(f"{where}: {exc.format_message()}{hint}")
            code = exc.exit_code
        except Abort:
            _say("aborted")
            code = 130
        except Exception as exc:
            if os.environ.get("AXISWATCH_TRACEBACK"):
                raise
            _say(f"unexpected {type(exc).__name__}: {exc} (set AXISWATCH_TRACEBACK=1 to see where)")
            code = 1
        sys.exit(code if isinstance(code, int) else 0)


# Type names in help as a person reads them (typer's own are <str>, <bool>, <list[str]>).
_PLAIN_TYPES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH", "file": "PATH",
                "directory": "FOLDER", "datetime": "DATE"}


def _plain_help(command) -> None:
    """Give every option and argument without a metavar a plain one (TEXT, INTEGER, PATH...)."""
    for param in command.params:
        if param.metavar is None and not getattr(param, "is_flag", False):
            raw = param.display_type(None).strip("<>") if hasattr(param, "display_type") else ""
            raw = raw.removeprefix("list[").removesuffix("]")
            name = _PLAIN_TYPES.get(raw, raw.upper() or "VALUE")
            if param.param_type_name == "argument":  # its name says what it is; typer would add <str>
                name = param.name.upper()
                param.display_type_rich = lambda ctx=None: None
            param.metavar = name
        if getattr(param, "multiple", False) and param.help and "Repeat" not in param.help:
            param.help += " Repeat the option for more than one."
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


def _empty_option(command, args: list[str]) -> str | None:
    """The first option given an empty value (``--out ""`` or ``--out=``), if any: typer turns an
    empty path into ``.``, the current folder, which no option here means."""
    flags = set()
    for i, arg in enumerate(args):
        if arg in getattr(command, "commands", {}):
            command = command.commands[arg]
        flags |= {name for p in command.params if getattr(p, "is_flag", False) for name in p.opts + p.secondary_opts}
        if arg == "--":
            return None
        if arg.startswith("--") and arg.endswith("=") and len(arg) > 3:
            return arg[:-1]
        if arg.startswith("--") and arg not in flags and "=" not in arg and i + 1 < len(args) and args[i + 1] == "":
            return arg
    return None


def _say(message: str) -> None:
    """One line on stderr: newlines inside the message (from a library) are folded."""
    text = " ".join(str(message).split())
    red = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
    sys.stderr.write(("\033[1;31merror:\033[0m " if red else "error: ") + text + "\n")
    sys.stderr.flush()


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            print(f"axiswatch {version('axiswatch')}")
        except PackageNotFoundError:
            print("axiswatch (not installed: run `make install`)")
        raise typer.Exit(0)


app = _App(help="Watch the Korea–Russia–Ukraine axis across the world's press.", no_args_is_help=True,
           rich_markup_mode=None, pretty_exceptions_enable=False, context_settings={"max_content_width": 110})
err = _LazyConsole(stderr=True)
out = _LazyConsole(stderr=False)


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the installed version and exit.",
                                          callback=_version, is_eager=True)] = False,
) -> None:
    """Watch the Korea–Russia–Ukraine axis across the world's press."""


DEFAULT_CONFIG = "config/settings.yaml if it exists, else built-in defaults"


def _fail(message: str, code: int = 2) -> None:
    _say(message)
    raise typer.Exit(code)


@app.command()
def run(
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML.", metavar="FILE", show_default=DEFAULT_CONFIG)] = None,
    feeds: Annotated[Optional[Path], typer.Option(help="Feeds YAML with a top-level 'feeds:' list.", metavar="FILE",
                                                show_default="the settings' feeds_file, config/feeds.yaml")] = None,
    db: WarehouseOption = None,
    allow_network: Annotated[
        list[str], typer.Option("--allow-network", metavar="CIDR", help="Network the fetcher may reach although not public.")
    ] = [],
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON summary object on stdout.")] = False,
) -> None:
    """Run one full pass: feeds, pages, dedup, tags, warehouse."""
    _run(config if config else _default_settings(), feeds, db, allow_network, json_out)


def _run(config: Path | None, feeds: Path | None, db: str | None, allow_network: list[str], json_out: bool):
    from axiswatch.config import ConfigError, load_feeds, load_settings
    from axiswatch.pipeline import run_pass
    from transform.tagging import Tagger, TopicsError
    from warehouse.db import WarehouseError, no_space

    try:
        settings = load_settings(config)
        sources = load_feeds(feeds or settings.feeds_file)
        http = settings.http.settings(allow_network)
        tagger = Tagger.from_file(settings.topics_file)
    except (ConfigError, TopicsError, ValueError) as exc:
        if json_out:  # no run started, and the summary still says why
            from axiswatch.pipeline import RunSummary

            failed = RunSummary(run_id="", database=str(db or ""), status="failed", failure=" ".join(str(exc).split()),
                                cause="config")
            print(json.dumps(failed.as_json(), ensure_ascii=False, default=str), flush=True)
        _fail(str(exc))
    database = db or settings.database
    try:
        with _progress(quiet=json_out) as report:
            summary = run_pass(sources, database, http, tagger, progress=report, reports_dir=settings.reports_dir,
                               settings=settings, on_wait=lambda message: err.print(message, highlight=False))
    except Exception as exc:  # noqa: BLE001 - every failure of a run is one line, exit 2 for the warehouse
        message, cause = _run_failure(exc, settings, database)
        if json_out:  # the summary is always printed, with the failure in it (the load may have committed)
            from axiswatch.pipeline import RunSummary

            summary = getattr(exc, "summary", None) or RunSummary(run_id="", database=str(database))
            summary.status, summary.failure, summary.cause = "failed", message, cause
            print(json.dumps(summary.as_json(), ensure_ascii=False, default=str), flush=True)
        if isinstance(exc, WarehouseError) or no_space(exc):
            _fail(message)
        if os.environ.get("AXISWATCH_TRACEBACK"):
            raise
        _fail(f"unexpected {type(exc).__name__}: {message} (set AXISWATCH_TRACEBACK=1 to see where)", code=1)
    if json_out:
        print(json.dumps(summary.as_json(), ensure_ascii=False, default=str))
        return
    _print_summary(summary)


def _run_failure(exc: Exception, settings, database: str) -> tuple[str, str]:
    """One line for a failed run: what the warehouse layer said (a full disk anywhere is named as
    such), and for a damaged file the newest backup there is to restore."""
    from warehouse.db import WarehouseCorrupt, classify, no_space

    if no_space(exc):
        exc = classify(database, exc)
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, WarehouseCorrupt):
        backups = sorted(Path(settings.backups_dir).glob(f"{Path(database).stem}-*.duckdb"))
        message += f" (newest backup: {backups[-1]})" if backups else f" (no backup in {settings.backups_dir})"
    return message, getattr(exc, "cause", None) or "error"


@app.command()
def demo(
    db: WarehouseOption = None,
    port: Annotated[int, typer.Option(min=0, max=65535, metavar="PORT",
                                      help="Port for the demo server; URLs include it, so keep it between runs (0: any free port).")] = 8765,
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
    import tempfile

    try:
        actual = server.server_address[1]
        with tempfile.TemporaryDirectory(prefix="axiswatch-demo-") as folder:
            feeds = _feeds_for_port(actual, Path(folder)) if actual != 8765 else None
            _run(Path("demo/settings.yaml"), feeds, db, [], json_out)
    finally:
        server.shutdown()
        server.server_close()


def _feeds_for_port(port: int, folder: Path) -> Path:
    """A copy of demo/feeds.yaml pointing at another port, in ``folder`` (gone after the run, so
    demos on many ports leave nothing beside the warehouse)."""
    text = Path("demo/feeds.yaml").read_text(encoding="utf-8").replace("127.0.0.1:8765", f"127.0.0.1:{port}")
    path = folder / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _default_settings() -> Path | None:
    path = Path("config/settings.yaml")
    return path if path.exists() else None


class _progress:
    """Rich progress bars on stderr, one per stage; silent with --json or without a terminal."""

    def __init__(self, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.enabled = not quiet and err.is_terminal
        self.bar = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), console=err.real())
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

    from rich.table import Table

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
    allow_network: Annotated[list[str], typer.Option("--allow-network", metavar="CIDR", help="Network allowed although not public.")] = [],
) -> None:
    """Print what extraction gives for each page, one JSON line each, in order."""
    if any(not source.strip() for source in sources):
        _fail("a source is empty: name an HTML file or an http(s) URL")
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
    port: Annotated[int, typer.Option(min=0, max=65535, metavar="PORT", help="Port on 127.0.0.1 (0: any free port).")] = 8765,
    root: Annotated[Path, typer.Option(help="Folder to serve.", metavar="FOLDER")] = Path("demo/site"),
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


def _lines(handle, path: str):
    try:
        yield from handle
    except UnicodeDecodeError:
        _fail(f"{path}: not UTF-8 text")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")


def _read_jsonl(path: str):
    """Yield (line number, object) from a JSON-lines file or stdin ('-')."""
    if not path.strip():
        _fail("the input file is empty: name a JSON-lines file, or - for stdin")
    try:
        handle = sys.stdin if path == "-" else open(path, encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    try:
        for number, line in enumerate(_lines(handle, path), 1):
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
def events(
    file: Annotated[str, typer.Argument(help="JSON lines (id, title, summary, text, language) or '-'.")] = "-",
    patterns: Annotated[Path | None, typer.Option(help="Supply-event patterns file (default: config/supply_events.yaml).",
                                                  metavar="FILE")] = None,
) -> None:
    """Who supplies what to whom: JSON lines in, one {id, events} line out per input, in order.

    Each event is {supplier, item, recipient, evidence, claimed_by}; evidence is a sentence of
    the input, verbatim; an item without events gets an empty list."""
    from transform.supply_events import DEFAULT_PATTERNS, PatternsError, SupplyEventExtractor

    try:
        extractor = SupplyEventExtractor.from_file(patterns or DEFAULT_PATTERNS)
    except PatternsError as exc:
        _fail(str(exc))
    for number, item in _read_jsonl(file):
        if not isinstance(item, dict):
            _fail(f"{file}:{number}: expected a JSON object with 'id', 'title', 'summary', 'text', 'language'")
        if "id" not in item:
            _fail(f"{file}:{number}: missing 'id'")
        fields = {k: item.get(k) for k in ("title", "summary", "text", "language")}
        if not any(fields[k] for k in ("title", "summary", "text")):
            _fail(f"{file}:{number}: missing 'title', 'summary' and 'text': nothing to read")
        for key, value in fields.items():
            if value is not None and not isinstance(value, str):
                _fail(f"{file}:{number}: '{key}' must be a string")
        found = extractor.extract(fields["title"] or "", fields["summary"] or "", fields["text"] or "",
                                  fields["language"] or "")
        print(json.dumps({"id": item["id"], "events": [e.as_json() for e in found]}, ensure_ascii=False), flush=False)
    sys.stdout.flush()


@app.command()
def dedup(
    file: Annotated[str, typer.Argument(help="JSON lines (id, url, title, text, optional summary, language, published) or '-'.")] = "-",
    window_days: Annotated[float, typer.Option(min=0, metavar="DAYS", help="Near-duplicates further apart than this stay apart.")] = 7.0,
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML.", metavar="FILE", show_default=DEFAULT_CONFIG)] = None,
    topics: Annotated[Optional[Path], typer.Option(help="Topics file (its actors link events).", metavar="FILE",
                                                 show_default="the settings' topics_file, config/topics.yaml")] = None,
) -> None:
    """Cluster copies of the same story and link stories of one event across languages: JSON lines
    in, one {id, cluster_id, event_id} line out per input, in order."""
    from datetime import UTC, datetime

    from transform.clusters import ClusterSettings, Doc, cluster_docs
    from transform.event_links import FeatureExtractor, event_ids
    from transform.tagging import TopicsError

    docs, languages = [], []
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
        languages.append(str(item.get("language") or ""))
    settings = ClusterSettings(window_days=window_days)
    clusters = cluster_docs(docs, settings)
    from axiswatch.config import ConfigError, load_settings

    try:
        extractor = FeatureExtractor.from_file(topics or load_settings(config if config else _default_settings()).topics_file)
    except (ConfigError, TopicsError) as exc:
        _fail(str(exc))
    events = event_ids(docs, clusters, extractor, settings, languages)
    for doc, cluster, event in zip(docs, clusters, events):
        print(json.dumps({"id": doc.id, "cluster_id": cluster, "event_id": event}, ensure_ascii=False))


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
    since: Annotated[Optional[str], typer.Option(help="Only articles published since (ISO date or 7d).", metavar="AGE|DATE",
                                                 show_default="all")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML.", metavar="FILE", show_default=DEFAULT_CONFIG)] = None,
    topics: Annotated[Optional[Path], typer.Option(help="Topics file.", metavar="FILE",
                                                 show_default="the settings' topics_file, config/topics.yaml")] = None,
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
    if db:
        return db  # no settings to load (they import the HTTP stack: a third of a second)
    from axiswatch.config import ConfigError, load_settings

    try:
        return load_settings(config if config else _default_settings()).database
    except ConfigError as exc:
        _fail(str(exc))


def _prepare_out(dest: Path | None, folder: bool = False) -> None:
    """Make sure ``--out`` can be written before any work is done: its folder is created if
    missing; a path under a regular file, or a folder where a file is wanted, fails in one line."""
    if dest is None:
        return
    if str(dest).strip() == "":
        _fail("--out is empty: name a file" + (" or folder" if folder else ""))
    target = dest if folder else dest.parent
    try:
        target.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        _fail(f"--out {dest}: {target} exists and is not a folder")
    except NotADirectoryError:
        _fail(f"--out {dest}: a part of the path is a file, not a folder")
    except OSError as exc:
        _fail(f"--out {dest}: cannot create {target}: {exc.strerror or exc}")
    if not folder and dest.is_dir():
        _fail(f"--out {dest}: is a folder; name a file")


def _iso(value):
    """A value as every text format prints it: date/times in ISO 8601 (``2026-11-24T01:30:00+00:00``),
    intervals as ISO 8601 durations (``PT1H11M49.411776S``), lists and structs element by element."""
    from datetime import date, datetime, time, timedelta

    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _duration(0, value.days, value.seconds * 1_000_000_000 + value.microseconds * 1000)
    if type(value).__name__ == "MonthDayNano":  # pyarrow's interval value
        return _duration(value.months, value.days, value.nanoseconds)
    if isinstance(value, list):
        return [_iso(v) for v in value]
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    return value


def _duration(months: int, days: int, nanoseconds: int) -> str:
    sign = "-" if (months, days, nanoseconds) < (0, 0, 0) and months <= 0 and days <= 0 and nanoseconds <= 0 else ""
    months, days, nanoseconds = abs(months), abs(days), abs(nanoseconds)
    hours, rest = divmod(nanoseconds, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".")
    date_part = (f"{months // 12}Y" if months >= 12 else "") + (f"{months % 12}M" if months % 12 else "") + (f"{days}D" if days else "")
    time_part = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{seconds}S" if rest else "")
    return sign + "P" + date_part + ("T" + time_part if time_part else "") if (date_part or time_part) else "PT0S"


def _text_rows(table) -> list[dict]:
    return [{k: _iso(v) for k, v in row.items()} for row in table.to_pylist()]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_cell(v) if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _for_csv(table):
    """CSV has no lists or structs: such columns (countries, topics, ...) are written as JSON; dates,
    times and intervals as the same ISO 8601 text the other formats print."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        kind = field.type
        if pa.types.is_nested(kind):
            values = [None if v is None else json.dumps(_iso(v), ensure_ascii=False) for v in table.column(i).to_pylist()]
        elif pa.types.is_temporal(kind) or pa.types.is_interval(kind):
            values = [None if v is None else _iso(v) for v in table.column(i).to_pylist()]
        else:
            continue
        table = table.set_column(i, field.name, pa.array(values, type=pa.string()))
    return table


def _emit(table, fmt: str, dest: Path | None, max_width: int = 40) -> None:
    """Print or write an Arrow table as a table, records, CSV, JSON lines or Parquet."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        if not dest:
            _fail("--format parquet needs --out FILE")
        _write(dest, lambda: pq.write_table(table, dest))
        err.print(f"wrote {table.num_rows} rows to {dest}")
        return
    if fmt == "csv":
        import pyarrow.csv as pacsv

        table = _for_csv(table)
        if dest:
            _write(dest, lambda: pacsv.write_csv(table, dest))
        else:
            sink = sys.stdout.buffer
            pacsv.write_csv(table, sink)
            sink.flush()
        return
    if fmt == "json":
        lines = (json.dumps(row, ensure_ascii=False, default=str) for row in _text_rows(table))
        text = "\n".join(lines) + ("\n" if table.num_rows else "")
        if dest:
            _write(dest, lambda: dest.write_text(text, encoding="utf-8"))
        else:
            sys.stdout.write(text)
        return
    if fmt == "records":
        text = _records(table)
        if dest:
            _write(dest, lambda: dest.write_text(text, encoding="utf-8"))
        else:
            sys.stdout.write(text)
        _say_rows(table.num_rows)
        return
    _print_table(table, dest, max_width)


def _records(table) -> str:
    """One block per row, one ``column  value`` line per column (values whole, on one line): for
    rows too wide for a table, as psql's ``\\x`` or duckdb's ``.mode line``."""
    width = max((len(name) for name in table.column_names), default=0)
    blocks = []
    for number, row in enumerate(_text_rows(table), 1):
        lines = [f"-[ row {number} ]" + "-" * max(0, width - 6)]
        lines += [f"{name.ljust(width)} | {_cell_line(value)}" for name, value in row.items()]
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + ("\n" if blocks else "")


def _print_table(table, dest: Path | None, max_width: int) -> None:
    """A grid, one line per row, as wide as the terminal (``COLUMNS``; 200 when not a terminal):
    cells longer than ``max_width`` are cut with '…' (0: never), then the widest columns are
    narrowed until the grid fits. Rows too wide even then (12 characters a column) are shown
    as records, and stderr says so."""
    import shutil

    rows = [[_cell_line(v) for v in row.values()] for row in _text_rows(table)]
    names = table.column_names
    room = shutil.get_terminal_size((200, 24)).columns if dest is None else 1_000_000
    natural = [max([_width(n)] + [_width(r[i]) for r in rows]) for i, n in enumerate(names)]
    widths = [min(w, max(max_width, 1)) for w in natural] if max_width else list(natural)
    floor = 12  # narrower cells say too little: such rows read better as records
    while sum(widths) + 3 * len(widths) + 1 > room:
        # Narrow the columns already cut first (long text), whole ones (dates, ids) last.
        cut = [i for i, w in enumerate(widths) if natural[i] > w and w > floor]
        whole = [i for i, w in enumerate(widths) if w > floor]
        if not (cut or whole):
            break
        widest = max(cut or whole, key=lambda i: widths[i])
        widths[widest] -= 1
    if sum(widths) + 3 * len(widths) + 1 > room:
        text = _records(table)
        note = f"{len(names)} columns do not fit in {room}: shown as records (--format records)"
    else:
        def line(cells):
            return "│ " + " │ ".join(_fit(c, w) for c, w in zip(cells, widths)) + " │"

        rule = "─┼─".join("─" * w for w in widths)
        text = "\n".join([line(names), f"├─{rule}─┤", *(line(r) for r in rows)]) + "\n"
        cut = any(_width(c) > w for r in [names, *rows] for c, w in zip(r, widths))
        note = "long cells are cut: --format records shows whole values, --max-width 0 cuts none" if cut else ""
    if dest:
        _write(dest, lambda: dest.write_text(text, encoding="utf-8"))
    else:
        sys.stdout.write(text)
    sys.stderr.write(f"{table.num_rows} rows" + (f"; {note}" if note else "") + "\n")


def _cell_line(value) -> str:
    return " ".join(_cell(value).split())


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide characters (Korean, Chinese) take two."""
    import unicodedata

    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _fit(text: str, width: int) -> str:
    """``text`` cut with '…' or padded with spaces to exactly ``width`` terminal columns."""
    if _width(text) <= width:
        return text + " " * (width - _width(text))
    kept, used = [], 0
    for c in text:
        w = _width(c)
        if used + w > width - 1:
            break
        kept.append(c)
        used += w
    return "".join(kept) + "…" + " " * (width - 1 - used)


def _say_rows(n: int) -> None:
    sys.stderr.write(f"{n} rows\n")


def _write(dest: Path, write) -> None:
    """Run ``write`` (which writes ``dest``), turning a failure into one line."""
    import pyarrow as pa

    try:
        write()
    except (OSError, pa.ArrowException) as exc:
        _fail(f"cannot write {dest}: {getattr(exc, 'strerror', None) or ' '.join(str(exc).split())}")


FORMATS = ["table", "records", "csv", "json", "parquet"]
FormatOption = Annotated[
    str, typer.Option("--format", metavar="|".join(FORMATS),
                      help="table (cells cut to --max-width), records (one line per column), csv, json (lines) or parquet.")
]
OutOption = Annotated[Optional[Path], typer.Option(help="Write to this file instead of stdout.", metavar="FILE",
                                                   show_default="stdout")]
MaxWidthOption = Annotated[int, typer.Option("--max-width", min=0, metavar="CHARS", help="--format table: cut longer cells with '…' (0: never).")]


def _from_snapshot(db: str | None, fmt: str, read, out: Path | None = None, sandboxed: bool = False):
    """Open the warehouse's snapshot, run ``read(con)`` for an Arrow table, and return it.

    The format and ``--out`` are checked first, so a typo costs no query. ``read`` may raise
    duckdb.Error (a bad query) or WarehouseError; both end as one clear line. ``sandboxed`` opens
    the snapshot inside DuckDB's sandbox (analysts' own SQL, see warehouse.sandbox)."""
    if fmt not in FORMATS:
        _fail(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    _prepare_out(out)
    import duckdb

    from warehouse.db import WarehouseError
    from warehouse.sandbox import open_sandboxed
    from warehouse.snapshot import open_snapshot

    try:
        con = (open_sandboxed if sandboxed else open_snapshot)(_database(db))
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
    format: FormatOption = "table",
    out: OutOption = None,
    max_width: MaxWidthOption = 40,
) -> None:
    """Run SQL against the latest snapshot (never the file the night is writing).

    Only queries run, inside DuckDB's sandbox: no file is read or written but the warehouse
    (results go to --out), no ATTACH, INSTALL/LOAD or SET."""
    from warehouse.sandbox import run_query

    if not sql.strip():
        _fail('the query is empty: pass the SQL to run, e.g. axiswatch query "SELECT count(*) FROM articles"')
    _emit(_from_snapshot(db, format, lambda con: run_query(con, sql), out, sandboxed=True), format, out, max_width)


@app.command()
def stories(
    since: Annotated[str, typer.Option(help="Stories published since (7d, 24h or an ISO date; first seen when a source gives no time).",
                                       metavar="AGE|DATE")] = "7d",
    db: ReaderOption = None,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most this many stories.")] = 50,
    format: FormatOption = "table",
    out: OutOption = None,
    max_width: MaxWidthOption = 40,
) -> None:
    """List the latest axis stories (one row per story, not per copy), with who reported each
    first, the affiliations of the outlets that carried it, and whether only state media did."""
    start = _parse_since(since)
    sql = ("SELECT published_at, outlets, headline, url, countries, topics, round(score, 2) AS score, cluster_id,"
           " first_reporter, affiliations, state_media_only"
           " FROM v_axis_stories WHERE published_at >= ?"
           " ORDER BY published_at DESC, outlets DESC, cluster_id LIMIT ?")
    _emit(_from_snapshot(db, format, lambda con: con.execute(sql, [start, limit]).arrow(), out), format, out,
          max_width)


@app.command()
def report(
    since: Annotated[str, typer.Option(help="Stories published since (30d or an ISO date; first seen when a source gives no time).",
                                       metavar="AGE|DATE")] = "30d",
    out: Annotated[Path, typer.Option(help="HTML file to write.", metavar="FILE")] = Path("data/reports/report.html"),
    db: ReaderOption = None,
) -> None:
    """Write the static HTML report (no server or network needed to view it)."""
    from warehouse.db import WarehouseError
    from warehouse.report import write_report
    from warehouse.snapshot import open_snapshot

    start = _parse_since(since)
    _prepare_out(out)
    try:
        con = open_snapshot(_database(db))
    except WarehouseError as exc:
        _fail(str(exc))
    try:
        path = write_report(con, out, start)
    except OSError as exc:
        _fail(f"cannot write {out}: {exc.strerror or exc}")
    finally:
        con.close()
    err.print(f"report written to {path}")


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="Words to look for (BM25 over titles and text).")],
    since: Annotated[Optional[str], typer.Option(help="Only copies published since (7d or an ISO date; first seen when a source gives no time).",
                                                 metavar="AGE|DATE", show_default="all")] = None,
    axis_only: Annotated[bool, typer.Option("--axis-only", help="Only axis-tagged copies.")] = False,
    limit: Annotated[int, typer.Option(min=1, metavar="N", help="At most this many stories.")] = 20,
    db: ReaderOption = None,
    format: FormatOption = "table",
    out: OutOption = None,
    max_width: MaxWidthOption = 40,
) -> None:
    """Full-text search over stored articles, one row per story (its best-matching copy, with the
    story's copies and languages); the index is refreshed after each load."""
    from warehouse.search import search as run_search

    if not text.strip():
        _fail('nothing to search for: pass words, e.g. axiswatch search "artillery shells"')
    start = _parse_since(since)
    table = _from_snapshot(db, format, lambda con: run_search(con, text, start, axis_only, limit), out)
    if not table.num_rows:
        filters = (f" published since {start.isoformat()}" if start else "") + (" tagged axis" if axis_only else "")
        sys.stderr.write(f"no story has a copy{filters} matching {text!r}"
                         + (" (try without --since/--axis-only)\n" if filters
                            else " (words are matched stemmed; English stop words are ignored)\n"))
    _emit(table, format, out, max_width)


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
    out: Annotated[Path, typer.Option(help="Folder for the Parquet files.", metavar="FOLDER")] = Path("data/export"),
) -> None:
    """Export articles, stories and axis stories as Parquet partitioned by day."""
    from warehouse.db import WarehouseError
    from warehouse.maintenance import export_parquet
    from warehouse.snapshot import reader_location

    import duckdb

    source = reader_location(_database(db))
    if isinstance(source, Path) and not source.exists():
        _fail(f"no snapshot at {source}: run `axiswatch run` first")
    _prepare_out(out, folder=True)
    try:
        counts = export_parquet(source, out)
    except WarehouseError as exc:
        _fail(str(exc))
    except (OSError, duckdb.Error) as exc:
        _fail(f"cannot export to {out}: {getattr(exc, 'strerror', None) or exc}")
    err.print(", ".join(f"{name}: {n} rows" for name, n in counts.items()) + f" -> {out}")


alerts_app = typer.Typer(help="Alert rules and the outbox.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("test")
def alerts_test(
    rule: Annotated[str, typer.Option(help="Rule whose channels get a sample message.")],
    config: Annotated[Optional[Path], typer.Option(help="Settings YAML.", metavar="FILE", show_default=DEFAULT_CONFIG)] = None,
    allow_network: Annotated[list[str], typer.Option("--allow-network", metavar="CIDR", help="Network allowed although not public.")] = [],
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
    from rich.table import Table

    grid = Table(title=f"{len(rows)} alert(s) pending")
    for col in ("rule", "channel", "headline", "attempts", "next attempt", "last error"):
        grid.add_column(col, overflow="fold")
    for r in rows:
        grid.add_row(r["rule"], r["channel"], r["headline"] or r["cluster_id"], str(r["attempts"]),
                     f"{r['next_attempt_at']:%Y-%m-%d %H:%M}", r["last_error"] or "")
    out.print(grid)


@app.command()
def sql(db: ReaderOption = None) -> None:
    """Open the analysts' snapshot in the DuckDB shell, read-only (type SQL; .help, .quit)."""
    import shutil

    from warehouse.db import WarehouseError, extension_path, sql_string
    from warehouse.snapshot import snapshot_path

    shell = Path(sys.executable).parent / "duckdb"  # the duckdb-cli package installed with axiswatch
    shell = str(shell) if shell.exists() else shutil.which("duckdb")
    if shell is None:
        _fail("no DuckDB shell found: pip install duckdb-cli (it comes with axiswatch's own install)")
    location = Location.parse(_database(db))
    if location.is_lake:
        try:
            scanner = [] if location.catalog_kind == "duckdb" else [f"{location.catalog_kind}_scanner"]
            loads = [f"LOAD {sql_string(str(extension_path(name)))};" for name in ["ducklake", *scanner]]
        except WarehouseError as exc:
            _fail(str(exc))
        setup = " ".join([*loads, f"ATTACH {sql_string('ducklake:' + location.target)} AS lake (READ_ONLY);", "USE lake;"])
        args = [shell, "-cmd", setup]
    else:
        target = snapshot_path(location.target)
        if not target.exists():
            _fail(f"no snapshot at {target}: run `axiswatch run` (or `axiswatch snapshot`) to publish one")
        args = [shell, "-readonly", str(target)]
    sys.stdout.flush()
    os.execv(shell, args)


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
            print(json.dumps(_iso(row), ensure_ascii=False, default=str))
        return
    # One line per run (a table of ten columns is unreadable at 80): id and state first.
    for r in rows:
        took = f" in {(r['finished_at'] - r['started_at']).total_seconds():.0f}s" if r["finished_at"] else ""
        line = (f"{r['run_id']}  {r['status']:<9} {r['started_at']:%Y-%m-%d %H:%M}{took}  "
                f"feeds {r['feeds_ok'] or 0} ok / {r['feeds_failed'] or 0} failed, {r['articles_new'] or 0} new,"
                f" {r['duplicates'] or 0} copies, {r['axis_new'] or 0} axis, {len(r['errors'])} errors")
        out.print(line + (f"\n    {r['failure']}" if r["failure"] else ""), highlight=False, soft_wrap=True)
    if not rows:
        out.print(f"no runs in {database} yet", highlight=False)


def main() -> None:  # pragma: no cover
    app()
