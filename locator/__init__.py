"""Locator: the station catalogue and how drivers find a charger. Imports no other app of ours
(roaming calls locator, never the other way round).

Writes: locator.catalogue is the one way into the catalogue, for every caller (roaming's pulls
and receivers, the demo command, benchmarks): protocol-neutral records in, results and
protocol-neutral errors out; see its docstring for what lives inside. locator.services holds the
other writes: drivers' comments.

Reads: locator.selectors (station_search, favourites, comments), locator.selectors_station
(station_detail, whether an EVSE can start), locator.selectors_charging (what charging reads)
and locator.clusters (station_map), served by locator.api, api_comments and api_places
(/api/v1/...) and locator.views (/, /stations/<id>/, /favourites/).

Speed comes from three things: aggregates on Location written with every change, an index of
visible stations' points (GiST on PostgreSQL, a (lat, lon) B-tree on SQLite) searched in
expanding windows, and a precomputed multi-zoom cluster grid (locator.grid, kept by the
catalogue). `python3 scripts/dev.py bench` runs the benchmark (bench/run.py); its stations,
like the demo ones (`catalogue_demo`), come from the sandbox app's generator.
"""
