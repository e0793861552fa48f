"""The catalogue (locator.catalogue): the rules roaming relies on for pulls and pushes."""

import dataclasses

import pytest

from locator import grid
from locator.catalogue import (
    CatalogueError,
    EvseStatusUpdate,
    Patch,
    UnknownObjectError,
    catalogue_connector_patch,
    catalogue_connector_put,
    catalogue_evse_patch,
    catalogue_evse_put,
    catalogue_hide_missing,
    catalogue_location_patch,
    catalogue_locations_upsert,
    catalogue_tariff_delete,
    catalogue_tariffs_upsert,
)
from locator.catalogue.grid_refresh import rebuild
from locator.catalogue.statuses import evse_statuses_apply
from locator.models import ClusterCell, Connector, Evse, Location, Tariff
from tests.locator.conftest import SOURCE, T0, at, connector, evse, location

pytestmark = pytest.mark.django_db


def test_a_pulled_page_creates_stations_with_their_evses_and_aggregates() -> None:
    records = [
        location(
            "A",
            evses=(
                evse("A1", "AVAILABLE", connector("IEC_62196_T2_COMBO", 150, tariffs=("DC",))),
                evse(
                    "A2",
                    "CHARGING",
                    connector("IEC_62196_T2_COMBO", 150),
                    connector("CHADEMO", 50, cid="2"),
                ),
                evse("A3", "AVAILABLE", connector("IEC_62196_T2", 22)),
            ),
        ),
        location("B", lat=52.0, lon=5.0),
    ]
    result = catalogue_locations_upsert(source=SOURCE, records=records)
    assert result.written == 2
    station = Location.objects.get(ocpi_id="A")
    assert station.visible
    assert (station.evse_count, station.available_count, station.max_power_kw) == (3, 2, 150.0)
    assert station.connector_counts == {
        "IEC_62196_T2_COMBO": {"total": 2, "available": 1},
        "CHADEMO": {"total": 1, "available": 0},
        "IEC_62196_T2": {"total": 1, "available": 1},
    }
    assert station.tariff_id == "DC"
    assert Evse.objects.filter(location=station).count() == 3
    assert Connector.objects.filter(evse__location=station).count() == 4


def test_an_older_location_never_overwrites_a_newer_one(put) -> None:
    put(location("A", when=at(10), name="New name"))
    result = catalogue_locations_upsert(
        source=SOURCE, records=[location("A", when=at(5), name="Old name")]
    )
    assert result.skipped_stale == 1
    assert Location.objects.get(ocpi_id="A").name == "New name"


def test_a_repeated_put_with_the_same_timestamp_is_harmless(put) -> None:
    put(location("A"))
    put(location("A"))
    assert Location.objects.count() == 1
    assert Evse.objects.count() == 1
    assert Connector.objects.count() == 1


def test_the_newest_copy_in_one_batch_wins() -> None:
    catalogue_locations_upsert(
        source=SOURCE,
        records=[location("A", when=at(2), name="second"), location("A", when=at(1), name="first")],
    )
    assert Location.objects.get(ocpi_id="A").name == "second"


def test_same_identity_from_two_sources_are_two_stations(put) -> None:
    put(location("A"), source="partner:1")
    put(location("A"), source="partner:2")
    assert Location.objects.filter(ocpi_id="A").count() == 2


def test_an_evse_left_out_of_a_full_location_put_becomes_removed(put) -> None:
    put(location("A", evses=(evse("A1"), evse("A2"))))
    station = put(location("A", when=at(1), evses=(evse("A1", when=at(1)),)))
    assert Evse.objects.get(uid="A2").status == "REMOVED"
    assert station.evse_count == 1


def test_a_station_whose_evses_are_all_removed_is_hidden(put) -> None:
    station = put(location("A", evses=(evse("A1", "REMOVED"),)))
    assert not station.visible


def test_publish_false_hides_a_station(put) -> None:
    assert not put(location("A", publish=False)).visible


def test_a_connector_with_the_longest_terms_url_ocpi_allows_is_kept_whole() -> None:
    terms = "https://cpo.example/terms/" + "t" * 229  # string(255), the most OCPI allows
    plug = dataclasses.replace(connector(), terms_and_conditions=terms)
    catalogue_locations_upsert(
        source=SOURCE, records=[location("T", evses=(evse("T1", "AVAILABLE", plug),))]
    )
    assert Connector.objects.get(evse__uid="T1").terms_and_conditions == terms


def test_impossible_coordinates_are_refused_with_the_location_named() -> None:
    with pytest.raises(CatalogueError, match="Location BAD"):
        catalogue_locations_upsert(source=SOURCE, records=[location("BAD", lat=123.0)])
    assert not Location.objects.exists()


def test_location_patch_changes_fields_and_ignores_older_patches(put) -> None:
    put(location("A"))
    assert catalogue_location_patch(
        source=SOURCE,
        country_code="nl",
        party_id="plw",
        location_id="A",
        patch=Patch(last_updated=at(5), changes={"name": "Renamed"}),
    )
    assert not catalogue_location_patch(
        source=SOURCE,
        country_code="NL",
        party_id="PLW",
        location_id="A",
        patch=Patch(last_updated=at(1), changes={"name": "Stale"}),
    )
    assert Location.objects.get(ocpi_id="A").name == "Renamed"


