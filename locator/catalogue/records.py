"""The catalogue's protocol-neutral vocabulary: what a feed or partner tells us about stations.

Roaming (OCPI 2.2.1 today, 2.1.1 / 2.3.0 later) parses wire payloads into these dataclasses and
hands them to `locator.catalogue`; nothing here knows about HTTP or OCPI versions. Field names
follow OCPI 2.2.1 because that is the richest shape we map from. Times are aware UTC datetimes.
Records are values: nothing changes one after it is built. They are not declared frozen only
because a pull builds about a million of them and a frozen dataclass takes a fifth longer to
build.

Connector standards are OCPI `ConnectorType` values. Each has a fixed bit so a station's
standards (and the standards it has available right now) fit in one integer column, which
search filters with a bitwise AND on the B-tree-selected rows instead of joining connectors.
"""

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_stubs_ext import StrOrPromise

# Order is storage: a standard's bit is its index here. Append only, never reorder.
# Labels in words are translated as they are shown; names of brands and norms are not.
CONNECTOR_STANDARDS: tuple[tuple[str, StrOrPromise], ...] = (
    ("CHADEMO", "CHAdeMO"),
    ("CHAOJI", "ChaoJi"),
    ("DOMESTIC_A", _("Household plug (A)")),
    ("DOMESTIC_B", _("Household plug (B)")),
    ("DOMESTIC_C", _("Household plug (C)")),
    ("DOMESTIC_D", _("Household plug (D)")),
    ("DOMESTIC_E", _("Household plug (E)")),
    ("DOMESTIC_F", "Schuko"),
    ("DOMESTIC_G", _("Household plug (G)")),
    ("DOMESTIC_H", _("Household plug (H)")),
    ("DOMESTIC_I", _("Household plug (I)")),
    ("DOMESTIC_J", _("Household plug (J)")),
    ("DOMESTIC_K", _("Household plug (K)")),
    ("DOMESTIC_L", _("Household plug (L)")),
    ("DOMESTIC_M", _("Household plug (M)")),
    ("DOMESTIC_N", _("Household plug (N)")),
    ("DOMESTIC_O", _("Household plug (O)")),
    ("GBT_AC", "GB/T AC"),
    ("GBT_DC", "GB/T DC"),
    ("IEC_60309_2_single_16", _("Blue CEE 16 A")),
    ("IEC_60309_2_three_16", _("Red CEE 16 A")),
    ("IEC_60309_2_three_32", _("Red CEE 32 A")),
    ("IEC_60309_2_three_64", _("Red CEE 64 A")),
    ("IEC_62196_T1", _("Type 1")),
    ("IEC_62196_T1_COMBO", "CCS1"),
    ("IEC_62196_T2", _("Type 2")),
    ("IEC_62196_T2_COMBO", "CCS"),
    ("IEC_62196_T3A", _("Type 3A")),
    ("IEC_62196_T3C", _("Type 3C")),
    ("NEMA_5_20", "NEMA 5-20"),
    ("NEMA_6_30", "NEMA 6-30"),
    ("NEMA_6_50", "NEMA 6-50"),
    ("NEMA_10_30", "NEMA 10-30"),
    ("NEMA_10_50", "NEMA 10-50"),
    ("NEMA_14_30", "NEMA 14-30"),
    ("NEMA_14_50", "NEMA 14-50"),
    ("PANTOGRAPH_BOTTOM_UP", _("Pantograph (bottom-up)")),
    ("PANTOGRAPH_TOP_DOWN", _("Pantograph (top-down)")),
    ("TESLA_R", "Tesla Roadster"),
    ("TESLA_S", "Tesla"),
    ("MCS", "MCS"),
    ("SAE_J3400", "NACS"),
)
# OCPI 2.3.0 makes ConnectorType an open enum: a value we do not know yet is kept as sent and
# filed under this bit, so the station still shows and still counts.
OTHER_STANDARD_BIT = 62
STANDARD_BITS: dict[str, int] = {code: 1 << i for i, (code, _) in enumerate(CONNECTOR_STANDARDS)}
STANDARD_LABELS: dict[str, StrOrPromise] = dict(CONNECTOR_STANDARDS)

EVSE_STATUSES = (
    "AVAILABLE",
    "BLOCKED",
    "CHARGING",
    "INOPERATIVE",
    "OUTOFORDER",
    "PLANNED",
    "REMOVED",
    "RESERVED",
    "UNKNOWN",
)

STATUS_LABELS: dict[str, StrOrPromise] = {
    "AVAILABLE": pgettext_lazy("charge point status", "Available"),
    "BLOCKED": pgettext_lazy("charge point status", "Blocked"),
    "CHARGING": pgettext_lazy("charge point status", "In use"),
    "INOPERATIVE": pgettext_lazy("charge point status", "Not working"),
    "OUTOFORDER": pgettext_lazy("charge point status", "Out of order"),
    "PLANNED": pgettext_lazy("charge point status", "Coming soon"),
    "REMOVED": pgettext_lazy("charge point status", "Removed"),
    "RESERVED": pgettext_lazy("charge point status", "Reserved"),
    "UNKNOWN": pgettext_lazy("charge point status", "Status unknown"),
}


