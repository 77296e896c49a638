"""The HubSpot connector: its settings (the token write-only) and the sync job.

    hubspot_connector_get(workspace=…) -> HubSpotConnector   (unsaved defaults until first set)
    hubspot_connector_set(workspace=…, data={access_token?, write_back?, offer?, properties?})
    hubspot_sync_start(workspace=…, user=…, full=False) -> Job  (a sync already going is returned)
    hubspot_sync_run(job_id)                                    (the task's body)

A sync, one job:
1. Pull. The first sync (or `full`) lists every contact; later ones search for contacts modified
   since the last successful sync started (minus SYNC_OVERLAP, since HubSpot's search index lags a
   little). Contacts come a page at a time (HUBSPOT_PAGE_SIZE); each page is one transaction with
   the job's counters, so a failed sync keeps whole pages and the next one picks up the rest.
2. Skip what didn't change. A contact whose fingerprint (every pulled property but our own
   leadscore_* ones and the modification times) equals the stored one is unchanged: that is how
   our own write-back, which bumps `lastmodifieddate`, is never imported again.
3. Upsert leads. A contact finds its lead through its ExternalRecord, else by email (or name +
   company, `lead_dedupe_key`), else a lead is created. Values with a blank never erase; changed
   leads' current scores go stale (cause "upload", as a re-upload does) and a rescore is queued.
4. Events. Engagement counters grown since the last sync become events through `events_ingest`
   (deterministic external ids, so a page applied twice adds nothing).
5. Deals. Deals changed since the same watermark (every deal on a full sync) are paged; for the
   contacts they are associated with, all of each contact's deals are read (associations v4, then
   a batch read) and decide its outcome: won if a deal is closed won, else lost if one is closed
   lost, dated by the deal's close date, with its amount as the value (`contact_deal_outcome`; a
   stage is won or lost by its pipeline's metadata). A lead whose status is customer is never made
   lost. The sync keeps the outcomes it recorded in step with HubSpot, and replaces an outcome
   recorded in Leadscore only with one that happened after it was recorded (`_outcomes_store`). A
   token without the deals scope syncs contacts and says deals were not read.
6. Write back (when `write_back`): for every linked lead with a current score for the connector's
   offer (default: the latest) whose score, intent or stage differs from what was last written,
   the leadscore_* contact properties are updated in batches of at most 100. The properties are
   created in the portal first if missing.
Only a sync that succeeded moves `last_synced_at`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from leads.exceptions import LeadsError
from leads.integrations.hubspot.client import BATCH_MAX, Deal, HubSpotClient, HubSpotError
from leads.integrations.hubspot.sync import (
    DEAL_PROPERTIES,
    PROPERTY_NAME,
    WRITE_BACK_DEFINITIONS,
    ContactInput,
    DealOutcome,
    contact_deal_outcome,
    contact_input,
    contact_properties,
    counter_events,
    stage_results,
    write_back_values,
)
from leads.models import (
    ExternalRecord,
    HubSpotConnector,
    Job,
    Lead,
    LeadStatus,
    Offer,
    Outcome,
    Score,
    ScoreCause,
    Workspace,
)
from leads.models.engagement import workspace_events_lock
from leads.queue import HUBSPOT_SYNC
from leads.services.engagement import engagement_rescore_soon, events_ingest
from leads.services.jobs import errors_append, job_finish, job_mark_running, job_tasks_queue
from leads.services.leads import lead_dedupe_key, lead_name_key
from leads.services.outcomes import OutcomeInput, outcomes_upsert

logger = logging.getLogger(__name__)

HUBSPOT = ExternalRecord.System.HUBSPOT
#: Contacts modified this long before the last sync started are asked for again (search index lag).
SYNC_OVERLAP = timedelta(minutes=5)
#: A running sync silent this long lost its worker: a new sync may start.
SYNC_STALE = timedelta(minutes=15)
EVENTS_PER_CALL = 5000
WRITE_BACK_SCAN = 1000
MAX_EXTRA_PROPERTIES = 50
TOKEN_MAX = 500

NOT_CONNECTED = "Connect HubSpot first: POST /api/connectors/hubspot/ with the private app's access_token."
BAD_PROPERTIES = (f"properties must be a list of at most {MAX_EXTRA_PROPERTIES} HubSpot property names "
                  "(lowercase letters, digits and _).")
UNKNOWN_OFFER = "No offer with id {id} in your workspace."
BAD_TOKEN = f"access_token must be a private app token: at most {TOKEN_MAX} characters, no spaces."
NOT_IDENTIFIABLE = "The contact has no email, name or company, so no lead can be matched or created for it."
DUPLICATE = "Another lead in this workspace already has this email, or this name and company; the contact was skipped."
SUMMARY = ("Synced {processed:,} contacts: {created:,} created, {updated:,} updated, {skipped:,} unchanged, "
           "{failed:,} failed; {events:,} events added; {written:,} contacts written back.")
NO_OFFER_TO_WRITE = " Nothing written back: the workspace has no offer to score against yet."
DEALS_FORBIDDEN = (" Deals not read: the private app needs the scope crm.objects.deals.read for closed deals "
                   "to become outcomes.")
OUTCOMES_NOTE = " {outcomes:,} outcomes recorded."
KEPT = " Contacts synced before it are kept; the next sync picks up the rest."
STALE_SYNC = "The sync's worker stopped answering; a new sync was started."
INTERNAL = "The sync stopped on an internal error ({error})."

#: job.params["failure"] -> (API status, code) for a sync that failed.
FAILURES = {"not_connected": (400, "hubspot_not_connected"), "unauthorized": (400, "hubspot_unauthorized"),
            "forbidden": (400, "hubspot_forbidden"), "rejected": (502, "hubspot_rejected"),
            "rate_limited": (502, "hubspot_rate_limited"), "unavailable": (502, "hubspot_unavailable"),
            "search_window": (502, "hubspot_search_window"), "internal": (500, "hubspot_sync_failed")}


# --- settings -------------------------------------------------------------------------------------


def hubspot_connector_get(*, workspace: Workspace) -> HubSpotConnector:
    """The workspace's connector, or an unsaved one with the defaults."""
    return (HubSpotConnector.objects.select_related("offer").filter(workspace=workspace).first()
            or HubSpotConnector(workspace=workspace))


