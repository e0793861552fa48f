"""Roaming reads: which partners are due a pull, how each feed is doing."""

from datetime import datetime, timedelta

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
