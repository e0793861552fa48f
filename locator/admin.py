from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from locator.models import Comment, Location, Tariff
from locator.services import comments_hide


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin[Location]):
    list_display = [
        "name",
        "city",
        "operator_name",
        "source",
        "visible",
        "evse_count",
        "available_count",
        "last_updated",
    ]
    list_filter = ["visible", "hidden", "publish", "remote_start", "source"]
    search_fields = ["name", "address", "city", "ocpi_id", "operator_name"]
    show_full_result_count = False  # counting a million rows on every page is slow
    readonly_fields = [f.name for f in Location._meta.fields]


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin[Tariff]):
    list_display = [
        "ocpi_id",
        "country_code",
        "party_id",
        "source",
        "currency",
        "summary",
        "last_updated",
    ]
    search_fields = ["ocpi_id", "summary"]
    readonly_fields = [f.name for f in Tariff._meta.fields]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin[Comment]):
    list_display = ["location", "author", "rating", "outcome", "hidden", "created_at"]
    list_filter = ["hidden", "outcome", "rating"]
    search_fields = ["text", "author__email"]
    raw_id_fields = ["location", "author"]
    actions = ["hide_comments", "show_comments"]

    @admin.action(description="Hide selected comments")
    def hide_comments(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        count = comments_hide(comment_ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} comment(s) hidden.", messages.SUCCESS)

    @admin.action(description="Show selected comments again")
    def show_comments(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        count = comments_hide(comment_ids=queryset.values_list("id", flat=True), hidden=False)
        self.message_user(request, f"{count} comment(s) shown again.", messages.SUCCESS)
