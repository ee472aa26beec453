"""Who is free when: the one set of slot and overlap checks (pure, no database).

A `Calendar` holds, for some clinicians over some days, their working hours (UTC
intervals), their sessions anywhere and their time off, and the patients'
sessions. `problem` says why an interval cannot be booked, or None: the front-desk
booking (`scheduling.services.booking`) asks it about one session, the planner
(`cycles.calendar`) about every candidate slot of a batch, so a rule added here
holds for both. Every interval is in UTC (see scheduling/slots.py for why).
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from scheduling import slots
from scheduling.slots import Interval


class Problem(StrEnum):
    OUTSIDE_HOURS = "outside_hours"
    TIME_OFF = "time_off"
    CLINICIAN_BUSY = "clinician_busy"
    PATIENT_BUSY = "patient_busy"


def _overlaps(intervals, start: datetime, end: datetime) -> bool:
    return any(b_start < end and start < b_end for b_start, b_end in intervals)


@dataclass
class Calendar:
    hours: dict[object, list[Interval]]  # clinician id -> working hours at this location
    busy: dict[object, list[Interval]]  # clinician id -> active sessions anywhere
    time_off: dict[object, list[Interval]] = field(default_factory=dict)  # clinician id -> leave
    patient_busy: dict[object, list[Interval]] = field(default_factory=dict)  # patient id -> active sessions

    def problem(
        self, start: datetime, end: datetime, *, clinician_id, patient_id=None, hours: bool = True
    ) -> Problem | None:
        """Why [start, end) cannot be booked for this clinician and patient, or None when it can.

        `hours=False` asks only about overlaps (a treatment recorded after the fact happened anyway).
        """
        if hours and not slots.fits_hours(start=start, end=end, hours=self.hours.get(clinician_id, ())):
            return Problem.OUTSIDE_HOURS
        if hours and _overlaps(self.time_off.get(clinician_id, ()), start, end):
            return Problem.TIME_OFF
        if _overlaps(self.busy.get(clinician_id, ()), start, end):
            return Problem.CLINICIAN_BUSY
        if patient_id is not None and _overlaps(self.patient_busy.get(patient_id, ()), start, end):
            return Problem.PATIENT_BUSY
        return None

    def blocked(self, clinician_id, patient_id=None) -> list[Interval]:
        """Everything that keeps the clinician (and the patient) from a new session."""
        return [
            *self.busy.get(clinician_id, ()),
            *self.time_off.get(clinician_id, ()),
            *self.patient_busy.get(patient_id, ()),
        ]

    def take(self, start: datetime, end: datetime, *, clinician_id, patient_id) -> None:
        """A session placed: its clinician and patient are busy then for the rest of the batch."""
        self.busy.setdefault(clinician_id, []).append((start, end))
        self.patient_busy.setdefault(patient_id, []).append((start, end))
