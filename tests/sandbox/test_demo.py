"""`manage.py catalogue_demo`: the sandbox's stations in the catalogue, without a sandbox CPO."""

from io import StringIO

import pytest
from django.core.management import call_command

from locator.models import Connector, Location, Tariff

pytestmark = pytest.mark.django_db


def test_demo_stations_can_be_started_and_their_tariffs_are_there() -> None:
    out = StringIO()
    call_command("catalogue_demo", "--locations", "40", stdout=out)
    assert "40 demo stations written" in out.getvalue()
    stations = Location.objects.filter(source="demo", hidden=False)
    assert stations.count() == 40
    assert all(station.remote_start for station in stations)
    assert len({station.city for station in stations}) > 5
    wanted = {
        tariff_id
        for ids in Connector.objects.values_list("tariff_ids", flat=True)
        for tariff_id in ids
    }
    assert wanted
    assert wanted <= set(Tariff.objects.filter(source="demo").values_list("ocpi_id", flat=True))
