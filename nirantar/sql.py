"""Plain SQL for the few reads and writes on a hot path - an analyser's message and its
projection, the whole hospital's bed board, the per-event projections a hub applies by the
thousand - where the ORM costs ten times the query (measured: 0.45 ms against 0.03 ms for
one row by key on SQLite; thousands of rows decoded field by field). Same tables, both
engines; everything else reads and writes through the ORM.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, TypeVar

import orjson
from django.db import IntegrityError, connection, connections, models, transaction


def one(sql: str, params: list[Any]) -> tuple[Any, ...] | None:
    """The first row of a query with ``%s`` placeholders, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Every row of a query with ``%s`` placeholders."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


M = TypeVar("M", bound=models.Model)


@functools.cache
def _reader(
    model: type[models.Model], alias: str
) -> tuple[str, list[str], list[tuple[Any, list[Any]]]]:
    """The column list, attribute names and per-field decoders (the ORM's own: the
    backend's and the field's ``from_db_value``) to make instances of ``model``."""
    fields = list(model._meta.concrete_fields)
    conn = connections[alias]
    decoders = []
    for field in fields:
        column = field.get_col(model._meta.db_table)
        decoders.append(
            # Every concrete field has get_db_converters; the stubs type the list loosely.
            (column, conn.ops.get_db_converters(column) + field.get_db_converters(conn)),  # type: ignore[attr-defined]
        )
    columns = ", ".join(_name(f.column) for f in fields)
    return columns, [f.attname for f in fields], decoders


def instance(model: type[M], where: str, params: list[Any], order_by: str = "") -> M | None:
    """The first row of ``model`` matching ``where`` (plain SQL, ``%s`` placeholders) as
    an instance, as ``Model.objects.filter(...).first()`` makes it, without the ORM's
    query building (most of the cost of reading one row by key)."""
    columns, names, decoders = _reader(model, connection.alias)
    row = one(
        f"SELECT {columns} FROM {model._meta.db_table} WHERE {where}"  # noqa: S608 - ours
        + (f" ORDER BY {order_by}" if order_by else "")
        + " LIMIT 1",
        params,
    )
    if row is None:
        return None
    values = list(row)
    for i, (column, converters) in enumerate(decoders):
        for convert in converters:
            values[i] = convert(values[i], column, connection)
    return model.from_db(connection.alias, names, values)


def json_value(value: Any) -> Any:
    """A JSON column's value: SQLite hands back its text, PostgreSQL the decoded value."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def date_value(value: Any) -> date | None:
    """A date column's value: text on SQLite without Django's converters, a date otherwise."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def json_text(value: Any) -> str:
    """A value as a JSON column's text (compact, keys in order), for a write in plain SQL."""
    return orjson.dumps(value).decode()


def _marks(columns: Iterable[str], json_columns: tuple[str, ...]) -> list[str]:
    """The placeholder of each column: PostgreSQL casts a JSON column's text to jsonb.
    (``connection`` is looked up once a statement: through its proxy that costs more
    than SQLite's answer to a small query.)"""
    cast = connection.vendor == "postgresql"
    return ["CAST(%s AS jsonb)" if cast and c in json_columns else "%s" for c in columns]


def _name(column: str) -> str:
    # "by", "order", "key": column names that are keywords. Double quotes on both engines
    # (what connection.ops.quote_name gives, without its cost per column per statement).
    return f'"{column}"'


def _params(values: dict[str, Any], json_columns: Iterable[str]) -> list[Any]:
    return [json_text(v) if c in json_columns else v for c, v in values.items()]


def insert(
    table: str, values: dict[str, Any], json_columns: Iterable[str] = (), *, ignore: bool = True
) -> bool:
    """INSERT one row - unless it would break a unique constraint, if ``ignore`` (else that
    raises IntegrityError); whether it went in."""
    json_columns = tuple(json_columns)
    names = ", ".join(_name(c) for c in values)
    marks = ", ".join(_marks(values, json_columns))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our own names
            + (" ON CONFLICT DO NOTHING" if ignore else ""),
            _params(values, json_columns),
        )
        return bool(cursor.rowcount == 1)


