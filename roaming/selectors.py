"""Roaming reads: which partners are due a pull, how each feed is doing."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from roaming.models import Partner, PartnerRole, PartnerState, SyncKind, SyncRun, SyncState
from roaming.push_counts import push_counts


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
