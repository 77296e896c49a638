"""A lead's timeline moves from an index on the events to TimelineEntry rows the fold writes in lead
order (leads.models.engagement). Every event already folded (up to its workspace's mark) gets its
entry here, before the index is built; the ones after the mark get theirs at the next fold.

Dropping the events' foreign key constraint makes SQLite copy the events table, and the copy's id
counter restarts at the highest id left: ids of deleted events at or below a workspace's mark would
be drawn again, and the fold (which takes ids after the mark) would never see those events. The
counter is moved past every mark. Stop the worker while this runs: a fold of the old code after
the entries are written would move the mark past events that get none.
"""

import django.db.models.deletion
from django.db import migrations, models

FOLDED_EVENTS_ENTRIES = """
INSERT INTO leads_timelineentry (event_id, lead_id, occurred_at)
SELECT e.id, e.lead_id, e.occurred_at FROM leads_event e
JOIN leads_workspace w ON w.id = e.workspace_id
JOIN leads_lead l ON l.id = e.lead_id
WHERE e.id <= w.events_folded_through
ORDER BY e.lead_id, e.occurred_at, e.id
"""


def event_ids_past_every_mark(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return  # PostgreSQL's sequence is not touched by dropping a constraint
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(events_folded_through), 0) FROM leads_workspace")
        (mark,) = cursor.fetchone()
        cursor.execute("UPDATE sqlite_sequence SET seq = MAX(seq, %s) WHERE name = 'leads_event'", [mark])
        if not cursor.rowcount and mark:
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('leads_event', %s)", [mark])


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0016_events_folded_through'),
    ]

    operations = [
        migrations.CreateModel(
            name='TimelineEntry',
            fields=[
                ('event_id', models.BigIntegerField(primary_key=True, serialize=False)),
                ('occurred_at', models.DateTimeField()),
                ('lead', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                           related_name='+', to='leads.lead')),
            ],
        ),
        migrations.RunSQL(FOLDED_EVENTS_ENTRIES, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='timelineentry',
            index=models.Index(fields=['lead', 'occurred_at', 'event_id'], name='timeline_lead_time'),
        ),
        migrations.RemoveIndex(
            model_name='event',
            name='event_lead_time',
        ),
        migrations.AlterField(
            model_name='event',
            name='lead',
            field=models.ForeignKey(db_constraint=False, db_index=False,
                                    on_delete=django.db.models.deletion.DO_NOTHING, related_name='events',
                                    to='leads.lead'),
        ),
        migrations.RunPython(event_ids_past_every_mark, migrations.RunPython.noop),
    ]
