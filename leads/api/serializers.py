"""Input and output serializers, one per shape the API speaks. No business logic here."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from drf_yasg.utils import swagger_serializer_method
from rest_framework import serializers

from leads.api.fields import ModelSerializer, StrictCharField
from leads.models import (
    BIO_MAX,
    EMAIL_MAX,
    NAME_MAX,
    AlertConfig,
    Event,
    Job,
    Lead,
    LeadStatus,
    Offer,
    QualificationStage,
    ScoringModel,
    ScoringRule,
    Task,
    Workflow,
    WorkflowExecution,
    Workspace,
)
from leads.scoring.model import ALL_OPERATORS
from leads.scoring.templates import TEMPLATES
from leads.services.automations import mask_url
from leads.services.csv_parsing import UNSAFE_TEXT
from leads.services.lead_attributes import (
    ATTRIBUTE_KEY_MAX,
    ATTRIBUTE_VALUE_MAX,
    ATTRIBUTES_MAX_CHARS,
    ATTRIBUTES_MAX_KEYS,
    attributes_problems,
)
from leads.services.learned_factors import learned_factors
from leads.services.outcomes import outcome_summary


def members_of(workspace: Workspace) -> QuerySet:
    return get_user_model().objects.filter(memberships__workspace=workspace)


class WorkspaceChoices:
    """Related fields whose choices are the request's workspace's own (`context["workspace"]`): an
    id from another workspace is as unknown as one that never existed (a 400, never a leak)."""

    workspace_choices: ClassVar[dict[str, Callable[[Workspace], QuerySet]]] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        workspace = self.context.get("workspace")  # type: ignore[attr-defined]
        if workspace is not None:
            for name, choices in self.workspace_choices.items():
                self.fields[name].queryset = choices(workspace)  # type: ignore[attr-defined]


OFFER_LIST_MAX_ITEMS = 50
OFFER_ITEM_MAX_CHARS = 200
LIST_OF_STRINGS_HELP = (
    f"List of non-empty strings (at most {OFFER_LIST_MAX_ITEMS}, each ≤ {OFFER_ITEM_MAX_CHARS} chars)."
)


def _string_list(help_text: str, *, required: bool) -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=OFFER_ITEM_MAX_CHARS, allow_blank=False, trim_whitespace=True),
        max_length=OFFER_LIST_MAX_ITEMS,
        required=required,
        help_text=f"{help_text} {LIST_OF_STRINGS_HELP}",
    )


class OfferSerializer(WorkspaceChoices, ModelSerializer):
    name = StrictCharField(max_length=200, allow_blank=False, trim_whitespace=True)
    value_props = _string_list("What the product does for the buyer.", required=False)
    ideal_use_cases = _string_list("The ideal customer profile: industries or segments you sell to.", required=False)
    adjacent_industries = _string_list("Industries close enough to the ICP to earn adjacent points.", required=False)
    scoring_model = serializers.PrimaryKeyRelatedField(
        queryset=ScoringModel.objects.none(), required=False, allow_null=True,
        help_text="The scoring model that scores this offer; null: the workspace's default model.")

    class Meta:
        model = Offer
        fields = ["id", "name", "value_props", "ideal_use_cases", "adjacent_industries", "scoring_model",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Swagger's "Try it out" sends the example as it is: a real offer, not "string".
        swagger_schema_fields = {"example": {
            "name": "AI Outreach Automation", "value_props": ["24/7 outreach", "6x more meetings"],
            "ideal_use_cases": ["B2B SaaS mid-market"], "adjacent_industries": ["Marketing agencies"]}}

    workspace_choices = {"scoring_model": lambda workspace: ScoringModel.objects.filter(workspace=workspace)}


class OutcomeSummarySerializer(serializers.Serializer):
    outcome = serializers.CharField(help_text="won or lost")
    occurred_at = serializers.DateTimeField()
    value = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    offer = serializers.IntegerField(allow_null=True)


class FactorSerializer(serializers.Serializer):
    feature = serializers.CharField()
    value = serializers.CharField(allow_blank=True)
    effect = serializers.FloatField(help_text="Change in the log-odds of winning against an average lead.")


class FactorsSerializer(serializers.Serializer):
    up = FactorSerializer(many=True, help_text="What raises the probability most.")
    down = FactorSerializer(many=True, help_text="What lowers it most.")


class EngagementSummarySerializer(serializers.Serializer):
    email_opens = serializers.IntegerField()
    email_clicks = serializers.IntegerField()
    website_visits = serializers.IntegerField()
    crm_activities = serializers.IntegerField()
    last_activity = serializers.DateTimeField(allow_null=True)


class LeadSerializer(WorkspaceChoices, ModelSerializer):
    name = StrictCharField(max_length=NAME_MAX, allow_blank=True, required=False)
    role = StrictCharField(max_length=NAME_MAX, allow_blank=True, required=False)
    company = StrictCharField(max_length=NAME_MAX, allow_blank=True, required=False)
    industry = StrictCharField(max_length=NAME_MAX, allow_blank=True, required=False)
    location = StrictCharField(max_length=NAME_MAX, allow_blank=True, required=False)
    linkedin_bio = StrictCharField(max_length=BIO_MAX, allow_blank=True, required=False, trim_whitespace=False)
    email = serializers.EmailField(max_length=EMAIL_MAX, allow_blank=True, required=False)
    attributes = serializers.DictField(required=False, help_text=(
        f"Extra CSV columns, kept as uploaded: at most {ATTRIBUTES_MAX_KEYS} keys of at most {ATTRIBUTE_KEY_MAX} "
        f"characters (no control characters), each value at most {ATTRIBUTE_VALUE_MAX:,} characters, "
        f"{ATTRIBUTES_MAX_CHARS:,} in all."))
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)
    owner = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none(), required=False, allow_null=True,
                                               help_text="A member of the workspace (user id).")
    owner_name = serializers.SerializerMethodField()
    tags = serializers.ListField(child=StrictCharField(max_length=50, allow_blank=False), max_length=50,
                                 required=False)
    engagement_summary = serializers.SerializerMethodField()
    outcome = serializers.SerializerMethodField(help_text="Won or lost, when known (POST /api/outcomes/).")

    class Meta:
        model = Lead
        fields = ["id", "name", "role", "company", "industry", "location", "linkedin_bio", "email", "attributes",
                  "status", "owner", "owner_name", "tags", "engagement_summary", "outcome", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        swagger_schema_fields = {"example": {
            "name": "Maya Chen", "role": "VP of Sales", "company": "Acme Cloud", "industry": "B2B SaaS",
            "location": "San Francisco", "linkedin_bio": "Scaling outbound at a mid-market SaaS company.",
            "email": "maya.chen@acme-cloud.example", "attributes": {"phone": "+1 415 555 0101"}}}

    workspace_choices = {"owner": lambda workspace: members_of(workspace)}

    @swagger_serializer_method(serializer_or_field=EngagementSummarySerializer)
    def get_engagement_summary(self, lead: Lead) -> dict[str, Any]:
        return summary_of(lead)

    def get_owner_name(self, lead: Lead) -> str | None:
        return lead.owner.username if lead.owner_id else None

    @swagger_serializer_method(serializer_or_field=OutcomeSummarySerializer(allow_null=True))
    def get_outcome(self, lead: Lead) -> dict[str, Any] | None:
        return outcome_of(lead)

    def validate_attributes(self, attributes: dict[str, Any]) -> dict[str, Any]:
        if problems := attributes_problems(attributes):
            raise serializers.ValidationError(problems)
        return attributes

    def validate_name(self, value: str) -> str:
        return _no_unsafe_text(value)

    def validate_email(self, value: str) -> str:
        return _no_unsafe_text(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None:  # a new lead: the import's rule (leads.services.csv_parsing)
            return attrs
        name = attrs.get("name", getattr(self.instance, "name", ""))
        company = attrs.get("company", getattr(self.instance, "company", ""))
        if not (name or "").strip() and not (company or "").strip():
            raise serializers.ValidationError("A lead needs a name or a company.")
        return attrs


UNSAFE_TEXT_FOUND = "Remove the control or text-direction characters ({found})."


def _no_unsafe_text(value: str) -> str:
    if found := UNSAFE_TEXT.findall(value):
        raise serializers.ValidationError(UNSAFE_TEXT_FOUND.format(
            found=", ".join(sorted({f"U+{ord(c):04X}" for c in found}))))
    return value


class JobSerializer(ModelSerializer):
    offer = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField(help_text="processed / total, 0–1.")

    errors = serializers.ListField(child=serializers.DictField(), read_only=True, help_text=(
        "Per row or per lead: {line, column, reason} for imports, {lead, reason} for scoring (capped)."))

    class Meta:
        model = Job
        fields = ["id", "url", "kind", "status", "offer", "total", "processed", "failed", "created", "updated",
                  "skipped", "progress", "errors", "errors_truncated", "warned", "warnings", "message",
                  "ai_requests", "prompt_tokens", "completion_tokens", "cancel_requested", "created_at", "started_at",
                  "finished_at"]
        read_only_fields = fields

    def get_url(self, job: Job) -> str:
        from django.urls import reverse

        path = reverse("job-detail", args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_progress(self, job: Job) -> float:
        if job.total:
            return round(min(job.processed / job.total, 1.0), 4)
        return 1.0 if job.is_finished else 0.0


class UploadInputSerializer(serializers.Serializer):
    # Empty files pass here so the importer can answer with its own, more helpful, sentence.
    file = serializers.FileField(allow_empty_file=True,
                                 help_text="A CSV file of leads (UTF-8, or Excel's legacy encodings).")
    strict = serializers.BooleanField(default=False, help_text="All-or-nothing: store nothing if any row fails.")


class ImportResultSerializer(serializers.Serializer):
    job = JobSerializer()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField())
    warned = serializers.IntegerField(help_text="Rows stored with a warning (counted in created/updated/skipped).")
    warnings = serializers.ListField(child=serializers.DictField(), help_text="{line, column, reason} per warning.")
    leads = LeadSerializer(many=True)


def summary_of(lead: Lead) -> dict[str, Any]:
    """The lead's engagement summary; selectors join `engagement` in, so this reads no row."""
    from leads.services.engagement import engagement_summary

    try:
        row = lead.engagement
    except Lead.engagement.RelatedObjectDoesNotExist:
        row = None
    return engagement_summary(row)


