"""The station catalogue: Location (a station) > EVSE > Connector, Tariffs, the cluster grid,
and drivers' comments and favourites.

Rows are keyed by the OCPI identity (country_code, party_id, id) plus `source`, the feed or
partner that supplies them ("partner:12", "demo"); locator never points at roaming's tables.
Search reads only Location: its aggregate columns (counts per connector standard, max kW,
availability, status time) are written by `locator.catalogue` whenever a child changes, and the
(lat, lon) B-tree (and on PostgreSQL a GiST of points, migration 0011) covers visible stations
only.
"""

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from accounts.services import display_name_of


class BitmaskField(models.BigIntegerField[int, int]):
    """An integer of flag bits (one per connector standard, see locator.catalogue)."""


@BitmaskField.register_lookup
class HasAnyBits(models.Lookup):
    """`standards_mask__hasany=bits`: the row has at least one of these bits set."""

    lookup_name = "hasany"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"({lhs} & {rhs}) <> 0", (*lhs_params, *rhs_params)


class Location(models.Model):
    source = models.CharField(max_length=64)
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    ocpi_id = models.CharField(max_length=36)

    name = models.CharField(max_length=255, blank=True)
    address = models.CharField(max_length=255)
    city = models.CharField(max_length=45)
    postal_code = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=45, blank=True)
    country = models.CharField(max_length=3)
    lat = models.FloatField()
    lon = models.FloatField()
    time_zone = models.CharField(max_length=64)
    opening_times = models.JSONField(null=True, blank=True)
    twentyfourseven = models.BooleanField(default=True)
    charging_when_closed = models.BooleanField(default=True)
    facilities = models.JSONField(default=list, blank=True)
    operator_name = models.CharField(max_length=100, blank=True)
    parking_type = models.CharField(max_length=32, blank=True)
    directions = models.JSONField(default=list, blank=True)
    publish = models.BooleanField(default=True)
    publish_allowed_to = models.JSONField(default=list, blank=True)
    # Set when a full pull from the source no longer lists the station.
    hidden = models.BooleanField(default=False)
    remote_start = models.BooleanField(default=False)
    last_updated = models.DateTimeField()

    # Aggregates over the EVSEs, kept current by locator.catalogue on every write. `visible`:
    # shown to everyone; `restricted`: shown only to the drivers `publish_allowed_to` names.
    visible = models.BooleanField(default=False)
    restricted = models.BooleanField(default=False)
    evse_count = models.PositiveIntegerField(default=0)
    available_count = models.PositiveIntegerField(default=0)
    # EVSEs OUTOFORDER or INOPERATIVE: a station with all of them so is broken, not busy.
    out_of_order_count = models.PositiveIntegerField(default=0)
    max_power_kw = models.FloatField(default=0)
    standards_mask = BitmaskField(default=0)
    available_mask = BitmaskField(default=0)
    connector_counts = models.JSONField(default=dict, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    tariff_id = models.CharField(max_length=36, blank=True)
    # Each connector's first tariff, so a list can say "From €0.30/kWh" where they differ.
    tariff_ids = models.JSONField(default=list, blank=True)
    # The cluster-grid cell (finest precomputed zoom) the station falls in; see locator.grid.
    cell = models.BigIntegerField(default=0)
    # Its words as the place search matches them (locator.places.search_key).
    search_key = models.TextField(blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "country_code", "party_id", "ocpi_id"],
                name="location_identity_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["lat", "lon"], name="location_visible_latlon", condition=Q(visible=True)
            ),
            models.Index(fields=["cell"], name="location_cell"),
            models.Index(fields=["id"], name="location_restricted", condition=Q(restricted=True)),
            models.Index(fields=["source", "last_updated"], name="location_source_updated"),
        ]

    def __str__(self) -> str:
        return self.name or self.address


# EVSEs and connectors point at their parents without a database constraint or an index of
# their own: the unique (parent, id) constraints index them already, and only locator.catalogue
# writes them, in the parent's transaction, with ids the parent's INSERT returned. The
# constraint triggers were a third of a pull's insert time (8,000 checks per 1,000 stations).
# Deletes still cascade, through the ORM.


class Evse(models.Model):
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        related_name="evses",
        db_index=False,
        db_constraint=False,
    )
    uid = models.CharField(max_length=36)
    evse_id = models.CharField(max_length=48, blank=True)
    status = models.CharField(max_length=16)
    status_changed_at = models.DateTimeField()
    capabilities = models.JSONField(default=list, blank=True)
    floor_level = models.CharField(max_length=4, blank=True)
    physical_reference = models.CharField(max_length=16, blank=True)
    parking_restrictions = models.JSONField(default=list, blank=True)
    last_updated = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "uid"], name="evse_uid_unique"),
        ]

    def __str__(self) -> str:
        return self.evse_id or self.uid


