"""Querysets compiled to SQL once per process, for the send-time path (a charge's account and rate lookups).

The ORM compiles a queryset to SQL every time it is evaluated: for a filtered query with a
select_related that costs more Python time than PostgreSQL spends running it. A CompiledQuery builds
its queryset once with sentinel arguments, compiles it, remembers which SQL parameters the sentinels
became, and afterwards runs the same SQL with the real arguments, building the model instances (and
those of its select_related, at any depth) with Model.from_db, its annotations set as attributes and
every column through the converters the ORM would apply. The queryset stays the one definition of the
query; only its compilation is kept. On other databases (the SQLite default of
`make run`) the queryset is built and evaluated as usual.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

# Sentinels for the usual arguments (any value works that no query holds as a constant parameter).
SENTINEL_UUID = uuid.UUID(int=0x0A7)
SENTINEL_INSTANT = datetime(2000, 1, 2, 3, 4, 5, 6789, tzinfo=UTC)
SENTINEL_INT = -0x0A7  # an integer key no row has


@dataclass(frozen=True)
class _Shape:
    sql: str
    params: list
    slots: dict[int, str]  # parameter index -> argument name
    klass_info: dict
    names: list[str | None]  # attname of each selected model column (None for an annotation)
    annotations: dict[str, int]  # annotation name -> column index
    converters: dict  # column index -> (the ORM's converters of that column, its expression)


class CompiledQuery:
    """A queryset shape compiled once; calling it with the builder's arguments returns the model instances.

    `build(**arguments)` must return the queryset; `sentinels` gives each argument a value that appears
    nowhere else among the query's parameters (so its position can be found) and has the type the real
    arguments will have (a UUID for a UUID column, an int for an integer one).
    """

    def __init__(self, build: Callable[..., QuerySet], **sentinels: Any):
        self.build = build
        self.sentinels = sentinels
        self._shape: _Shape | None = None

    def _compile(self) -> _Shape:
        compiler = self.build(**self.sentinels).query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        by_value = {str(value): name for name, value in self.sentinels.items()}
        slots = {index: by_value[str(value)] for index, value in enumerate(params) if str(value) in by_value}
        if sorted(slots.values()) != sorted(self.sentinels):
            raise RuntimeError(f"{self.build.__qualname__} did not compile to one parameter per argument")
        expressions = [expression for expression, _, _ in compiler.select]
        names = [getattr(getattr(expression, "target", None), "attname", None) for expression in expressions]
        return _Shape(sql=sql, params=list(params), slots=slots, klass_info=compiler.klass_info, names=names,
                      annotations=dict(compiler.annotation_col_map),
                      converters=compiler.get_converters(expressions))

    def __call__(self, **arguments: Any) -> list[Model]:
        if connection.vendor != "postgresql":
            return list(self.build(**arguments))
        shape = self._shape
        if shape is None:
            shape = self._shape = self._compile()
        params = [arguments[shape.slots[index]] if index in shape.slots else value
                  for index, value in enumerate(shape.params)]
        with connection.cursor() as cursor:
            cursor.execute(shape.sql, params)
            rows = cursor.fetchall()
        instances = []
        for row in rows:
            if shape.converters:
                row = _converted(row, shape.converters)
            instance = _instance(connection.alias, shape.klass_info, shape.names, row)
            for name, index in shape.annotations.items():
                setattr(instance, name, row[index])
            instances.append(instance)
        return instances


def _converted(row: tuple, converters: dict) -> list:
    """The row with each column through its converters (what SQLCompiler.apply_converters does)."""
    row = list(row)
    for index, (functions, expression) in converters.items():
        value = row[index]
        for function in functions:
            value = function(value, expression, connection)
        row[index] = value
    return row


def _instance(alias: str, klass_info: dict, names: list[str | None], row) -> Model | None:
    """The model instance of `klass_info`'s columns in `row`, with its select_related objects attached."""
    fields = klass_info["select_fields"]
    if not fields:
        return None
    model = klass_info["model"]
    values = [row[index] for index in fields]
    if values[[names[index] for index in fields].index(model._meta.pk.attname)] is None:
        return None  # a nullable relation that is not there
    instance = model.from_db(alias, [names[index] for index in fields], values)
    for related in klass_info.get("related_klass_infos", []):
        related_instance = _instance(alias, related, names, row)
        related["local_setter"](instance, related_instance)
        if related_instance is not None:
            related["remote_setter"](related_instance, instance)
    return instance