def outcome_of(lead: Lead) -> dict[str, Any] | None:
    """The lead's outcome; the lead selector joins it in, so this reads no row."""
    try:
        row = lead.outcome
    except Lead.outcome.RelatedObjectDoesNotExist:
        row = None
    return outcome_summary(row)


class FactorsListSerializer(serializers.ListSerializer):
    """A list of scores whose learned factors are worked out for the whole page at once."""

    def to_representation(self, data: Any) -> list[Any]:
        items = list(data.all() if hasattr(data, "all") else data)
        self.child.page_factors = learned_factors(items)
        return super().to_representation(items)


class FactorsMixin:
    """`factors`: the learned model's factors for and against a score (None without a learned
    part); a list asks for its page in one go (FactorsListSerializer)."""

    page_factors: dict[int, Any] | None = None

    def factors_for(self, score: Any) -> dict[str, Any] | None:
        if self.page_factors is None or score.pk not in self.page_factors:
            return learned_factors([score]).get(score.pk)
        return self.page_factors[score.pk]


class OutputSerializer(serializers.Serializer):
    """A response's shape only: every field read-only, so the schema says what may come back (blank
    text included: a lead without a company, a score with no stage yet) rather than what input needs."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            field.read_only = True
        return fields


# Ids are at most 2**53 - 1, the largest integer JavaScript (so Swagger UI) holds exactly: a bigger
# number is a 400, not an overflow inside the database driver, and the schema's maximum survives
# a browser (2**63 - 1 came back from Swagger UI as 9223372036854776000, over its own maximum).
MAX_ID = 2**53 - 1


class ScoreInputSerializer(serializers.Serializer):
    offer = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                     help_text="Offer id; default: the workspace's latest offer.")
    leads = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False,
                                  allow_empty=False,
                                  max_length=100_000, help_text="Lead ids to score; default: every lead.")
    rescore = serializers.BooleanField(default=False, help_text="Score again leads that already have a score.")

    class Meta:
        # Every lead not scored yet, against the latest offer: works as sent on any workspace with an offer.
        swagger_schema_fields = {"example": {"rescore": False}}


class OfferUsedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    default = serializers.BooleanField(help_text="No offer was named, so the workspace's latest offer was used.")


class ScoredLeadSerializer(FactorsMixin, OutputSerializer):
    """A lead carrying its current score for the chosen offer: the original clients' result item."""

    class Meta:
        list_serializer_class = FactorsListSerializer

    id = serializers.IntegerField(source="lead_id")
    name = StrictCharField(source="lead.name")
    role = StrictCharField(source="lead.role")
    company = StrictCharField(source="lead.company")
    industry = StrictCharField(source="lead.industry")
    location = StrictCharField(source="lead.location")
    linkedin_bio = StrictCharField(source="lead.linkedin_bio")
    email = StrictCharField(source="lead.email")
    intent = StrictCharField()
    score = serializers.IntegerField()
    rule_score = serializers.IntegerField()
    ai_score = serializers.IntegerField()
    reasoning = StrictCharField()
    score_breakdown = serializers.JSONField()
    offer = serializers.IntegerField(source="offer_id")
    scored_at = serializers.DateTimeField(source="created_at")
    created_at = serializers.DateTimeField(source="lead.created_at")
    attributes = serializers.DictField(source="lead.attributes", help_text="Extra CSV columns, kept as uploaded.")
    qualification_stage = StrictCharField(source="stage")
    scoring_model = serializers.IntegerField(source="scoring_model_id", allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    previous_score = serializers.IntegerField(allow_null=True)
    score_change = serializers.IntegerField(allow_null=True)
    stale = serializers.SerializerMethodField(help_text="The lead, offer or model changed since: a run redoes it.")
    engagement_summary = serializers.SerializerMethodField()
    conversion_probability = serializers.FloatField(allow_null=True, help_text=(
        "The learned model's probability of winning (null when the scoring model has no learned part)."))
    factors = serializers.SerializerMethodField()

    def get_stale(self, score: Any) -> bool:
        return bool(score.stale_cause)

    @swagger_serializer_method(serializer_or_field=FactorsSerializer(allow_null=True))
    def get_factors(self, score: Any) -> dict[str, Any] | None:
        return self.factors_for(score)

    @swagger_serializer_method(serializer_or_field=EngagementSummarySerializer)
    def get_engagement_summary(self, score: Any) -> dict[str, Any]:
        return summary_of(score.lead)


class JobsSerializer(serializers.Serializer):
    jobs = JobSerializer(many=True)


class ScoreResultSerializer(OutputSerializer):
    results = ScoredLeadSerializer(many=True)
    total_scored = serializers.IntegerField()
    scoring_method = StrictCharField()
    job = JobSerializer()
    offer = OfferUsedSerializer(help_text="The offer scored against (also in the X-Offer header).")


class ErrorSerializer(serializers.Serializer):
    error = StrictCharField()
    code = StrictCharField()
    details = serializers.DictField()


# --- scoring models, rules, stages, scores (second stage) -----------------------------------------

JSON_VALUE_MAX_CHARS = 20_000


class ScoringRuleSerializer(WorkspaceChoices, ModelSerializer):
    model = serializers.PrimaryKeyRelatedField(
        queryset=ScoringModel.objects.none(), required=False,
        help_text="The scoring model the rule belongs to; default: the workspace's default model.")
    operator = serializers.ChoiceField(choices=list(ALL_OPERATORS))
    value = serializers.JSONField(required=False, allow_null=True, help_text=(
        "What the operator compares with: text, a number, a list (in_list), [low, high] (between), days "
        "(within_days), decision_maker / influencer (role_level), exact / adjacent (industry_fit)."))
    points = serializers.IntegerField(min_value=-100, max_value=100)
    priority = serializers.IntegerField(min_value=-10_000, max_value=10_000, required=False)

    class Meta:
        model = ScoringRule
        fields = ["id", "model", "name", "rule_type", "field_name", "operator", "value", "points", "priority",
                  "is_active", "knockout", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        swagger_schema_fields = {"example": {  # no model: the workspace's default one
            "name": "Enterprise plan asked", "rule_type": "behavioral", "field_name": "attributes.plan",
            "operator": "in_list", "value": ["enterprise", "business"], "points": 15}}

    workspace_choices = {"model": lambda workspace: ScoringModel.objects.filter(workspace=workspace)}

    def validate_value(self, value: Any) -> Any:
        if len(json.dumps(value)) > JSON_VALUE_MAX_CHARS:
            raise serializers.ValidationError(f"Keep the value under {JSON_VALUE_MAX_CHARS:,} characters of JSON.")
        return value


class ScoringRuleInlineSerializer(ModelSerializer):
    class Meta:
        model = ScoringRule
        fields = ["id", "name", "rule_type", "field_name", "operator", "value", "points", "priority", "is_active",
                  "knockout"]
        read_only_fields = fields


class ScoringModelSerializer(ModelSerializer):
    template = serializers.ChoiceField(choices=list(TEMPLATES), required=False, write_only=True,
                                       help_text="On create: the template to copy (default: the built-in default).")
    rule_max = serializers.IntegerField(min_value=0, max_value=100, required=False)
    high_from = serializers.IntegerField(min_value=0, max_value=100, required=False)
    medium_from = serializers.IntegerField(min_value=0, max_value=100, required=False)
    learned_weight = serializers.IntegerField(min_value=0, max_value=100, required=False)
    group_caps = serializers.DictField(required=False, help_text=(
        'Per group: {"firmographic": {"max_points": 30, "min_points": -10}}.'))
    ai_points = serializers.DictField(child=serializers.IntegerField(min_value=-100, max_value=100), required=False,
                                      help_text='{"High": 50, "Medium": 30, "Low": 10}.')
    engagement = serializers.DictField(required=False, help_text="The engagement part (arrives with events).")
    rules = ScoringRuleInlineSerializer(many=True, read_only=True)
    copied_from = StrictCharField(source="template", read_only=True)

    class Meta:
        model = ScoringModel
        fields = ["id", "name", "description", "is_default", "version", "template", "copied_from", "rule_max",
                  "group_caps", "ai_enabled", "ai_points", "engagement", "learned_weight", "high_from",
                  "medium_from", "rules", "created_at", "updated_at"]
        read_only_fields = ["id", "version", "created_at", "updated_at"]
        swagger_schema_fields = {"example": {"name": "Four factors", "template": "budget_size_industry_urgency"}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for key in ("group_caps", "ai_points", "engagement"):
            if key in attrs and len(json.dumps(attrs[key])) > JSON_VALUE_MAX_CHARS:
                raise serializers.ValidationError({key: [f"Keep it under {JSON_VALUE_MAX_CHARS:,} characters."]})
        return attrs


class TemplateSerializer(serializers.Serializer):
    key = StrictCharField()
    name = StrictCharField()
    description = StrictCharField()
    model = serializers.DictField(help_text="The model's settings and rules, as a copy would have them.")


class QualificationStageSerializer(ModelSerializer):
    stage = serializers.SlugField(max_length=50, help_text='A key such as "mql" or "sql".')
    minimum_score = serializers.IntegerField(min_value=0, max_value=100, required=False)
    order = serializers.IntegerField(min_value=-1000, max_value=1000, required=False)
    required_fields = serializers.ListField(child=StrictCharField(max_length=200), max_length=20,
                                            required=False)
    required_actions = serializers.ListField(child=serializers.RegexField(r"^[a-z0-9_]{1,50}$", max_length=50),
                                             max_length=20, required=False,
                                             help_text="Event types (email_open, demo_request…).")
    time_constraint_days = serializers.IntegerField(min_value=1, max_value=3650, required=False, allow_null=True)

    class Meta:
        model = QualificationStage
        fields = ["id", "name", "stage", "order", "minimum_score", "required_fields", "required_actions",
                  "time_constraint_days", "forward_only", "is_active", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        swagger_schema_fields = {"example": {"name": "Sales accepted", "stage": "sal", "order": 15,
                                             "minimum_score": 60}}


class TestRuleInputSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                     help_text="For industry_fit: the offer whose ICP counts (default: latest).")


class TestRuleResultSerializer(serializers.Serializer):
    rule = ScoringRuleSerializer()
    lead = serializers.IntegerField()
    points_awarded = serializers.IntegerField()
    rule_applied = serializers.BooleanField()
    value_seen = serializers.JSONField(allow_null=True)


class CalculateInputSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                     help_text="Offer id; default: the workspace's latest offer.")


class BulkCalculateInputSerializer(serializers.Serializer):
    lead_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False,
                                     allow_empty=False, max_length=100_000)
    recalculate_all = serializers.BooleanField(default=False)
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

    class Meta:
        swagger_schema_fields = {"example": {"recalculate_all": True}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("lead_ids") and not attrs.get("recalculate_all"):
            raise serializers.ValidationError('Give "lead_ids", or "recalculate_all": true.')
        if attrs.get("lead_ids") and attrs.get("recalculate_all"):
            raise serializers.ValidationError('Give either "lead_ids" or "recalculate_all", not both.')
        return attrs


class LeadScoreSerializer(FactorsMixin, OutputSerializer):
    """A score as the qualification clients read it: the lead, its score and how it moved."""

    class Meta:
        list_serializer_class = FactorsListSerializer

    id = serializers.IntegerField()
    lead = serializers.IntegerField(source="lead_id")
    lead_name = StrictCharField(source="lead.name")
    offer = serializers.IntegerField(source="offer_id")
    score = serializers.IntegerField()
    intent = StrictCharField()
    previous_score = serializers.IntegerField(allow_null=True)
    score_change = serializers.IntegerField(allow_null=True)
    score_breakdown = serializers.JSONField()
    reasoning = StrictCharField()
    qualification_stage = StrictCharField(source="stage")
    stage_set_by = StrictCharField(source="stage_set_by.username", default=None, allow_null=True)
    stage_set_at = serializers.DateTimeField(allow_null=True)
    cause = StrictCharField()
    scoring_model = serializers.IntegerField(source="scoring_model_id", allow_null=True)
    model_version = serializers.IntegerField(allow_null=True)
    is_current = serializers.BooleanField()
    stale = serializers.SerializerMethodField()
    conversion_probability = serializers.FloatField(allow_null=True)
    factors = serializers.SerializerMethodField()
    calculated_at = serializers.DateTimeField(source="created_at")

    def get_stale(self, score: Any) -> bool:
        return bool(score.stale_cause)

    @swagger_serializer_method(serializer_or_field=FactorsSerializer(allow_null=True))
    def get_factors(self, score: Any) -> dict[str, Any] | None:
        return self.factors_for(score)


class SetStageInputSerializer(serializers.Serializer):
    lead_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    stage = StrictCharField(max_length=50, allow_null=True,
                                  help_text="A stage key, or null to let the criteria decide again.")


class DistributionSerializer(serializers.Serializer):
    offer = serializers.IntegerField()
    total = serializers.IntegerField()
    average = serializers.FloatField(allow_null=True)
    buckets = serializers.ListField(child=serializers.DictField())
    intents = serializers.DictField(child=serializers.IntegerField())
    stages = serializers.DictField(child=serializers.IntegerField())


class PreviewInputSerializer(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    sample_size = serializers.IntegerField(min_value=1, max_value=10_000, default=1000)
    settings = serializers.DictField(required=False, help_text="Proposed model settings (rule_max, ai_points…).")
    rules = serializers.ListField(child=serializers.DictField(), required=False, max_length=200,
                                  help_text="Proposed rules, replacing the model's (same fields as a rule).")


class BacktestInputSerializer(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                     help_text="Whose ICP the rules read; default: the workspace's latest offer.")
    settings = serializers.DictField(required=False, help_text="Proposed model settings (rule_max, ai_points…).")
    rules = serializers.ListField(child=serializers.DictField(), required=False, max_length=200,
                                  help_text="Proposed rules, replacing the model's (same fields as a rule).")


# --- automations ----------------------------------------------------------------------------------


class WorkflowSerializer(WorkspaceChoices, ModelSerializer):
    offer = serializers.PrimaryKeyRelatedField(queryset=Offer.objects.none(), required=False, allow_null=True,
                                               help_text="Only this offer's scores fire it (default: any offer).")
    trigger_type = serializers.ChoiceField(choices=Workflow.Trigger.choices)
    action_type = serializers.ChoiceField(choices=Workflow.Action.choices)
    trigger_config = serializers.DictField(required=False, help_text=(
        'score_threshold {"score": 75, "direction": "up"}; stage_change {"stage": "sql"}; intent_change '
        '{"intent": "High"}; field_update {"field": "status", "value": "qualified"}; scheduled {"every_hours": 24, '
        '"min_score": 70}; manual {}.'))
    action_config = serializers.DictField(required=False, help_text=(
        'webhook {"url"}; slack {"webhook_url", "title"?}; send_email {"to": [..] or "owner", "subject"?, "body"?}; '
        'assign_owner {"user"} or {"users": [..]}; change_status {"status"}; create_task {"title", "description"?, '
        '"due_in_days"?, "priority"?, "assignee"?}; add_tag {"tag"}; move_to_stage {"stage"}; update_field '
        '{"field", "value"}. Texts may use {name}, {company}, {role}, {score}, {stage}, {url}.'))
    priority = serializers.IntegerField(min_value=-10_000, max_value=10_000, required=False)
    has_signing_secret = serializers.SerializerMethodField()
    managed_by_alerts = StrictCharField(read_only=True)

    class Meta:
        model = Workflow
        fields = ["id", "name", "trigger_type", "trigger_config", "offer", "action_type", "action_config",
                  "is_active", "priority", "has_signing_secret", "managed_by_alerts", "last_run_at", "created_at",
                  "updated_at"]
        read_only_fields = ["id", "last_run_at", "created_at", "updated_at"]
        swagger_schema_fields = {"example": {
            "name": "Tag hot leads", "trigger_type": "score_threshold",
            "trigger_config": {"score": 75, "direction": "up"}, "action_type": "add_tag",
            "action_config": {"tag": "hot"}}}

    workspace_choices = {"offer": lambda workspace: Offer.objects.filter(workspace=workspace)}

    def get_has_signing_secret(self, workflow: Workflow) -> bool:
        return bool(workflow.secret)

    def to_representation(self, workflow: Workflow) -> dict[str, Any]:
        data = super().to_representation(workflow)
        config = dict(data.get("action_config") or {})
        if "webhook_url" in config:  # a Slack webhook URL is a credential: never shown back whole
            config["webhook_url"] = mask_url(config["webhook_url"])
        data["action_config"] = config
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for key in ("trigger_config", "action_config"):
            if key in attrs and len(json.dumps(attrs[key])) > JSON_VALUE_MAX_CHARS:
                raise serializers.ValidationError({key: [f"Keep it under {JSON_VALUE_MAX_CHARS:,} characters."]})
        return attrs


class WorkflowCreatedSerializer(WorkflowSerializer):
    signing_secret = serializers.SerializerMethodField(help_text=(
        "Webhook workflows: the HMAC key receivers verify signatures with. Shown once, here."))

    def get_signing_secret(self, workflow: Workflow) -> str | None:
        return workflow.secret or None

    class Meta(WorkflowSerializer.Meta):
        fields = [*WorkflowSerializer.Meta.fields, "signing_secret"]


class WorkflowRunInputSerializer(serializers.Serializer):
    lead_ids = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), allow_empty=False,
                                     max_length=10_000)
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                     help_text="Whose score and stage go in the message (default: the workflow's).")


