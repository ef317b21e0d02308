"""A damaged warehouse is refused, never written: a corrupt header, a corrupt block in the middle,
a truncated file, a file this user cannot read, a file another process holds, and a disk that
fills up at the load's commit. Each case runs the real command line (`axiswatch run --json`)
against a real DuckDB file with a good feed configured: one line on stderr naming the cause, exit
2, the JSON summary printed with the failure in it, and the file byte for byte as it was."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import duckdb
import fixtures as fx
import pytest
from fixture_server import Route

from warehouse.db import verify_file

CLI = [sys.executable, "-m", "axiswatch"]
BOUND = 40  # seconds: the promise is under 20 s; twice that keeps a busy machine from failing the test


def axis_site(server, pages: int = 3, paragraphs: int = 3):
    """A good feed of ``pages`` distinct axis pages."""
    items = "".join(f"<item><title>Troops {i}</title><link>{{BASE}}/p/{i}.html</link></item>" for i in range(pages))
    server.add("/rss.xml", Route(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>",
                                 content_type="application/rss+xml"))
    for i in range(pages):
        text = [f"Report {i} ({uuid.uuid4().hex}): " + fx.TROOPS[0], *fx.TROOPS[1:]] * paragraphs
        server.add(f"/p/{i}.html", Route(fx.page(f"North Korean troops {i}", text)))


def settings_file(folder: Path, server, **extra) -> Path:
    feeds = folder / "feeds.yaml"
    feeds.write_text(f"feeds:\n  - name: good\n    url: {server.url('/rss.xml')}\n", encoding="utf-8")
    settings = folder / "settings.yaml"
    lines = [f"feeds_file: {feeds}", f"reports_dir: {folder / 'reports'}", f"backups_dir: {folder / 'backups'}",
             "workers: 2", "http:", "  allow_networks: ['127.0.0.1/32']", "  retries: 0"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return settings


def run(settings: Path, db: Path, repo_root: Path, preexec_fn=None) -> tuple[subprocess.CompletedProcess, dict]:
    result = subprocess.run([*CLI, "run", "--config", str(settings), "--db", str(db), "--json"], cwd=repo_root,
                            capture_output=True, text=True, timeout=BOUND, preexec_fn=preexec_fn)
    assert "Traceback" not in result.stderr, result.stderr
    return result, json.loads(result.stdout)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count(db: Path, sql: str):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def good(server, tmp_path, repo_root):
    """A warehouse one run filled from the good feed (3 articles), and the settings of that run."""
    axis_site(server)
    settings = settings_file(tmp_path, server)
    db = tmp_path / "good.duckdb"
    result, summary = run(settings, db, repo_root)
    assert result.returncode == 0 and summary["status"] == "finished" and summary["articles_new"] == 3
    return db, settings


def refused(settings, db, repo_root, cause: str, words: str, preexec_fn=None) -> dict:
    """Run against the damaged ``db``: one line naming the cause, exit 2, the summary says failed,
    and the file is byte for byte what it was."""
    before = digest(db) if os.access(db, os.R_OK) or preexec_fn else None
    result, summary = run(settings, db, repo_root, preexec_fn)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and words in lines[0] and "locked" not in lines[0].replace(words, ""), lines
    assert summary["status"] == "failed" and summary["cause"] == cause and words in summary["failure"]
    assert summary["articles_new"] == 0
    if before is not None:
        assert digest(db) == before
    return summary


def damaged_copy(good_db: Path, name: str) -> Path:
    db = good_db.with_name(name)
    shutil.copyfile(good_db, db)
    return db


def block_layout(db: Path) -> tuple[int, int]:
    check = verify_file(db)
    return check.blocks, (check.bytes - 3 * 4096) // check.blocks


def test_corrupt_header_bytes_are_corrupt_not_locked(good, repo_root):
    good_db, settings = good
    db = damaged_copy(good_db, "header.duckdb")
    with open(db, "r+b") as handle:
        handle.seek(4096 + 16)  # the first database header ("...block at location 4096")
        handle.write(bytes(range(1, 41)))  # (words that cancel out, such as 4 of 0xff..., pass DuckDB's checksum)
    summary = refused(settings, db, repo_root, "corrupt", "is corrupt: the header at byte 4096 fails its checksum")
    assert "no backup in" in summary["failure"]


def test_a_corrupt_block_in_the_middle_is_refused_before_anything_is_written(good, repo_root, tmp_path):
    good_db, settings = good
    db = damaged_copy(good_db, "middle.duckdb")
    blocks, size = block_layout(db)
    offset = 3 * 4096 + (blocks // 2) * size
    with open(db, "r+b") as handle:
        handle.seek(offset + 1000)
        handle.write(b"\x00\x13\x37" * 50)
    backups = tmp_path / "backups"
    backups.mkdir()
    shutil.copyfile(good_db, backups / "middle-20261130T020000Z.duckdb")
    summary = refused(settings, db, repo_root, "corrupt", f"the block at byte {offset} fails its checksum")
    assert summary["failure"].endswith(f"(newest backup: {backups / 'middle-20261130T020000Z.duckdb'})")
    # DuckDB itself opens this file and writes to it (it reads a block only when a query needs it).
    con = duckdb.connect(str(damaged_copy(db, "middle-duckdb.duckdb")))
    con.execute("CREATE TABLE written AS SELECT 1 AS x")
    con.close()
    # The backup it names is sound, and the good feed loads into it.
    restored = damaged_copy(backups / "middle-20261130T020000Z.duckdb", "restored.duckdb")
    result, again = run(settings, restored, repo_root)
    assert result.returncode == 0 and again["status"] == "finished" and again["errors"] == []


@pytest.mark.parametrize("keep", ["half", "most", "headers", "nothing"])
def test_a_truncated_file_is_refused(good, repo_root, keep):
    good_db, settings = good
    db = damaged_copy(good_db, f"truncated-{keep}.duckdb")
    blocks, size = block_layout(db)
    length = {"half": db.stat().st_size // 2, "most": 3 * 4096 + (blocks * 3 // 4) * size + size // 2,
              "headers": 100, "nothing": 0}[keep]
    os.truncate(db, length)
    refused(settings, db, repo_root, "truncated", "is truncated")


def _no_dac_override():
    """In the child: drop the capabilities that let root read any file (for a test run as root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_file_this_user_cannot_read_is_refused(good, repo_root):
    good_db, settings = good
    db = damaged_copy(good_db, "unreadable.duckdb")
    before = digest(db)
    db.chmod(0)
    try:
        refused(settings, db, repo_root, "permission", "permission denied",
                preexec_fn=_no_dac_override if os.geteuid() == 0 else None)
    finally:
        db.chmod(0o644)
    assert digest(db) == before


def test_a_file_held_by_another_process_names_its_pid(good, repo_root):
    good_db, settings = good
    db = damaged_copy(good_db, "held.duckdb")
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
                               "print('ok', flush=True); time.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        before = digest(db)
        summary = refused(settings, db, repo_root, "locked", f"is locked by PID {holder.pid}")
        assert "waited 10s (warehouse.lock_wait_seconds)" in summary["failure"]  # the default
        assert digest(db) == before
    finally:
        holder.kill()
        holder.wait()


# A full disk at the load's commit. On a small tmpfs when this process may mount one (root), else
# (and always) with RLIMIT_FSIZE in the run's process, which makes a write past the limit fail as a
# full disk does ("File too large" instead of "No space left on device").

def _limit_file_size(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def _full_at_commit_then_repaired(server, folder: Path, repo_root: Path, make_full, make_room, says: str) -> None:
    """Prepare a warehouse, then a night of 40 large pages whose load cannot be written: one line,
    exit 2, the summary, nothing of the night in the file; then, with room again, the next run
    loads the whole night and the failed run is marked."""
    axis_site(server, pages=40, paragraphs=12)
    settings = settings_file(folder, server)
    db = folder / "w.duckdb"
    from warehouse.db import open_warehouse

    open_warehouse(db).close()  # migrated: the night below writes only its own rows
    result, summary = run(settings, db, repo_root, make_full(db))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert "disk full writing warehouse" in lines[0] and says in lines[0], lines
    assert summary["status"] == "failed" and summary["cause"] == "disk full" and summary["run_id"]
    assert "nothing was half-written" in summary["failure"]
    assert count(db, "SELECT count(*) FROM articles") == 0
    assert count(db, "SELECT count(*) FROM feed_fetches") == 0
    make_room()
    verify_file(db)  # sound: only the night is missing
    result, again = run(settings, db, repo_root)
    assert result.returncode == 0 and again["status"] == "finished", result.stderr
    assert again["articles_new"] == 40
    assert count(db, "SELECT count(*) FROM pipeline_runs WHERE run_id = '%s' AND status IN ('failed', 'abandoned')"
                 % summary["run_id"]) == 1


def test_file_size_limit_at_commit_is_a_full_disk_and_the_next_run_repairs(server, tmp_path, repo_root):
    _full_at_commit_then_repaired(server, tmp_path, repo_root,
                                  make_full=lambda db: _limit_file_size(db.stat().st_size + 64 * 1024),
                                  make_room=lambda: None, says="File too large")


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 32 MiB tmpfs (root only; skipped elsewhere)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_at_commit_on_a_small_tmpfs_and_the_next_run_repairs(server, small_tmpfs, repo_root):
    filler = small_tmpfs / "filler"

    def make_full(db: Path):
        disk = os.statvfs(small_tmpfs)
        filler.write_bytes(b"\0" * max(0, disk.f_bavail * disk.f_frsize - 64 * 1024))  # less than the night needs
        return None

    _full_at_commit_then_repaired(server, small_tmpfs, repo_root, make_full, make_room=filler.unlink,
                                  says="No space left on device")


def test_when_the_snapshot_cannot_be_written_the_summary_still_says_what_loaded(server, tmp_path, repo_root):
    axis_site(server)
    settings = settings_file(tmp_path, server)
    db = tmp_path / "w.duckdb"
    (tmp_path / "w.snapshot.duckdb").mkdir()  # where the snapshot goes, a folder: the copy cannot replace it
    result, summary = run(settings, db, repo_root)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "cannot write snapshot" in lines[0], result.stderr
    assert summary["status"] == "failed" and "cannot write snapshot" in summary["failure"]
    assert summary["articles_new"] == 3 and summary["run_id"]  # the load committed before
    assert count(db, "SELECT count(*) FROM articles") == 3
    assert not list(tmp_path.glob(".w.snapshot.duckdb.*.tmp"))  # no half-written copy left behind


def test_a_run_that_cannot_start_still_prints_its_summary(tmp_path, repo_root):
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - name: x\n    url: not-a-url\n", encoding="utf-8")
    result = subprocess.run([*CLI, "run", "--feeds", str(feeds), "--db", str(tmp_path / "w.duckdb"), "--json"],
                            cwd=repo_root, capture_output=True, text=True, timeout=BOUND)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and summary["cause"] == "config" and "url" in summary["failure"]
    assert not (tmp_path / "w.duckdb").exists()