def standard_bit(standard: str) -> int:
    """The bit for a connector standard; unknown (newer) standards share the OTHER bit."""
    return STANDARD_BITS.get(standard, 1 << OTHER_STANDARD_BIT)


def standard_label(standard: str) -> str:
    """A connector type as drivers know it ("CCS", "Type 2"), or the raw code if new to us."""
    return str(STANDARD_LABELS.get(standard, standard.replace("_", " ")))


@dataclass(slots=True)
class ConnectorRecord:
    """One connector (OCPI Connector). `max_electric_power` is in W, as OCPI sends it."""

    id: str
    standard: str
    format: str
    power_type: str
    max_voltage: int
    max_amperage: int
    last_updated: datetime
    max_electric_power: int | None = None
    tariff_ids: tuple[str, ...] = ()
    terms_and_conditions: str = ""

    @property
    def power_kw(self) -> float:
        """Rated power; derived from volts and amps (x3 phases) when the feed leaves it out."""
        if self.max_electric_power:
            return self.max_electric_power / 1000
        phases = 3 if self.power_type == "AC_3_PHASE" else 1
        return self.max_voltage * self.max_amperage * phases / 1000


@dataclass(slots=True)
class EvseRecord:
    """One EVSE (OCPI EVSE) with all its connectors."""

    uid: str
    status: str
    last_updated: datetime
    connectors: tuple[ConnectorRecord, ...] = ()
    evse_id: str = ""
    capabilities: tuple[str, ...] = ()
    floor_level: str = ""
    physical_reference: str = ""
    parking_restrictions: tuple[str, ...] = ()


@dataclass(slots=True)
class LocationRecord:
    """One Location (OCPI Location), full object: a record replaces what we had (PUT).

    `remote_start` is ours, not OCPI's: the caller sets it when the source is a partner we can
    send START_SESSION to. `opening_times` and `directions` keep OCPI's JSON shape.
    """

    country_code: str
    party_id: str
    id: str
    address: str
    city: str
    country: str
    latitude: float
    longitude: float
    time_zone: str
    last_updated: datetime
    publish: bool = True
    name: str = ""
    postal_code: str = ""
    state: str = ""
    evses: tuple[EvseRecord, ...] = ()
    operator_name: str = ""
    parking_type: str = ""
    facilities: tuple[str, ...] = ()
    opening_times: dict[str, Any] | None = None
    charging_when_closed: bool = True
    directions: tuple[dict[str, str], ...] = ()
    publish_allowed_to: tuple[dict[str, str], ...] = ()
    remote_start: bool = False


@dataclass(slots=True)
class TariffRecord:
    """One Tariff (OCPI Tariff 2.2.1). Prices are decimals excl. VAT, as OCPI sends them;
    `elements`, `min_price`, `max_price` and `tariff_alt_text` keep OCPI's JSON shape."""

    country_code: str
    party_id: str
    id: str
    currency: str
    last_updated: datetime
    elements: tuple[dict[str, Any], ...] = ()
    type: str = ""
    tariff_alt_text: tuple[dict[str, str], ...] = ()
    tariff_alt_url: str = ""
    min_price: dict[str, float] | None = None
    max_price: dict[str, float] | None = None
    start_date_time: datetime | None = None
    end_date_time: datetime | None = None


@dataclass(slots=True)
class EvseStatusUpdate:
    """A status change for one EVSE, as a PATCH of `{status, last_updated}` brings it."""

    country_code: str
    party_id: str
    location_id: str
    evse_uid: str
    status: str
    last_updated: datetime


@dataclass(slots=True)
class UpsertResult:
    """What an upsert did: rows written, and rows skipped because ours were newer. A write of
    Locations also names the stations written (`location_ids`) and every station it was given
    (`identities`: COUNTRY_CODE, PARTY_ID, id)."""

    written: int = 0
    skipped_stale: int = 0
    location_ids: list[int] = field(default_factory=list)
    identities: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass(slots=True)
class Patch:
    """A partial update of one Location, EVSE or connector: when it was true, and the changed
    fields under the names of its record's fields (`latitude`, `operator_name`, ...), each of
    them patchable (see below)."""

    last_updated: datetime
    changes: dict[str, Any]


def _patchable(record: type, *, fixed: set[str]) -> frozenset[str]:
    """A record's fields a Patch may change: all but its identity, its children (each patched
    at its own level) and `last_updated` (the Patch's own)."""
    return frozenset(f.name for f in fields(record)) - fixed - {"last_updated"}


LOCATION_PATCHABLE = _patchable(LocationRecord, fixed={"country_code", "party_id", "id", "evses"})
EVSE_PATCHABLE = _patchable(EvseRecord, fixed={"uid", "connectors"})
CONNECTOR_PATCHABLE = _patchable(ConnectorRecord, fixed={"id"})
