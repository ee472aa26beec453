"""SMS consent after the patient texted STOP (API.md, Notifications; DESIGN.md §5).

A STOP turns `sms_opt_in` off at once. After that it comes back on only by the patient's
own START (the inbound SMS service) or by a clinician who records why (`consent_note`,
audited), never by front desk: carriers and the TCPA treat a STOP as the patient's word.
The rule runs in the patient services, so every path that writes `sms_opt_in` keeps it.

Inbound SMS live in notifications/, above this layer: it registers the look-up here
(`register_stop_lookup`) when it is ready, as scheduling's booking policy is registered.
"""

from collections.abc import Callable

from clinic.errors import PermissionDenied, ValidationFailed
from clinic.roles import is_clinician

_stopped: Callable[[str], bool] = lambda phone: False  # noqa: E731  (no inbound SMS: nobody texted STOP)


def register_stop_lookup(lookup: Callable[[str], bool]) -> None:
    """`lookup(phone)`: whether the latest STOP/START keyword from that E.164 number was a STOP."""
    global _stopped
    _stopped = lookup


def sms_stopped(phone: str) -> bool:
    return bool(phone) and _stopped(phone)


def check_sms_opt_in(*, was_opted_in: bool, fields: dict, phone: str, by, consent_note: str) -> None:
    """Refuse turning SMS on for a number whose last word was STOP, unless a clinician gives the reason."""
    if not fields.get("sms_opt_in") or was_opted_in or not sms_stopped(fields.get("phone") or phone):
        return
    if by is None or not is_clinician(by):
        raise PermissionDenied(
            "The patient texted STOP: SMS comes back on when they text START, or a clinician records their consent."
        )
    if not consent_note.strip():
        message = "The patient texted STOP: say how they gave their consent again."
        raise ValidationFailed(message, fields={"consent_note": [message]})
