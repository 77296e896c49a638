"""The text-search index over the leads' searched fields, one per database, kept by the database itself.

Search means: a lead matches a term when one of SEARCH_FIELDS contains it, ignoring case (accents
count: "jose" does not find "José"). A plain `LIKE '%term%'` has to read every lead; these indexes
find the matching leads directly.

- SQLite: an FTS5 table with the `trigram` tokenizer (SQLite >= 3.34), whose phrase query `"term"`
  is exactly "the column contains term, any case": every 3-character run of the term, at
  consecutive positions of one column. It folds case with Unicode rules, as PostgreSQL's UPPER
  does in a real locale (SQLite's own LIKE folds ASCII only). It is an external-content table
  (`content=leads_lead`: the text is not stored twice) kept in step by triggers, so every write —
  the import's executemany INSERT/UPDATE, the API's edits, the HubSpot sync, deletes and cascades —
  updates it in the same transaction. A term under 3 characters has no trigram: the selectors fall
  back to the LIKE scan for it.
- PostgreSQL: `pg_trgm` GIN indexes on `UPPER(column)`, the very expression Django's `icontains`
  compares, so the existing query is unchanged and only gets faster; the heap recheck keeps the
  answer exact.

Trap: Django's SQLite schema editor rebuilds a table (new table, copy, drop, rename) for most
AlterField/RemoveField operations on it. Dropping the old `leads_lead` drops its triggers; a
migration that does that to Lead must call `search_index_install` again after it (it is idempotent
and rebuilds the index), or the index stops following the leads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the benchmark reads the names below without setting Django up
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor

SEARCH_FIELDS = ("name", "company", "role", "industry", "location", "email")
# The trigram tokenizer indexes runs of three characters: a shorter term matches nothing in the index.
TRIGRAM = 3
SQLITE_TABLE = "leads_lead_search"
# While this table holds a row (inside the import's batch transaction only), the insert trigger
# stands aside and `search_index_bulk` indexes the batch's new leads in one statement.
SQLITE_BULK_TABLE = "leads_lead_search_bulk"
POSTGRES_INDEX = "lead_search_trgm"

_COLUMNS = ", ".join(SEARCH_FIELDS)
_NEW = ", ".join(f"new.{name}" for name in SEARCH_FIELDS)
_OLD = ", ".join(f"old.{name}" for name in SEARCH_FIELDS)
_CHANGED = " OR ".join(f"old.{name} IS NOT new.{name}" for name in SEARCH_FIELDS)

SQLITE_TRIGGERS = {
    f"{SQLITE_TABLE}_insert": (
        f"AFTER INSERT ON leads_lead WHEN NOT EXISTS (SELECT 1 FROM {SQLITE_BULK_TABLE}) BEGIN "
        f"INSERT INTO {SQLITE_TABLE}(rowid, {_COLUMNS}) VALUES (new.id, {_NEW}); END"
    ),
    f"{SQLITE_TABLE}_delete": (
        f"AFTER DELETE ON leads_lead BEGIN "
        f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD}); END"
    ),
    # Only when a searched field changed: most import updates touch attributes or the bio alone.
    f"{SQLITE_TABLE}_update": (
        f"AFTER UPDATE OF {_COLUMNS} ON leads_lead WHEN {_CHANGED} BEGIN "
        f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', old.id, {_OLD}); "
        f"INSERT INTO {SQLITE_TABLE}(rowid, {_COLUMNS}) VALUES (new.id, {_NEW}); END"
    ),
}


@contextmanager
def search_index_bulk(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Index the leads inserted inside the block in one statement instead of one trigger run each.

    FTS5 writes its pending terms out at every statement savepoint, and an INSERT whose trigger
    writes to a virtual table takes one per row: indexing 100,000 new leads row by row took 37 s
    where one `INSERT … SELECT` over them takes 9 s (and the leads alone 0.7 s). Must run inside
    the caller's transaction, which rolls back on an error (the import's batch does): the marker row
    and the index rows then go with it. Updates and deletes inside the block still go through their
    triggers. PostgreSQL's GIN index is maintained by the database itself: nothing to do there.
    """
    if connection.vendor != "sqlite":
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("search_index_bulk needs a transaction")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = %s", [SQLITE_TABLE])
        if not cursor.fetchone()[0]:  # no index in this database (the benchmark's comparison run)
            yield
            return
        cursor.execute("SELECT coalesce(max(id), 0) FROM leads_lead")
        (top,) = cursor.fetchone()
        cursor.execute(f"INSERT INTO {SQLITE_BULK_TABLE} (active) VALUES (1)")
        yield
        # Lead ids only grow (AUTOINCREMENT): the block's new leads are exactly those above `top`.
        cursor.execute(f"INSERT INTO {SQLITE_TABLE}(rowid, {_COLUMNS}) SELECT id, {_COLUMNS} FROM leads_lead "
                       f"WHERE id > %s", [top])
        cursor.execute(f"DELETE FROM {SQLITE_BULK_TABLE}")


def fts_phrase(term: str) -> str:
    """`term` as one FTS5 string (a phrase): everything inside double quotes is literal text."""
    return '"' + term.replace('"', '""') + '"'


def _sqlite_install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    execute = schema_editor.execute
    for name in SQLITE_TRIGGERS:
        execute(f"DROP TRIGGER IF EXISTS {name}")
    execute(f"DROP TABLE IF EXISTS {SQLITE_TABLE}")
    execute(f"CREATE TABLE IF NOT EXISTS {SQLITE_BULK_TABLE} (active integer NOT NULL)")
    execute(f"DELETE FROM {SQLITE_BULK_TABLE}")
    execute(f"CREATE VIRTUAL TABLE {SQLITE_TABLE} USING fts5({_COLUMNS}, content='leads_lead', "
            f"content_rowid='id', tokenize='trigram')")
    for name, body in SQLITE_TRIGGERS.items():
        execute(f"CREATE TRIGGER {name} {body}")
    execute(f"INSERT INTO {SQLITE_TABLE}({SQLITE_TABLE}) VALUES ('rebuild')")


def _postgres_install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # The expressions are exactly what `icontains` compares: UPPER("column"::text).
    expressions = ", ".join(f'UPPER("{name}"::text) gin_trgm_ops' for name in SEARCH_FIELDS)
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {POSTGRES_INDEX} ON leads_lead USING gin ({expressions})")


def search_index_install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create (or re-create and rebuild) the search index of the current database; others get none."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        _sqlite_install(schema_editor)
    elif vendor == "postgresql":
        _postgres_install(schema_editor)


def search_index_uninstall(schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {SQLITE_TABLE}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {SQLITE_BULK_TABLE}")
    elif vendor == "postgresql":
        # The extension stays: dropping it could break anything else that came to use it.
        schema_editor.execute(f"DROP INDEX IF EXISTS {POSTGRES_INDEX}")
