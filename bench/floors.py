"""Floors: the same work done the plainest way Python can, on the same machine, in the same run.

A floor is what the product's figure is compared with ("× floor"): the product adds HTTP, a job,
validation, deduplication and a web framework on top, and the ratio says what all that costs.

- Import floor: csv.reader over the same file + `sqlite3.executemany` of the same columns into a
  table shaped like leads_lead (same unique and ordering indexes, same PRAGMAs as the server), in
  transactions of IMPORT_BATCH_SIZE rows like the product's. No validation, no dedupe lookups.
- Export floor: csv.writer over a raw sqlite3 cursor on the server's own database file, with the
  same join of scores and leads, filter and order as GET /api/leads/export_csv/ (the leads' extra
  columns as their stored JSON text, where the product writes a column per name).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import HEADER
from bench.stack import REPO

FALLBACK_BATCH_SIZE = 20000
FALLBACK_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;"


def server_pragmas() -> str:
    """The PRAGMAs the server's SQLite connections run (settings' `init_command`), so the floor matches."""
    try:
        text = (REPO / "main" / "settings.py").read_text()
        match = re.search(r'"init_command":\s*(\((?:[^()]|\n)*?\)|"[^"]*")', text)
        if match:
            value = ast.literal_eval(match.group(1))
            if isinstance(value, str) and "PRAGMA" in value:
                return value
    except (OSError, ValueError, SyntaxError):
        pass
    return FALLBACK_PRAGMAS


def server_batch_size() -> int:
    """IMPORT_BATCH_SIZE as the server will use it (environment, else settings' default)."""
    if os.environ.get("IMPORT_BATCH_SIZE", "").strip().isdigit():
        return int(os.environ["IMPORT_BATCH_SIZE"])
    try:
        match = re.search(r'env_int\("IMPORT_BATCH_SIZE",\s*([\d_]+)\)', (REPO / "main" / "settings.py").read_text())
    except OSError:
        match = None
    return int(match.group(1).replace("_", "")) if match else FALLBACK_BATCH_SIZE


FLOOR_SCHEMA = """
CREATE TABLE lead (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id INTEGER NOT NULL,
    name VARCHAR(255) NOT NULL, role VARCHAR(255) NOT NULL, company VARCHAR(255) NOT NULL,
    industry VARCHAR(255) NOT NULL, location VARCHAR(255) NOT NULL, linkedin_bio TEXT NOT NULL,
    email VARCHAR(254) NOT NULL, attributes TEXT NOT NULL, dedupe_key VARCHAR(518) NOT NULL,
    created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL
);
CREATE UNIQUE INDEX lead_ws_dedupe ON lead (workspace_id, dedupe_key);
CREATE INDEX lead_ws_created ON lead (workspace_id, created_at DESC, id DESC);
"""

INSERT = ("INSERT INTO lead (workspace_id, name, role, company, industry, location, linkedin_bio, email, attributes, "
          "dedupe_key, created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def import_floor(csv_path: Path, db_path: Path, *, batch_size: int | None = None) -> tuple[float, int]:
    """(seconds, rows) to read the CSV and insert every row with executemany, in the server's batches."""
    batch_size = batch_size or server_batch_size()
    db_path.unlink(missing_ok=True)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.executescript(server_pragmas())
        conn.executescript(FLOOR_SCHEMA)
        extra = HEADER[7:]
        started = time.perf_counter()
        now = datetime.now(UTC).isoformat()
        rows = 0
        with csv_path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            batch: list[tuple[str, ...]] = []
            for cells in reader:
                name, role, company, industry, location, bio, email = cells[:7]
                attributes = json.dumps(dict(zip(extra, cells[7:], strict=False)), ensure_ascii=False)
                batch.append((name, role, company, industry, location, bio, email, attributes,
                              "e:" + email.lower(), now, now))
                if len(batch) >= batch_size:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany(INSERT, batch)
                    conn.execute("COMMIT")
                    rows += len(batch)
                    batch.clear()
            if batch:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(INSERT, batch)
                conn.execute("COMMIT")
                rows += len(batch)
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return seconds, rows


EXPORT_QUERY = """
SELECT s.lead_id, l.name, l.role, l.company, l.industry, l.location, l.email, l.linkedin_bio, s.intent, s.score,
       s.rule_score, s.ai_score, s.ai_intent, s.score_breakdown, s.provider, s.model, s.reasoning, s.created_at,
       l.attributes
FROM leads_score s JOIN leads_lead l ON l.id = s.lead_id
WHERE s.workspace_id = ? AND s.offer_id = ? AND s.is_current = 1
ORDER BY s.score DESC, s.lead_id ASC
"""


class _Sink:
    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


def export_floor(db_path: Path, *, workspace_id: int, offer_id: int) -> tuple[float, int, int]:
    """(seconds, rows, bytes) to write the export's rows with csv.writer from a raw cursor."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        started = time.perf_counter()
        sink = _Sink()
        writer = csv.writer(sink)
        cursor = conn.execute(EXPORT_QUERY, (workspace_id, offer_id))
        rows = 0
        while batch := cursor.fetchmany(2000):
            writer.writerows(batch)
            rows += len(batch)
        seconds = time.perf_counter() - started
    finally:
        conn.close()
    return seconds, rows, sink.bytes
