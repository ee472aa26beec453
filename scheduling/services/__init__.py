"""Writes for scheduling, by concern: clinic set-up, booking, the session lifecycle."""

from scheduling.services.booking import (
    check_free,
    check_override,
    check_start,
    lock_for_booking,
    session_book,
    session_record_past,
    session_reschedule,
    session_save,
)
from scheduling.services.lifecycle import (
    CANCEL_UNDO,
    action_problem,
    session_cancel,
    session_cancel_undo,
    session_check_in,
    session_confirm,
    session_no_show,
    undo_deadline,
)
from scheduling.services.setup import (
    clinician_create,
    clinician_update,
    location_create,
    location_update,
    time_off_create,
    time_off_delete,
    working_hours_create,
    working_hours_delete,
)
from scheduling.services.transitions import ALLOWED_FROM, locked, require

__all__ = [
    "ALLOWED_FROM",
    "CANCEL_UNDO",
    "action_problem",
    "check_free",
    "check_override",
    "check_start",
    "clinician_create",
    "clinician_update",
    "location_create",
    "location_update",
    "lock_for_booking",
    "locked",
    "require",
    "session_book",
    "session_cancel",
    "session_cancel_undo",
    "session_check_in",
    "session_confirm",
    "session_no_show",
    "session_record_past",
    "session_reschedule",
    "session_save",
    "time_off_create",
    "time_off_delete",
    "undo_deadline",
    "working_hours_create",
    "working_hours_delete",
]
