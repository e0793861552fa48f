"""The rules every catalogue write keeps: what a stored row holds, and the aggregates.

- Identity is (source, country_code, party_id, id); `source` names the feed or partner.
- Ordering: a record whose `last_updated` is older than what we hold is ignored (counted as
  `skipped_stale`); equal timestamps rewrite, so a repeated PUT is harmless.
- A child write (EVSE, connector) bumps its parents' `last_updated` to at least its own.
- Visibility: a station shows when `publish` is true, it was not hidden by a full pull, and it
  has at least one EVSE not `REMOVED`. A station with a `publish_allowed_to` list is
  `restricted` instead of `visible` (whatever `publish` says): only the drivers the list names
  see it (locator.audience), never the public, the cluster grid or an open-data feed.
- Aggregates (counts per connector standard, availability, out of order, max kW, status time,
  tariff) are
  rewritten in the writing transaction, so readers never aggregate EVSEs; the cluster grid
  follows (see grid_refresh).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from locator.catalogue import bulk
from locator.catalogue.records import standard_bit
from locator.models import Connector, Evse, Location

Identity = tuple[str, str, str]  # (COUNTRY_CODE, PARTY_ID, id) within a source

LOCATION_FIELDS = (
    "name",
    "address",
    "city",
    "postal_code",
    "state",
    "country",
    "lat",
    "lon",
    "time_zone",
    "opening_times",
    "twentyfourseven",
    "charging_when_closed",
    "facilities",
    "operator_name",
    "parking_type",
    "directions",
    "publish",
    "publish_allowed_to",
    "remote_start",
    "last_updated",
)
AGGREGATE_FIELDS = (
    "visible",
    "restricted",
    "evse_count",
    "available_count",
    "out_of_order_count",
    "max_power_kw",
    "standards_mask",
    "available_mask",
    "connector_counts",
    "status_at",
    "tariff_id",
    "tariff_ids",
)
EVSE_FIELDS = (
    "evse_id",
    "status",
    "status_changed_at",
    "capabilities",
    "floor_level",
    "physical_reference",
    "parking_restrictions",
    "last_updated",
)
CONNECTOR_FIELDS = (
    "standard",
    "format",
    "power_type",
    "max_voltage",
    "max_amperage",
    "max_electric_power",
    "tariff_ids",
    "terms_and_conditions",
)
OUT_OF_ORDER = frozenset({"OUTOFORDER", "INOPERATIVE"})
# What decides a station's place on the cluster grid.
GRID_FIELDS = ("visible", "available_count", "standards_mask", "available_mask", "max_power_kw")


class _ConnectorFacts(Protocol):
    """What aggregates read of a connector: a ConnectorRecord, or a stored row's values."""

    @property
    def standard(self) -> str: ...
    @property
    def power_kw(self) -> float: ...
    @property
    def tariff_ids(self) -> Sequence[str]: ...


class _EvseFacts(Protocol):
    """What aggregates read of an EVSE: an EvseRecord, or a stored row's values."""

    @property
    def status(self) -> str: ...
    @property
    def last_updated(self) -> datetime: ...
    @property
    def connectors(self) -> Sequence[_ConnectorFacts]: ...


class _StoredConnector(NamedTuple):
    standard: str
    power_kw: float
    tariff_ids: list[str]


@dataclass(slots=True)
class _StoredEvse:
    status: str
    last_updated: datetime
    connectors: list[_StoredConnector] = field(default_factory=list)


