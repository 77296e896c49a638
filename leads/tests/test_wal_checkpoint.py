"""The WAL checkpointer: commits leave the copying to its thread, and a long log starts over."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from main.wal_checkpoint import WalCheckpointer, checkpoint_once

ROWS = 2000
BLOB = "x" * 2000  # about two rows a 4 KB page: ~1,000 pages of log


def _writer(path: Path) -> sqlite3.Connection:
    # The backstop off: only the checkpointer may copy the log into the file.
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the empty table in the file, the log empty
    return connection


def _write(connection: sqlite3.Connection, rows: int = ROWS) -> None:
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany("INSERT INTO t (body) VALUES (?)", [(BLOB,) for _ in range(rows)])
    connection.execute("COMMIT")


def _rows_in_file(path: Path) -> int:
    """Rows the database file itself holds, the log left out (immutable: SQLite reads no -wal)."""
    reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return reader.execute("SELECT count(*) FROM t").fetchone()[0]
    except sqlite3.DatabaseError:  # read while a checkpoint writes the file: not there yet
        return -1
    finally:
        reader.close()


def _until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_commits_stay_in_the_log_until_the_thread_copies_them(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    writer = _writer(path)
    _write(writer)
    assert _rows_in_file(path) == 0  # committed, but only in the log

    checkpointer = WalCheckpointer(str(path), interval=0.02).start()
    try:
        assert _until(lambda: _rows_in_file(path) == ROWS)
        _write(writer)  # and again for what is written while it runs
        assert _until(lambda: _rows_in_file(path) == 2 * ROWS)
    finally:
        checkpointer.stop()
        writer.close()
    assert not checkpointer.is_alive()


def test_a_copied_log_starts_over_at_the_next_commit(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    writer = _writer(path)
    _write(writer)
    _write(writer)
    checkpointer = WalCheckpointer(str(path), interval=0.02, restart_frames=500).start()
    try:
        assert _until(lambda: _rows_in_file(path) == 2 * ROWS)
        time.sleep(0.2)  # a few more turns: the RESTART after the copy
    finally:
        checkpointer.stop()
    # The next commit writes from the start of the log: it holds that commit's frames alone.
    _write(writer, rows=10)
    _busy, frames, _copied = checkpoint_once(writer)
    writer.close()
    assert 0 < frames < 50
