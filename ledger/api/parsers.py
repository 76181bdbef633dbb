"""The API's JSON parser: bodies nested deeper than MAX_DEPTH or holding NUL characters are a 400.

Limits are checked where the body is parsed, so nothing downstream (serializers, the idempotency
fingerprint, PostgreSQL, which stores no NUL in text) ever sees such a body.
"""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# The deepest contract body is 3 levels ({"items": [{...}]}); 32 leaves room and stays far from recursion.
MAX_DEPTH = 32


def check_json_value(data, max_depth: int = MAX_DEPTH) -> None:
    """Raise ParseError when parsed JSON nests deeper than `max_depth` or a string or key holds NUL."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError("Strings may not contain NUL (\\u0000) characters.")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            raise ParseError(f"The body is nested deeper than {max_depth} levels.")
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        else:
            stack.extend((item, depth + 1) for item in value)


class SafeJSONParser(JSONParser):
    """DRF's JSON parser with a nesting-depth limit and no NUL characters in strings."""

    max_depth = MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:  # nested beyond Python's own limit: refused before our walk can run
            raise ParseError(f"The body is nested deeper than {self.max_depth} levels.")
        check_json_value(data, self.max_depth)
        return data