def aggregates(
    evses: Iterable[_EvseFacts], *, publish: bool, limited: bool, hidden: bool
) -> dict[str, Any]:
    """A station's AGGREGATE_FIELDS from its EVSEs (records or stored rows); `limited`: its
    publication is limited to the tokens its `publish_allowed_to` names."""
    counts: dict[str, dict[str, int]] = {}
    evse_count = available = out_of_order = 0
    max_kw = 0.0
    mask = available_mask = 0
    status_at: datetime | None = None
    tariff_id = ""
    tariff_ids: set[str] = set()
    for evse in evses:
        if evse.status == "REMOVED":
            continue
        evse_count += 1
        is_available = evse.status == "AVAILABLE"
        available += is_available
        out_of_order += evse.status in OUT_OF_ORDER
        status_at = max(status_at, evse.last_updated) if status_at else evse.last_updated
        for standard in {c.standard for c in evse.connectors}:
            entry = counts.setdefault(standard, {"total": 0, "available": 0})
            entry["total"] += 1
            entry["available"] += is_available
            mask |= standard_bit(standard)
            if is_available:
                available_mask |= standard_bit(standard)
        for connector in evse.connectors:
            tariff_ids.update(connector.tariff_ids[:1])
            # The price hint is the fastest connector's first tariff.
            kw = connector.power_kw
            if kw > max_kw or (kw == max_kw and not tariff_id):
                max_kw = kw
                tariff_id = connector.tariff_ids[0] if connector.tariff_ids else tariff_id
    return {
        "visible": publish and not limited and not hidden and evse_count > 0,
        "restricted": limited and not hidden and evse_count > 0,
        "evse_count": evse_count,
        "available_count": available,
        "out_of_order_count": out_of_order,
        "max_power_kw": round(max_kw, 1),
        "standards_mask": mask,
        "available_mask": available_mask,
        "connector_counts": counts,
        "status_at": status_at,
        "tariff_id": tariff_id,
        "tariff_ids": sorted(tariff_ids),
    }


def recompute(location_ids: Iterable[int], bump: dict[int, datetime] | None = None) -> set[int]:
    """Rewrite the aggregates of these stations from their EVSE rows; return the grid cells
    whose clusters change.

    `bump` moves stations' `last_updated` forward (never back) to a child's timestamp."""
    bump = bump or {}
    ids = sorted(set(location_ids))
    if not ids:
        return set()
    facts: dict[int, dict[int, _StoredEvse]] = defaultdict(dict)
    for evse_id, location_id, status, updated in Evse.objects.filter(
        location_id__in=ids
    ).values_list("id", "location_id", "status", "last_updated"):
        facts[location_id][evse_id] = _StoredEvse(status, updated)
    # Connectors by the EVSE ids just read: an index lookup whatever the table statistics say
    # (a join on location_id was planned as a full scan right after a bulk load).
    location_of = {
        evse_id: location_id for location_id, evses in facts.items() for evse_id in evses
    }
    for evse_id, standard, kw, tariff_ids in Connector.objects.filter(
        evse_id__in=list(location_of)
    ).values_list("evse_id", "standard", "power_kw", "tariff_ids"):
        facts[location_of[evse_id]][evse_id].connectors.append(
            _StoredConnector(standard, kw, tariff_ids or [])
        )
    locations = list(
        Location.objects.filter(id__in=ids).only(
            "id", "publish", "publish_allowed_to", "hidden", "cell", "last_updated", *GRID_FIELDS
        )
    )
    cells: set[int] = set()
    for location in locations:
        before = _grid_facts(location)
        values = aggregates(
            facts[location.id].values(),
            publish=location.publish,
            limited=bool(location.publish_allowed_to),
            hidden=location.hidden,
        )
        for name, value in values.items():
            setattr(location, name, value)
        if location.id in bump:
            location.last_updated = max(location.last_updated, bump[location.id])
        if _grid_facts(location) != before:
            cells.add(location.cell)
    bulk.update(locations, [*AGGREGATE_FIELDS, "last_updated"])
    # Only stations whose clusters would change cost a grid refresh (most status changes
    # between two busy states do not).
    return cells


def _grid_facts(location: Location) -> tuple[Any, ...]:
    return (
        location.visible,
        location.available_count > 0,
        location.standards_mask,
        location.available_mask,
        location.max_power_kw,
    )


def identity_lookup(
    source: str, country_code: str, party_id: str, object_id: str
) -> dict[str, str]:
    """The filter finding one stored Location or Tariff by its identity."""
    return {
        "source": source,
        "country_code": country_code.upper(),
        "party_id": party_id.upper(),
        "ocpi_id": object_id,
    }


def parent_touch(location: Location, last_updated: datetime) -> None:
    """A child written at `last_updated` moves its station's `last_updated` forward to it."""
    if last_updated > location.last_updated:
        location.last_updated = last_updated
        Location.objects.filter(id=location.id).update(last_updated=last_updated)
