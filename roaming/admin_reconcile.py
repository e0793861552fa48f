"""Operations admin: the differences the nightly billing reconciliation found, open first, with
an action to mark them resolved once dealt with."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from roaming.models import BillingDifference


@admin.register(BillingDifference)
class BillingDifferenceAdmin(admin.ModelAdmin[BillingDifference]):
    list_display = ["kind", "subject", "partner", "detail", "found_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter), "kind", "partner"]
    search_fields = ["subject", "detail"]
    readonly_fields = [f.name for f in BillingDifference._meta.fields]
    actions = ["mark_resolved"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[BillingDifference]:
        # Open ones first, newest first within each.
        return super().get_queryset(request).order_by("-resolved_at", "-found_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Mark resolved")
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[BillingDifference]) -> None:
        done = queryset.filter(resolved_at=None).update(resolved_at=timezone.now())
        self.message_user(request, f"{done} difference(s) marked resolved.", messages.SUCCESS)
