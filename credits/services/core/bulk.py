"""Writing many rows' figures in one round trip, for the periodic jobs.

Why not `bulk_update`: it writes `CASE WHEN id = … THEN …` for every row, which the database
evaluates row by row against every branch (quadratic in the batch). PostgreSQL takes each
column as one array instead (`UPDATE … FROM unnest(…)`, one statement whatever the number of
rows); SQLite, in the same process, runs one prepared UPDATE per row (`executemany`), which is
what it is fastest at.
"""

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def _array_type(field: models.Field) -> str:
    """The element type PostgreSQL reads a column's values as (a domain's base type: the
    assignment casts it to the domain, which checks it)."""
    if field.is_relation:
        field = field.target_field
    if isinstance(field, models.IntegerField | models.BigIntegerField):
        return "bigint"
    if isinstance(field, models.DateTimeField):
        return "timestamptz"
    return "text"


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """Set `fields` of the rows by primary key: each row is `(pk, *values)` in `fields`'
    order. Rows absent from `rows` are untouched; an empty `rows` costs nothing."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    table, key = meta.db_table, meta.pk.column
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays: list[list[Any]] = [list(values) for values in zip(*rows, strict=True)]
            names = ["key", *(f"v{index}" for index in range(len(columns)))]
            types = [_array_type(meta.pk), *(_array_type(column) for column in columns)]
            sets = ", ".join(
                f"{quote(column.column)} = v.v{index}" for index, column in enumerate(columns)
            )
            unnest = ", ".join(f"%s::{kind}[]" for kind in types)
            cursor.execute(
                f"UPDATE {quote(table)} AS t SET {sets} "
                f"FROM unnest({unnest}) AS v({', '.join(names)}) "
                f"WHERE t.{quote(key)} = v.key",
                arrays,
            )
        else:
            sets = ", ".join(f"{quote(column.column)} = %s" for column in columns)
            cursor.executemany(
                f"UPDATE {quote(table)} SET {sets} WHERE {quote(key)} = %s",
                [(*values, pk) for pk, *values in rows],
            )


def insert_rows(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert the objects (ids left to the database, in the objects' order) in one statement
    on PostgreSQL (`INSERT … SELECT FROM unnest(…)`, a column an array), where `bulk_create`
    spends most of a job's time turning each value of each row into SQL; `bulk_create`
    elsewhere. The caller needs no id back."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=500)
        return
    meta = model._meta
    columns = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    # The attributes as they are: whole numbers, text, aware times and None, which psycopg
    # writes as they come (a field that needs converting has no place in this helper).
    arrays = [[getattr(row, field.attname) for row in objects] for field in columns]
    names = ", ".join(quote(field.column) for field in columns)
    unnest = ", ".join(f"%s::{_array_type(field)}[]" for field in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(meta.db_table)} ({names}) SELECT * FROM unnest({unnest})",
            arrays,
        )