class Connector(models.Model):
    evse = models.ForeignKey(
        Evse,
        on_delete=models.CASCADE,
        related_name="connectors",
        db_index=False,
        db_constraint=False,
    )
    ocpi_id = models.CharField(max_length=36)
    standard = models.CharField(max_length=32)
    format = models.CharField(max_length=8)
    power_type = models.CharField(max_length=20)
    max_voltage = models.PositiveIntegerField()
    max_amperage = models.PositiveIntegerField()
    max_electric_power = models.PositiveIntegerField(null=True, blank=True)
    power_kw = models.FloatField()
    tariff_ids = models.JSONField(default=list, blank=True)
    terms_and_conditions = models.URLField(blank=True, max_length=255)  # OCPI: string(255)
    last_updated = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evse", "ocpi_id"], name="connector_id_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.standard} {self.power_kw:g} kW"


class Tariff(models.Model):
    source = models.CharField(max_length=64)
    country_code = models.CharField(max_length=2)
    party_id = models.CharField(max_length=3)
    ocpi_id = models.CharField(max_length=36)
    currency = models.CharField(max_length=3)
    type = models.CharField(max_length=16, blank=True)
    elements = models.JSONField(default=list)
    tariff_alt_text = models.JSONField(default=list, blank=True)
    tariff_alt_url = models.URLField(blank=True)
    min_price = models.JSONField(null=True, blank=True)
    max_price = models.JSONField(null=True, blank=True)
    start_date_time = models.DateTimeField(null=True, blank=True)
    end_date_time = models.DateTimeField(null=True, blank=True)
    # The price in plain words, written with the tariff so lists never re-derive it: `summary`
    # in pricing.SUMMARY_LANGUAGE, `summaries` in the other languages, by language code.
    summary = models.CharField(max_length=255, blank=True)
    summaries = models.JSONField(default=dict, blank=True)
    # Incl. VAT, per kWh, for "From €0.30/kWh" where a station's charge points differ; None
    # when the tariff does not price energy.
    lowest_energy_price = models.DecimalField(
        max_digits=16, decimal_places=6, null=True, blank=True
    )
    last_updated = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "country_code", "party_id", "ocpi_id"],
                name="tariff_identity_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.summary or self.ocpi_id


class ClusterCell(models.Model):
    """One precomputed map cluster: stations in a grid cell at one zoom, optionally only those
    with one connector standard (`standard` "" = all stations)."""

    zoom = models.PositiveSmallIntegerField()
    standard = models.CharField(max_length=32, blank=True)
    x = models.IntegerField()
    y = models.IntegerField()
    count = models.PositiveIntegerField()
    available = models.PositiveIntegerField()
    lat = models.FloatField()
    lon = models.FloatField()
    max_power_kw = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["zoom", "standard", "x", "y"], name="clustercell_unique"
            ),
        ]
        indexes = [models.Index(fields=["zoom", "x", "y"], name="clustercell_zoom_xy")]

    def __str__(self) -> str:
        return f"z{self.zoom} {self.standard or 'all'} ({self.x}, {self.y}): {self.count}"


class GridDirtyCell(models.Model):
    """A mark that a FINE_ZOOM cell's clusters need recomputing (writes mark, a worker
    refreshes). A cell may carry many marks: a write adds its own without looking at others',
    so it never waits for a refresh that holds a mark of the same cell until that refresh
    commits (with one row a cell, each page of a continent-wide pull did)."""

    cell = models.BigIntegerField()

    def __str__(self) -> str:
        return str(self.cell)


class CheckInOutcome(models.TextChoices):
    CHARGED = "charged", _("Charged fine")
    FAILED = "failed", _("Could not charge")
    WAITED = "waited", _("Had to wait")
    OTHER = "other", pgettext_lazy("check-in", "Other")


class Comment(models.Model):
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="station_comments"
    )
    text = models.TextField(max_length=1000)
    rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    outcome = models.CharField(max_length=8, choices=CheckInOutcome.choices, blank=True)
    hidden = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["location", "-created_at"], name="comment_location_new")]

    def __str__(self) -> str:
        return f"{self.author} on {self.location}: {self.text[:40]}"

    @property
    def author_name(self) -> str:
        """What other drivers see: the author's display name, never anything of the email."""
        return display_name_of(self.author)


class Favourite(models.Model):
    """A station a driver starred, to find it again with its live status."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourite_stations"
    )
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="favourites")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "location"], name="favourite_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ★ {self.location}"
