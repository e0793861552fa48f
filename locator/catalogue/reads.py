"""Our stored copy of a partner's object, as a record: what a partner's GET on our receiver
reads back (OCPI asks a receiver to answer with what it holds)."""

from locator.catalogue.records import ConnectorRecord, EvseRecord, LocationRecord, TariffRecord
from locator.models import Location, Tariff


def catalogue_location_get(
    *, source: str, country_code: str, party_id: str, location_id: str
) -> LocationRecord | None:
    """The Location we hold under this identity, with every EVSE (REMOVED ones too) and
    connector, or None."""
    location = (
        Location.objects.filter(
            source=source,
            country_code=country_code.upper(),
            party_id=party_id.upper(),
            ocpi_id=location_id,
        )
        .prefetch_related("evses__connectors")
        .first()
    )
    if location is None:
        return None
    return LocationRecord(
        country_code=location.country_code,
        party_id=location.party_id,
        id=location.ocpi_id,
        publish=location.publish,
        publish_allowed_to=tuple(location.publish_allowed_to or ()),
        name=location.name,
        address=location.address,
        city=location.city,
        postal_code=location.postal_code,
        state=location.state,
        country=location.country,
        latitude=location.lat,
        longitude=location.lon,
        parking_type=location.parking_type,
        evses=tuple(
            EvseRecord(
                uid=evse.uid,
                evse_id=evse.evse_id,
                status=evse.status,
                capabilities=tuple(evse.capabilities or ()),
                connectors=tuple(
                    ConnectorRecord(
                        id=connector.ocpi_id,
                        standard=connector.standard,
                        format=connector.format,
                        power_type=connector.power_type,
                        max_voltage=connector.max_voltage,
                        max_amperage=connector.max_amperage,
                        max_electric_power=connector.max_electric_power,
                        tariff_ids=tuple(connector.tariff_ids or ()),
                        terms_and_conditions=connector.terms_and_conditions,
                        last_updated=connector.last_updated,
                    )
                    for connector in evse.connectors.all()
                ),
                floor_level=evse.floor_level,
                physical_reference=evse.physical_reference,
                parking_restrictions=tuple(evse.parking_restrictions or ()),
                last_updated=evse.last_updated,
            )
            for evse in location.evses.all()
        ),
        directions=tuple(location.directions or ()),
        operator_name=location.operator_name,
        facilities=tuple(location.facilities or ()),
        time_zone=location.time_zone,
        opening_times=location.opening_times,
        charging_when_closed=location.charging_when_closed,
        remote_start=location.remote_start,
        last_updated=location.last_updated,
    )


def catalogue_tariff_get(
    *, source: str, country_code: str, party_id: str, tariff_id: str
) -> TariffRecord | None:
    """The Tariff we hold under this identity, or None."""
    tariff = Tariff.objects.filter(
        source=source,
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        ocpi_id=tariff_id,
    ).first()
    if tariff is None:
        return None
    return TariffRecord(
        country_code=tariff.country_code,
        party_id=tariff.party_id,
        id=tariff.ocpi_id,
        currency=tariff.currency,
        type=tariff.type,
        tariff_alt_text=tuple(tariff.tariff_alt_text or ()),
        tariff_alt_url=tariff.tariff_alt_url,
        min_price=tariff.min_price,
        max_price=tariff.max_price,
        elements=tuple(tariff.elements or ()),
        start_date_time=tariff.start_date_time,
        end_date_time=tariff.end_date_time,
        last_updated=tariff.last_updated,
    )
