"""Charging on a partner's network: the driver's OCPI token, the charging session and its
timeline, the commands we send for it, and the operator's charge detail records (CDRs).

Money is an integer in minor units plus an ISO 4217 currency (upper case, as OCPI has it);
the payments app is told the lower-case form Stripe uses. A session is reached in URLs only by
its random `public_id`, never by its primary key.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from roaming.models.partners import Partner


class DriverToken(models.Model):
    """The OCPI token (type APP_USER) that identifies one driver on every partner network.

    Issued once the driver has a usable card; `valid` goes false (with `blocked_reason`) when
    the card goes or a payment fails, and true again when that is put right. Partners learn of
    every change by a push (PUT) and may pull the list or ask us to authorize in real time.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="driver_token"
    )
    uid = models.CharField(max_length=36, unique=True)
    # eMA-ID, e.g. "NL-PLW-C12345678-9" (ISO 15118 / eMI3: country, provider, instance, check).
    contract_id = models.CharField(max_length=36, unique=True)
    valid = models.BooleanField(default=True)
    blocked_reason = models.CharField(max_length=200, blank=True)
    last_updated = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["last_updated", "id"], name="driver_token_updated")]

    def __str__(self) -> str:
        return f"{self.contract_id} ({'valid' if self.valid else 'blocked'})"


class SessionState(models.TextChoices):
    REQUESTED = "requested", pgettext_lazy("charge", "Starting")
    ACCEPTED = "accepted", pgettext_lazy("charge", "Accepted by the charger")
    ACTIVE = "active", pgettext_lazy("charge", "Charging")
    STOPPING = "stopping", pgettext_lazy("charge", "Stopping")
    COMPLETED = "completed", pgettext_lazy("charge", "Completed")
    REJECTED = "rejected", pgettext_lazy("charge", "Refused")
    FAILED = "failed", pgettext_lazy("charge", "Failed")
    TIMED_OUT = "timed_out", pgettext_lazy("charge", "No answer from the charger")
    CANCELLED = "cancelled", pgettext_lazy("charge", "Cancelled")


# Where each state may go next. A session the partner reports after a timeout (or a rejection
# the charger overruled) is followed to stop it and bill it, hence the ways back from those ends.
SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SessionState.REQUESTED: frozenset(
        {
            SessionState.ACCEPTED,
            SessionState.ACTIVE,
            SessionState.REJECTED,
            SessionState.FAILED,
            SessionState.TIMED_OUT,
            SessionState.CANCELLED,
        }
    ),
    SessionState.ACCEPTED: frozenset(
        {
            SessionState.ACTIVE,
            SessionState.STOPPING,
            SessionState.COMPLETED,
            SessionState.FAILED,
            SessionState.TIMED_OUT,
            SessionState.CANCELLED,
        }
    ),
    SessionState.ACTIVE: frozenset({SessionState.STOPPING, SessionState.COMPLETED}),
    SessionState.STOPPING: frozenset({SessionState.ACTIVE, SessionState.COMPLETED}),
    SessionState.COMPLETED: frozenset(),
    SessionState.REJECTED: frozenset({SessionState.ACTIVE, SessionState.COMPLETED}),
    SessionState.FAILED: frozenset({SessionState.ACTIVE, SessionState.COMPLETED}),
    SessionState.TIMED_OUT: frozenset({SessionState.ACTIVE, SessionState.COMPLETED}),
    SessionState.CANCELLED: frozenset({SessionState.ACTIVE, SessionState.COMPLETED}),
}
# States in which a driver has a charge under way (at most one per driver).
LIVE_STATES = (
    SessionState.REQUESTED,
    SessionState.ACCEPTED,
    SessionState.ACTIVE,
    SessionState.STOPPING,
)
ENDED_WITHOUT_CHARGE = (
    SessionState.REJECTED,
    SessionState.FAILED,
    SessionState.TIMED_OUT,
    SessionState.CANCELLED,
)