def test_patching_an_unknown_location_says_put_it_first() -> None:
    with pytest.raises(UnknownObjectError, match="PUT the location first"):
        catalogue_location_patch(
            source=SOURCE,
            country_code="NL",
            party_id="PLW",
            location_id="NOPE",
            patch=Patch(last_updated=at(1), changes={}),
        )


def test_patching_a_field_that_cannot_be_patched_is_refused(put) -> None:
    put(location("A"))
    with pytest.raises(CatalogueError, match="cannot be patched"):
        catalogue_location_patch(
            source=SOURCE,
            country_code="NL",
            party_id="PLW",
            location_id="A",
            patch=Patch(last_updated=at(1), changes={"evses": []}),
        )


def test_evse_status_patch_updates_availability_and_bumps_the_location(put) -> None:
    put(location("A", evses=(evse("A1", "CHARGING"),)))
    assert catalogue_evse_patch(
        source=SOURCE,
        country_code="NL",
        party_id="PLW",
        location_id="A",
        evse_uid="A1",
        patch=Patch(last_updated=at(3), changes={"status": "AVAILABLE"}),
    )
    station = Location.objects.get(ocpi_id="A")
    assert station.available_count == 1
    assert station.last_updated == at(3)
    assert Evse.objects.get(uid="A1").status_changed_at == at(3)


def test_an_older_evse_patch_is_ignored(put) -> None:
    put(location("A", when=at(10), evses=(evse("A1", "CHARGING", when=at(10)),)))
    applied = catalogue_evse_patch(
        source=SOURCE,
        country_code="NL",
        party_id="PLW",
        location_id="A",
        evse_uid="A1",
        patch=Patch(last_updated=at(5), changes={"status": "AVAILABLE"}),
    )
    assert not applied
    assert Evse.objects.get(uid="A1").status == "CHARGING"


def test_evse_put_adds_an_evse_and_bumps_the_parent(put) -> None:
    put(location("A"))
    assert catalogue_evse_put(
        source=SOURCE,
        country_code="NL",
        party_id="PLW",
        location_id="A",
        evse=evse("A9", "AVAILABLE", connector("IEC_62196_T2_COMBO", 300), when=at(7)),
    )
    station = Location.objects.get(ocpi_id="A")
    assert (station.evse_count, station.max_power_kw, station.last_updated) == (2, 300.0, at(7))


def test_connector_put_and_patch_bump_evse_and_location(put) -> None:
    put(location("A"))
    catalogue_connector_put(
        source=SOURCE,
        country_code="NL",
        party_id="PLW",
        location_id="A",
        evse_uid="A-1",
        connector=connector("CHADEMO", 50, cid="2", when=at(4)),
    )
    assert Location.objects.get(ocpi_id="A").connector_counts["CHADEMO"] == {
        "total": 1,
        "available": 1,
    }
    catalogue_connector_patch(
        source=SOURCE,
        country_code="NL",
        party_id="PLW",
        location_id="A",
        evse_uid="A-1",
        connector_id="2",
        patch=Patch(last_updated=at(6), changes={"max_electric_power": 100000}),
    )
    station = Location.objects.get(ocpi_id="A")
    assert station.max_power_kw == 100.0
    assert station.last_updated == at(6)
    assert Evse.objects.get(uid="A-1").last_updated == at(6)


def test_batched_status_updates_apply_newest_and_skip_stale_and_unknown(put) -> None:
    put(location("A", evses=(evse("A1", "CHARGING"), evse("A2", "CHARGING"))))
    put(location("B", evses=(evse("B1", "AVAILABLE"),)))
    result = evse_statuses_apply(
        source=SOURCE,
        updates=[
            EvseStatusUpdate("NL", "PLW", "A", "A1", "AVAILABLE", at(2)),
            EvseStatusUpdate("NL", "PLW", "A", "A1", "OUTOFORDER", at(1)),  # older, same batch
            EvseStatusUpdate("NL", "PLW", "B", "B1", "CHARGING", at(3)),
            EvseStatusUpdate("NL", "PLW", "A", "A2", "AVAILABLE", T0.replace(year=2020)),  # stale
            EvseStatusUpdate("NL", "PLW", "Z", "Z1", "AVAILABLE", at(3)),  # unknown
        ],
    )
    assert result.written == 2
    assert Evse.objects.get(uid="A1").status == "AVAILABLE"
    assert Evse.objects.get(uid="A2").status == "CHARGING"
    assert Location.objects.get(ocpi_id="A").available_count == 1
    assert Location.objects.get(ocpi_id="B").available_count == 0
    assert Location.objects.get(ocpi_id="B").last_updated == at(3)


