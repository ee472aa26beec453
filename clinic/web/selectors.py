"""Reads the web pages need that no app selector covers: pre-joined, constant query counts."""

from datetime import date

from django.db.models import Q, QuerySet

from clinic.timezones import day_bounds
from patients.models import Patient
from scheduling.models import Clinician, Location, Session, WorkingHours


def sessions_for_day(*, location: Location, day: date) -> QuerySet[Session]:
    """Sessions starting on `day` (local date of the location), cancelled ones left out: one query."""
    start, end = day_bounds(day, location.zone)
    return (
        Session.objects.filter(location=location, start__gte=start, start__lt=end)
        .exclude(status=Session.Status.CANCELLED)
        .select_related("patient", "clinician")
        .order_by("start", "id")
    )


def working_hours_for_day(*, location: Location, day: date) -> QuerySet[WorkingHours]:
    return WorkingHours.objects.filter(location=location, weekday=day.weekday(), clinician__active=True).order_by(
        "start_time"
    )


def clinicians_at(*, location: Location) -> QuerySet[Clinician]:
    """Active clinicians linked to the location or with working hours there."""
    return (
        Clinician.objects.filter(Q(locations=location) | Q(working_hours__location=location), active=True)
        .distinct()
        .order_by("name")
    )


def sessions_for_patient(*, patient: Patient) -> QuerySet[Session]:
    """Every session of the patient, newest first, with clinician and location: one query."""
    return Session.objects.filter(patient=patient).select_related("clinician", "location").order_by("-start", "id")
