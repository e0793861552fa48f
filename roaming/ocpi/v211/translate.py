"""OCPI 2.1.1 objects moved into 2.2.1's shape, and back.

The 2.1.1 adapter validates what a 2.1.1 peer sent against the 2.1.1 schemas, moves it into
2.2.1's shape here and reads it as 2.2.1 (so each object is read into our records in one place,
whatever the version); what we send or serve is rendered as 2.2.1 and moved back here.

What 2.1.1 does not say is supplied: the owner (a 2.1.1 partner is one party: the one in its
credentials), `publish: true` (2.1.1 has no restricted publication), the driver's token as
ours with `auth_id` as its uid (we give our tokens' uid as their `auth_id`), a Location's time
zone as UTC when the CPO gives none.
"""

from typing import Any

from django.conf import settings

from roaming.ocpi.v221.reading import invalid

# 2.1.1 LocationType -> 2.2.1 ParkingType (OTHER and UNKNOWN have none).
PARKING_TYPES = {"ON_STREET", "PARKING_GARAGE", "UNDERGROUND_GARAGE", "PARKING_LOT"}
# 2.1.1 dimensions 2.2.1 does not have: FLAT (a flat fee is a tariff's, not a measured volume).
DIMENSIONS_DROPPED = {"FLAT"}
OWNER = ("country_code", "party_id")


def without(data: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in data.items() if key not in names}


def connector_221(connector: dict[str, Any]) -> dict[str, Any]:
    moved = without(connector, "voltage", "amperage", "tariff_id")
    moved["max_voltage"] = connector["voltage"]
    moved["max_amperage"] = connector["amperage"]
    if connector.get("tariff_id"):
        moved["tariff_ids"] = [connector["tariff_id"]]
    return moved


def evse_221(evse: dict[str, Any]) -> dict[str, Any]:
    return {**evse, "connectors": [connector_221(item) for item in evse.get("connectors", [])]}


def location_221(location: dict[str, Any], owner: dict[str, str]) -> dict[str, Any]:
    moved = without(location, "type")
    moved.update(owner, publish=True, evses=[evse_221(item) for item in location.get("evses", [])])
    moved.setdefault("time_zone", "UTC")
    if location["type"] in PARKING_TYPES:
        moved["parking_type"] = location["type"]
    return moved


def tariff_221(tariff: dict[str, Any], owner: dict[str, str]) -> dict[str, Any]:
    return {**tariff, **owner}


def periods_221(periods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    moved = []
    for period in periods:
        dimensions = [d for d in period["dimensions"] if d["type"] not in DIMENSIONS_DROPPED]
        if dimensions:
            moved.append({**period, "dimensions": dimensions})
    return moved


def place(location: dict[str, Any], what: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The EVSE and connector a 2.1.1 Session or CDR was at: the one its Location holds."""
    evses = location.get("evses") or []
    if not evses or not evses[0].get("connectors"):
        raise invalid(what, "location must hold the EVSE and connector charged at")
    return evses[0], evses[0]["connectors"][0]


def our_token(auth_id: str) -> dict[str, str]:
    return {
        "country_code": settings.OCPI_COUNTRY_CODE,
        "party_id": settings.OCPI_PARTY_ID,
        "uid": auth_id,
        "type": "OTHER",  # 2.1.1 does not say; we only match on the uid
        "contract_id": auth_id,
    }


def session_221(session: dict[str, Any], owner: dict[str, str]) -> dict[str, Any]:
    evse, connector = place(session["location"], "session")
    moved = without(session, "start_datetime", "end_datetime", "auth_id", "location", "total_cost")
    moved.update(
        owner,
        start_date_time=session["start_datetime"],
        cdr_token=our_token(session["auth_id"]),
        location_id=session["location"]["id"],
        evse_uid=evse["uid"],
        connector_id=connector["id"],
        charging_periods=periods_221(session.get("charging_periods", [])),
    )
    return {**moved, **session_changes_221(session)}


def session_changes_221(session: dict[str, Any]) -> dict[str, Any]:
    """The fields a 2.1.1 Session or Session PATCH names differently."""
    moved: dict[str, Any] = {}
    if session.get("end_datetime") is not None:
        moved["end_date_time"] = session["end_datetime"]
    if session.get("total_cost") is not None:
        moved["total_cost"] = {"excl_vat": session["total_cost"]}
    return moved


def session_patch_221(patch: dict[str, Any], received_at: str) -> dict[str, Any]:
    moved = without(patch, "end_datetime", "total_cost")
    moved.setdefault("last_updated", received_at)
    if "charging_periods" in patch:
        moved["charging_periods"] = periods_221(patch["charging_periods"])
    return {**moved, **session_changes_221(patch)}


def cdr_221(cdr: dict[str, Any], owner: dict[str, str]) -> dict[str, Any]:
    location = cdr["location"]
    evse, connector = place(location, "CDR")
    moved = without(cdr, "stop_date_time", "auth_id", "location", "total_cost", "tariffs")
    moved.update(
        owner,
        end_date_time=cdr["stop_date_time"],
        cdr_token=our_token(cdr["auth_id"]),
        cdr_location={
            **{
                key: location[key]
                for key in ("id", "name", "address", "city", "postal_code", "country")
                if key in location
            },
            "coordinates": location["coordinates"],
            "evse_uid": evse["uid"],
            "evse_id": evse.get("evse_id") or evse["uid"],
            "connector_id": connector["id"],
            "connector_standard": connector["standard"],
            "connector_format": connector["format"],
            "connector_power_type": connector["power_type"],
        },
        total_cost={"excl_vat": cdr["total_cost"]},
        tariffs=[tariff_221(item, owner) for item in cdr.get("tariffs", [])],
        charging_periods=periods_221(cdr["charging_periods"]),
    )
    return moved


# --- ours, rendered as 2.2.1, in 2.1.1's shape ---------------------------------------------------


def connector_211(connector: dict[str, Any]) -> dict[str, Any]:
    moved = without(connector, "max_voltage", "max_amperage", "max_electric_power", "tariff_ids")
    moved.update(voltage=connector["max_voltage"], amperage=connector["max_amperage"])
    if connector.get("tariff_ids"):
        moved["tariff_id"] = connector["tariff_ids"][0]
    return moved


def location_211(location: dict[str, Any]) -> dict[str, Any]:
    moved = without(location, *OWNER, "publish", "publish_allowed_to", "parking_type", "state")
    parking = location.get("parking_type", "")
    moved["type"] = parking if parking in PARKING_TYPES else ("OTHER" if parking else "UNKNOWN")
    moved.setdefault("postal_code", "")
    moved["evses"] = [
        {**evse, "connectors": [connector_211(item) for item in evse["connectors"]]}
        for evse in location.get("evses", [])
    ]
    return moved


def tariff_211(tariff: dict[str, Any]) -> dict[str, Any]:
    return without(
        tariff, *OWNER, "type", "min_price", "max_price", "start_date_time", "end_date_time"
    )
