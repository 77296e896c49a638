"""Admin pages: the columns, filters and searches an operator reaches for."""

from django.contrib import admin

from leads.models import IntentCacheEntry, Job, JobChunk, Lead, Membership, Offer, Score, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "created_at"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "workspace", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name"]
    date_hierarchy = "created_at"


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "role", "company", "industry", "location", "email", "workspace", "created_at"]
    list_filter = ["workspace", "industry"]
    search_fields = ["name", "company", "role", "email"]
    readonly_fields = ["dedupe_key", "created_at", "updated_at"]
    show_full_result_count = False  # COUNT(*) over a million leads on every page is wasted work
    list_select_related = ["workspace"]


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["id", "lead", "offer", "score", "intent", "rule_score", "ai_score", "provider", "is_current",
                    "created_at"]
    list_filter = ["intent", "is_current", "provider", "offer"]
    search_fields = ["lead__name", "lead__company"]
    raw_id_fields = ["lead", "offer", "job"]
    list_select_related = ["lead", "offer"]
    show_full_result_count = False


class JobChunkInline(admin.TabularInline):
    model = JobChunk
    extra = 0
    fields = ["index", "done", "scored", "failed", "finished_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False
    max_num = 0


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "workspace", "offer", "total", "processed", "failed", "created_at",
                    "finished_at"]
    list_filter = ["kind", "status", "workspace"]
    search_fields = ["message"]
    readonly_fields = [f.name for f in Job._meta.fields]
    date_hierarchy = "created_at"


@admin.register(IntentCacheEntry)
class IntentCacheEntryAdmin(admin.ModelAdmin):
    list_display = ["key", "intent", "provider", "model", "created_at"]
    list_filter = ["provider", "model", "intent"]
