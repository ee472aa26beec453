"""The API reads JSON only (API.md, Security): a form-encoded or multipart body is 415.

A body nested deeper than any request of ours needs (MAX_DEPTH), or holding a lone
surrogate that no database can store, is a 400 `validation_error`: 100,000 nested `[`
used to exhaust Python's recursion and answer 500.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

from clinic.api.strict import JSONBody

MAX_DEPTH = 20


def _check(data) -> None:
    """Depth and text of a parsed body, walked without recursion."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise ParseError("JSON parse error - a string holds a lone surrogate (\\ud800-\\udfff).") from None
            continue
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
        pending.extend((child, depth + 1) for child in children)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from None
        _check(data)
        # Marked, so that serializers read it with JSON's types (clinic/api/strict.py).
        return JSONBody(data) if isinstance(data, dict) else data
