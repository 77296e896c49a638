"""The current scores' tally per offer, stage, intent and score (see leads/score_tally.py): a table and
triggers on SQLite, nothing on PostgreSQL. No model changes."""

from django.db import migrations

from leads.score_tally import score_tally_install, score_tally_uninstall


def forwards(apps, schema_editor):
    score_tally_install(schema_editor)


def backwards(apps, schema_editor):
    score_tally_uninstall(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0013_event_lead_single_index'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
