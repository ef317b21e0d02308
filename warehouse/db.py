"""Opening the warehouse (a DuckDB file or a DuckLake, see ``warehouse.location``) and applying
its versioned migrations.

Migrations are the numbered ``*.sql`` files beside this module, applied in order, each in its own
transaction and recorded in ``schema_migrations``; the schema is declared here, never reflected.
DuckLake has no keys or indexes, so on a lake the same files are applied without them (every
write in this package is an anti-join append or a MERGE, correct with or without keys).
"""

from __future__ import annotations

import contextlib
import errno
import stat
import importlib.util
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO, TypeVar

import duckdb

from warehouse.location import Location
from warehouse.settings import WarehouseSettings

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or migrated; the run cannot proceed. ``cause`` names why in a
    word or two (corrupt, truncated, permission, disk full, locked, busy, error)."""

    cause = "error"


def fetch_dicts(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    """The rows of an executed query as dicts keyed by column name."""
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for item in resources.files("warehouse.migrations").iterdir():
        match = _MIGRATION_NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), match.group(2), item.read_text(encoding="utf-8")))
    return sorted(found)


_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")
_LOCKED = ("could not set lock on file", "conflicting lock is held")  # never just "lock": "block" has it too


class WarehouseLocked(WarehouseError):
    """Another process holds the warehouse file (``holder_pid``: its PID, when DuckDB says)."""

    cause = "locked"
    holder_pid: int | None = None


class WarehouseCorrupt(WarehouseError):
    """The file is not a usable DuckDB database (damaged or cut short); nothing was changed or deleted."""

    cause = "corrupt"


class WarehouseTruncated(WarehouseCorrupt):
    """The file is shorter than its own header says: cut short by a copy, a crash or a full disk."""

    cause = "truncated"


class WarehouseUnreadable(WarehouseError):
    """The file (or its folder) cannot be read or written by this user."""

    cause = "permission"


class WarehouseFull(WarehouseError):
    """No space was left for a write; the transaction was rolled back, nothing half-written."""

    cause = "disk full"


_settings = WarehouseSettings()


def configure(settings: WarehouseSettings) -> None:
    """Use the ``warehouse:`` section of the run's settings (lock wait, verification) in this process."""
    global _settings
    _settings = settings


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load a DuckDB extension from its PyPI package, never from the internet."""
    # LOAD by path: no INSTALL, so no extension directory (or home directory) is needed.
    con.execute(f"LOAD {sql_string(str(extension_path(name)))}")


def extension_path(name: str) -> Path:
    """The file of a DuckDB extension shipped by its PyPI package (for this DuckDB version)."""
    package = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(package)
    version = duckdb.__version__
    path = None
    if spec and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    if path is None or not path.exists():
        raise WarehouseError(
            f"DuckDB extension {name!r} for DuckDB {version} is not installed: "
            f"pip install duckdb-extension-{name.replace('_', '-')}=={version}"
        )
    return path


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal (for statements that take no parameters: ATTACH, LOAD, COPY)."""
    return "'" + value.replace("'", "''") + "'"


