"""A demo clinic: two locations in different zones, four clinicians, forty patients.

Idempotent: a second run finds the demo clinic and only prints the logins.
Everything random comes from one seeded generator, so every machine gets the
same clinic.
"""

import random
from datetime import time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from clinic.roles import CLINIC_ADMIN, CLINICIAN, FRONT_DESK, ensure_groups
from clinic.timezones import today_in
from patients.models import DiaryEntry, Patient, PriorPreventive
from scheduling.models import Clinician, Location, Protocol, WorkingHours

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
        Protocol.active()
        users = self._staff()
        if Location.objects.filter(name=LOCATIONS[0][0]).exists():
            return False
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
