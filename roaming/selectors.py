"""Roaming reads: which partners are due a pull, how each feed is doing."""

from datetime import datetime, timedelta

from django.core.cache import cache

from locator.models import Location, Tariff
from roaming.models import Partner, PartnerState, SyncKind, SyncRun, SyncState


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
    """Whether the partner registered this country_code/party_id (only it may write there)."""
    return partner.roles.filter(
        country_code=country_code.upper(), party_id=party_id.upper()
    ).exists()


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
