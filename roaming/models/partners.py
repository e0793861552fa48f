"""Roaming partners (CPOs, hubs, open feeds), their roles, and every call we make to them."""

from typing import Any, TypeVar

from django.db import models
from django.utils import timezone

from roaming.crypto import secret_decrypt, secret_encrypt
from roaming.ocpi.known_partners import partners_changed


class PartnerKind(models.TextChoices):
    OCPI = "ocpi", "OCPI partner (credentials handshake)"
    FEED = "feed", "Open location feed (read only)"


class PartnerState(models.TextChoices):
    INVITED = "invited", "Invited (waiting for the partner to register)"
    REGISTERING = "registering", "Registering (handshake under way)"
    ACTIVE = "active", "Active"
    DEGRADED = "degraded", "Degraded (recent calls failed)"
    DISABLED = "disabled", "Disabled by an admin"
    UNREGISTERED = "unregistered", "Unregistered"


Row = TypeVar("Row", bound=models.Model)


class PartnerAccessQuerySet(models.QuerySet[Row]):
    """Writes in bulk to rows that decide who may call us, announced like single ones."""

    def update(self, **kwargs: Any) -> int:
        count = super().update(**kwargs)
        partners_changed()
        return count

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[Row]:
        rows = super().bulk_create(*args, **kwargs)
        partners_changed()
        return rows

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        count = super().bulk_update(*args, **kwargs)
        partners_changed()
        return count

    def delete(self) -> tuple[int, dict[str, int]]:
        deleted = super().delete()
        partners_changed()
        return deleted


class PartnerAccessModel(models.Model):
    """A row that decides who may call our OCPI endpoints (partners and their roles).

    Web processes remember these between calls (roaming.ocpi.known_partners), so every write,
    however it is made through the ORM, tells them to forget: not business logic, only keeping
    that copy true. Raw SQL must call `partners_changed()` itself."""

    objects = PartnerAccessQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        partners_changed()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        deleted = super().delete(*args, **kwargs)
        partners_changed()
        return deleted


class Partner(PartnerAccessModel):
    """One connection to another OCPI platform; a hub carries many roles on one connection."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=PartnerKind.choices, default=PartnerKind.OCPI)
    state = models.CharField(
        max_length=15, choices=PartnerState.choices, default=PartnerState.INVITED
    )
    versions_url = models.URLField(max_length=500, blank=True)
    version = models.CharField(max_length=10, blank=True, help_text="Negotiated OCPI version")
    # {module identifier: {"SENDER"|"RECEIVER": url}} from the partner's version details.
    endpoints = models.JSONField(default=dict, blank=True)
    # Token the partner presents to us (our token B, or the one-time token A of an invite).
    inbound_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    inbound_token_is_a = models.BooleanField(default=False)
    # Token we present to the partner (their token C), encrypted at rest.
    outbound_token_encrypted = models.TextField(blank=True)
    raw_token_header = models.BooleanField(
        default=False, help_text="Send the token unencoded (some 2.1.1/2.2 peers expect this)"
    )
    # Open feeds: the locations URL and an optional header, the value encrypted.
    locations_url = models.URLField(max_length=500, blank=True)
    feed_header_name = models.CharField(max_length=100, blank=True)
    feed_header_value_encrypted = models.TextField(blank=True)
    republish = models.BooleanField(
        default=False,
        help_text="Include its stations (those it publishes to everyone) in our public open "
        "locations feed. Only where its terms allow re-publication.",
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def outbound_token(self) -> str:
        return secret_decrypt(self.outbound_token_encrypted)

    @outbound_token.setter
    def outbound_token(self, value: str) -> None:
        self.outbound_token_encrypted = secret_encrypt(value)

    @property
    def feed_header_value(self) -> str:
        return secret_decrypt(self.feed_header_value_encrypted)

    @feed_header_value.setter
    def feed_header_value(self, value: str) -> None:
        self.feed_header_value_encrypted = secret_encrypt(value)

    def endpoint(self, module: str, role: str = "SENDER") -> str | None:
        return (self.endpoints.get(module) or {}).get(role)


class PartnerRole(PartnerAccessModel):
    """A country_code/party_id the partner speaks for; only its owner may write its objects."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=10)
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    business_name = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["country_code", "party_id", "role"], name="unique_partner_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.country_code}*{self.party_id} ({self.role})"


class OutboundCall(models.Model):
    """One HTTP call we made to a partner: what, how it went, how long it took."""

    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="calls", null=True, blank=True
    )
    module = models.CharField(max_length=30)
    method = models.CharField(max_length=7)
    url = models.CharField(max_length=500)
    http_status = models.PositiveSmallIntegerField(null=True)
    duration_ms = models.PositiveIntegerField()
    error = models.TextField(blank=True)
    request_id = models.CharField(max_length=36)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["partner", "-created_at"], name="outbound_call_recent")]

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.http_status or self.error}"


class SyncKind(models.TextChoices):
    FULL = "full", "Full pull"
    DELTA = "delta", "Delta pull"


class SyncState(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class SyncRun(models.Model):
    """One pull of a partner's locations and tariffs, with what it changed and what it skipped."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=5, choices=SyncKind.choices)
    state = models.CharField(max_length=9, choices=SyncState.choices, default=SyncState.RUNNING)
    since = models.DateTimeField(null=True, blank=True, help_text="date_from of a delta pull")
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    received = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    skipped_stale = models.PositiveIntegerField(default=0)
    hidden = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    # The first invalid objects: [{"object_id": ..., "reason": ...}].
    invalid_objects = models.JSONField(default=list, blank=True)
    # What went wrong without failing the pull (a partner's Link we did not follow, say).
    warnings = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["partner", "state", "-started_at"], name="sync_run_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["partner"],
                condition=models.Q(state="running"),
                name="one_running_sync_per_partner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner} {self.kind} sync at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
