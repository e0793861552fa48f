"""Operations admin for the outbox: what waits for the broker, and what was sent lately."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from config.models import PendingTask


@admin.register(PendingTask)
class PendingTaskAdmin(admin.ModelAdmin[PendingTask]):
    list_display = ["id", "task", "args", "created_at", "sent_at", "attempts", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task"]
    readonly_fields = [f.name for f in PendingTask._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