def _invalid(field: str, message: str) -> LeadsError:
    return LeadsError(message, code="invalid", details={field: [message]})


@transaction.atomic
def hubspot_connector_set(*, workspace: Workspace, data: dict[str, Any]) -> HubSpotConnector:
    """Save the given settings; `access_token` "" disconnects. The token is kept, never answered."""
    connector = HubSpotConnector.objects.select_for_update().get_or_create(workspace=workspace)[0]
    fields: list[str] = []
    if "access_token" in data:
        token = (data["access_token"] or "").strip()
        if len(token) > TOKEN_MAX or any(ch.isspace() for ch in token):
            raise _invalid("access_token", BAD_TOKEN)
        if token != connector.access_token:
            # Another token may be another portal: check its leadscore_* properties again.
            connector.access_token, connector.properties_ready = token, False
            fields += ["access_token", "properties_ready"]
    if "write_back" in data:
        connector.write_back = bool(data["write_back"])
        fields.append("write_back")
    if "offer" in data:
        offer_id = data["offer"]
        offer = None
        if offer_id is not None:
            offer = Offer.objects.filter(workspace=workspace, pk=offer_id).first()
            if offer is None:
                raise _invalid("offer", UNKNOWN_OFFER.format(id=offer_id))
        connector.offer = offer
        fields.append("offer")
    if "properties" in data:
        names = data["properties"]
        if (not isinstance(names, list) or len(names) > MAX_EXTRA_PROPERTIES
                or not all(isinstance(n, str) and PROPERTY_NAME.match(n) for n in names)):
            raise _invalid("properties", BAD_PROPERTIES)
        connector.extra_properties = list(dict.fromkeys(names))
        fields.append("extra_properties")
    if fields:
        connector.full_clean(exclude=["workspace", "offer"], validate_unique=False, validate_constraints=False)
        connector.save(update_fields=[*fields, "updated_at"])
    return connector


def hubspot_last_sync(*, workspace: Workspace) -> Job | None:
    return Job.objects.filter(workspace=workspace, kind=Job.Kind.SYNC).order_by("-created_at", "-id").first()


# --- start ----------------------------------------------------------------------------------------