class ChargingSession(models.Model):
    """One charge of one driver on one partner EVSE, from the Start press to the receipt.

    What the driver charged at is copied from the catalogue when the session is made (the
    station may change or vanish later; the receipt must not). The partner's own session id
    arrives with its first Session PUT; `authorization_reference` is ours, sent with
    START_SESSION so a late or charger-started session can be matched.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="charging_sessions"
    )
    token = models.ForeignKey(DriverToken, on_delete=models.PROTECT, related_name="sessions")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="sessions")
    state = models.CharField(
        max_length=10, choices=SessionState.choices, default=SessionState.REQUESTED
    )
    state_message = models.CharField(
        max_length=300, blank=True, help_text="Why it ended as it did, in words for the driver."
    )
    authorization_reference = models.CharField(max_length=36, unique=True)
    # The partner's Session: its owner and id, once reported.
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    ocpi_session_id = models.CharField(max_length=36, blank=True)
    last_updated = models.DateTimeField(
        null=True, blank=True, help_text="The partner's last_updated of the Session we hold."
    )
    # Where: the catalogue's EVSE (if it still exists) and a copy for the receipt.
    evse = models.ForeignKey(
        "locator.Evse", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    location_ocpi_id = models.CharField(max_length=36)
    evse_uid = models.CharField(max_length=36)
    evse_label = models.CharField(max_length=48, blank=True, help_text="EVSE id as printed.")
    connector_id = models.CharField(max_length=36, blank=True)
    location_name = models.CharField(max_length=255, blank=True)
    location_address = models.CharField(max_length=255, blank=True)
    operator_name = models.CharField(max_length=100, blank=True)
    tariff_id = models.CharField(max_length=36, blank=True)
    language = models.CharField(
        max_length=8,
        default=settings.LANGUAGE_CODE,
        help_text="The driver's language when the charge began: the receipt email's.",
    )
    # Progress as the partner reports it.
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    kwh = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    power_kw = models.DecimalField(max_digits=10, decimal_places=3, default=0)
    currency = models.CharField(max_length=3)
    estimate = models.PositiveIntegerField(help_text="Estimated typical charge held on the card.")
    running_cost = models.PositiveIntegerField(
        default=0, help_text="Cost so far incl. VAT as the partner reports it, minor units."
    )
    charging_periods = models.JSONField(default=list, blank=True)
    # Money: the hold placed before START (payments.Payment of kind hold).
    payment = models.OneToOneField(
        "payments.Payment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="charging_session",
    )
    needs_attention = models.CharField(
        max_length=200, blank=True, help_text="Set when an admin must look (no CDR, mismatch)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(state__in=LIVE_STATES),
                name="one_live_session_per_driver",
            ),
            models.UniqueConstraint(
                fields=["country_code", "party_id", "ocpi_session_id"],
                condition=~Q(ocpi_session_id=""),
                name="unique_partner_session_id",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="session_driver_recent"),
            models.Index(fields=["state", "created_at"], name="session_state_age"),
        ]

    def __str__(self) -> str:
        return f"Session {self.public_id} ({self.get_state_display()})"

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES


class SessionEvent(models.Model):
    """One step of a session's timeline: a state change, a command, a payment, with its cause."""

    session = models.ForeignKey(ChargingSession, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=10, blank=True)
    to_state = models.CharField(max_length=10, blank=True)
    cause = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        move = f"{self.from_state} → {self.to_state}: " if self.to_state else ""
        return f"{move}{self.cause}"


class SessionSample(models.Model):
    """What the partner reported at one moment, for the live chart of power and energy."""

    session = models.ForeignKey(ChargingSession, on_delete=models.CASCADE, related_name="samples")
    at = models.DateTimeField()
    kwh = models.DecimalField(max_digits=12, decimal_places=4)
    power_kw = models.DecimalField(max_digits=10, decimal_places=3)
    cost = models.PositiveIntegerField(help_text="Running cost incl. VAT, minor units.")

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "at"], name="one_sample_per_moment")
        ]

    def __str__(self) -> str:
        return f"{self.kwh} kWh at {self.power_kw} kW, {self.at:%H:%M:%S}"


class CommandType(models.TextChoices):
    START_SESSION = "START_SESSION", "Start"
    STOP_SESSION = "STOP_SESSION", "Stop"
    UNLOCK_CONNECTOR = "UNLOCK_CONNECTOR", "Unlock connector"


