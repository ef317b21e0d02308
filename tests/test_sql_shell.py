"""A real SQL client on the snapshot: `axiswatch sql` opens the DuckDB shell (installed with the
project, works offline), used the way a person uses it: in a terminal (tmux), type a query, read
the screen."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from warehouse.snapshot import snapshot_path

AXISWATCH = str(Path(sys.executable).parent / "axiswatch")
DUCKDB_SHELL = str(Path(sys.executable).parent / "duckdb")


# tmux reads an argument's trailing ";" as the end of its own command: the SQL's is escaped.


def screen(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout


def wait_for(session: str, text: str, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shown = screen(session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; the screen shows:\n{screen(session)}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is needed to drive a terminal")
def test_axiswatch_sql_opens_the_snapshot_in_the_duckdb_shell(demo_warehouse, tmp_path):
    con = duckdb.connect(str(snapshot_path(demo_warehouse)), read_only=True)
    stories = con.execute("SELECT count(*) FROM v_axis_stories").fetchone()[0]
    con.close()
    session = f"axiswatch-{uuid.uuid4().hex[:8]}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                    f"{AXISWATCH} sql --db {demo_warehouse}"], check=True)
    try:
        wait_for(session, '".help"')  # the shell's greeting, then its prompt
        subprocess.run(["tmux", "send-keys", "-t", session,
                        "SELECT count(*) AS axis_stories_counted FROM v_axis_stories\\;", "Enter"], check=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the result table below the header names the count
            shown = screen(session)
            answer = shown.split("axis_stories_counted", 1)[1] if "axis_stories_counted" in shown else ""
            if f" {stories} " in answer:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the count {stories} never appeared:\n{screen(session)}")
        # read-only: the shell refuses to write the snapshot
        subprocess.run(["tmux", "send-keys", "-t", session, "CREATE TABLE scratch AS SELECT 1\\;", "Enter"], check=True)
        assert "read-only" in wait_for(session, "read-only").lower()
        subprocess.run(["tmux", "send-keys", "-t", session, ".quit", "Enter"], check=True)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_the_readmes_first_analyst_command_works(demo_warehouse):
    """`duckdb -readonly <snapshot>`, the README's first analyst command, with the shell installed."""
    shell = subprocess.run([DUCKDB_SHELL, "-readonly", str(snapshot_path(demo_warehouse))],
                           input="SELECT count(*) AS n FROM articles;\n", capture_output=True, text=True, timeout=60)
    assert shell.returncode == 0, shell.stderr
    con = duckdb.connect(str(snapshot_path(demo_warehouse)), read_only=True)
    assert str(con.execute("SELECT count(*) FROM articles").fetchone()[0]) in shell.stdout
    con.close()


def test_sql_without_a_snapshot_fails_in_one_line(tmp_path):
    result = subprocess.run([AXISWATCH, "sql", "--db", str(tmp_path / "none.duckdb")], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "no snapshot at" in result.stderr and len(result.stderr.strip().splitlines()) == 1