def hubspot_sync_start(*, workspace: Workspace, user: AbstractBaseUser | None, full: bool = False) -> Job:
    """Create and queue a sync job, or return the one already queued or running."""
    with transaction.atomic():
        connector = HubSpotConnector.objects.select_for_update().filter(workspace=workspace).first()
        if connector is None or not connector.access_token:
            raise LeadsError(NOT_CONNECTED, code="hubspot_not_connected", status_code=400)
        going = (Job.objects.filter(workspace=workspace, kind=Job.Kind.SYNC,
                                    status__in=[Job.Status.QUEUED, Job.Status.RUNNING])
                 .order_by("-created_at", "-id").first())
        if going is not None:
            if going.updated_at >= timezone.now() - SYNC_STALE:
                return going
            Job.objects.filter(pk=going.pk).update(status=Job.Status.FAILED, finished_at=timezone.now(),
                                                   message=STALE_SYNC)
        since = None if full or connector.last_synced_at is None else connector.last_synced_at - SYNC_OVERLAP
        job = Job.objects.create(
            workspace=workspace, created_by=user if user is not None and user.is_authenticated else None,
            kind=Job.Kind.SYNC, status=Job.Status.QUEUED,
            params={"system": HUBSPOT, "full": since is None, "since": since.isoformat() if since else None,
                    "events": 0, "written_back": 0})
    job_tasks_queue(job_id=job.pk, task_name=HUBSPOT_SYNC, task_ids=[job.pk])
    job.refresh_from_db()
    return job


def hubspot_sync_failure(job: Job) -> tuple[int, str]:
    """(HTTP status, code) the API answers for a failed sync job."""
    return FAILURES.get(str(job.params.get("failure")), FAILURES["internal"])


# --- run ------------------------------------------------------------------------------------------


def hubspot_sync_run(job_id: int) -> None:
    """Run sync job `job_id` (see the module docstring); a finished or unknown job is left alone."""
    job = Job.objects.select_related("workspace").filter(pk=job_id, kind=Job.Kind.SYNC).first()
    if job is None or job.is_finished:
        return
    job_mark_running(job=job)
    job.refresh_from_db()
    connector = HubSpotConnector.objects.select_related("offer").filter(workspace=job.workspace_id).first()
    if connector is None or not connector.access_token:
        _fail(job, "not_connected", NOT_CONNECTED)
        return
    started = timezone.now()
    run = _SyncRun(job, connector)
    try:
        finished = run.execute()
    except HubSpotError as exc:
        _fail(job, exc.code, exc.message + (KEPT if job.processed else ""))
        return
    except (OperationalError, InterfaceError):
        raise  # transient: the task retries it, and a sync run again is harmless
    except Exception as exc:
        logger.exception("HubSpot sync job %s stopped on an internal error", job.pk)
        _fail(job, "internal", INTERNAL.format(error=type(exc).__name__) + (KEPT if job.processed else ""))
        return
    if not finished:  # cancelled: what was synced stays, the watermark does not move
        return
    HubSpotConnector.objects.filter(pk=connector.pk).update(last_synced_at=started, updated_at=timezone.now())
    job.total = job.processed
    message = SUMMARY.format(processed=job.processed, created=job.created, updated=job.updated,
                             skipped=job.skipped, failed=job.failed, events=job.params["events"],
                             written=job.params["written_back"])
    if job.params.get("outcomes"):
        message += OUTCOMES_NOTE.format(outcomes=job.params["outcomes"])
    job_finish(job=job, status=Job.Status.SUCCEEDED, message=message + run.note, fields=["total", "params"])
    logger.info("HubSpot sync job %s of workspace %s: %s", job.pk, job.workspace_id, message)


def hubspot_sync_fail(*, job_id: int, reason: str) -> None:
    """The task gave up (its retries ran out): the job fails instead of staying "running"."""
    job = Job.objects.filter(pk=job_id, kind=Job.Kind.SYNC).first()
    if job is not None and not job.is_finished:
        _fail(job, "internal", INTERNAL.format(error=reason[:200]))


def _fail(job: Job, failure: str, message: str) -> None:
    job.params = {**job.params, "failure": failure}
    logger.warning("HubSpot sync job %s failed (%s)", job.pk, failure)
    job_finish(job=job, status=Job.Status.FAILED, message=message, fields=["params"])


