"""Lead.name_key (name + company, kept for leads with an email too), the import's warnings, and
the intent cache's plural name in the admin."""

import re
import unicodedata

from django.conf import settings
from django.db import migrations, models

from leads.search_index import search_index_install

# A copy of leads.services.leads.normalise_key_part as it was when this migration was written.
_KEY_TOKEN = re.compile(r"[\w@.+-]+")


def _part(value):
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return " ".join(_KEY_TOKEN.findall(value.casefold()))


def fill_name_keys(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    batch = []
    for pk, name, company in Lead.objects.order_by().values_list("pk", "name", "company").iterator(chunk_size=5000):
        batch.append(Lead(pk=pk, name_key=f"n:{_part(name)}|{_part(company)}"[:518]))
        if len(batch) >= 5000:
            Lead.objects.bulk_update(batch, ["name_key"])
            batch = []
    if batch:
        Lead.objects.bulk_update(batch, ["name_key"])


def reinstall_search_index(apps, schema_editor):
    search_index_install(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0011_lead_search_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='warned',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='job',
            name='warnings',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='lead',
            name='name_key',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=518),
        ),
        migrations.RunPython(fill_name_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='lead',
            index=models.Index(fields=['workspace', 'name_key'], name='lead_ws_name_key'),
        ),
        migrations.AlterModelOptions(
            name='intentcacheentry',
            options={'verbose_name': 'intent cache entry', 'verbose_name_plural': 'intent cache entries'},
        ),
        # On SQLite the new NOT NULL column made Django rebuild leads_lead, which drops the search
        # index's triggers: install it again (PostgreSQL keeps its index; this is then a no-op).
        migrations.RunPython(reinstall_search_index, migrations.RunPython.noop),
    ]
