"""Set-based writes: one statement per few thousand rows instead of one per object.

On PostgreSQL, upserts copy the rows (binary COPY) into a temporary staging table and move
them with one `INSERT ... SELECT ... ON CONFLICT DO UPDATE`, whose `WHERE` can keep a newer
row; rows known to be new go in by binary `COPY` directly. psycopg writes COPY rows in C: the
arrays bound for `unnest()` before cost a pull more client time than everything else it wrote,
and Django's `bulk_create(update_conflicts=True)` (VALUES lists growing one placeholder per
cell) more still. Elsewhere (SQLite in the embedded default) we fall back to `bulk_create`.
Upserts return the ids of the rows written, with the unique key they were written under, so
callers can link children without another query.
"""

import re
import zlib
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from django.db import connection, models, transaction
from psycopg.types.json import set_json_dumps

BATCH = 5000
_LENGTH = re.compile(r"\(\d+(,\s*\d+)?\)")

# Rows to write, column by column: field name -> one value per row, all columns as long.
Columns = Mapping[str, Sequence[Any]]


def columns_of(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows given as dicts (all with the same keys) turned into columns."""
    return {name: [row[name] for row in rows] for name in rows[0]} if rows else {}


def row_count(columns: Columns) -> int:
    return len(next(iter(columns.values()), ()))


def _batches(columns: Columns) -> list[dict[str, Sequence[Any]]]:
    count = row_count(columns)
    return [
        {name: values[start : start + BATCH] for name, values in columns.items()}
        for start in range(0, count, BATCH)
    ]


def _objects(model: type[models.Model], columns: Columns) -> list[models.Model]:
    names = list(columns)
    return [
        model(**dict(zip(names, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    ]


def upsert(
    model: type[models.Model],
    columns: Columns,
    *,
    unique: Sequence[str],
    update: Sequence[str],
    newer_only: str | None = None,
    returning: bool = True,
) -> list[tuple[Any, ...]]:
    """Insert or update rows (`columns`: field name -> values) keyed by the `unique` fields.

    With `newer_only` (a datetime field), an existing row whose value is later than the
    incoming one is left alone and not returned. Returns `(id, *unique values, created)` per
    row written, `created` telling an inserted row from an updated one (nothing when
    `returning` is False).
    """
    if not row_count(columns):
        return []
    if connection.vendor == "postgresql":
        written: list[tuple[Any, ...]] = []
        for batch in _batches(columns):
            written += _pg_upsert(model, batch, unique, update, newer_only, returning)
        return written
    # SQLite: the caller has already dropped stale rows (one writer at a time there).
    before = {row[1:] for row in _ids_of(model, columns, unique)} if returning else set()
    model._default_manager.bulk_create(
        _objects(model, columns),
        batch_size=500,
        update_conflicts=True,
        unique_fields=list(unique),
        update_fields=list(update),
    )
    if not returning:
        return []
    return [(*row, row[1:] not in before) for row in _ids_of(model, columns, unique)]


def insert(model: type[models.Model], columns: Columns) -> None:
    """Insert rows known to be new."""
    if not row_count(columns):
        return
    if connection.vendor == "postgresql":
        _pg_copy(model, columns)
        return
    model._default_manager.bulk_create(_objects(model, columns), batch_size=500)


def insert_returning_ids(model: type[models.Model], columns: Columns) -> list[int]:
    """Insert rows known to be new; returns their ids, in order. On PostgreSQL the ids are
    taken from the table's sequence first, so the rows go in by binary COPY (no staging table,
    no conflict checks)."""
    count = row_count(columns)
    if not count:
        return []
    if connection.vendor != "postgresql":
        objects = model._default_manager.bulk_create(_objects(model, columns), batch_size=500)
        return [obj.pk for obj in objects]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, model._meta.pk.column, count],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    _pg_copy(model, {model._meta.pk.name: ids, **columns})
    return ids


def update(objs: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of these rows by primary key: one `UPDATE ... FROM unnest()` per few
    thousand rows on PostgreSQL (Django's bulk_update builds a CASE per field and row, which
    cost more Python time than the database spent), bulk_update elsewhere."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_update(objs, fields, batch_size=500)
        return
    meta = model._meta
    for start in range(0, len(objs), BATCH):
        chunk = objs[start : start + BATCH]
        names = ["pk", *fields]
        columns, arrays, params = [], [], []
        for name in names:
            field: Any = meta.pk if name == "pk" else meta.get_field(name)
            db_type = field.db_type(connection) or "text"
            values = [getattr(obj, field.attname) for obj in chunk]
            if db_type == "jsonb":
                values = [None if v is None else orjson.dumps(v).decode() for v in values]
                db_type = "text"
            columns.append(_column(model, name))
            arrays.append(f"%b::{db_type}[]")
            params.append(values)
        sets = ", ".join(
            f"{column} = u.{column}::jsonb"
            if (meta.get_field(name).db_type(connection) == "jsonb")
            else f"{column} = u.{column}"
            for name, column in zip(fields, columns[1:], strict=True)
        )
        table = connection.ops.quote_name(meta.db_table)
        _execute(
            f"UPDATE {table} SET {sets} FROM unnest({', '.join(arrays)})"  # noqa: S608
            f" AS u({', '.join(columns)}) WHERE {table}.{columns[0]} = u.{columns[0]}",
            params,
        )


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


def rows_where_in(
    model: type[models.Model],
    field: str,
    values: Collection[Any],
    names: Sequence[str],
    **equal: Any,
) -> list[tuple[Any, ...]]:
    """The `names` columns of the rows whose `field` is one of `values` and whose other fields
    are as `equal` says. On PostgreSQL `values` is one bound array: Django's IN list of
    thousands cost a pull more than the rows it read (each value resolved, prepared and quoted
    on the client). Elsewhere, Django's IN lists of 500."""
    if not values:
        return []
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        where = [
            f"{_column(model, field)} = ANY(%s)",
            *(f"{_column(model, n)} = %s" for n in equal),
        ]
        return _execute(
            f"SELECT {', '.join(_column(model, name) for name in names)} FROM {table}"  # noqa: S608
            f" WHERE {' AND '.join(where)}",
            [list(values), *equal.values()],
        )
    listed = list(values)
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(listed), 500):
        found += model._default_manager.filter(
            **equal, **{f"{field}__in": listed[start : start + 500]}
        ).values_list(*names)
    return found


