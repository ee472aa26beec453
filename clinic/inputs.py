"""What every input is held to before it reaches a query, on the API, the web pages and the patient links.

- Dates and datetimes lie in the years 1900–2200. Outside them a clinic has nothing to
  schedule, and near Python's limits (year 1 or 9999) one day's arithmetic overflows.
- Search terms carry no control characters: PostgreSQL refuses a NUL in a query.
- Whole numbers typed in a query string are ASCII digits (`int("²")` raises).
"""

import re
import unicodedata
from datetime import date, datetime

from django import forms
from django.core.exceptions import ValidationError

MIN_YEAR = 1900
MAX_YEAR = 2200
MIN_DATE = date(MIN_YEAR, 1, 1)
MAX_DATE = date(MAX_YEAR, 12, 31)
OUT_OF_RANGE = f"Give a date between {MIN_DATE:%Y-%m-%d} and {MAX_DATE:%Y-%m-%d}."
_ASCII_DIGITS = re.compile(r"[0-9]{1,9}")


def date_in_range(value: date | datetime) -> bool:
    return MIN_YEAR <= value.year <= MAX_YEAR


def check_date(value):
    """A Django validator for dates and datetimes."""
    if value is not None and not date_in_range(value):
        raise ValidationError(OUT_OF_RANGE, code="date_out_of_range")
    return value


def parse_date(value: str | None) -> date | None:
    """A `YYYY-MM-DD` from a query string, or None when absent, malformed or out of range."""
    try:
        parsed = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return parsed if parsed is not None and date_in_range(parsed) else None


def parse_whole_number(value: str | None, *, default: int, maximum: int) -> int:
    """A non-negative whole number of ASCII digits from a query string; anything else is the default."""
    if value is None or not _ASCII_DIGITS.fullmatch(value):
        return default
    number = int(value)
    return number if number <= maximum else default


_CONTROL = ("Cc", "Cs")  # NUL and the other C0/C1 controls (tab, newline too), and lone surrogates


def has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in _CONTROL for ch in value)


def check_search_term(value: str) -> str:
    """A Django validator for free-text search terms."""
    if has_control_characters(value):
        raise ValidationError("Search terms cannot contain control characters.", code="control_characters")
    return value


def strip_control_characters(value: str) -> str:
    """What a search box can use of what was typed: control characters dropped."""
    return "".join(ch for ch in value if unicodedata.category(ch) not in _CONTROL)


class DateField(forms.DateField):
    """A form date in 1900–2200."""

    default_validators = [check_date]
