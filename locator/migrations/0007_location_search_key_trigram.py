"""On PostgreSQL, a trigram index answers the place search's `search_key LIKE '% word%'`
without reading every station (pg_trgm is a trusted extension: a database owner may create
it). SQLite, the embedded default, scans its few thousand rows instead."""

from typing import Any

from django.db import migrations

INDEX = "location_search_key_trgm"


def index_create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON locator_location "
        "USING gin (search_key gin_trgm_ops)"
    )


def index_drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("locator", "0006_location_search_key")]

    operations = [migrations.RunPython(index_create, index_drop)]
