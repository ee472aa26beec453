"""A small clinic for the browser tests, dated around conftest.NOW (Monday 1 March 2027)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from clinic.roles import CLINICIAN, FRONT_DESK
from clinic.timezones import local_datetime
from cycles.models import ReviewFlag, TreatmentRecord
from scheduling.models import Session
from tests.factories import (
    ClinicianFactory,
    CourseFactory,
    DiaryEntryFactory,
    LocationFactory,
    PatientFactory,
    ProtocolFactory,
    ReviewFlagFactory,
    SessionFactory,
    UserFactory,
    WorkingHoursFactory,
)

NY = ZoneInfo("America/New_York")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return local_datetime(day, time(hour, minute), NY)


class World:
    def __init__(self):
        ProtocolFactory()
        self.desk = UserFactory(username="desk", role=FRONT_DESK)
        self.doctor = UserFactory(username="doctor", role=CLINICIAN)
        self.location = LocationFactory(name="Riverside", time_zone="America/New_York")
        self.lee = ClinicianFactory(name="Dr Lee", user=self.doctor, locations=[self.location])
        self.moss = ClinicianFactory(name="Dr Moss", locations=[self.location])
        self.kaur = ClinicianFactory(name="Dr Kaur", locations=[self.location])
        for clinician in (self.lee, self.moss, self.kaur):
            for weekday in range(7):
                WorkingHoursFactory(
                    clinician=clinician, location=self.location, weekday=weekday, start_time=time(9), end_time=time(17)
                )

    def session(self, patient, clinician, start: datetime, **fields) -> Session:
        return SessionFactory(
            patient=patient,
            course=fields.pop("course", None) or CourseFactory(patient=patient),
            clinician=clinician,
            location=self.location,
            start=start,
            end=start + timedelta(minutes=30),
            **fields,
        )

    def treated(self, patient, clinician, start: datetime, course=None) -> Session:
        """A completed treatment with its record (PREEMPT 155 U)."""
        done = self.session(patient, clinician, start, course=course, status=Session.Status.COMPLETED)
        TreatmentRecord.objects.create(
            session=done,
            units_by_muscle=TreatmentRecord.STANDARD_UNITS,
            sites=31,
            total_units=155,
            lot_number="C1234",
            lot_expiry=date(2028, 1, 31),
            injector=clinician,
        )
        return done

    def busy_day(self, day: date) -> None:
        """A few sessions on `day` so the day view has something in each column."""
        for hour, minute, clinician, name in [
            (9, 30, self.lee, "Ivy Park"),
            (10, 0, self.moss, "Leo Grant"),
            (11, 0, self.kaur, "Mia Chen"),
            (13, 30, self.moss, "Sam Ortiz"),
            (15, 0, self.lee, "Eva Novak"),
        ]:
            given, family = name.split()
            self.session(PatientFactory(given_name=given, family_name=family), clinician, at(day, hour, minute))


def patient_due_on(world: World, due: date, given="Nora", family="Bell"):
    """Treated 84 days before `due` at 09:00 with Dr Lee: the next treatment is due from `due`."""
    patient = PatientFactory(given_name=given, family_name=family, mrn=f"MRN-{family.upper()}")
    world.treated(patient, world.lee, at(due - timedelta(days=84), 9))
    return patient


def non_responder(world: World):
    """Three treatments 12 weeks apart, a 20-day baseline and cycles near 17: a no-benefit flag after cycle 3."""
    patient = PatientFactory(given_name="Paula", family_name="Stone", mrn="MRN-40812")
    course = CourseFactory(patient=patient)
    treated = [date(2026, 6, 8), date(2026, 8, 31), date(2026, 11, 23)]
    for day in treated:
        world.treated(patient, world.lee, at(day, 9), course=course)
    start = date(2026, 3, 9)
    while start + timedelta(days=27) < date(2027, 3, 1):
        headache = 20 if start < treated[0] else 17
        DiaryEntryFactory(
            patient=patient,
            period_start=start,
            period_end=start + timedelta(days=27),
            headache_days=headache,
            migraine_days=10,
        )
        start += timedelta(days=28)
    flag = ReviewFlagFactory(
        course=course,
        kind=ReviewFlag.Kind.NO_BENEFIT,
        cycle=3,
        details={"baseline": 20.0, "headache_days_per_28": 17.0, "reduction_pct": 15.0, "threshold_pct": 30},
    )
    return patient, flag


def flagged(world: World, kind: str, cycle: int, details: dict, given: str, family: str, clinician=None):
    """A patient treated once by `clinician` (Dr Lee by default) with an open flag of `kind`."""
    patient = PatientFactory(given_name=given, family_name=family, mrn=f"MRN-{family.upper()}")
    course = CourseFactory(patient=patient)
    world.treated(patient, clinician or world.lee, at(date(2026, 12, 7), 9), course=course)
    return patient, ReviewFlagFactory(course=course, kind=kind, cycle=cycle, details=details)
