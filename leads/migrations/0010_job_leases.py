"""Job and chunk leases (heartbeat_at), and the table of the database cache that the embedded
default uses for throttle counters (what `manage.py createcachetable` makes, here so that every
`migrate` creates it)."""

from django.core.management.commands.createcachetable import Command as CreateCacheTable
from django.db import migrations, models

CACHE_TABLE = "leadscore_cache"


def create_cache_table(apps, schema_editor) -> None:
    command = CreateCacheTable()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, False)


def drop_cache_table(apps, schema_editor) -> None:
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0009_lead_bio_max'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='jobchunk',
            name='heartbeat_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(create_cache_table, drop_cache_table),
    ]