def _ids_of(
    model: type[models.Model], columns: Columns, unique: Sequence[str]
) -> list[tuple[Any, ...]]:
    # SQLite cannot hand back ids for updated rows; look them up by the first unique field and
    # match the rest in Python (one query per 500 rows).
    first, wanted = unique[0], set(zip(*(columns[name] for name in unique), strict=True))
    names = ["pk", *[_attname(model, name) for name in unique]]
    rows = rows_where_in(model, first, set(columns[first]), names)
    return [tuple(row) for row in rows if tuple(row[1:]) in wanted]


def _column(model: type[models.Model], name: str) -> str:
    field: Any = model._meta.pk if name == "pk" else model._meta.get_field(name)
    return connection.ops.quote_name(str(field.column))


def _attname(model: type[models.Model], name: str) -> str:
    return model._meta.get_field(name).attname  # type: ignore[union-attr]


def _pg_upsert(
    model: type[models.Model],
    columns: Columns,
    unique: Sequence[str],
    update: Sequence[str],
    newer_only: str | None,
    returning: bool,
) -> list[tuple[Any, ...]]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    fields: list[Any] = [model._meta.get_field(name) for name in columns]
    targets = [quote(field.column) for field in fields]
    # Each staged value becomes the column's own type here: JSON from its text, and a string
    # cut to the column's length as the cast does (the staging table's text does not cut).
    selects = [
        f"{column}::{field.db_type(connection)}"
        for column, field in zip(targets, fields, strict=True)
    ]
    key_columns = [_column(model, name) for name in unique]
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in (_column(model, name) for name in update))
    # Identifiers come from model metadata, never from input; the values arrive by COPY.
    staging, definition = _staging_table(model)
    sql = (
        f"WITH staged AS (DELETE FROM {staging} RETURNING *) "  # noqa: S608
        f"INSERT INTO {table} ({', '.join(targets)}) SELECT {', '.join(selects)} FROM staged"
        f" ORDER BY {_ORDER} ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {sets}"
    )
    if newer_only:
        column = _column(model, newer_only)
        sql += f" WHERE {table}.{column} <= EXCLUDED.{column}"
    if returning:
        # xmax is 0 on a row this statement inserted; an updated one carries our lock there.
        sql += f" RETURNING {_column(model, 'pk')}, {', '.join(key_columns)}, xmax = 0"
    with transaction.atomic(savepoint=False):  # the staged rows never outlive a failed upsert
        _stage(model, columns, staging, definition)
        written = _execute(sql, [])
    return written if returning else []


