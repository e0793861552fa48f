"""On PostgreSQL, a two-dimensional index of visible stations: searches bound both coordinates
(`point(lon, lat) <@ box`, see locator.selectors._window_rows), where the (lat, lon) B-tree
bounds latitude only and reads the whole latitude band of a continent. Built-in GiST, no
PostGIS. SQLite, the embedded default, keeps the B-tree."""

from typing import Any

from django.db import migrations

INDEX = "location_visible_point"


def index_create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON locator_location "
        "USING gist (point(lon, lat)) WHERE visible"
    )


def index_drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("locator", "0011_location_out_of_order_count")]

    operations = [migrations.RunPython(index_create, index_drop)]