class _SyncRun:
    """One sync: the pages pulled, then the write-back (see the module docstring)."""

    def __init__(self, job: Job, connector: HubSpotConnector) -> None:
        self.job = job
        self.connector = connector
        self.workspace = job.workspace
        self.note = ""
        self.client = HubSpotClient(access_token=connector.access_token, host=settings.HUBSPOT_API_BASE,
                                    page_size=settings.HUBSPOT_PAGE_SIZE)

    def execute(self) -> bool:
        """False when the job was cancelled on the way."""
        since = datetime.fromisoformat(self.job.params["since"]) if self.job.params.get("since") else None
        properties = contact_properties(self.connector.extra_properties)
        for page in self.client.contacts_pages(properties=properties, modified_since=since):
            if self._cancelled():
                return False
            self._apply([contact_input(c.id, c.properties) for c in page])
        if not self._deals(since):
            return False
        if self.connector.write_back:
            return self._write_back()
        return True

    def _cancelled(self) -> bool:
        return Job.objects.filter(pk=self.job.pk, cancel_requested=True).exists()

    # --- pull -------------------------------------------------------------------------------------

    def _apply(self, inputs: list[ContactInput]) -> None:
        job, now = self.job, timezone.now()
        errors: list[dict[str, Any]] = []
        with transaction.atomic():
            # Before any lead row is locked: a lead's delete takes this lock, then the lead's row.
            workspace_events_lock(self.workspace.pk)
            records = {r.external_id: r for r in ExternalRecord.objects.filter(
                workspace=self.workspace, system=HUBSPOT, external_id__in=[i.contact_id for i in inputs])}
            todo: list[ContactInput] = []
            drifted: list[ExternalRecord] = []
            for item in inputs:
                record = records.get(item.contact_id)
                if record is not None and _portal_values_changed(record, item):
                    record.written = {}  # someone edited our properties in HubSpot: write them again
                    drifted.append(record)
                if record is not None and record.fingerprint == item.fingerprint:
                    job.skipped += 1
                elif record is None and not item.identifiable:
                    job.failed += 1
                    errors.append({"contact": item.contact_id, "reason": NOT_IDENTIFIABLE})
                else:
                    todo.append(item)
            leads, created, updated = self._upsert_leads(todo, records, errors, now)
            job.created += created
            job.updated += updated
            job.skipped += len(leads) - created - updated
            self._link(leads, records, todo, now)
            self._events(leads, records, todo, now, errors)
            self._outcomes(leads, todo, now)
            ExternalRecord.objects.bulk_update(drifted, ["written"], batch_size=500)
            job.processed += len(inputs)
            job.save(update_fields=["processed", "created", "updated", "skipped", "failed", "params",
                                    *errors_append(job, errors), "updated_at"])

    def _outcomes(self, leads: dict[str, Lead], todo: list[ContactInput], now: datetime) -> None:
        """Lifecycle stage "customer" is a won outcome; a lead already won keeps its outcome (and date)."""
        won = {leads[item.contact_id].pk: item for item in todo
               if item.status == LeadStatus.CUSTOMER and item.contact_id in leads}
        if not won:
            return
        known = set(Outcome.objects.filter(workspace=self.workspace, lead_id__in=list(won), outcome=Outcome.Result.WON)
                    .values_list("lead_id", flat=True))
        self._outcomes_store({lead_id: OutcomeInput(lead_id, Outcome.Result.WON, min(item.modified_at or now, now))
                              for lead_id, item in won.items() if lead_id not in known})

    def _outcomes_store(self, candidates: dict[int, OutcomeInput]) -> None:
        """Store what HubSpot says about these leads, by the one rule of outcomes (a newer one replaces
        the one a lead has): the sync keeps its own outcomes in step with HubSpot, and replaces one
        recorded in Leadscore (the API, an upload, the admin) only with something that happened in
        HubSpot after it was recorded, so a correction made by hand survives every re-sync."""
        if not candidates:
            return
        existing = {row.lead_id: row for row in Outcome.objects.filter(
            workspace=self.workspace, lead_id__in=list(candidates)).only(
            "lead_id", "outcome", "occurred_at", "value", "source", "updated_at")}
        kept: list[OutcomeInput] = []
        for lead_id, given in candidates.items():
            row = existing.get(lead_id)
            if row is None:
                kept.append(given)
            elif row.source == Outcome.Source.HUBSPOT:
                value = given.value if given.value is not None else row.value
                if (row.outcome, row.occurred_at, row.value) != (given.outcome, given.occurred_at, value):
                    kept.append(given)
            elif given.occurred_at > row.updated_at:
                kept.append(given)
        stored = outcomes_upsert(workspace_id=self.workspace.pk, source=Outcome.Source.HUBSPOT, outcomes=kept)
        self.job.params = {**self.job.params, "outcomes": self.job.params.get("outcomes", 0) + stored}

    # --- deals ------------------------------------------------------------------------------------

    def _deals(self, since: datetime | None) -> bool:
        """Deals changed since `since` (every deal on a full sync) decide their contacts' outcomes;
        False when the job was cancelled on the way. A token without the deals scope skips them."""
        try:
            stages = stage_results(self.client.deal_stages())
            for page in self.client.deals_pages(properties=DEAL_PROPERTIES, modified_since=since):
                if self._cancelled():
                    return False
                self._apply_deals(page, stages)
        except HubSpotError as exc:
            if exc.code != "forbidden":
                raise
            logger.warning("HubSpot sync job %s: deals not readable (403)", self.job.pk)
            self.note += DEALS_FORBIDDEN
        return True

    def _apply_deals(self, page: list[Deal], stages: dict[tuple[str, str], str | None]) -> None:
        """One page of changed deals: each linked contact's outcome from all its deals (not only the
        changed ones: a lost deal must not hide an older won one)."""
        contacts_of = self.client.associations("deals", "contacts", [deal.id for deal in page])
        contact_ids = {contact for contacts in contacts_of.values() for contact in contacts}
        lead_of = dict(ExternalRecord.objects.filter(workspace=self.workspace, system=HUBSPOT,
                                                     external_id__in=contact_ids).values_list("external_id", "lead_id"))
        verdicts: dict[int, DealOutcome] = {}
        now = timezone.now()
        if lead_of:
            deals_of = self.client.associations("contacts", "deals", sorted(lead_of))
            deals = {deal.id: deal for deal in page}
            missing = sorted({d for ids in deals_of.values() for d in ids} - set(deals))
            deals.update((deal.id, deal) for deal in self.client.deals_read(missing, properties=DEAL_PROPERTIES))
            for contact_id, deal_ids in deals_of.items():
                verdict = contact_deal_outcome([deals[d] for d in deal_ids if d in deals], stages, now=now)
                if verdict is not None and contact_id in lead_of:
                    verdicts[lead_of[contact_id]] = verdict
        with transaction.atomic():
            # A customer (lifecycle stage, or set by hand) is won: a lost deal does not make it lost.
            customers = set(Lead.objects.filter(pk__in=list(verdicts), status=LeadStatus.CUSTOMER)
                            .values_list("pk", flat=True))
            self._outcomes_store({
                lead_id: OutcomeInput(lead_id, verdict.outcome, verdict.occurred_at, verdict.value)
                for lead_id, verdict in verdicts.items()
                if not (verdict.outcome == Outcome.Result.LOST and lead_id in customers)})
            self.job.params = {**self.job.params, "deals": self.job.params.get("deals", 0) + len(page)}
            self.job.save(update_fields=["params", "updated_at"])

    def _upsert_leads(self, todo: list[ContactInput], records: dict[str, ExternalRecord],
                      errors: list[dict[str, Any]], now: Any) -> tuple[dict[str, Lead], int, int]:
        """contact id -> its lead (saved), with the numbers created and updated."""
        linked = Lead.objects.in_bulk([records[i.contact_id].lead_id for i in todo if i.contact_id in records])
        keys: dict[str, list[str]] = {}
        for item in todo:
            if item.contact_id not in records:
                keys[item.contact_id] = _match_keys(item)
        wanted = {key for candidates in keys.values() for key in candidates}
        by_key = {lead.dedupe_key: lead for lead in Lead.objects.filter(workspace=self.workspace,
                                                                         dedupe_key__in=list(wanted))}
        leads: dict[str, Lead] = {}
        fresh: dict[str, Lead] = {}  # dedupe key -> lead created in this page
        changed: dict[int, set[str]] = {}
        for item in todo:
            record = records.get(item.contact_id)
            lead = linked.get(record.lead_id) if record is not None else None
            if lead is None:
                lead = _first_match(keys.get(item.contact_id) or _match_keys(item), by_key, fresh)
            if lead is None:
                lead = Lead(workspace=self.workspace, status=LeadStatus.NEW, attributes={}, tags=[])
                _merge(lead, item)
                lead.dedupe_key = lead_dedupe_key(name=lead.name, company=lead.company, email=lead.email)
                lead.name_key = lead_name_key(name=lead.name, company=lead.company)
                fresh[lead.dedupe_key] = lead
                leads[item.contact_id] = lead
                continue
            before = {f: getattr(lead, f) for f in (*_FIELDS, "attributes", "status", "dedupe_key")}
            fields = _merge(lead, item)
            key = lead_dedupe_key(name=lead.name, company=lead.company, email=lead.email)
            if key != lead.dedupe_key and self._key_taken(key, lead, by_key, fresh):
                for name, value in before.items():
                    setattr(lead, name, value)
                self.job.failed += 1
                errors.append({"contact": item.contact_id, "reason": DUPLICATE})
                continue
            if fields:
                if {"name", "company"} & fields:
                    lead.name_key = lead_name_key(name=lead.name, company=lead.company)
                    fields.add("name_key")
                if key != lead.dedupe_key:
                    by_key.pop(lead.dedupe_key, None)
                    lead.dedupe_key, by_key[key] = key, lead
                    fields.add("dedupe_key")
                if lead.pk is not None:
                    changed.setdefault(lead.pk, set()).update(fields)
            leads[item.contact_id] = lead
        new = [lead for lead in fresh.values() if lead.pk is None]
        Lead.objects.bulk_create(new, batch_size=500)
        to_update = [lead for lead in {id(v): v for v in leads.values()}.values() if lead.pk in changed]
        if to_update:
            for lead in to_update:
                lead.updated_at = now
            names = sorted({f for lead in to_update for f in changed[lead.pk]} | {"updated_at"})
            Lead.objects.bulk_update(to_update, names, batch_size=500)
            ids = [lead.pk for lead in to_update]
            Score.objects.filter(lead_id__in=ids, is_current=True, stale_cause="").update(
                stale_cause=ScoreCause.UPLOAD)
            engagement_rescore_soon(workspace_id=self.workspace.pk)
        return leads, len(new), len(to_update)

    def _key_taken(self, key: str, lead: Lead, by_key: dict[str, Lead], fresh: dict[str, Lead]) -> bool:
        other = by_key.get(key) or fresh.get(key)
        if other is None:
            other = Lead.objects.filter(workspace=self.workspace, dedupe_key=key).exclude(pk=lead.pk).first()
            if other is not None:
                by_key[key] = other
        return other is not None and other is not lead

    def _link(self, leads: dict[str, Lead], records: dict[str, ExternalRecord], todo: list[ContactInput],
              now: Any) -> None:
        """Create or refresh the ExternalRecord of every contact applied (counters are set by _events)."""
        new: list[ExternalRecord] = []
        for item in todo:
            lead = leads.get(item.contact_id)
            if lead is None:
                continue
            record = records.get(item.contact_id)
            if record is None:
                record = ExternalRecord(workspace=self.workspace, system=HUBSPOT, external_id=item.contact_id,
                                        counters={}, written=dict(item.written))
                records[item.contact_id] = record
                new.append(record)
            record.lead_id, record.fingerprint, record.synced_at, record.job_id = lead.pk, item.fingerprint, now, \
                self.job.pk
        ExternalRecord.objects.bulk_create(new, batch_size=500)

    def _events(self, leads: dict[str, Lead], records: dict[str, ExternalRecord], todo: list[ContactInput],
                now: Any, errors: list[dict[str, Any]]) -> None:
        items: list[dict[str, Any]] = []
        touched: list[ExternalRecord] = []
        for item in todo:
            lead, record = leads.get(item.contact_id), records.get(item.contact_id)
            if lead is None or record is None:
                continue
            items.extend(counter_events(item, lead_id=lead.pk, done=record.counters, now=now))
            record.counters = {**record.counters, **item.counters}
            touched.append(record)
        for start in range(0, len(items), EVENTS_PER_CALL):
            chunk = items[start:start + EVENTS_PER_CALL]
            result = events_ingest(workspace=self.workspace, items=chunk)
            self.job.params["events"] += result.accepted
            errors.extend({"contact": chunk[error["index"]]["properties"]["hubspot_contact"],
                           "event": chunk[error["index"]]["external_id"], "reason": error["reason"]}
                          for error in result.errors if "index" in error)
        ExternalRecord.objects.bulk_update(touched, ["lead", "fingerprint", "synced_at", "job", "counters"],
                                           batch_size=500)

    # --- write back -------------------------------------------------------------------------------

    def _write_back(self) -> bool:
        offer = self.connector.offer or Offer.objects.filter(workspace=self.workspace).order_by(
            "-created_at", "-id").first()
        if offer is None:
            self.note += NO_OFFER_TO_WRITE
            return True
        last_pk, prepared = 0, self.connector.properties_ready
        # IDEA: at a million contacts, select only the records whose lead's score is newer than
        # `written_at` instead of scanning them all (bounded memory either way).
        while True:
            records = list(ExternalRecord.objects.filter(workspace=self.workspace, system=HUBSPOT, pk__gt=last_pk)
                           .order_by("pk")[:WRITE_BACK_SCAN])
            if not records:
                return True
            last_pk = records[-1].pk
            scores = {lead_id: (score, intent, stage) for lead_id, score, intent, stage in Score.objects.filter(
                offer=offer, is_current=True, lead_id__in={r.lead_id for r in records}).order_by().values_list(
                "lead_id", "score", "intent", "stage")}
            pending: list[tuple[ExternalRecord, dict[str, str]]] = []
            for record in records:
                if record.lead_id in scores:
                    score, intent, stage = scores[record.lead_id]
                    values = write_back_values(score=score, intent=intent, stage=stage)
                    if _filled(values) != _filled(record.written):
                        pending.append((record, values))
            if pending and not prepared:
                self._properties_ensure()
                prepared = True
            for start in range(0, len(pending), BATCH_MAX):
                if self._cancelled():
                    return False
                self._write_batch(pending[start:start + BATCH_MAX])

    def _properties_ensure(self) -> None:
        """Create the leadscore_* contact properties the portal lacks (once per token)."""
        try:
            self.client.contact_properties_ensure(WRITE_BACK_DEFINITIONS)
        except HubSpotError as exc:
            if exc.code != "forbidden":
                raise
            # No schema scope: someone may have created the properties by hand. Try the writes; if
            # they are missing, HubSpot's answer (400, "does not exist") fails the sync and says so.
            logger.warning("HubSpot sync job %s: cannot check the leadscore_* properties (403)", self.job.pk)
            return
        HubSpotConnector.objects.filter(pk=self.connector.pk).update(properties_ready=True)

    def _write_batch(self, batch: list[tuple[ExternalRecord, dict[str, str]]]) -> None:
        result = self.client.contacts_update({record.external_id: values for record, values in batch})
        ok, now = set(result.written), timezone.now()
        done = []
        for record, values in batch:
            if record.external_id in ok:
                record.written, record.written_at = values, now
                done.append(record)
        with transaction.atomic():
            ExternalRecord.objects.bulk_update(done, ["written", "written_at"], batch_size=500)
            self.job.params["written_back"] += len(done)
            fields = errors_append(self.job, [{"contact": e["contact"], "reason": f"Write-back: {e['reason']}"}
                                              for e in result.errors])
            self.job.save(update_fields=["params", *fields, "updated_at"])


