"""SQLite's WAL checkpoints moved off the commit path, into a thread of each server process.

In WAL mode a commit appends its pages to the `-wal` file and a checkpoint copies them back into
the database file. By default the connection whose commit takes the log past 1,000 pages runs the
checkpoint itself, inside that commit, while it still holds the write lock: every other writer
waits for it. A request of 10,000 events dirties about 16,000 pages at a million leads, and its
checkpoint was a quarter of the request; a scoring chunk and an import batch paid it too.

Here each server process (a gunicorn worker: `post_worker_init`; a Celery pool process:
`worker_process_init`) runs one daemon thread that asks for a PASSIVE checkpoint every
CHECKPOINT_INTERVAL seconds. A passive checkpoint takes no lock that readers or writers wait for:
it copies what no reader still needs, and the next writer starts the log over once it is all
copied. Several processes' threads may ask at once; SQLite lets one work and tells the others it
is busy. The connections' own automatic checkpoint stays as a backstop, at
SQLITE_WAL_AUTOCHECKPOINT pages (for a process without the thread: `manage.py`, a shell), and
`journal_size_limit` shrinks a log a burst made large once it starts over.

Threads are started only in processes that never fork afterwards: a fork while the thread is
inside SQLite would leave the child with a lock nobody releases.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

logger = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 0.25  # seconds between checks while the log has nothing new
#: Once the log is this long and all of it is copied, start it over (see `WalCheckpointer._run`).
RESTART_FRAMES = 16_384  # 64 MB of 4 KB pages
RESTART_WAIT_MS = 200

_started: WalCheckpointer | None = None
_started_lock = threading.Lock()


def sqlite_database_path() -> str | None:
    """The default database's file when it is SQLite (not in memory), else None."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return None
    name = str(database["NAME"])
    return None if name in ("", ":memory:") or name.startswith("file::memory:") else name


def checkpoint_once(connection: sqlite3.Connection, mode: str = "PASSIVE") -> tuple[int, int, int]:
    """One checkpoint: (busy, frames in the log, frames copied), as SQLite reports them."""
    busy, frames, copied = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
    return busy, frames, copied


class WalCheckpointer:
    """A daemon thread checkpointing one SQLite file until `stop()` (or the process ends)."""

    def __init__(self, path: str, *, interval: float = CHECKPOINT_INTERVAL,
                 restart_frames: int = RESTART_FRAMES) -> None:
        self.path = path
        self.interval = interval
        self.restart_frames = restart_frames
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-wal-checkpoint", daemon=True)

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=RESTART_WAIT_MS / 1000, isolation_level=None,
                                     check_same_thread=False)
        try:
            while not self._stop.is_set():
                try:
                    busy, frames, copied = checkpoint_once(connection)
                    # A writer starts the log over only if, when it begins, every frame is copied: back-to-back
                    # writes never leave it that moment, and the log (and then the backstop's checkpoint
                    # inside a commit) grows. RESTART waits, at most RESTART_WAIT_MS, for the writer of the
                    # moment and makes the next one start over; nothing is left to copy, so it is short.
                    if not busy and frames >= self.restart_frames and copied == frames:
                        checkpoint_once(connection, "RESTART")
                except sqlite3.Error as exc:  # locked by another checkpoint, a schema change, a file going away
                    logger.debug("WAL checkpoint skipped: %s", exc)
                    busy, frames, copied = 1, 0, 0
                # Behind (frames a reader still needed, or written meanwhile): again soon; else rest.
                self._stop.wait(self.interval if busy or copied >= frames else self.interval / 10)
        finally:
            connection.close()


def checkpointer_start() -> WalCheckpointer | None:
    """Start this process's checkpointer of the default database (once; later calls return it).
    None when the default database is not an SQLite file."""
    global _started
    path = sqlite_database_path()
    if path is None:
        return None
    with _started_lock:
        if _started is None or not _started.is_alive():
            _started = WalCheckpointer(path).start()
        return _started
