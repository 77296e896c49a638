"""Events are folded into their leads' aggregates after the ingest, up to the workspace's
events_folded_through (leads.services.engagement). Every event stored before this was folded when it
was ingested, so each workspace starts at its last event."""

from django.db import migrations, models


def folded_through_stored_events(apps, schema_editor):
    Workspace = apps.get_model("leads", "Workspace")
    Event = apps.get_model("leads", "Event")
    for workspace_id in Workspace.objects.values_list("pk", flat=True):
        last = Event.objects.filter(workspace_id=workspace_id).order_by("-pk").values_list("pk", flat=True).first()
        if last is not None:
            Workspace.objects.filter(pk=workspace_id).update(events_folded_through=last)


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0015_score_lead_index'),
    ]

    operations = [
        migrations.AddField(
            model_name='workspace',
            name='events_folded_through',
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(folded_through_stored_events, migrations.RunPython.noop),
    ]
