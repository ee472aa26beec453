"""The cycles tests share the scheduling tests' clinic: New York, open Mon–Fri 09:00–17:00, time pinned."""

from tests.scheduling.conftest import clinician, location, now, other_clinician, patient

__all__ = ["clinician", "location", "now", "other_clinician", "patient"]
