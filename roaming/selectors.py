"""Roaming reads: which partners are due a pull, how each feed is doing, drivers' sessions."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import IntegrityError, transaction

from locator.models import Location, Tariff
from payments.selectors import billing_account_for_user
from roaming.errors import SessionError
from roaming.models import (
    LIVE_STATES,
    ChargingSession,
    DriverToken,
    Partner,
    PartnerRole,
    PartnerState,
    SyncKind,
    SyncRun,
    SyncState,
)


def partners_due_for_sync(
    *, now: datetime, delta_every: timedelta, full_every: timedelta
) -> list[tuple[int, bool]]:
    """(partner id, full?) for each connected partner whose next pull is due."""
    due = []
    for partner in Partner.objects.filter(state__in=[PartnerState.ACTIVE, PartnerState.DEGRADED]):
        runs = SyncRun.objects.filter(partner=partner).exclude(state=SyncState.RUNNING)
        last_full = (
            runs.filter(kind=SyncKind.FULL, state=SyncState.SUCCEEDED)
            .values_list("started_at", flat=True)
            .first()
        )
        last_any = runs.values_list("started_at", flat=True).first()
        # Spread nightly full pulls over the hour so partners are not all hit at once.
        splay = timedelta(minutes=partner.pk * 7 % 60)
        if last_full is None or now - last_full >= full_every + splay:
            due.append((partner.pk, True))
        elif last_any is None or now - last_any >= delta_every:
            due.append((partner.pk, False))
    return due


def partner_owns(*, partner: Partner, country_code: str, party_id: str) -> bool:
    """Whether the partner may write this country_code/party_id's objects: its own roles, and,
    for a hub (which in 2.2.1 names only itself), every party no other partner speaks for."""
    party = {"country_code": country_code.upper(), "party_id": party_id.upper()}
    roles = PartnerRole.objects.filter(**party)
    if roles.filter(partner=partner).exists():
        return True
    return partner.roles.filter(role="HUB").exists() and not roles.exists()


def stored_location(
    *, source: str, country_code: str, party_id: str, location_id: str
) -> Location | None:
    """Our copy of a partner's location, EVSEs and connectors prefetched, for receiver GETs."""
    return (
        Location.objects.filter(
            source=source,
            country_code=country_code.upper(),
            party_id=party_id.upper(),
            ocpi_id=location_id,
        )
        .prefetch_related("evses__connectors")
        .first()
    )


def stored_tariff(
    *, source: str, country_code: str, party_id: str, tariff_id: str
) -> Tariff | None:
    return Tariff.objects.filter(
        source=source,
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        ocpi_id=tariff_id,
    ).first()


def push_counts(*, partner_ids: list[int], now: datetime) -> dict[int, int]:
    """How many objects each partner pushed to us in the last hour (from per-minute counters)."""
    minute = int(now.timestamp() // 60)
    keys = {
        push_counter_key(pid, m): pid for pid in partner_ids for m in range(minute - 59, minute + 1)
    }
    counts = dict.fromkeys(partner_ids, 0)
    for key, value in cache.get_many(list(keys)).items():
        counts[keys[key]] += int(value)
    return counts


def push_counter_key(partner_id: int, minute: int) -> str:
    return f"roaming:pushes:{partner_id}:{minute}"


@dataclass(frozen=True)
class FeedHealth:
    partner: Partner
    verdict: str  # "ok", "stale", "failing", "off"
    last_success: SyncRun | None
    last_run: SyncRun | None
    pushes_last_hour: int
    received_by_hour: list[int]  # oldest first, one per hour


def feeds_health(*, now: datetime, stale_after: timedelta, hours: int = 24) -> list[FeedHealth]:
    """Every partner and feed with a verdict an operator can scan: failing first, then stale."""
    partners = list(Partner.objects.prefetch_related("roles").order_by("name"))
    pushes = push_counts(partner_ids=[p.pk for p in partners], now=now)
    since = now - timedelta(hours=hours)
    received: dict[int, list[int]] = {p.pk: [0] * hours for p in partners}
    for partner_id, started_at, count in SyncRun.objects.filter(started_at__gte=since).values_list(
        "partner_id", "started_at", "received"
    ):
        slot = min(hours - 1, int((started_at - since).total_seconds() // 3600))
        received[partner_id][slot] += count
    rows = []
    for partner in partners:
        runs = SyncRun.objects.filter(partner=partner).exclude(state=SyncState.RUNNING)
        last_run = runs.first()
        last_success = runs.filter(state=SyncState.SUCCEEDED).first()
        if partner.state in (
            PartnerState.DISABLED,
            PartnerState.UNREGISTERED,
            PartnerState.INVITED,
        ):
            verdict = "off"
        elif partner.state == PartnerState.DEGRADED or (
            last_run and last_run.state == SyncState.FAILED
        ):
            verdict = "failing"
        elif last_success is None or now - last_success.started_at > stale_after:
            verdict = "stale"
        else:
            verdict = "ok"
        rows.append(
            FeedHealth(
                partner, verdict, last_success, last_run, pushes[partner.pk], received[partner.pk]
            )
        )
    order = {"failing": 0, "stale": 1, "ok": 2, "off": 3}
    return sorted(rows, key=lambda row: (order[row.verdict], row.partner.name))


def partner_for_source(*, source: str) -> Partner | None:
    """The partner whose catalogue objects carry `source` (see `catalogue_source`)."""
    kind, _, pk = source.partition(":")
    if kind != "partner" or not pk.isdigit():
        return None
    return Partner.objects.filter(pk=int(pk)).first()


def driver_token_for_start(*, user: User) -> DriverToken:
    """The driver's OCPI token for a start: issued on first use once a card is saved.

    Raises SessionError `no_card` when the driver has no default card or the token is blocked.
    (Minimal stand-in until the tokens branch's selector of the same name is merged.)
    """
    billing = billing_account_for_user(user=user)
    if billing is None or billing.default_payment_method is None:
        raise SessionError(
            "Add a card in Payment methods before you start a charge.",
            code="no_card",
            http_status=402,
        )
    token = DriverToken.objects.filter(user=user).first()
    if token is None:
        uid = uuid.uuid4().hex[:16].upper()
        contract = (
            f"{settings.OCPI_COUNTRY_CODE}-{settings.OCPI_PARTY_ID}-C{secrets.token_hex(4).upper()}"
        )
        try:
            with transaction.atomic():
                token = DriverToken.objects.create(user=user, uid=uid, contract_id=contract)
        except IntegrityError:
            token = DriverToken.objects.get(user=user)
    if not token.valid:
        raise SessionError(
            token.blocked_reason or "Your charging token is blocked: check your card.",
            code="no_card",
            http_status=402,
        )
    return token


def session_for_driver(*, user: User, public_id: uuid.UUID | str) -> ChargingSession | None:
    """One of the driver's own sessions by its public id; None for anyone else's."""
    return (
        ChargingSession.objects.filter(user=user, public_id=public_id)
        .select_related("evse__location", "payment")
        .first()
    )


def session_live_for_driver(*, user: User) -> ChargingSession | None:
    return ChargingSession.objects.filter(user=user, state__in=LIVE_STATES).first()
