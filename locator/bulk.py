"""Set-based upserts: one statement per few thousand rows instead of one per object.

On PostgreSQL rows travel as one array per column through `unnest()` into
`INSERT ... ON CONFLICT DO UPDATE`, which measured about 2-3x faster than Django's
`bulk_create(update_conflicts=True)` (whose VALUES lists grow one placeholder per cell), and
lets a `WHERE` keep a newer row. Elsewhere (SQLite in the embedded default) we fall back to
`bulk_create`. Both return the ids of the rows written, with the unique key they were written
under, so callers can link children without another query.
"""

import json
from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import connection, models

BATCH = 5000


def upsert(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    unique: Sequence[str],
    update: Sequence[str],
    newer_only: str | None = None,
    returning: bool = True,
) -> list[tuple[Any, ...]]:
    """Insert or update `rows` (dicts of field name -> value) keyed by the `unique` fields.

    With `newer_only` (a datetime field), an existing row whose value is later than the
    incoming one is left alone and not returned. Returns `(id, *unique values)` per row
    written (nothing when `returning` is False).
    """
    if not rows:
        return []
    if connection.vendor == "postgresql":
        written: list[tuple[Any, ...]] = []
        for start in range(0, len(rows), BATCH):
            written += _pg_upsert(
                model, rows[start : start + BATCH], unique, update, newer_only, returning
            )
        return written
    # SQLite: the caller has already dropped stale rows (one writer at a time there).
    objs = [model(**row) for row in rows]
    model._default_manager.bulk_create(
        objs,
        batch_size=500,
        update_conflicts=True,
        unique_fields=list(unique),
        update_fields=list(update),
    )
    return _ids_of(model, rows, unique) if returning else []


def insert(model: type[models.Model], rows: Sequence[dict[str, Any]]) -> None:
    """Plain bulk insert (rows known to be new)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        for start in range(0, len(rows), BATCH):
            _pg_upsert(model, rows[start : start + BATCH], (), (), None, False)
        return
    model._default_manager.bulk_create([model(**row) for row in rows], batch_size=500)


def delete_where_in(model: type[models.Model], field: str, values: Sequence[Any]) -> None:
    """DELETE rows whose `field` is one of `values` (one bound array on PostgreSQL)."""
    if not values:
        return
    if connection.vendor == "postgresql":
        column = _column(model, field)
        table = connection.ops.quote_name(model._meta.db_table)
        _execute(f"DELETE FROM {table} WHERE {column} = ANY(%b)", [list(values)])  # noqa: S608
        return
    for start in range(0, len(values), 500):
        model._default_manager.filter(**{f"{field}__in": values[start : start + 500]}).delete()


def _ids_of(
    model: type[models.Model], rows: Sequence[dict[str, Any]], unique: Sequence[str]
) -> list[tuple[Any, ...]]:
    # SQLite cannot hand back ids for updated rows; look them up by the first unique field and
    # match the rest in Python (one query per 500 rows).
    first, wanted = unique[0], {tuple(row[name] for name in unique) for row in rows}
    values = sorted({row[first] for row in rows}, key=str)
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(values), 500):
        for row in model._default_manager.filter(
            **{f"{first}__in": values[start : start + 500]}
        ).values_list("pk", *[_attname(model, name) for name in unique]):
            if tuple(row[1:]) in wanted:
                found.append(tuple(row))
    return found


def _column(model: type[models.Model], name: str) -> str:
    field: Any = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return connection.ops.quote_name(str(field.column))


def _attname(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).attname  # type: ignore[union-attr]


def _pg_upsert(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    unique: Sequence[str],
    update: Sequence[str],
    newer_only: str | None,
    returning: bool,
) -> list[tuple[Any, ...]]:
    meta = model._meta
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    columns: list[str] = []
    selects: list[str] = []
    arrays: list[str] = []
    params: list[list[Any]] = []
    for name in rows[0]:
        field: Any = meta.get_field(name)
        column = quote(field.column)
        values = [row[name] for row in rows]
        db_type = field.db_type(connection) or "text"
        if isinstance(field, models.ForeignKey):
            values = [getattr(v, "pk", v) for v in values]
            db_type = "bigint"
        if db_type == "jsonb":
            # psycopg sends text[]; each element becomes jsonb in the SELECT.
            values = [None if v is None else json.dumps(v) for v in values]
            selects.append(f"{column}::jsonb")
            db_type = "text"
        else:
            selects.append(column)
        columns.append(column)
        arrays.append(f"%b::{db_type}[]")
        params.append(values)
    # Identifiers come from model metadata, never from input; every value is a bound parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(selects)} FROM unnest({', '.join(arrays)}) AS u({', '.join(columns)})"
    )
    if not unique:
        _execute(sql, params)
        return []
    key_columns = [_column(model, name) for name in unique]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in (_column(model, name) for name in update))
    sql += f" ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {sets}"
    if newer_only:
        column = _column(model, newer_only)
        sql += f" WHERE {table}.{column} <= EXCLUDED.{column}"
    if not returning:
        _execute(sql, params)
        return []
    sql += f" RETURNING {_column(model, 'pk')}, {', '.join(key_columns)}"
    return _execute(sql, params)


def _execute(sql: str, params: list[list[Any]]) -> list[tuple[Any, ...]]:
    # Django's psycopg cursors bind on the client, quoting every array element through a regex;
    # a plain psycopg cursor binds on the server, about 5x faster for large arrays.
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
