"""Drop the events' plain lead_id index: event_lead_time (lead_id, occurred_at) starts with the same
column and serves every lookup by lead, and the second index cost a random write per event.

Only the index goes (by its name, the one Django gave it in 0006): AlterField alone would make
SQLite copy the whole events table to change nothing else.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "leads_event_lead_id_feb552a3"


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0012_lead_name_key_warnings'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='event',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='events', to='leads.lead'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  reverse_sql=f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "leads_event" ("lead_id")'),
            ],
        ),
    ]
