"""What the layers above add to every booking, through one registered hook (DESIGN.md §3).

Scheduling knows clinicians, hours and sessions, not treatment courses. The course
rules (interval, eligibility, prior authorisation) and the session length of a
course's protocol live in cycles/, which registers its policy when the app is
ready (`cycles.apps`). Scheduling calls it on every booking and reschedule, so a
rule added there holds for every path that books.

A booking asks the policy twice: `begin` locks the patient's row (the first lock of
every booking, see scheduling/services/booking.py) and loads, in the same query,
what the policy needs (cycles: the patient's active course and its protocol); then
`check` judges the session against the patient's sessions that scheduling has read
for its own calendar check anyway.
"""

from dataclasses import dataclass
from datetime import timedelta

from patients.models import Patient

DEFAULT_SESSION_MINUTES = 30


@dataclass
class BookingContext:
    """One booking's locked patient, the session length, and what the policy keeps between its steps."""

    patient: Patient
    length: timedelta
    state: object = None


class BookingPolicy:
    """The default: 30-minute sessions, no rules beyond the calendar's own."""

    def session_length(self, *, patient=None, kind: str | None = None) -> timedelta:
        return timedelta(minutes=DEFAULT_SESSION_MINUTES)

    def begin(self, *, patient_id, kind: str) -> BookingContext | None:
        """Lock the patient's row (FOR UPDATE) and load what `check` will need; None: no such patient."""
        patient = Patient.objects.select_for_update().filter(pk=patient_id).first()
        if patient is None:
            return None
        return BookingContext(patient=patient, length=self.session_length(patient=patient, kind=kind))

    def check(self, *, session, override_reason: str, by, exclude=None, context=None, patient_sessions=None) -> None:
        """Raise a DomainError if `session` (unsaved, or about to move to its new start) must not be booked.

        May fill in what the policy owns on the session (its course, the late mark).
        `exclude` is the session being moved, which must not clash with itself. `context` is `begin`'s;
        `patient_sessions` the patient's active sessions scheduling read (`selectors.booking_calendar`):
        those overlapping the booking and every treatment, with kind, status, course and zone.
        """


_policy = BookingPolicy()


def register(policy: BookingPolicy) -> None:
    global _policy
    _policy = policy


def current() -> BookingPolicy:
    return _policy
