"""Keyset (cursor) pagination: `{results, next}`, stable under inserts, constant cost at any depth."""

import base64
import binascii
import json
from datetime import datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

# Our cursors are under 150 characters; anything much longer is crafted.
MAX_CURSOR_LENGTH = 512


class KeysetPagination:
    """Pages over a queryset ordered by unique `ordering` fields, e.g. ("-created_at", "-id").

    The cursor is the (opaque, base64) ordering values of the last row of the page; the next page
    is the rows strictly after it, so rows inserted meanwhile never shift or repeat a page.
    """

    cursor_query_param = "cursor"
    page_size_query_param = "page_size"

    def __init__(self, ordering: tuple[str, ...], page_size: int = 100, max_page_size: int = 1000):
        self.ordering = ordering
        self.page_size = page_size
        self.max_page_size = max_page_size

    def _fields(self):
        return [(name.lstrip("-"), name.startswith("-")) for name in self.ordering]

    def _decode(self, cursor: str, model) -> list:
        """The ordering values of a cursor, each cleaned by its model field; 400 `invalid` for anything else."""
        try:
            if len(cursor) > MAX_CURSOR_LENGTH:
                raise ValueError("too long")
            values = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii") + b"==").decode())
            if not isinstance(values, list) or len(values) != len(self.ordering):
                raise ValueError("not a list of the ordering values")
            return [_cursor_value(model._meta.get_field(name), value)
                    for (name, _), value in zip(self._fields(), values, strict=True)]
        except (ValueError, TypeError, binascii.Error, DjangoValidationError):
            raise ValidationError({self.cursor_query_param: ["The cursor is not valid."]})

    @staticmethod
    def _encode(values) -> str:
        raw = json.dumps([None if value is None else str(value) for value in values])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _after(self, values) -> Q:
        """Rows strictly after `values` in the ordering (lexicographic keyset condition).

        The first field's bound (`created_at <= v` for a descending created_at) is said on its own as
        well, so that the index on the ordering starts its scan at the cursor instead of filtering
        every newer row out.
        """
        (first, descending), value = self._fields()[0], values[0]
        bound = Q(**{f"{first}__{'lte' if descending else 'gte'}": value})
        condition = Q(pk__in=[])
        equal = Q()
        for (name, descending), value in zip(self._fields(), values, strict=True):
            condition |= equal & Q(**{f"{name}__{'lt' if descending else 'gt'}": value})
            equal &= Q(**{name: value})
        return bound & condition

    def page_size_for(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
            if not 1 <= size <= self.max_page_size:
                raise ValueError
        except ValueError:
            raise ValidationError({self.page_size_query_param: [f"Between 1 and {self.max_page_size}."]})
        return size

    def paginate(self, queryset, request) -> tuple[list, str | None]:
        """The rows of the requested page and the URL of the next one (None on the last page)."""
        size = self.page_size_for(request)
        cursor = request.query_params.get(self.cursor_query_param)
        queryset = queryset.order_by(*self.ordering)
        if cursor:
            queryset = queryset.filter(self._after(self._decode(cursor, queryset.model)))
        rows = list(queryset[: size + 1])
        next_url = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            values = [_attr(last, name) for name, _ in self._fields()]
            next_url = replace_query_param(request.build_absolute_uri(), self.cursor_query_param, self._encode(values))
        return rows, next_url

    def response(self, rows_data: list, next_url: str | None) -> Response:
        return Response({"results": rows_data, "next": next_url})


def _cursor_value(field, value):
    """One ordering value of a cursor as its model field would store it (a string, never null or NUL)."""
    if not isinstance(value, str) or "\x00" in value:
        raise ValueError("cursor values are strings")
    cleaned = field.clean(value, None)  # to_python plus the field's validators (max_length, integer range)
    if isinstance(cleaned, datetime) and timezone.is_naive(cleaned):
        raise ValueError("naive datetime")
    return cleaned


def _attr(obj, name: str):
    value = obj
    for part in name.split("__"):
        value = getattr(value, part)
    return value


def paginated(serializer_class):
    """A `{results, next}` response serializer around `serializer_class` (for the schema)."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return type(f"Paginated{name}List", (serializers.Serializer,), {
        "results": serializer_class(many=True),
        "next": serializers.URLField(allow_null=True, help_text="URL of the next page; null on the last page."),
        "__module__": __name__,
    })
