"""The station catalogue: every write to stations, EVSEs, connectors and tariffs, whatever
protocol the data came by. This module is its only way in: roaming (and anything else) calls
what is imported here, never the modules below, and the catalogue imports no protocol code.
Callers hand in protocol-neutral records (`records`) and get back results or `errors`, which
they map to their own protocol's answers.

Inside, by concern:
    records       LocationRecord, EvseRecord, ConnectorRecord, TariffRecord, Patch (and what a
                  Patch may change), EvseStatusUpdate, UpsertResult; connector standards
    errors        CatalogueError, UnknownObjectError, CatalogueUnavailableError
    rules         identity, ordering by `last_updated`, visibility, the stations' aggregates
    rows, locations, bulk
                  bulk writes of full Locations (pull pages, pushed PUTs): records become table
                  columns without the database, then a few set-based statements per page
    objects       single EVSE/connector PUTs and PATCHes at every level
    statuses, status_queue, known_evses
                  EVSE status changes: queued in Redis and applied in batches, or applied now
    tariffs       tariff upserts and deletes
    grid_refresh  keeping the map's precomputed cluster grid current
    reads         our stored copy of an object, as a record (for partners' GETs)
"""

from locator.catalogue.errors import CatalogueError, CatalogueUnavailableError, UnknownObjectError
from locator.catalogue.grid_refresh import (
    catalogue_grid_dirty,
    catalogue_grid_refresh_dirty,
    grid_refresh_delay,
)
from locator.catalogue.locations import (
    ReadAhead,
    catalogue_hide_missing,
    catalogue_locations_pull,
    catalogue_locations_upsert,
    catalogue_statistics_refresh,
)
from locator.catalogue.objects import (
    catalogue_connector_patch,
    catalogue_connector_put,
    catalogue_evse_patch,
    catalogue_evse_put,
    catalogue_location_patch,
)
from locator.catalogue.reads import (
    catalogue_location_get,
    catalogue_locations_published,
    catalogue_tariff_get,
)
from locator.catalogue.records import (
    CONNECTOR_PATCHABLE,
    CONNECTOR_STANDARDS,
    EVSE_PATCHABLE,
    EVSE_STATUSES,
    LOCATION_PATCHABLE,
    STANDARD_BITS,
    STATUS_LABELS,
    ConnectorRecord,
    EvseRecord,
    EvseStatusUpdate,
    LocationRecord,
    Patch,
    TariffRecord,
    UpsertResult,
    standard_bit,
    standard_label,
)
from locator.catalogue.status_queue import evse_status_submit, evse_statuses_queued_apply
from locator.catalogue.tariffs import catalogue_tariff_delete, catalogue_tariffs_upsert

__all__ = [
    "CONNECTOR_PATCHABLE",
    "CONNECTOR_STANDARDS",
    "EVSE_PATCHABLE",
    "EVSE_STATUSES",
    "LOCATION_PATCHABLE",
    "STANDARD_BITS",
    "STATUS_LABELS",
    "CatalogueError",
    "CatalogueUnavailableError",
    "ConnectorRecord",
    "EvseRecord",
    "EvseStatusUpdate",
    "LocationRecord",
    "Patch",
    "ReadAhead",
    "TariffRecord",
    "UnknownObjectError",
    "UpsertResult",
    "catalogue_connector_patch",
    "catalogue_connector_put",
    "catalogue_evse_patch",
    "catalogue_evse_put",
    "catalogue_grid_dirty",
    "catalogue_grid_refresh_dirty",
    "catalogue_hide_missing",
    "catalogue_location_get",
    "catalogue_location_patch",
    "catalogue_locations_published",
    "catalogue_locations_pull",
    "catalogue_locations_upsert",
    "catalogue_statistics_refresh",
    "catalogue_tariff_delete",
    "catalogue_tariff_get",
    "catalogue_tariffs_upsert",
    "evse_status_submit",
    "evse_statuses_queued_apply",
    "grid_refresh_delay",
    "standard_bit",
    "standard_label",
]
