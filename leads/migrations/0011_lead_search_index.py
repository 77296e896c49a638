"""The text-search index over leads (see leads/search_index.py): FTS5 trigram table and triggers on
SQLite, pg_trgm GIN index on PostgreSQL. No model changes."""

from django.db import migrations

from leads.search_index import search_index_install, search_index_uninstall


def forwards(apps, schema_editor):
    search_index_install(schema_editor)


def backwards(apps, schema_editor):
    search_index_uninstall(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0010_job_leases'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
