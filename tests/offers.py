"""Builders for the slot-offer tests: a Manhattan clinic and patients due around a freed slot.

Time is pinned by the tests to Monday 2027-03-01 10:00 in New York (NOW). The slot is
Wednesday 10 March at 09:00 with Dr Adams (nine days ahead, far beyond the 24 hours'
notice). Every patient's course has one completed treatment at the clinic, so its
window follows from that date: due_from = last + 84 days, due_by = last + 98.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.timezones import local_datetime
from cycles.models import Course
from scheduling.models import Session
from scheduling.services import session_cancel
from tests.factories import (
    ClinicianFactory,
    CourseFactory,
    LocationFactory,
    PatientFactory,
    SessionFactory,
    WorkingHoursFactory,
)

NY = ZoneInfo("America/New_York")
NOW = local_datetime(date(2027, 3, 1), time(10), NY)
SLOT_DAY = date(2027, 3, 10)


def ny(day: date, hour: int, minute: int = 0) -> datetime:
    return local_datetime(day, time(hour, minute), NY)


def clinic(name: str = "Manhattan West", clinicians=("Dr Adams", "Dr Baker"), opens=7, closes=17):
    """A New York location whose clinicians work every day from `opens` to `closes`."""
    location = LocationFactory(name=name, time_zone="America/New_York")
    staff = []
    for clinician_name in clinicians:
        clinician = ClinicianFactory(name=clinician_name, locations=[location])
        for weekday in range(7):
            WorkingHoursFactory(
                clinician=clinician, location=location, weekday=weekday, start_time=time(opens), end_time=time(closes)
            )
        staff.append(clinician)
    return location, staff


_hours = iter(range(10**6))


def due_patient(
    location, clinician, *, last: date, given_name: str = "", course_status=Course.Status.ACTIVE, **patient
):
    """A patient in New York whose course's last treatment was at `location` on `last` (each at its own hour
    of the day, so no two past treatments overlap for the clinician)."""
    person = PatientFactory(time_zone="America/New_York", given_name=given_name or "Pat", **patient)
    course = CourseFactory(patient=person, status=course_status)
    hour = 7 + next(_hours) % 10
    SessionFactory(
        patient=person,
        course=course,
        clinician=clinician,
        location=location,
        start=ny(last, hour),
        status=Session.Status.COMPLETED,
        cycle_number=1,
    )
    return course


def booked(course, clinician, location, start: datetime) -> Session:
    """A treatment booked for the course (as the planner or the front desk would have)."""
    return SessionFactory(patient=course.patient, course=course, clinician=clinician, location=location, start=start)


def slot(clinician, location, start: datetime | None = None, patient_name: str = "Cancelling") -> Session:
    """The treatment session about to be cancelled: its patient is due then too."""
    course = due_patient(location, clinician, last=SLOT_DAY - timedelta(days=84), given_name=patient_name)
    return booked(course, clinician, location, start or ny(SLOT_DAY, 9))


def cancel(session: Session, capture, by=None) -> Session:
    """Cancel as the front desk does, running what is sent after commit (the offer task, the deliveries)."""
    with capture(execute=True):
        return session_cancel(session=session, reason="Patient is travelling", by=by)
