"""A score's lead index becomes `score_lead` (lead, offer, is_current, score, intent, stage): the
same lookups by lead, and a search's matches sorted by score from the index alone.

The plain lead_id index goes by its name (the one Django gave it in 0001): AlterField alone would
make SQLite copy the whole scores table to change nothing else.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "leads_score_lead_id_d81f2d4a"


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0014_score_tally'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='score',
            index=models.Index(fields=['lead', 'offer', 'is_current', 'score', 'intent', 'stage'], name='score_lead'),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='score',
                    name='lead',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                            related_name='scores', to='leads.lead'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{INDEX}"',
                                  reverse_sql=f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "leads_score" ("lead_id")'),
            ],
        ),
    ]
