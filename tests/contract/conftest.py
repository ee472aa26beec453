"""The contract tests' fixtures (tests/contract/common.py)."""

from tests.contract.common import (
    _now,
    authorised,
    booked,
    clinician,
    everything,
    freed_slot,
    location,
    other_clinician,
    patient,
    schema,
)

__all__ = [
    "_now",
    "authorised",
    "booked",
    "clinician",
    "everything",
    "freed_slot",
    "location",
    "other_clinician",
    "patient",
    "schema",
]
