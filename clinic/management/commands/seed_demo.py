"""A demo clinic: two locations in different zones, four clinicians, forty patients,
and a few months of sessions: completed treatments with their records (so cycle
numbers, the 12-week rule and the response chart have history), today's list,
and bookings over the next few weeks. The courses on the US payer's profile have
prior authorisations: most in force, one expiring, one missing (the renewal queue).

Idempotent: a second run finds the demo clinic and only prints the logins.
Everything random comes from one seeded generator, so every machine gets the
same clinic.
"""

import random
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK, ensure_groups
from clinic.timezones import local_datetime, today_in
from cycles.models import AdverseEvent, Authorization, Course, Protocol, TreatmentRecord
from patients.models import DiaryEntry, Patient, PriorPreventive
from scheduling.models import Clinician, Location, Session, WorkingHours

DEMO_PASSWORD = "cycledesk-demo"
STAFF = [
    ("frontdesk", FRONT_DESK, None),
    ("admin", CLINIC_ADMIN, None),
    ("drlee", CLINICIAN, "Dr Amy Lee"),
    ("drpatel", CLINICIAN, "Dr Ravi Patel"),
    ("drokafor", CLINICIAN, "Dr Ngozi Okafor"),
    ("drsmith", CLINICIAN, "Dr James Smith"),
]
LOCATIONS = [("Manhattan Headache Center", "America/New_York"), ("London Bridge Clinic", "Europe/London")]
GIVEN = ["Ada", "Ben", "Chloe", "Dev", "Ella", "Femi", "Grace", "Hugo", "Isla", "Jon", "Kira", "Liam", "Maya", "Noah"]
FAMILY = ["Adams", "Brown", "Clarke", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jones", "Khan", "Lopez"]
PREVENTIVES = ["topiramate", "propranolol", "amitriptyline", "candesartan", "venlafaxine"]


class Command(BaseCommand):
    help = "Fill an empty database with a demo clinic (safe to run again)."

    def handle(self, *args, **options):
        with transaction.atomic():
            created = self._seed()
        self.stdout.write(self.style.SUCCESS("Seeded the demo clinic." if created else "Demo clinic already present."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, _ in STAFF:
            self.stdout.write(f"  {username:<10} {role}")

    def _seed(self) -> bool:
        ensure_groups()
        Protocol.default()
        _profiles()
        users = self._staff()
        if Location.objects.filter(name=LOCATIONS[0][0]).exists():
            # A clinic seeded before sessions (or authorisations) existed in the demo gets them once.
            if not Session.objects.exists():
                SessionSeeder(random.Random(20261123)).run()
                return True
            return seed_authorizations(random.Random(20261124)) > 0
        rng = random.Random(20261122)
        locations = [Location.objects.create(name=name, time_zone=tz) for name, tz in LOCATIONS]
        clinicians = []
        for index, (username, _role, name) in enumerate(s for s in STAFF if s[1] == CLINICIAN):
            clinician = Clinician.objects.create(name=name, user=users[username])
            location = locations[index % 2]
            clinician.locations.add(location)
            WorkingHours.objects.bulk_create(
                WorkingHours(clinician=clinician, location=location, weekday=day, start_time=time(9), end_time=time(17))
                for day in range(5)
            )
            clinicians.append(clinician)
        for number in range(40):
            location = locations[number % 2]
            patient = Patient.objects.create(
                mrn=f"DEMO{number + 1:04d}",
                given_name=rng.choice(GIVEN),
                family_name=rng.choice(FAMILY),
                date_of_birth=today_in(location.zone) - timedelta(days=rng.randint(22 * 365, 70 * 365)),
                email=f"patient{number + 1}@example.com",
                phone=f"+1212555{number:04d}" if location.time_zone.startswith("America") else f"+4479460{number:05d}",
                time_zone=location.time_zone,
                email_opt_in=True,
                sms_opt_in=number % 3 != 0,
            )
            for drug in rng.sample(PREVENTIVES, k=rng.randint(1, 3)):
                PriorPreventive.objects.create(patient=patient, drug=drug, outcome=PriorPreventive.Outcome.FAILED)
            self._diary(patient, today_in(location.zone), rng)
        SessionSeeder(random.Random(20261123)).run()
        return True

    def _staff(self) -> dict:
        User = get_user_model()
        users = {}
        for username, role, _ in STAFF:
            user, created = User.objects.get_or_create(username=username, defaults={"is_staff": role == CLINIC_ADMIN})
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
                user.groups.add(Group.objects.get(name=role))
            users[username] = user
        return users

    def _diary(self, patient: Patient, today, rng: random.Random) -> None:
        """Twelve 28-day periods up to yesterday: a chronic baseline, improving for most patients."""
        baseline = rng.randint(16, 24)
        responder = rng.random() < 0.7
        entries = []
        for index in range(12):
            end = today - timedelta(days=1 + 28 * (11 - index))
            start = end - timedelta(days=27)
            improvement = (index - 3) * rng.uniform(1.0, 2.5) if responder and index > 3 else rng.uniform(-1, 1)
            headache = max(2, min(28, round(baseline - improvement)))
            migraine = max(0, min(headache, round(headache * rng.uniform(0.5, 0.8))))
            entries.append(
                DiaryEntry(
                    patient=patient,
                    period_start=start,
                    period_end=end,
                    headache_days=headache,
                    migraine_days=migraine,
                    acute_medication_days=min(headache, rng.randint(2, 12)),
                    source=DiaryEntry.Source.IMPORT,
                )
            )
        DiaryEntry.objects.bulk_create(entries)


STANDARD_UNITS = TreatmentRecord.STANDARD_UNITS
FOLLOW_THE_PAIN = {**STANDARD_UNITS, "temporalis": 50, "occipitalis": 40, "trapezius": 50}  # 195 U at 39 sites
GRID = [time(9 + i // 2, 30 * (i % 2)) for i in range(16)]  # 09:00 … 16:30


def _profiles() -> dict[str, Protocol]:
    """The two payer profiles of the demo beside the default PREEMPT one (made once, by name)."""
    nice, _ = Protocol.objects.get_or_create(
        name="NICE TA260",
        defaults={"min_failed_preventives": 3, "review_after_sessions": 2, "response_threshold_pct": 30},
    )
    us, _ = Protocol.objects.get_or_create(
        name="US payer",
        defaults={"response_threshold_pct": 50, "response_metric": "migraine_days", "requires_authorization": True},
    )
    return {"nice": nice, "us": us}


class SessionSeeder:
    """Sessions for the demo patients, written in bulk with no overlaps and inside working hours.

    Most patients have two or three completed treatments 12 weeks apart; those
    due in the next three weeks are booked, a few are left overdue for the due
    list; untreated patients get a first consultation; a handful are on today's
    list, one of them checked in.
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.taken: set[tuple] = set()
        self.sessions: list[Session] = []
        self.records: list[TreatmentRecord] = []
        self.events: list[AdverseEvent] = []

    def run(self) -> None:
        protocol = Protocol.default()
        # Some demo courses follow the other payers' profiles: every fifth NICE, every seventh the US payer's.
        profiles = _profiles()
        length = timedelta(minutes=protocol.session_minutes)
        clinicians_at = {}
        for hours in WorkingHours.objects.select_related("clinician", "location"):
            clinicians_at.setdefault(hours.location, set()).add(hours.clinician)
        clinicians_at = {loc: sorted(cs, key=lambda c: c.name) for loc, cs in clinicians_at.items()}
        locations = sorted(clinicians_at, key=lambda loc: loc.name)
        patients = list(Patient.objects.filter(mrn__startswith="DEMO").order_by("mrn"))
        courses = []
        for index, patient in enumerate(patients):
            location = next((loc for loc in locations if loc.time_zone == patient.time_zone), locations[0])
            today = today_in(location.zone)
            clinician = clinicians_at[location][index % len(clinicians_at[location])]
            plan = index % 10
            if plan < 7:
                # Every fifth NICE; every fourth New York patient (even index) the US payer's.
                on = profiles["nice"] if index % 5 == 1 else profiles["us"] if index % 4 == 0 else protocol
                course = Course(patient=patient, protocol=on)
                courses.append(course)
                self._treated(patient, course, clinician, location, today, length, overdue=plan == 6)
            elif plan == 7:
                self._book(
                    patient,
                    None,
                    clinician,
                    location,
                    today + timedelta(days=1 + index % 12),
                    length,
                    kind=Session.Kind.CONSULTATION,
                )
            elif plan == 8:
                self._book(
                    patient,
                    None,
                    clinician,
                    location,
                    today,
                    length,
                    kind=Session.Kind.CONSULTATION,
                    status=Session.Status.CHECKED_IN if index % 20 == 8 else Session.Status.BOOKED,
                )
        Course.objects.bulk_create(courses)
        Session.objects.bulk_create(self.sessions)
        TreatmentRecord.objects.bulk_create(self.records)
        AdverseEvent.objects.bulk_create(self.events)
        seed_authorizations(random.Random(20261124))

    def _treated(self, patient, course, clinician, location, today: date, length, *, overdue: bool) -> None:
        """Completed treatments every 84 days up to the past month; the next one booked if due soon."""
        interval = timedelta(days=84)
        first = today - timedelta(days=self.rng.randint(150, 250))
        day, cycle = first, 0
        last = None
        while day < today - timedelta(days=7):
            cycle += 1
            last = self._book(
                patient,
                course,
                clinician,
                location,
                day,
                length,
                kind=Session.Kind.TREATMENT,
                status=Session.Status.COMPLETED,
                cycle=cycle,
            )
            day = last.start.astimezone(location.zone).date() + interval + timedelta(days=self.rng.randint(0, 6))
        due = last.start.astimezone(location.zone).date() + interval
        if overdue or due > today + timedelta(days=21):
            return  # overdue ones stay on the due list; later ones are the planner's to book
        status = Session.Status.CONFIRMED if self.rng.random() < 0.4 else Session.Status.BOOKED
        self._book(
            patient,
            course,
            clinician,
            location,
            max(due, today + timedelta(days=1)),
            length,
            kind=Session.Kind.TREATMENT,
            status=status,
        )

    def _book(
        self, patient, course, clinician, location, day: date, length, *, kind, status=Session.Status.BOOKED, cycle=None
    ) -> Session:
        while day.weekday() >= 5:
            day += timedelta(days=1)
        free = [t for t in GRID if (clinician.id, day, t) not in self.taken]
        while not free:
            day += timedelta(days=1 if day.weekday() < 4 else 3)
            free = [t for t in GRID if (clinician.id, day, t) not in self.taken]
        at = self.rng.choice(free)
        self.taken.add((clinician.id, day, at))
        start = local_datetime(day, at, location.zone)
        session = Session(
            patient=patient,
            course=course,
            clinician=clinician,
            location=location,
            kind=kind,
            start=start,
            end=start + length,
            status=status,
            cycle_number=cycle,
            booked_by=clinician.user,
        )
        if status in (Session.Status.CHECKED_IN, Session.Status.COMPLETED):
            session.checked_in_at = start - timedelta(minutes=10)
        if status == Session.Status.CONFIRMED:
            session.confirmed_at = start - timedelta(days=2)
        if status == Session.Status.COMPLETED:
            session.completed_at = start + length
            self._record(session, day)
        self.sessions.append(session)
        return session

    def _record(self, session: Session, day: date) -> None:
        units = FOLLOW_THE_PAIN if self.rng.random() < 0.2 else STANDARD_UNITS
        total = sum(units.values())
        self.records.append(
            TreatmentRecord(
                session=session,
                units_by_muscle=dict(units),
                sites=total // 5,
                total_units=total,
                units_wasted=200 - total if self.rng.random() < 0.5 else 0,  # one 200 U vial
                lot_number=f"C{self.rng.randint(1000, 9999)}C3",
                lot_expiry=day + timedelta(days=self.rng.randint(120, 700)),
                injector=session.clinician,
                recorded_by=session.clinician.user,
            )
        )
        if self.rng.random() < 0.15:
            kind = self.rng.choice([AdverseEvent.Kind.NECK_PAIN, AdverseEvent.Kind.INJECTION_SITE_PAIN])
            self.events.append(
                AdverseEvent(patient=session.patient, session=session, kind=kind, severity=AdverseEvent.Severity.MILD)
            )


PAYERS = ["Aetna", "UnitedHealthcare", "Cigna", "Blue Cross Blue Shield"]


def seed_authorizations(rng: random.Random) -> int:
    """Prior authorisations of the active courses whose profile requires them, once: one missing (its last
    approval ended three weeks ago; a course with nothing booked, so it waits on the due list), one
    expiring in 18 days, the others in force (four treatments over a year). Every booked treatment of
    theirs falls inside its approval, as the booking rule would have it."""
    if Authorization.objects.exists():
        return 0
    courses = list(
        Course.objects.filter(status=Course.Status.ACTIVE, protocol__requires_authorization=True)
        .select_related("patient")
        .order_by("patient__mrn")
    )
    booked: dict = {}
    treated: dict = {}  # course id -> local dates of its completed and booked treatments
    for session in Session.objects.filter(
        course__in=courses, kind=Session.Kind.TREATMENT, status__in=Session.ACTIVE_STATUSES
    ).select_related("location"):
        day = session.start.astimezone(session.location.zone).date()
        treated.setdefault(session.course_id, []).append(day)
        if session.status in Session.UPCOMING_STATUSES:
            booked[session.course_id] = day
    missing = next((c for c in courses if c.pk not in booked), None)

    def today_of(course) -> date:
        return today_in(ZoneInfo(course.patient.time_zone))

    # Its booked treatment (if any) falls before it ends.
    expiring = next(
        (c for c in courses if c is not missing and booked.get(c.pk, today_of(c)) <= today_of(c) + timedelta(days=18)),
        None,
    )
    rows = []
    for course in courses:
        today = today_of(course)
        common = {"course": course, "payer": rng.choice(PAYERS), "reference": f"PA{rng.randint(1000000, 9999999)}"}
        if course is missing:
            rows.append(
                Authorization(
                    **common,
                    status=Authorization.Status.APPROVED,
                    treatments_approved=2,
                    valid_from=today - timedelta(days=200),
                    valid_to=today - timedelta(days=20),
                    notes="Renewal not yet requested.",
                )
            )
        elif course is expiring:
            valid_from = today - timedelta(days=162)
            used = sum(1 for day in treated.get(course.pk, ()) if day >= valid_from)
            rows.append(
                Authorization(
                    **common,
                    status=Authorization.Status.APPROVED,
                    treatments_approved=used + 1,  # one left, and 18 days
                    valid_from=valid_from,
                    valid_to=today + timedelta(days=18),
                )
            )
        else:
            rows.append(
                Authorization(
                    **common,
                    status=Authorization.Status.APPROVED,
                    treatments_approved=4,
                    units_approved=4 * 200,
                    valid_from=today - timedelta(days=60),
                    valid_to=today + timedelta(days=305),
                )
            )
    Authorization.objects.bulk_create(rows)
    return len(rows)