_FIELDS = ("name", "role", "company", "industry", "location", "linkedin_bio", "email")


def _match_keys(item: ContactInput) -> list[str]:
    """The dedupe keys that may find a contact's lead: its email's, then its name + company's."""
    name, company, email = item.fields.get("name", ""), item.fields.get("company", ""), item.fields.get("email", "")
    keys = [lead_dedupe_key(name=name, company=company, email=email)]
    if email and (name or company):
        keys.append(lead_dedupe_key(name=name, company=company, email=""))
    return keys


def _merge(lead: Lead, item: ContactInput) -> set[str]:
    """Apply the contact's values to `lead` (blank values never erase); returns the fields changed."""
    changed: set[str] = set()
    for name, value in item.fields.items():
        if getattr(lead, name) != value:
            setattr(lead, name, value)
            changed.add(name)
    attributes = {**(lead.attributes or {}), **item.attributes}
    if attributes != lead.attributes:
        lead.attributes = attributes
        changed.add("attributes")
    if item.status and lead.status != item.status:
        lead.status = item.status
        changed.add("status")
    return changed


def _first_match(keys: list[str], *known: dict[str, Lead]) -> Lead | None:
    for key in keys:
        for leads in known:
            if key in leads:
                return leads[key]
    return None


def _filled(values: dict[str, str]) -> dict[str, str]:
    """HubSpot answers an emptied property as null: compare without the blanks."""
    return {key: value for key, value in values.items() if value}


def _portal_values_changed(record: ExternalRecord, item: ContactInput) -> bool:
    """The contact's leadscore_* properties are not what we last wrote (someone edited them)."""
    ours = _filled(record.written)
    return bool(ours) and ours != item.written
