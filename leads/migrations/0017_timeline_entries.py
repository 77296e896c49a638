"""A lead's timeline moves from an index on the events to TimelineEntry rows the fold writes in lead
order (leads.models.engagement). Every event already folded (up to its workspace's mark) gets its
entry here, before the index is built; the ones after the mark get theirs at the next fold."""

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
    ]
