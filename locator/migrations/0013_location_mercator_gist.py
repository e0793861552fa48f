"""On PostgreSQL, index stations at their Mercator point instead of at (lon, lat), so a search
can read them nearest first (`ORDER BY point <-> centre`, a KNN scan of the GiST) and stop after
the page, however dense the city: Mercator keeps local shapes, so its distances order stations
as the ground does, where degrees of longitude shrink with latitude. A longitude and latitude
box is still a box there, so viewport searches use the same index and migration 0012's is
dropped. Every station, not only the visible ones (a few more entries), so that
`catalogue_cluster` can order the table by it: neighbours then share disk pages. The expression
must stay what locator.selectors.MERCATOR_POINT writes. SQLite keeps the (lat, lon) B-tree."""

from typing import Any

from django.db import migrations

INDEX = "location_mercator"
OLD_INDEX = "location_visible_point"


def index_create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON locator_location"
        " USING gist (point(lon, degrees(asinh(tan(radians(lat))))))"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")


def index_drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON locator_location"
        " USING gist (point(lon, lat)) WHERE visible"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("locator", "0012_location_point_gist")]

    operations = [migrations.RunPython(index_create, index_drop)]
