"""The sandbox's made-up stations and tariffs as catalogue records, without running the CPO:
what `catalogue_demo` loads, what the search benchmark searches, and dense areas for tests.

The generator's OCPI objects are read by Plugway's OCPI 2.2.1 adapter, exactly as those of a
pulled partner with a commands endpoint (so they can be started remotely): a demo station is one
a partner could have sent. With `sandbox_connect`, this is the only sandbox module that imports
Plugway's own code beyond the wire schemas; the CPO never imports it.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from locator.catalogue import LocationRecord, TariffRecord
from roaming.adapters import adapter_for
from roaming.adapters.base import RoamingAdapter
from roaming.models import Partner
from sandbox.tariffs import tariffs_generate


def _adapter() -> RoamingAdapter:
    # Never saved: only the parts of a partner that reading a location looks at.
    partner = Partner(
        name="Sandbox demo",
        version="2.2.1",
        endpoints={"commands": {"RECEIVER": "http://sandbox.invalid/ocpi/2.2.1/commands"}},
    )
    return adapter_for(partner)


def demo_tariffs(*, country_code: str, party_id: str) -> list[TariffRecord]:
    """The sandbox's tariffs, which the generated connectors point at."""
    adapter = _adapter()
    return [
        adapter.tariff_parse(tariff)
        for tariff in tariffs_generate(country_code=country_code, party_id=party_id)
    ]


def demo_locations(locations: Iterable[dict[str, Any]]) -> Iterator[LocationRecord]:
    """Generated stations (`sandbox.stations.locations_generate`) as records, one at a time."""
    adapter = _adapter()
    for location in locations:
        yield adapter.location_parse(location)
