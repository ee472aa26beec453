"""Builders for the treatment-cycle tests (planner, response review, jobs).

A clinic in New York with two clinicians working every day 09:00–17:00, and
patients whose courses have completed treatments and diary periods at given dates.
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.timezones import local_datetime
from cycles.models import TreatmentRecord
from scheduling.models import Session
from tests.factories import (
    ClinicianFactory,
    CourseFactory,
    DiaryEntryFactory,
    LocationFactory,
    PatientFactory,
    SessionFactory,
    WorkingHoursFactory,
)

NEW_YORK = ZoneInfo("America/New_York")
STANDARD_TREATMENT = {
    "units_by_muscle": dict(TreatmentRecord.STANDARD_UNITS),
    "sites": 31,
    "units_wasted": 0,
    "lot_number": "C1234",
}


def clinic(name: str = "Manhattan", zone: str = "America/New_York", clinicians: int = 2, days=range(7)):
    """A location and its clinicians, each working 09:00–17:00 on `days` (0 = Monday)."""
    location = LocationFactory(name=name, time_zone=zone)
    staff = []
    for index in range(clinicians):
        clinician = ClinicianFactory(name=f"Dr {name} {index}", locations=[location])
        for weekday in days:
            WorkingHoursFactory(clinician=clinician, location=location, weekday=weekday)
        staff.append(clinician)
    return location, staff


def at(day: date, hour: int = 9, minute: int = 0, tz: ZoneInfo = NEW_YORK) -> datetime:
    return local_datetime(day, time(hour, minute), tz)


def treated_course(*, location, clinician, treated_on: list[date], hour: int = 9, patient=None):
    """A course whose treatments were completed on the given local dates at `hour`."""
    patient = patient or PatientFactory(time_zone=location.time_zone)
    course = CourseFactory(patient=patient)
    for number, day in enumerate(treated_on, start=1):
        SessionFactory(
            patient=patient,
            course=course,
            clinician=clinician,
            location=location,
            start=at(day, hour, tz=location.zone),
            status=Session.Status.COMPLETED,
            cycle_number=number,
        )
    return course


def diary(patient, first: date, headache_days: list[int], days: int = 28):
    """Consecutive diary periods of `days` days from `first`, one per value."""
    for index, value in enumerate(headache_days):
        start = first + timedelta(days=index * days)
        DiaryEntryFactory(
            patient=patient,
            period_start=start,
            period_end=start + timedelta(days=days - 1),
            headache_days=value,
            migraine_days=min(value, 8),
            acute_medication_days=min(value, 4),
        )


def no_benefit_course(*, location, today: date, hour: int = 9, next_hour: int | None = None, next_in_days: int = 60):
    """A course (its own clinician) of three treatments 84 days apart, the first 228 days before `today`
    (so the third, 60 days ago, is past its 56 days of assessment and final), whose third cycle shows no
    benefit (16 per 28 days against a baseline of 20: −20 %); its fourth treatment is already booked
    `next_in_days` after `today` at `next_hour` (default `hour`)."""
    clinician = ClinicianFactory(locations=[location])
    t1 = today - timedelta(days=168 + 60)
    course = treated_course(
        location=location, clinician=clinician, treated_on=[t1 + timedelta(days=84 * k) for k in range(3)], hour=hour
    )
    diary(course.patient, t1 - timedelta(days=84), [20, 20, 20])
    diary(course.patient, t1, [18, 18, 18, 17, 17, 17, 16])
    SessionFactory(
        patient=course.patient,
        course=course,
        clinician=clinician,
        location=location,
        start=at(today + timedelta(days=next_in_days), hour if next_hour is None else next_hour, tz=location.zone),
    )
    return course