def connect_lake(location: Location, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as ``lake`` and made the default catalog."""
    con = duckdb.connect()
    try:
        load_extension(con, "ducklake")
        if location.catalog_kind != "duckdb":
            load_extension(con, f"{location.catalog_kind}_scanner")
        if read_only:
            option = "READ_ONLY"
        else:
            option = f"DATA_PATH {sql_string(location.files_dir)}"
            if location.catalog_file is not None:  # a file catalog: its folder (and default data folder) may be new
                location.catalog_file.parent.mkdir(parents=True, exist_ok=True)
                if location.data_path is None:
                    Path(location.files_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"ATTACH {sql_string('ducklake:' + location.target)} AS lake ({option})")
        con.execute("USE lake")
    except WarehouseError:
        con.close()
        raise
    except (duckdb.Error, OSError) as exc:
        con.close()
        raise WarehouseError(f"cannot open DuckLake {location}: {str(exc).splitlines()[0]}") from None
    return con


def connect(path: str | Path | Location, read_only: bool = False, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (creating its folder), waiting a bounded time if another process
    holds it (``warehouse.lock_wait_seconds``), with a distinct error for a locked, corrupt,
    truncated or unreadable file. A DuckLake location is attached instead (no file lock: the
    catalog arbitrates between processes)."""
    location = Location.parse(path)
    if location.is_lake:
        return connect_lake(location, read_only)
    path = Path(location.target)
    waited = _settings.lock_wait_seconds if wait is None else wait
    deadline = time.monotonic() + waited
    delay = 0.2
    while True:
        try:
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if not any(marker in message.lower() for marker in _LOCKED):
                raise classify(path, exc) from None
            if time.monotonic() >= deadline:
                holder = _HOLDER.search(message)
                who = f"PID {holder.group(2)} ({holder.group(1)})" if holder else "another process"
                locked = WarehouseLocked(
                    f"warehouse {path} is locked by {who}; waited {waited:g}s (warehouse.lock_wait_seconds). "
                    f"Readers should open {path.with_name(path.stem + '.snapshot' + path.suffix)} instead"
                )
                locked.holder_pid = int(holder.group(2)) if holder else None
                raise locked from None
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(2.0, delay * 2)
        except (duckdb.Error, OSError) as exc:
            raise classify(path, exc) from None


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_BLOCK_AT = re.compile(r"block at location (\d+)")
_READ_SHORT = re.compile(r"attempted to read (\d+) bytes from location (\d+)")
_ADVICE = "nothing was changed: restore a backup (backups_dir) or move the file aside"


def classify(path: str | Path, exc: BaseException) -> WarehouseError:
    """The one-line error for what DuckDB or the OS said about the warehouse file ``path``."""
    if isinstance(exc, WarehouseError):
        return exc
    message = str(exc)
    first = message.splitlines()[0] if message else type(exc).__name__
    lowered = message.lower()
    number = getattr(exc, "errno", None)
    if no_space(exc):
        return WarehouseFull(f"disk full writing warehouse {path} ({first}); the transaction was rolled back: "
                             "nothing was half-written and nothing was deleted; free space and run again")
    if number in (errno.EACCES, errno.EPERM) or "permission denied" in lowered:
        return WarehouseUnreadable(f"permission denied on warehouse {path}: this user ({_user()}) cannot read and "
                                   f"write it ({_mode(path)}); nothing was changed")
    if "could not read enough bytes" in lowered:
        short = _READ_SHORT.search(message)
        where = f" (a read of {short.group(1)} bytes at byte {short.group(2)} ran past its end)" if short else ""
        return WarehouseTruncated(f"warehouse {path} is truncated: {_size(path)}{where}; {_ADVICE}")
    if "not a valid duckdb database" in lowered:
        if _size_of(path) == 0:
            return WarehouseTruncated(f"warehouse {path} is truncated: the file is empty (0 bytes); {_ADVICE}")
        return WarehouseCorrupt(f"warehouse {path} is corrupt: its header is not a DuckDB header; {_ADVICE}")
    if "corrupt" in lowered or "checksum" in lowered:
        block = _BLOCK_AT.search(message)
        where = f"the block at byte {block.group(1)} fails its checksum" if block else first
        return WarehouseCorrupt(f"warehouse {path} is corrupt: {where}; {_ADVICE}")
    return WarehouseError(f"cannot open warehouse {path}: {first}")


_classify = classify  # the name it had


def _size_of(path: str | Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _size(path: str | Path) -> str:
    size = _size_of(path)
    return "its size is unknown" if size is None else f"{size:,} bytes"


def _mode(path: str | Path) -> str:
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"stat failed: {exc.strerror}"
    return f"owner uid {st.st_uid}, mode {stat.filemode(st.st_mode)}"


def _user() -> str:
    return f"uid {os.getuid()}" if hasattr(os, "getuid") else "this user"


# The DuckDB file format (storage version 64, DuckDB 1.x): three 4 KiB headers (a main header with
# the magic "DUCK", then two database headers of which the one with the higher iteration is
# current), then blocks of ``block_alloc_size`` bytes; every header and block starts with an 8-byte
# checksum of the rest: 5381 XOR the XOR of each little-endian 64-bit word times 0xbf58476d1ce4e5b9.
# DuckDB verifies a block only when it reads it, and reads lazily (a table nobody queries, an index
# until it is used), so a damaged block can sit in a file DuckDB opens and writes. ``verify_file``
# reads every block the current header counts and checks each checksum, as DuckDB would.
_HEADER = 4096
_MULTIPLIER = 0xBF58476D1CE4E5B9
_CHUNK_BLOCKS = 64


_NO_POINTER = 0xFFFFFFFFFFFFFFFF
_METADATA_PER_BLOCK = 64


def _free_blocks(handle: BinaryIO, pointer: int, block_size: int, blocks: int) -> set[int] | None:
    """The free list the current header points at (block ids holding nothing), or None when it
    cannot be read as expected (then no block is taken for free).

    Metadata blocks hold 64 sub-blocks, each an 8-byte pointer to the next one and then data;
    a pointer is a block id with the sub-block's index in its top byte. The free list is a count
    and then that many block ids."""
    if pointer == _NO_POINTER:
        return set()
    import struct

    sub_size = ((block_size - 8) // _METADATA_PER_BLOCK) // 8 * 8
    data, seen = b"", 0

    def follow(ptr: int) -> int:
        nonlocal data, seen
        block, index = ptr & ((1 << 56) - 1), ptr >> 56
        if block >= blocks or index >= _METADATA_PER_BLOCK or seen > blocks * _METADATA_PER_BLOCK:
            raise ValueError("pointer out of range")
        handle.seek(3 * _HEADER + block * block_size + 8 + index * sub_size)
        raw = handle.read(sub_size)
        if len(raw) < sub_size:  # the free list itself is cut off
            raise WarehouseTruncated(f"the file ends before block {block}, which holds its list of free blocks")
        seen += 1
        data += raw[8:]
        return struct.unpack_from("<Q", raw, 0)[0]

    try:
        following = follow(pointer)
        count = struct.unpack_from("<Q", data, 0)[0]
        if count > blocks:
            return None
        while len(data) < 8 + 8 * count:
            if following == _NO_POINTER:
                return None
            following = follow(following)
        free = set(struct.unpack_from(f"<{count}q", data, 8))
    except (ValueError, struct.error):
        return None
    return free if all(0 <= b < blocks for b in free) else None


@dataclass
class FileCheck:
    """What ``verify_file`` read: the blocks the header counts, their bytes, and the seconds it took."""

    blocks: int
    bytes: int
    seconds: float
    released: int = 0  # all-zero blocks: freed blocks DuckDB trimmed (punched out of the file)


def _checksums(words):
    import numpy as np

    with np.errstate(over="ignore"):
        products = words * np.uint64(_MULTIPLIER)
    return np.bitwise_xor.reduce(products, axis=-1) ^ np.uint64(5381)


def verify_file(path: str | Path, handle: BinaryIO | None = None) -> FileCheck:
    """Read the whole DuckDB file ``path`` and check every header and block checksum; raise
    ``WarehouseCorrupt`` / ``WarehouseTruncated`` / ``WarehouseUnreadable`` naming the first fault.
    Reads only: the file is never changed. Call it while nobody writes (``open_warehouse`` holds a
    shared lock meanwhile, on ``handle``, which is then read: closing another descriptor of the file
    would drop that lock)."""
    import numpy as np

    path = Path(path)
    started = time.monotonic()
    try:
        with contextlib.nullcontext(handle) if handle is not None else open(path, "rb", buffering=0) as handle:
            handle.seek(0)
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                raise WarehouseTruncated(f"warehouse {path} is truncated: the file is empty (0 bytes); {_ADVICE}")
            head = handle.read(3 * _HEADER)
            if len(head) < 3 * _HEADER:
                raise WarehouseTruncated(f"warehouse {path} is truncated: {size:,} bytes, shorter than DuckDB's "
                                         f"three {_HEADER}-byte headers; {_ADVICE}")
            if head[8:12] != b"DUCK":
                raise WarehouseCorrupt(f"warehouse {path} is corrupt: its header is not a DuckDB header; {_ADVICE}")
            words = np.frombuffer(head, dtype="<u8").reshape(3, _HEADER // 8)
            sums = _checksums(words[:, 1:])
            for index in range(3):
                if int(sums[index]) != int(words[index, 0]):
                    raise WarehouseCorrupt(f"warehouse {path} is corrupt: the header at byte {index * _HEADER} "
                                           f"fails its checksum; {_ADVICE}")
            # database headers: checksum, iteration, meta block, free list, block count, block size
            current = max((words[1], words[2]), key=lambda w: int(w[1]))
            blocks, block_size = int(current[4]), int(current[5])
            if block_size < _HEADER or block_size % _HEADER or block_size > 1 << 30:
                raise WarehouseCorrupt(f"warehouse {path} is corrupt: its header gives a block size of "
                                       f"{block_size} bytes; {_ADVICE}")
            expected = 3 * _HEADER + blocks * block_size
            present = max(0, size - 3 * _HEADER) // block_size  # whole blocks in the file
            try:
                free = _free_blocks(handle, int(current[3]), block_size, blocks)
            except WarehouseTruncated as exc:
                raise WarehouseTruncated(f"warehouse {path} is truncated: {size:,} bytes; {exc}; {_ADVICE}") from None
            # DuckDB cuts free blocks off the end of the file but may still count them, so only a
            # block in use that is missing makes the file truncated (unknown free list: none is).
            missing = [b for b in range(present, blocks) if b not in free] if free is not None else []
            if missing:
                raise WarehouseTruncated(f"warehouse {path} is truncated: {size:,} bytes, but block {missing[0]} "
                                         f"(bytes {3 * _HEADER + missing[0] * block_size:,} to "
                                         f"{3 * _HEADER + (missing[0] + 1) * block_size:,}) is in use; {_ADVICE}")
            released = 0
            buffer = bytearray(block_size * _CHUNK_BLOCKS)
            view = memoryview(buffer)
            handle.seek(3 * _HEADER)
            done, last = 0, min(blocks, present)
            while done < last:
                count = min(_CHUNK_BLOCKS, last - done)
                want = count * block_size
                got = 0
                while got < want:
                    n = handle.readinto(view[got:want])
                    if not n:
                        raise WarehouseTruncated(f"warehouse {path} is truncated: it ended while block {done} "
                                                 f"was read; {_ADVICE}")
                    got += n
                chunk = np.frombuffer(buffer, dtype="<u8", count=want // 8).reshape(count, block_size // 8)
                bad = np.nonzero(_checksums(chunk[:, 1:]) != chunk[:, 0])[0]
                for i in bad:
                    block = done + int(i)
                    if free is not None and block in free:
                        continue  # a free block holds nothing (DuckDB may have trimmed it to zeros)
                    if free is None and not chunk[i].any():
                        released += 1  # free list unknown: an all-zero block is taken for a trimmed free one
                        continue
                    raise WarehouseCorrupt(f"warehouse {path} is corrupt: the block at byte "
                                           f"{3 * _HEADER + block * block_size} fails its checksum; {_ADVICE}")
                done += count
    except OSError as exc:
        raise classify(path, exc) from None
    return FileCheck(blocks, expected, time.monotonic() - started, released)


_KEY_CLAUSE = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)|\s+(PRIMARY KEY|UNIQUE)\b")
_INDEX_STATEMENT = re.compile(r"^(?:CREATE|DROP) INDEX [^;]*;", re.MULTILINE)
_VIEW_COLUMN_COMMENT = re.compile(r"^COMMENT ON COLUMN v_\w+\.\w+ IS '(?:[^']|'')*';", re.MULTILINE)


def for_lake(sql: str) -> str:
    """A migration as DuckLake accepts it: no PRIMARY KEY/UNIQUE constraints, no indexes, and no
    comments on view columns (views and tables keep theirs)."""
    return _VIEW_COLUMN_COMMENT.sub("", _INDEX_STATEMENT.sub("", _KEY_CLAUSE.sub("", sql)))


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: object) -> Iterator[None]:
    """``table`` (Arrow) visible to SQL as ``name`` for the duration of the block."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


def id_table(ids: Iterable[str]) -> object:
    """Ids as a one-column Arrow table (``id``) to register and join, instead of a Python list
    bound as a parameter: DuckDB converts a bound list element by element and tries to import
    pandas twice for each one (a sys.path search each time when it is not installed), so a list
    of a night's story ids cost seconds; an Arrow table is handed over whole."""
    import pyarrow as pa

    return pa.table({"id": pa.array(sorted(set(ids)), type=pa.string())})


T = TypeVar("T")
COMMIT_ATTEMPTS = 6


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # a failed COMMIT has already ended the transaction


def in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], T], attempts: int = COMMIT_ATTEMPTS) -> T:
    """Run ``work`` in one transaction and commit it.

    On a DuckLake several processes write at once, and two commits can collide ("Failed to
    commit DuckLake transaction", or a busy SQLite catalog). Every write in this package is an
    anti-join append or a MERGE, so the whole transaction is simply run again on the new state,
    after a short randomized wait; a DuckDB file has one writer and never collides."""
    for attempt in range(1, attempts + 1):
        con.execute("BEGIN")
        try:
            result = work()
            con.execute("COMMIT")
            return result
        except duckdb.Error as exc:
            _rollback(con)
            if no_space(exc):  # at commit or before: DuckDB rolled it all back; report it as what it is
                raise classify(_file_named(exc), exc) from None
            if not isinstance(exc, duckdb.TransactionException) or "DuckLake" not in str(exc) or attempt == attempts:
                raise
            time.sleep(random.uniform(0.05, 0.2) * 2**attempt)
        except BaseException:
            _rollback(con)
            raise
    raise AssertionError("unreachable")


