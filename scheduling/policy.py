"""What the layers above add to every booking, through one registered hook (DESIGN.md §3).

Scheduling knows clinicians, hours and sessions, not treatment courses. The course
rules (interval, eligibility, later authorisation) and the session length of a
course's protocol live in cycles/, which registers its policy when the app is
ready (`cycles.apps`). Scheduling calls it on every booking and reschedule, so a
rule added there holds for every path that books.
"""

from datetime import timedelta

DEFAULT_SESSION_MINUTES = 30


class BookingPolicy:
    """The default: 30-minute sessions, no rules beyond the calendar's own."""

    def session_length(self, *, patient=None, kind: str | None = None) -> timedelta:
        return timedelta(minutes=DEFAULT_SESSION_MINUTES)

    def check(self, *, session, override_reason: str, by, exclude=None) -> None:
        """Raise a DomainError if `session` (unsaved, or about to move to its new start) must not be booked.

        May fill in what the policy owns on the session (its course, the late mark).
        `exclude` is the session being moved, which must not clash with itself.
        """


_policy = BookingPolicy()


def register(policy: BookingPolicy) -> None:
    global _policy
    _policy = policy


def current() -> BookingPolicy:
    return _policy