def delete(table: str, key: dict[str, Any]) -> int:
    """DELETE the rows matching ``key``; how many."""
    where = " AND ".join(f"{_name(c)} = %s" for c in key)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE {where}", list(key.values()))  # noqa: S608
        return int(cursor.rowcount)


def update(
    table: str, key: dict[str, Any], values: dict[str, Any], json_columns: Iterable[str] = ()
) -> int:
    """UPDATE only the columns in ``values`` of the rows matching ``key``; how many."""
    if not values:
        return 0
    json_columns = tuple(json_columns)
    sets = ", ".join(
        f"{_name(c)} = {mark}" for c, mark in zip(values, _marks(values, json_columns), strict=True)
    )
    where = " AND ".join(f"{_name(c)} = %s" for c in key)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {sets} WHERE {where}",  # noqa: S608 - our own names
            [*_params(values, json_columns), *key.values()],
        )
        return int(cursor.rowcount)


SQLITE_ROWS_PER_STATEMENT = 999  # parameters, SQLite's limit as Django knows it
PG_ROWS_PER_STATEMENT = 5000


def _records(columns: list[str], rows: list[list[Any]]) -> str:
    """Rows as the text of a JSON array of objects, for ``json_populate_recordset``: one
    parameter for a whole batch, where a VALUES list takes one per value and psycopg
    splits a query text of thousands of placeholders in Python (measured: most of the
    cost of a thousand-row INSERT). Cast to json, not jsonb: the server reads it once,
    without building jsonb first (2,317 lab results: 44 ms, against 70 as jsonb and 367
    as VALUES lists of 1,000 rows)."""
    return orjson.dumps(
        [dict(zip(columns, row, strict=True)) for row in rows], default=str
    ).decode()


def _json_texts(lists: list[list[Any]], columns: list[str], json_columns: tuple[str, ...]) -> None:
    """SQLite stores JSON as text: the ``json_columns`` of each row, in place."""
    positions = [i for i, c in enumerate(columns) if c in json_columns]
    for row in lists:
        for i in positions:
            row[i] = json_text(row[i])


def in_chunks(values: Iterable[Any], size: int = 500) -> Iterator[tuple[str, list[Any]]]:
    """``values`` in chunks for ``IN (...)``, each with its placeholders: a statement
    stays within the engines' limits on parameters however many there are."""
    listed = list(values)
    for start in range(0, len(listed), size):
        chunk = listed[start : start + size]
        yield ", ".join(["%s"] * len(chunk)), chunk