class WorkflowExecutionSerializer(ModelSerializer):
    workflow_name = StrictCharField(source="workflow.name", read_only=True)
    lead_name = StrictCharField(source="lead.name", read_only=True)

    class Meta:
        model = WorkflowExecution
        fields = ["id", "workflow", "workflow_name", "lead", "lead_name", "offer", "status", "attempts",
                  "next_attempt_at", "message_id", "response", "error", "payload", "created_at", "updated_at",
                  "finished_at"]
        read_only_fields = fields


class WorkflowStatisticsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    active = serializers.IntegerField()
    executions = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    pending = serializers.IntegerField()


class TaskSerializer(WorkspaceChoices, ModelSerializer):
    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none())
    assignee = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none(), required=False, allow_null=True,
                                                  help_text="A member of the workspace (user id).")
    lead_name = StrictCharField(source="lead.name", read_only=True)
    assignee_name = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = ["id", "lead", "lead_name", "title", "description", "due", "priority", "assignee", "assignee_name",
                  "done", "done_at", "workflow", "created_at", "updated_at"]
        read_only_fields = ["id", "done_at", "workflow", "created_at", "updated_at"]

    workspace_choices = {"lead": lambda workspace: Lead.objects.filter(workspace=workspace),
                         "assignee": lambda workspace: members_of(workspace)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            self.fields["lead"].read_only = True

    def get_assignee_name(self, task: Task) -> str | None:
        return task.assignee.username if task.assignee_id else None


class AlertConfigSerializer(ModelSerializer):
    hot_threshold = serializers.IntegerField(min_value=0, max_value=100, required=False)
    warm_threshold = serializers.IntegerField(min_value=0, max_value=100, required=False)
    slack_webhook_url = StrictCharField(max_length=500, required=False, allow_blank=True, write_only=True,
                                              help_text="Write-only: the API shows it back masked.")
    slack_webhook = serializers.SerializerMethodField()

    class Meta:
        model = AlertConfig
        fields = ["hot_threshold", "warm_threshold", "enable_slack", "slack_webhook_url", "slack_webhook",
                  "updated_at"]
        read_only_fields = ["updated_at"]
        swagger_schema_fields = {"example": {"hot_threshold": 80, "warm_threshold": 50, "enable_slack": False}}

    def get_slack_webhook(self, config: AlertConfig) -> str:
        return mask_url(config.slack_webhook_url)


# --- engagement -----------------------------------------------------------------------------------


class EventSerializer(ModelSerializer):
    class Meta:
        model = Event
        fields = ["id", "lead", "type", "occurred_at", "source", "external_id", "properties", "created_at"]
        read_only_fields = fields


class EventInputSerializer(serializers.Serializer):
    """One event (send a JSON list of these for a batch of up to 10,000)."""

    lead = serializers.IntegerField(required=False, help_text="Lead id; or give email.")
    email = serializers.EmailField(required=False)
    type = StrictCharField(help_text="email_sent, email_open, email_click, email_reply, email_bounce, "
                                           "unsubscribe, page_view, form_submit, demo_request, meeting, call, note, "
                                           "deal_stage_change, or your own (lowercase, digits, _).")
    occurred_at = serializers.DateTimeField(required=False, help_text="ISO 8601; default now.")
    source = StrictCharField(required=False, default="api")
    external_id = StrictCharField(required=False, help_text="The sender's id: sent again, counted once.")
    properties = serializers.DictField(required=False)

    class Meta:
        swagger_schema_fields = {"example": {"email": "maya.chen@acme-cloud.example", "type": "email_open",
                                             "source": "mailer", "external_id": "evt-1"}}


class IngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    rejected = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.DictField(), help_text="{index or line, reason}, first 1,000.")
    errors_truncated = serializers.BooleanField()
    created_leads = serializers.IntegerField()
    leads = serializers.IntegerField(help_text="Leads whose engagement changed (their scores are rescored).")


class EventUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text=(
        "CSV with columns type and lead (id) or email; optional occurred_at, source, external_id; other columns "
        "become properties."))
    create_leads = serializers.BooleanField(default=False, help_text="Create a lead for an unknown email.")

