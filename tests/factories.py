from datetime import date, time, timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from cycles.models import Authorization, Course, FreedSlot, Protocol, ReviewFlag, SlotOffer, TreatmentRecord
from patients.models import DiaryEntry, Patient, PriorPreventive
from scheduling.models import Clinician, Location, Session, TimeOff, WorkingHours


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            group, _ = Group.objects.get_or_create(name=extracted)
            self.groups.add(group)
        if create:
            self.save()


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    mrn = factory.Sequence(lambda n: f"MRN{n:06d}")
    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = date(1980, 5, 17)
    email = factory.LazyAttribute(lambda p: f"{p.mrn.lower()}@example.com")
    phone = factory.Sequence(lambda n: f"+1212555{n % 10000:04d}")
    time_zone = "America/New_York"
    email_opt_in = True
    sms_opt_in = True


class PriorPreventiveFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriorPreventive

    patient = factory.SubFactory(PatientFactory)
    drug = "topiramate"
    outcome = PriorPreventive.Outcome.FAILED


class DiaryEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiaryEntry

    patient = factory.SubFactory(PatientFactory)
    period_start = date(2026, 1, 1)
    period_end = factory.LazyAttribute(lambda e: e.period_start + timedelta(days=27))
    headache_days = 20
    migraine_days = 10
    acute_medication_days = 5


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Clinic {n}")
    time_zone = "America/New_York"


class ClinicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinician
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Dr Number{n}")

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.add(*extracted)


class WorkingHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkingHours

    clinician = factory.SubFactory(ClinicianFactory)
    location = factory.SubFactory(LocationFactory)
    weekday = 0
    start_time = time(9)
    end_time = time(17)


class TimeOffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeOff

    clinician = factory.SubFactory(ClinicianFactory)
    start = factory.LazyFunction(timezone.now)
    end = factory.LazyAttribute(lambda t: t.start + timedelta(days=1))
    reason = "leave"


class ProtocolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Protocol
        django_get_or_create = ("is_default",)

    is_default = True


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    patient = factory.SubFactory(PatientFactory)
    protocol = factory.LazyFunction(Protocol.default)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    patient = factory.SubFactory(PatientFactory)
    course = factory.SubFactory(CourseFactory, patient=factory.SelfAttribute("..patient"))
    clinician = factory.SubFactory(ClinicianFactory)
    location = factory.SubFactory(LocationFactory)
    kind = Session.Kind.TREATMENT
    start = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    end = factory.LazyAttribute(lambda s: s.start + timedelta(minutes=30))
    status = Session.Status.BOOKED


class ReviewFlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReviewFlag

    course = factory.SubFactory(CourseFactory)
    patient = factory.SelfAttribute("course.patient")
    kind = ReviewFlag.Kind.NO_BENEFIT
    cycle = 3
    details = factory.LazyFunction(dict)


class TreatmentRecordFactory(factory.django.DjangoModelFactory):
    """The PREEMPT standard dose (155 U at 31 sites) on a completed treatment session."""

    class Meta:
        model = TreatmentRecord

    session = factory.SubFactory(SessionFactory, status=Session.Status.COMPLETED, cycle_number=1)
    units_by_muscle = factory.LazyFunction(lambda: dict(TreatmentRecord.STANDARD_UNITS))
    sites = 31
    total_units = 155
    units_wasted = 0
    lot_number = "C1234C3"
    lot_expiry = factory.LazyAttribute(lambda r: r.session.start.date() + timedelta(days=365))
    injector = factory.SelfAttribute("session.clinician")


class AuthorizationFactory(factory.django.DjangoModelFactory):
    """An approval of two treatments over the next 180 days."""

    class Meta:
        model = Authorization

    course = factory.SubFactory(CourseFactory)
    payer = "Aetna"
    reference = factory.Sequence(lambda n: f"PA-{n:06d}")
    status = Authorization.Status.APPROVED
    treatments_approved = 2
    valid_from = factory.LazyFunction(lambda: timezone.now().date())
    valid_to = factory.LazyAttribute(lambda a: a.valid_from + timedelta(days=180))


class FreedSlotFactory(factory.django.DjangoModelFactory):
    """The slot of a cancelled treatment session, offerable until 24 hours before it starts."""

    class Meta:
        model = FreedSlot

    session = factory.SubFactory(SessionFactory, status=Session.Status.CANCELLED)
    status = FreedSlot.Status.OFFERING
    offer_until = factory.LazyAttribute(lambda f: f.session.start - timedelta(hours=24))
    freed_at = factory.LazyFunction(timezone.now)


class SlotOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlotOffer

    freed_slot = factory.SubFactory(FreedSlotFactory)
    patient = factory.SubFactory(PatientFactory)
    course = factory.SubFactory(CourseFactory, patient=factory.SelfAttribute("..patient"))
    rank = 1
    offered_at = factory.LazyFunction(timezone.now)