class Command(models.Model):
    """One command we sent to a partner, with its synchronous response and its later result.

    Its `public_id` is the last part of the unique `response_url` we give the partner, so a
    CommandResult can only land on the command it belongs to.
    """

    class Status(models.TextChoices):
        SENDING = "sending", "Being sent"
        WAITING = "waiting", "Accepted, waiting for the result"
        SUCCEEDED = "succeeded", "Succeeded"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Could not be sent"
        TIMED_OUT = "timed_out", "No result in time"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="commands")
    session = models.ForeignKey(
        ChargingSession, null=True, blank=True, on_delete=models.CASCADE, related_name="commands"
    )
    type = models.CharField(max_length=20, choices=CommandType.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENDING)
    # What the partner said: CommandResponse.result at once, CommandResult.result later.
    response = models.CharField(max_length=20, blank=True)
    result = models.CharField(max_length=24, blank=True)
    message = models.CharField(max_length=500, blank=True)
    # UNLOCK_CONNECTOR: where, and which admin asked.
    location_ocpi_id = models.CharField(max_length=36, blank=True)
    evse_uid = models.CharField(max_length=36, blank=True)
    connector_id = models.CharField(max_length=36, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)
    result_due_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["status", "result_due_at"], name="command_waiting")]

    def __str__(self) -> str:
        return f"{self.type} to {self.partner} ({self.get_status_display()})"


class ChargeDetailRecord(models.Model):
    """A CDR the partner POSTed (or we fetched), stored once per partner CDR id, and what we
    billed for it.

    `total_cost` is the partner's, incl. VAT, in minor units; `expected_cost` our own reckoning
    from the tariff and the CDR's periods; `amount` what we charge (cost plus our fee). A credit
    CDR (`credit`, negative cost) becomes a refund of the CDR it names.
    """

    class Billing(models.TextChoices):
        PENDING = "pending", "To bill"
        BILLED = "billed", "Billed"
        REFUNDED = "refunded", "Refunded (credit CDR)"
        REVIEW = "review", "Held for an admin"
        UNMATCHED = "unmatched", "No session of ours"
        RESOLVED = "resolved", "Resolved by an admin"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="cdrs")
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    cdr_id = models.CharField(max_length=39)
    session = models.ForeignKey(
        ChargingSession, null=True, blank=True, on_delete=models.PROTECT, related_name="cdrs"
    )
    payload = models.JSONField(help_text="The CDR as the partner sent it.")
    currency = models.CharField(max_length=3)
    total_cost = models.IntegerField(help_text="Incl. VAT, minor units; negative for a credit.")
    total_cost_excl_vat = models.IntegerField()
    total_energy = models.DecimalField(max_digits=12, decimal_places=4)
    total_time_hours = models.DecimalField(max_digits=10, decimal_places=4)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    credit = models.BooleanField(default=False)
    credit_reference_id = models.CharField(max_length=39, blank=True)
    expected_cost = models.IntegerField(null=True, blank=True)
    fee = models.PositiveIntegerField(default=0)
    amount = models.IntegerField(null=True, blank=True, help_text="What we charge, minor units.")
    billing = models.CharField(max_length=10, choices=Billing.choices, default=Billing.PENDING)
    billing_message = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["country_code", "party_id", "cdr_id"], name="unique_partner_cdr"
            )
        ]
        indexes = [models.Index(fields=["billing", "received_at"], name="cdr_billing")]

    def __str__(self) -> str:
        return f"CDR {self.country_code}*{self.party_id} {self.cdr_id}"


class BillingDifference(models.Model):
    """A difference the nightly billing reconciliation found between the partner's CDRs, ours
    and Stripe's captures (roaming.services.billing_reconcile), kept once per kind and subject
    until an admin marks it resolved."""

    class Kind(models.TextChoices):
        CDR_MISSING = "cdr_missing", "The partner lists a CDR we never received"
        UNBILLED = "unbilled", "A CDR of ours was never billed"
        NOT_CAPTURED = "not_captured", "Billed, but Stripe has no capture"
        AMOUNT_DIFFERS = "amount_differs", "Stripe captured another amount than we billed"
        CAPTURE_WITHOUT_CDR = "capture_without_cdr", "Stripe captured money no billed CDR explains"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    subject = models.CharField(
        max_length=200, help_text="What differs: a partner CDR id, our CDR, a Stripe charge."
    )
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.SET_NULL)
    cdr = models.ForeignKey(ChargeDetailRecord, null=True, blank=True, on_delete=models.SET_NULL)
    detail = models.CharField(max_length=500)
    found_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "subject"], name="unique_billing_difference")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"
