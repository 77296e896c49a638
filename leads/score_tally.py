"""How many current scores each offer has, per (stage, intent, score), kept by the database itself (SQLite).

Results pages show the exact number of rows their filters select, and the distribution shows the
offer's counts per bucket, intent and stage. Counting a million current scores walks a million
index entries however narrow the index (about 60 ms at 1M leads, most of a results page's time).
The tally holds one row per (offer, stage, intent, score) with its number of current scores: at
most stages × 3 × 101 rows an offer, so any count by those filters is a sum over a few hundred.

It changes in the same transaction as every write of a current score. Inserts are counted by
`score_tally_add`, which the one place that inserts scores (leads/services/score_store.py) calls
with a chunk's rows: one statement per (stage, intent, score) group. Everything else is followed by
triggers on `leads_score`, whatever makes the change: the UPDATE that retires a lead's old row, a
cascade delete. Only a change of a counted column or of `is_current` moves the tally (`AFTER
UPDATE OF`): stale marks and the like cost nothing. Rows that drop to 0 stay; an offer's rows go
with the offer. No INSERT trigger: any trigger on INSERT, even an empty one, made SQLite's insert
of a score row 35 µs slower (100,000 rows: 1.4 s, 5.2 s with `SELECT 1` as the trigger), a third of
a scoring run; the UPDATE and DELETE triggers cost 1–2 µs a row.

PostgreSQL keeps counting with COUNT: there the triggers of concurrent scoring runs of one offer
would queue on the same few rows.

Trap (as for the search index): Django's SQLite schema editor rebuilds a table for most AlterField
and RemoveField operations, and dropping the old `leads_score` drops its triggers. A migration
that does that to Score must call `score_tally_install` again after it (it is idempotent and
recounts); a test checks the triggers are there after all migrations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor

TABLE = "leads_score_tally"
_KEY = "offer_id, stage, intent, score"
_ADD_NEW = (f"INSERT INTO {TABLE} ({_KEY}, n) SELECT new.offer_id, new.stage, new.intent, new.score, 1 "
            f"WHERE new.is_current ON CONFLICT ({_KEY}) DO UPDATE SET n = n + 1;")
_REMOVE_OLD = (f"UPDATE {TABLE} SET n = n - 1 WHERE old.is_current AND offer_id = old.offer_id "
               f"AND stage = old.stage AND intent = old.intent AND score = old.score;")

TRIGGERS = {
    f"{TABLE}_delete": f"AFTER DELETE ON leads_score WHEN old.is_current BEGIN {_REMOVE_OLD} END",
    f"{TABLE}_update": (f"AFTER UPDATE OF is_current, offer_id, stage, intent, score ON leads_score "
                        f"WHEN old.is_current OR new.is_current BEGIN {_REMOVE_OLD} {_ADD_NEW} END"),
    f"{TABLE}_offer_delete": f"AFTER DELETE ON leads_offer BEGIN DELETE FROM {TABLE} WHERE offer_id = old.id; END",
}


def score_tally_add(connection: BaseDatabaseWrapper, keys: Iterable[tuple[int, str, str, int]]) -> None:
    """Count new current scores, given as (offer id, stage, intent, score), into the tally (SQLite;
    nothing elsewhere). Call it in the transaction that inserts them."""
    if not score_tally_available(connection):
        return
    groups = Counter(keys)
    if groups:
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {TABLE} ({_KEY}, n) VALUES (%s, %s, %s, %s, %s) "
                               f"ON CONFLICT ({_KEY}) DO UPDATE SET n = n + excluded.n",
                               [(*key, n) for key, n in groups.items()])


def score_tally_available(connection: BaseDatabaseWrapper) -> bool:
    """Whether counts come from the tally (SQLite, where the migrations install it)."""
    return connection.vendor == "sqlite"


def score_tally_install(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create (or re-create and recount) the tally and its triggers; nothing outside SQLite."""
    if schema_editor.connection.vendor != "sqlite":
        return
    execute = schema_editor.execute
    for name in TRIGGERS:
        execute(f"DROP TRIGGER IF EXISTS {name}")
    execute(f"DROP TABLE IF EXISTS {TABLE}")
    execute(f"CREATE TABLE {TABLE} (offer_id bigint NOT NULL, stage varchar(50) NOT NULL, intent varchar(6) NOT NULL, "
            f"score smallint NOT NULL, n integer NOT NULL, PRIMARY KEY ({_KEY})) WITHOUT ROWID")
    execute(f"INSERT INTO {TABLE} ({_KEY}, n) SELECT {_KEY}, count(*) FROM leads_score WHERE is_current "
            f"GROUP BY {_KEY}")
    for name, body in TRIGGERS.items():
        execute(f"CREATE TRIGGER {name} {body}")


def score_tally_uninstall(schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in TRIGGERS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")