def insert_many(
    table: str,
    columns: Iterable[str],
    rows: Iterable[Iterable[Any]],
    json_columns: Iterable[str] = (),
    *,
    ignore: bool = True,
    copy: bool = True,
) -> None:
    """INSERT many rows (each in the order of ``columns``) in a statement or a few, each
    row skipped if it would break a unique constraint, if ``ignore``. On PostgreSQL the
    rows go as one JSON parameter, typed by the table's own row type - or, many rows (a
    restore's, a catch-up's), by COPY (``_copy_in``) in a savepoint, unless not ``copy``;
    on SQLite (no round trips to save) as ``VALUES (..), (..)`` within its limit on
    parameters."""
    columns, json_columns = list(columns), tuple(json_columns)
    lists = [list(row) for row in rows]
    if not lists:
        return
    names = ", ".join(_name(c) for c in columns)
    conflict = " ON CONFLICT DO NOTHING" if ignore else ""
    if copy and connection.vendor == "postgresql" and len(lists) >= COPY_FROM_ROWS:
        from psycopg import IntegrityError as Refused

        try:
            with transaction.atomic():  # a savepoint: a row there already undoes the COPY
                _copy_in(table, columns, names, lists, json_columns)
            return
        except (IntegrityError, Refused):
            pass  # a row there already, or twice: the JSON way skips it (or says why not)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(lists), PG_ROWS_PER_STATEMENT):
                cursor.execute(
                    f"INSERT INTO {table} ({names}) SELECT {names} "  # noqa: S608 - our names
                    f"FROM json_populate_recordset(NULL::{table}, CAST(%s AS json))" + conflict,
                    [_records(columns, lists[start : start + PG_ROWS_PER_STATEMENT])],
                )
            return
        _json_texts(lists, columns, json_columns)
        one_row = f"({', '.join(['%s'] * len(columns))})"
        step = max(1, SQLITE_ROWS_PER_STATEMENT // len(columns))
        for start in range(0, len(lists), step):
            chunk = lists[start : start + step]
            cursor.execute(
                f"INSERT INTO {table} ({names}) VALUES "  # noqa: S608 - our own names
                + ", ".join([one_row] * len(chunk))
                + conflict,
                [value for row in chunk for value in row],
            )


# From this many rows PostgreSQL is sent the rows by COPY (``_copy_in``). Measured here,
# patients' rows (21 columns, one jsonb), JSON against COPY through a temporary table: a
# batch of 20 took 0.95 ms and 1.9, of 100 4.8 and 4.4, of 300 17.5 and 12.8, of 1,000 51
# and 36. At a restore's scale, in the server: 500,000 patients 25 s by JSON, 14-16 s by
# COPY; 2 million blocking keys (2 columns) 12.5 s and 8.5 s.
COPY_FROM_ROWS = 200


def _copy_in(
    table: str,
    columns: list[str],
    names: str,
    lists: list[list[Any]],
    json_columns: tuple[str, ...],
) -> None:
    """``insert_many``'s rows by COPY, JSON columns' values as JSON text. COPY can't skip a
    row that breaks a unique constraint: it fails whole (``UniqueViolation``), and the
    caller, in a savepoint, goes the JSON way instead. A restore's and a catch-up's rows are
    new nearly always; ``json_populate_recordset`` spends most of its time turning each
    nested JSON value (a jsonb column's) into jsonb, where the server reads COPY's text a
    value at a time."""
    positions = [i for i, c in enumerate(columns) if c in json_columns]
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,  # noqa: S608 - our names
    ):
        for row in lists:
            if positions:
                row = list(row)  # the JSON way, if it comes to that, takes the values as they are
                for i in positions:
                    row[i] = orjson.dumps(row[i], default=str).decode()
            copy.write_row(row)


