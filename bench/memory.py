"""Resident memory of the server's process trees, sampled from /proc (no psutil needed).

A background thread reads RSS (via /proc/<pid>/statm) of every process under the given roots —
gunicorn's master and workers, Celery's main process and pool children — about 20 times a second.
`window()` returns the peaks since the last call: the largest single process (the figure the
targets use: the worker doing the work), the largest sum over all of them, and how much any one
process grew. Private RSS (RSS minus shared pages) is kept beside RSS: pages of mapped files (SQLite's
database with PRAGMA mmap_size) and code shared after fork count in RSS although they are not the
process's own data, so growth of private RSS is what says whether a process holds data in memory.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")
MB = 1024 * 1024


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces; ppid is the 2nd field after it.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(roots: list[int]) -> list[int]:
    children = _children_map()
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def memory(pid: int) -> tuple[int, int]:
    """(RSS, private RSS) in bytes. Private = RSS minus shared pages, i.e. without the SQLite file's
    pages of files the process maps (SQLite with mmap_size) or code it shares with its parent after fork."""
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
        return int(fields[1]) * PAGE, (int(fields[1]) - int(fields[2])) * PAGE
    except (OSError, IndexError, ValueError):
        return 0, 0


def rss_bytes(pid: int) -> int:
    return memory(pid)[0]


def hwm_bytes(pid: int) -> int:
    """The kernel's lifetime high-water mark of the process's RSS (VmHWM)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def label(pid: int) -> str:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    if "gunicorn" in cmd:
        return "gunicorn"
    if "celery" in cmd:
        return "celery"
    return cmd.split(" ", 1)[0].rsplit("/", 1)[-1] or "?"


@dataclass
class Peaks:
    largest_process: int = 0  # bytes: the peak RSS of the largest single process
    largest_label: str = ""
    largest_private: int = 0  # bytes: the peak private RSS of the largest single process
    total: int = 0  # bytes, all processes of the trees at one instant
    baseline_total: int = 0  # bytes, at the start of the window
    baseline_process: int = 0  # bytes, the largest process at the start of the window
    per_process: dict[int, tuple[int, int]] = field(default_factory=dict)  # pid -> peak (RSS, private)
    start: dict[int, tuple[int, int]] = field(default_factory=dict)  # pid -> (RSS, private) at the start
    # (seconds into the window, the most any process's private RSS has grown since the start), per sample.
    trace: list[tuple[float, int]] = field(default_factory=list)
    opened: float = field(default_factory=time.monotonic)

    def late_growth(self, after: float = 0.2) -> int:
        """How much more any process grew after the first `after` fraction of the window (bytes).

        Flat memory: a stream may fill its caches at the start (SQLite's page cache, buffers), but
        whatever it holds must not keep growing with the rows streamed after that.
        """
        if len(self.trace) < 2:
            return 0
        mark = self.trace[-1][0] * after
        early = max((grown for t, grown in self.trace if t <= mark), default=0)
        return max(0, max(grown for _, grown in self.trace) - early)

    def _growth(self, index: int) -> int:
        return max((peak[index] - self.start.get(pid, peak)[index] for pid, peak in self.per_process.items()),
                   default=0)

    @property
    def growth(self) -> int:
        """The most any one process's RSS grew in the window (bytes)."""
        return self._growth(0)

    @property
    def growth_private(self) -> int:
        """The most any one process's private RSS grew in the window: what "flat memory" is judged on."""
        return self._growth(1)

    def as_dict(self) -> dict[str, object]:
        return {"peak_process_mb": round(self.largest_process / MB, 1), "peak_process": self.largest_label,
                "peak_private_mb": round(self.largest_private / MB, 1),
                "peak_total_mb": round(self.total / MB, 1), "baseline_total_mb": round(self.baseline_total / MB, 1),
                "baseline_process_mb": round(self.baseline_process / MB, 1),
                "growth_mb": round(self.growth / MB, 1), "growth_private_mb": round(self.growth_private / MB, 1),
                "late_growth_private_mb": round(self.late_growth() / MB, 1)}


class TreeSampler:
    def __init__(self, roots: list[int], *, interval: float = 0.05) -> None:
        self.roots = roots
        self.interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pids: list[int] = []
        self._pids_at = 0.0
        self._peaks = Peaks()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _sample(self) -> None:
        now = time.monotonic()
        if now - self._pids_at > 0.5:  # processes come and go rarely; re-walk /proc twice a second
            self._pids, self._pids_at = tree(self.roots), now
        sizes = {pid: memory(pid) for pid in self._pids}
        sizes = {pid: size for pid, size in sizes.items() if size[0]}
        total = sum(rss for rss, _ in sizes.values())
        with self._lock:
            peaks = self._peaks
            peaks.total = max(peaks.total, total)
            for pid, (rss, private) in sizes.items():
                old = peaks.per_process.get(pid, (0, 0))
                peaks.per_process[pid] = (max(old[0], rss), max(old[1], private))
                peaks.start.setdefault(pid, (rss, private))  # a process born in the window grows from its first sample
                if rss > peaks.largest_process:
                    peaks.largest_process, peaks.largest_label = rss, f"{label(pid)} {pid}"
                peaks.largest_private = max(peaks.largest_private, private)
            grown = max((private - peaks.start[pid][1] for pid, (_, private) in sizes.items()), default=0)
            peaks.trace.append((now - peaks.opened, grown))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._sample()
            except Exception:  # a process vanished between listing and reading: try again next tick
                continue

    def current(self) -> dict[int, tuple[int, int]]:
        """pid -> (RSS, private) bytes of every process of the trees, right now."""
        return {pid: memory(pid) for pid in tree(self.roots)}

    def window(self) -> Peaks:
        """The peaks since the previous call; starts a new window."""
        self._sample()
        sizes = self.current()
        with self._lock:
            peaks, self._peaks = self._peaks, Peaks(
                baseline_total=sum(rss for rss, _ in sizes.values()),
                baseline_process=max((rss for rss, _ in sizes.values()), default=0), start=sizes)
        return peaks

    def hwm(self) -> dict[str, int]:
        return {f"{label(pid)} {pid}": hwm_bytes(pid) for pid in tree(self.roots)}
