"""Rows every app shares. Only the outbox lives here (see config.outbox): locator, payments
and roaming all queue work, and none of them may depend on another for it."""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class PendingTask(models.Model):
    """A Celery task to send once the transaction that wrote this row commits (the outbox).

    `claimed_until` is a relay's lease while it sends the row; `sent_at` is set once the
    broker took the message. Sent rows are kept a day for the admin, then pruned.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    not_before = models.DateTimeField(
        null=True, blank=True, help_text="The task runs no earlier (a countdown)."
    )
    claimed_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=Q(sent_at__isnull=True), name="pendingtask_unsent"
            ),
            models.Index(fields=["sent_at"], name="pendingtask_sent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