def update_many(
    table: str,
    key: Iterable[str],
    columns: Iterable[str],
    rows: Iterable[Iterable[Any]],
    json_columns: Iterable[str] = (),
) -> None:
    """UPDATE many rows, each to its own values, in a statement or a few: ``rows`` hold
    the ``key`` columns' values then the ``columns``' (only those are written), joined to
    the table as a table of their own (``UPDATE .. FROM``; SQLite has it since 3.33). On
    PostgreSQL that table is one JSON parameter typed by the table's row type, on SQLite
    a VALUES list."""
    key, columns, json_columns = list(key), list(columns), tuple(json_columns)
    every = [*key, *columns]
    lists = [list(row) for row in rows]
    if not lists or not columns:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            sets = ", ".join(f"{_name(c)} = v.{_name(c)}" for c in columns)
            where = " AND ".join(f"{table}.{_name(c)} = v.{_name(c)}" for c in key)
            for start in range(0, len(lists), PG_ROWS_PER_STATEMENT):
                cursor.execute(
                    f"UPDATE {table} SET {sets} "  # noqa: S608 - our own names
                    f"FROM json_populate_recordset(NULL::{table}, CAST(%s AS json)) AS v "
                    f"WHERE {where}",
                    [_records(every, lists[start : start + PG_ROWS_PER_STATEMENT])],
                )
            return
        _json_texts(lists, every, json_columns)
        aliases = ", ".join(f"c{i}" for i in range(len(every)))
        sets = ", ".join(f"{_name(c)} = v.c{len(key) + i}" for i, c in enumerate(columns))
        where = " AND ".join(f"{table}.{_name(c)} = v.c{i}" for i, c in enumerate(key))
        one_row = f"({', '.join(['%s'] * len(every))})"
        step = max(1, SQLITE_ROWS_PER_STATEMENT // len(every))
        for start in range(0, len(lists), step):
            chunk = lists[start : start + step]
            cursor.execute(
                f"WITH v ({aliases}) AS (VALUES {', '.join([one_row] * len(chunk))}) "  # noqa: S608
                f"UPDATE {table} SET {sets} FROM v WHERE {where}",
                [value for row in chunk for value in row],
            )


Row = dict[str, Any]


class Table:
    """A projection table written a row at a time in plain SQL, each row a dict of columns:
    read only the columns a handler needs by key, insert a new row whole (what the model's
    defaults give, without making an instance), update only the columns that changed."""

    def __init__(self, model: type[models.Model]) -> None:
        fields = [f for f in model._meta.concrete_fields if not isinstance(f, models.AutoField)]
        self.name: str = model._meta.db_table
        self.columns = [f.attname for f in fields]
        self.json_columns = tuple(f.attname for f in fields if f.get_internal_type() == "JSONField")
        blank = model()
        self._blank = {c: getattr(blank, c) for c in self.columns}

    def blank(self, **values: Any) -> dict[str, Any]:
        """A new row: the model's defaults (fresh lists and maps), then ``values``."""
        row = {c: type(v)(v) if isinstance(v, list | dict) else v for c, v in self._blank.items()}
        row.update(values)
        return row

    def read(self, key: dict[str, Any], columns: Iterable[str]) -> dict[str, Any] | None:
        """``columns`` of the row with ``key`` (JSON decoded), or None."""
        columns = list(columns)
        where = " AND ".join(f"{_name(c)} = %s" for c in key)
        found = one(
            f"SELECT {', '.join(_name(c) for c in columns)} FROM {self.name} "  # noqa: S608
            f"WHERE {where}",
            list(key.values()),
        )
        if found is None:
            return None
        return {
            c: json_value(v) if c in self.json_columns and v is not None else v
            for c, v in zip(columns, found, strict=True)
        }

    def insert(self, row: dict[str, Any]) -> bool:
        """INSERT .. ON CONFLICT DO NOTHING; whether the row went in."""
        return insert(self.name, row, self.json_columns)

    def store(self, key: dict[str, Any], row: dict[str, Any], read: dict[str, Any] | None) -> None:
        """Write ``row``: whole if ``read`` is None (it was not there), else only the columns
        whose values differ from what was read (a column not read counts as changed)."""
        if read is None:
            self.insert(row)
            return
        changed = {c: v for c, v in row.items() if c not in key and (c not in read or read[c] != v)}
        update(self.name, key, changed, self.json_columns)

    def store_many(self, items: Iterable[tuple[Row, Row, Row | None]]) -> None:
        """``store`` for many rows, each (key, row, read), in a few statements: the new rows
        inserted together, the known ones updated together - each in only the columns that
        changed, rows that changed the same columns in one statement."""
        new: dict[tuple[str, ...], list[list[Any]]] = {}
        changed: dict[tuple[tuple[str, ...], tuple[str, ...]], list[list[Any]]] = {}
        for key, row, read in items:
            if read is None:
                new.setdefault(tuple(row), []).append(list(row.values()))
                continue
            diff = [c for c, v in row.items() if c not in key and (c not in read or read[c] != v)]
            if diff:
                changed.setdefault((tuple(key), tuple(diff)), []).append(
                    [*key.values(), *(row[c] for c in diff)]
                )
        for columns, rows in new.items():
            insert_many(self.name, columns, rows, self.json_columns)
        for (key_columns, columns), rows in changed.items():
            update_many(self.name, key_columns, columns, rows, self.json_columns)
