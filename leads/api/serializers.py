"""Input and output serializers, one per shape the API speaks. No business logic here."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from leads.models import BIO_MAX, EMAIL_MAX, NAME_MAX, Job, Lead, Offer

OFFER_LIST_MAX_ITEMS = 50
OFFER_ITEM_MAX_CHARS = 200
LIST_OF_STRINGS_HELP = (
    f"List of non-empty strings (at most {OFFER_LIST_MAX_ITEMS}, each ≤ {OFFER_ITEM_MAX_CHARS} chars)."
)


def _string_list(help_text: str, *, required: bool) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=OFFER_ITEM_MAX_CHARS, allow_blank=False, trim_whitespace=True),
        max_length=OFFER_LIST_MAX_ITEMS,
        required=required,
        help_text=f"{help_text} {LIST_OF_STRINGS_HELP}",
    )


class OfferSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=200, allow_blank=False, trim_whitespace=True)
    value_props = _string_list("What the product does for the buyer.", required=False)
    ideal_use_cases = _string_list("The ideal customer profile: industries or segments you sell to.", required=False)
    adjacent_industries = _string_list("Industries close enough to the ICP to earn adjacent points.", required=False)

    class Meta:
        model = Offer
        fields = ["id", "name", "value_props", "ideal_use_cases", "adjacent_industries", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class LeadSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=NAME_MAX, allow_blank=True, required=False)
    role = serializers.CharField(max_length=NAME_MAX, allow_blank=True, required=False)
    company = serializers.CharField(max_length=NAME_MAX, allow_blank=True, required=False)
    industry = serializers.CharField(max_length=NAME_MAX, allow_blank=True, required=False)
    location = serializers.CharField(max_length=NAME_MAX, allow_blank=True, required=False)
    linkedin_bio = serializers.CharField(max_length=BIO_MAX, allow_blank=True, required=False, trim_whitespace=False)
    email = serializers.EmailField(max_length=EMAIL_MAX, allow_blank=True, required=False)
    attributes = serializers.DictField(required=False, help_text="Extra CSV columns, kept as uploaded.")

    class Meta:
        model = Lead
        fields = ["id", "name", "role", "company", "industry", "location", "linkedin_bio", "email", "attributes",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("name", getattr(self.instance, "name", ""))
        company = attrs.get("company", getattr(self.instance, "company", ""))
        if not (name or "").strip() and not (company or "").strip():
            raise serializers.ValidationError("A lead needs a name or a company.")
        return attrs


class JobSerializer(serializers.ModelSerializer):
    offer = serializers.PrimaryKeyRelatedField(read_only=True)
    url = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField(help_text="processed / total, 0–1.")

    class Meta:
        model = Job
        fields = ["id", "url", "kind", "status", "offer", "total", "processed", "failed", "created", "updated",
                  "skipped", "progress", "errors", "errors_truncated", "message", "ai_requests", "prompt_tokens",
                  "completion_tokens", "cancel_requested", "created_at", "started_at", "finished_at"]
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
    leads = LeadSerializer(many=True)


# Ids are 64-bit: a bigger number is a 400, not an overflow inside the database driver.
MAX_ID = 2**63 - 1


class ScoreInputSerializer(serializers.Serializer):
    offer = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                     help_text="Offer id; default: the workspace's latest offer.")
    leads = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), required=False,
                                  allow_empty=False,
                                  max_length=100_000, help_text="Lead ids to score; default: every lead.")
    rescore = serializers.BooleanField(default=False, help_text="Score again leads that already have a score.")


class ScoredLeadSerializer(serializers.Serializer):
    """A lead carrying its current score for the chosen offer: the original clients' result item."""

    id = serializers.IntegerField(source="lead_id")
    name = serializers.CharField(source="lead.name")
    role = serializers.CharField(source="lead.role")
    company = serializers.CharField(source="lead.company")
    industry = serializers.CharField(source="lead.industry")
    location = serializers.CharField(source="lead.location")
    linkedin_bio = serializers.CharField(source="lead.linkedin_bio")
    email = serializers.CharField(source="lead.email")
    intent = serializers.CharField()
    score = serializers.IntegerField()
    rule_score = serializers.IntegerField()
    ai_score = serializers.IntegerField()
    reasoning = serializers.CharField()
    score_breakdown = serializers.JSONField()
    offer = serializers.IntegerField(source="offer_id")
    scored_at = serializers.DateTimeField(source="created_at")
    created_at = serializers.DateTimeField(source="lead.created_at")


class ScoreResultSerializer(serializers.Serializer):
    results = ScoredLeadSerializer(many=True)
    total_scored = serializers.IntegerField()
    scoring_method = serializers.CharField()
    job = JobSerializer()


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    code = serializers.CharField()
    details = serializers.DictField()