def test_hide_missing_hides_what_a_full_pull_no_longer_lists(put) -> None:
    put(location("A"))
    put(location("B"))
    put(location("C", when=at(60)))  # pushed while the pull ran
    hidden = catalogue_hide_missing(source=SOURCE, seen=[("NL", "PLW", "A")], before=at(30))
    assert hidden == 1
    assert not Location.objects.get(ocpi_id="B").visible
    assert Location.objects.get(ocpi_id="C").visible
    # It shows again when the partner lists it again.
    assert put(location("B", when=at(90))).visible


def test_tariffs_upsert_keeps_the_newest_and_writes_a_summary() -> None:
    elements = (
        {"price_components": [{"type": "ENERGY", "price": 0.40, "vat": 25, "step_size": 1}]},
    )
    from locator.catalogue import TariffRecord

    catalogue_tariffs_upsert(
        source=SOURCE, records=[TariffRecord("NL", "PLW", "T1", "EUR", at(5), elements=elements)]
    )
    result = catalogue_tariffs_upsert(
        source=SOURCE, records=[TariffRecord("NL", "PLW", "T1", "EUR", at(1), elements=())]
    )
    assert result.skipped_stale == 1
    assert Tariff.objects.get(ocpi_id="T1").summary == "€0.50/kWh (incl. 25% VAT)"
    assert catalogue_tariff_delete(source=SOURCE, country_code="NL", party_id="PLW", tariff_id="T1")
    assert not catalogue_tariff_delete(
        source=SOURCE, country_code="NL", party_id="PLW", tariff_id="T1"
    )


def test_cluster_grid_follows_writes(put) -> None:
    put(location("A", evses=(evse("A1", "AVAILABLE", connector("IEC_62196_T2_COMBO", 150)),)))
    put(location("B", evses=(evse("B1", "CHARGING"),)))
    top = ClusterCell.objects.get(zoom=grid.MIN_ZOOM, standard="")
    assert (top.count, top.available) == (2, 1)
    ccs = ClusterCell.objects.get(zoom=grid.FINE_ZOOM, standard="IEC_62196_T2_COMBO")
    assert (ccs.count, ccs.available, ccs.max_power_kw) == (1, 1, 150.0)
    catalogue_hide_missing(source=SOURCE, seen=[("NL", "PLW", "B")], before=at(1))
    assert ClusterCell.objects.get(zoom=grid.MIN_ZOOM, standard="").count == 1
    assert not ClusterCell.objects.filter(standard="IEC_62196_T2_COMBO").exists()


def test_a_moved_station_leaves_its_old_cluster(put) -> None:
    put(location("A", lat=52.37, lon=4.89))
    put(location("A", lat=48.85, lon=2.35, when=at(1)))
    cells = ClusterCell.objects.filter(zoom=grid.FINE_ZOOM, standard="")
    assert [(round(c.lat, 2), c.count) for c in cells] == [(48.85, 1)]


def test_grid_rebuild_matches_incremental_refresh(put) -> None:
    for n in range(5):
        put(location(f"S{n}", lat=52 + n * 0.3, lon=4 + n * 0.4))
    before = sorted(
        ClusterCell.objects.values_list("zoom", "standard", "x", "y", "count", "available")
    )
    rebuild()
    assert (
        sorted(ClusterCell.objects.values_list("zoom", "standard", "x", "y", "count", "available"))
        == before
    )


def test_with_a_real_worker_grid_work_is_deferred_until_after_commit(
    django_capture_on_commit_callbacks,
) -> None:
    from django.core.cache import cache

    from config.celery import app as celery_app
    from locator.catalogue.grid_refresh import GRID_LOCK, catalogue_grid_refresh_dirty
    from locator.models import GridDirtyCell

    celery_app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            catalogue_locations_upsert(source=SOURCE, records=[location("A"), location("B")])
    finally:
        celery_app.conf.task_always_eager = True
    assert len(callbacks) == 1  # one refresh task queued after the commit
    assert GridDirtyCell.objects.count() == 1
    assert not ClusterCell.objects.exists()
    cache.add(GRID_LOCK, 1)
    assert catalogue_grid_refresh_dirty() is None  # another refresh is running
    cache.delete(GRID_LOCK)
    assert catalogue_grid_refresh_dirty() == 1
    assert ClusterCell.objects.get(zoom=grid.MIN_ZOOM, standard="").count == 2
    assert not GridDirtyCell.objects.exists()
    assert catalogue_grid_refresh_dirty() == 0  # running it again is harmless


def test_grid_refreshes_are_spaced_by_how_long_the_last_one_took() -> None:
    """A status push's small refresh keeps the map within a second; after a long one (a big
    import) the next waits several times as long, so refreshes do not take the worker over."""
    from django.core.cache import cache

    from locator.catalogue.grid_refresh import (
        GRID_REFRESH_LAST_SECONDS,
        catalogue_grid_refresh_dirty,
        grid_refresh_delay,
    )

    catalogue_grid_refresh_dirty()
    assert cache.get(GRID_REFRESH_LAST_SECONDS) is not None  # each refresh times itself
    cache.set(GRID_REFRESH_LAST_SECONDS, 0.05)
    assert grid_refresh_delay() == 1
    cache.set(GRID_REFRESH_LAST_SECONDS, 0.75)
    assert grid_refresh_delay() == 3.0