_FILE_NAMED = re.compile(r'file "([^"]+)"')


def no_space(exc: BaseException) -> bool:
    """Whether an error says the disk (or a quota, or the file-size limit) is full."""
    lowered = str(exc).lower()
    return (getattr(exc, "errno", None) in _NO_SPACE or "no space left" in lowered or "file too large" in lowered
            or "quota exceeded" in lowered)


def _file_named(exc: BaseException) -> str:
    named = _FILE_NAMED.search(str(exc))
    return named.group(1) if named else "the warehouse"


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT current_database()").fetchone()[0] == "lake"


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations; return the names applied. A schema already up to date costs one
    read (no DDL, so nothing is written: on a lake every DDL statement is a catalog commit)."""
    latest = migrations()[-1][0]
    try:
        if con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == latest:
            return []
    except duckdb.CatalogException:
        pass  # a new warehouse
    lake = is_lake(con)
    adapt = for_lake if lake else (lambda sql: sql)
    con.execute(adapt(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ))
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(adapt(sql))
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            _rollback(con)
            if no_space(exc):
                raise classify(_file_named(exc), exc) from None
            raise WarehouseError(f"migration {version:03d}_{name} failed: {exc}") from None
        applied.append(f"{version:03d}_{name}")
    return applied


def open_warehouse(path: str | Path | Location, verify: bool | None = None) -> duckdb.DuckDBPyConnection:
    """Open for writing and bring the schema up to date.

    A DuckDB file is first read end to end (``verify_file``) unless ``verify`` is False or
    ``warehouse.verify_before_write`` is off: a damaged file is refused before anything is written
    to it. The check runs before the write connection opens, under a shared lock of its own (no
    writer can change the file meanwhile; the check cannot hold the file while DuckDB holds it, as
    closing any descriptor of a file drops the process's POSIX locks on it); if a writer changed the
    file between the check and the connection, the check is repeated."""
    location = Location.parse(path)
    check = not location.is_lake and (_settings.verify_before_write if verify is None else verify)
    for _ in range(5):
        stamp = _verify_unheld(Path(location.target)) if check else None
        con = connect(path)
        if stamp is None or _stamp(Path(location.target)) == stamp:
            break
        con.close()  # another writer came in between: check what it left
    else:
        raise WarehouseError(f"warehouse {location.target} kept changing while it was checked; run again")
    try:
        migrate(con)
    except Exception:
        con.close()
        raise
    return con


def _stamp(path: Path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:  # no such file (or folder): nothing to check; connect says what is wrong
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _verify_unheld(path: Path) -> tuple | None:
    """Verify ``path`` (if it exists) under a shared lock; return its stamp, or None when it is
    new, or when a writer holds it (``connect`` then waits for it and the check runs again)."""
    stamp = _stamp(path)
    if stamp is None:
        return None
    try:
        handle = open(path, "rb", buffering=0)
    except OSError as exc:
        raise classify(path, exc) from None
    with handle:
        try:
            import fcntl

            fcntl.lockf(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except ImportError:  # no POSIX locks (Windows): DuckDB's own lock keeps writers out
            pass
        except OSError:
            return ("held",)  # a writer has it: compare unequal, so it is checked once connect got it
        stamp = _stamp(path)
        verify_file(path, handle)
    return stamp
