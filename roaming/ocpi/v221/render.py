"""Our stored objects in OCPI 2.2.1 shape: what a partner's GET on our receiver reads back.

Only the fields the catalogue keeps; empty ones are left out. Reached through the 2.2.1 adapter
(`location_render`, `tariff_render`).
"""

from typing import Any

from locator.catalogue import LocationRecord, TariffRecord
from roaming.ocpi.transport import ocpi_timestamp


def without_empty(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value not in (None, "", [], {})}


def identity(record: LocationRecord | TariffRecord) -> dict[str, str]:
    return {"country_code": record.country_code, "party_id": record.party_id, "id": record.id}


def location_wire(location: LocationRecord) -> dict[str, Any]:
    return without_empty(
        {
            **identity(location),
            "publish": location.publish,
            "publish_allowed_to": list(location.publish_allowed_to),
            "name": location.name,
            "address": location.address,
            "city": location.city,
            "postal_code": location.postal_code,
            "state": location.state,
            "country": location.country,
            "coordinates": {
                "latitude": f"{location.latitude:.6f}",
                "longitude": f"{location.longitude:.6f}",
            },
            "parking_type": location.parking_type,
            "evses": [
                without_empty(
                    {
                        "uid": evse.uid,
                        "evse_id": evse.evse_id,
                        "status": evse.status,
                        "capabilities": list(evse.capabilities),
                        "connectors": [
                            without_empty(
                                {
                                    "id": connector.id,
                                    "standard": connector.standard,
                                    "format": connector.format,
                                    "power_type": connector.power_type,
                                    "max_voltage": connector.max_voltage,
                                    "max_amperage": connector.max_amperage,
                                    "max_electric_power": connector.max_electric_power,
                                    "tariff_ids": list(connector.tariff_ids),
                                    "last_updated": ocpi_timestamp(connector.last_updated),
                                }
                            )
                            for connector in evse.connectors
                        ],
                        "floor_level": evse.floor_level,
                        "physical_reference": evse.physical_reference,
                        "parking_restrictions": list(evse.parking_restrictions),
                        "last_updated": ocpi_timestamp(evse.last_updated),
                    }
                )
                for evse in location.evses
            ],
            "directions": list(location.directions),
            "operator": {"name": location.operator_name} if location.operator_name else None,
            "facilities": list(location.facilities),
            "time_zone": location.time_zone,
            "opening_times": location.opening_times,
            "charging_when_closed": location.charging_when_closed,
            "last_updated": ocpi_timestamp(location.last_updated),
        }
    )


def tariff_wire(tariff: TariffRecord) -> dict[str, Any]:
    return without_empty(
        {
            **identity(tariff),
            "currency": tariff.currency,
            "type": tariff.type,
            "tariff_alt_text": list(tariff.tariff_alt_text),
            "tariff_alt_url": tariff.tariff_alt_url,
            "min_price": tariff.min_price,
            "max_price": tariff.max_price,
            "elements": list(tariff.elements),
            "start_date_time": ocpi_timestamp(tariff.start_date_time)
            if tariff.start_date_time
            else None,
            "end_date_time": ocpi_timestamp(tariff.end_date_time) if tariff.end_date_time else None,
            "last_updated": ocpi_timestamp(tariff.last_updated),
        }
    )