# The staging table's column that keeps the rows in the caller's order (the order they lock in).
_ORDER = "staged_order"


def _staging_table(model: type[models.Model]) -> tuple[str, str]:
    """The name of this session's staging table of `model`, and its columns. The name carries
    a checksum of the columns, so a connection kept across a migration stages into a table of
    the new shape."""
    quote = connection.ops.quote_name
    every: list[Any] = list(model._meta.concrete_fields)
    staged = ", ".join(f"{quote(field.column)} {_staging_type(field)}" for field in every)
    name = f"staging_{model._meta.db_table}_{zlib.crc32(staged.encode()):08x}"
    return quote(name), f"{_ORDER} integer, {staged}"


def _stage(model: type[models.Model], columns: Columns, table: str, definition: str) -> None:
    """Binary COPY of the rows into `table`, this session's staging table of `model` (created
    on first use: a temporary table with every column of the model, JSON as its text). psycopg
    dumps COPY rows in C, where the arrays bound for `unnest()` went through Python element by
    element: that was most of a pull's client-side SQL time."""
    quote = connection.ops.quote_name
    fields: list[Any] = [model._meta.get_field(name) for name in columns]
    types = [_staging_type(field) for field in fields]
    values = [
        [None if v is None else orjson.dumps(v).decode() for v in column_values]
        if field.db_type(connection) == "jsonb"
        else column_values
        for field, column_values in zip(fields, columns.values(), strict=True)
    ]
    names = ", ".join([_ORDER, *(quote(field.column) for field in fields)])
    with server_cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({definition})")
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["integer", *types])
            for row in zip(range(row_count(columns)), *values, strict=True):
                copy.write_row(row)


def _staging_type(field: Any) -> str:
    db_type = field.db_type(connection) or "text"
    return "text" if db_type == "jsonb" else _LENGTH.sub("", db_type)


def _pg_copy(model: type[models.Model], columns: Columns) -> None:
    quote = connection.ops.quote_name
    fields: list[Any] = [model._meta.get_field(name) for name in columns]
    names = ", ".join(quote(field.column) for field in fields)
    # The columns' own types, less a length (binary COPY checks lengths, it does not cut).
    types = [_LENGTH.sub("", field.db_type(connection) or "text") for field in fields]
    with server_cursor() as cursor:
        set_json_dumps(orjson.dumps, context=cursor)
        table = quote(model._meta.db_table)
        with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in zip(*columns.values(), strict=True):
                copy.write_row(row)


@contextmanager
def server_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A plain psycopg cursor on Django's PostgreSQL connection. Django's cursors bind on the
    client, quoting every array element through a regex; this one binds on the server, about 5x
    faster for large arrays, and it does COPY. Its errors reach callers as Django's (a lock
    timeout is a DatabaseError that a status drain retries and a pull records as failed)."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _execute(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with server_cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
