"""Locator: the station catalogue and how drivers find a charger.

Writes (roaming calls these; locator never imports roaming):
    locator.catalogue         protocol-neutral records (LocationRecord, EvseRecord, ...)
    locator.services          catalogue_locations_upsert (pushed PUTs; pull pages go through
                              its two halves, catalogue_locations_prepare in the pull's reader
                              process and catalogue_locations_write, bulk),
                              catalogue_location_patch, catalogue_evse_put / _patch,
                              catalogue_connector_put / _patch (pushes),
                              catalogue_evse_statuses_update (batched status PATCHes),
                              catalogue_hide_missing (after a full pull),
                              catalogue_tariffs_upsert / catalogue_tariff_delete, comments.
Reads: locator.selectors (station_search, station_map, station_detail), served by locator.api
(/api/v1/stations/, /api/v1/map/, /api/v1/geocode/) and locator.views (/ and /stations/<id>/).

Speed comes from three things: aggregates on Location written with every change, a (lat, lon)
B-tree over visible stations searched in expanding windows, and a precomputed multi-zoom
cluster grid (locator.grid). `python3 scripts/dev.py bench` runs the benchmark (bench/run.py);
its stations, like the demo ones (`catalogue_demo`), come from the sandbox app's generator.
"""
