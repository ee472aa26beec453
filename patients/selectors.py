import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.db.models import Q, QuerySet

from clinic.timezones import local_date, today_in
from patients import response
from patients.models import DiaryEntry, Patient, PriorPreventive

_PHONE_LIKE = re.compile(r"[\d\s()+.\-]+")


def _phone_match(query: str) -> Q | None:
    """A query that looks like a phone number, written any way, matches on its digits or its E.164 form."""
    if not _PHONE_LIKE.fullmatch(query):
        return None
    digits = re.sub(r"\D", "", query)
    if len(digits) < 3:
        return None
    match = Q(phone__contains=digits)
    try:
        number = phonenumbers.parse(query, settings.DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return match
    if phonenumbers.is_possible_number(number):
        match |= Q(phone=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return match


def patient_search(*, query: str = "") -> QuerySet[Patient]:
    """A phone number in any form, or else every term must match a name, the MRN, the email or the phone digits."""
    patients = Patient.objects.all()
    query = query.strip()
    phone = _phone_match(query)
    if phone is not None:
        return patients.filter(phone | Q(mrn__icontains=query))
    for term in query.split():
        match = (
            Q(given_name__icontains=term)
            | Q(family_name__icontains=term)
            | Q(mrn__icontains=term)
            | Q(email__icontains=term)
        )
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 3:
            match |= Q(phone__contains=digits)
        patients = patients.filter(match)
    return patients


def diary_for_patient(*, patient: Patient) -> QuerySet[DiaryEntry]:
    return DiaryEntry.objects.filter(patient=patient).order_by("period_start")


def diary_periods(*, patient: Patient) -> list[response.DiaryPeriod]:
    rows = DiaryEntry.objects.filter(patient=patient).values_list(
        "period_start", "period_end", "headache_days", "migraine_days"
    )
    return [response.DiaryPeriod(*row) for row in rows]


def completed_treatments(*, patient: Patient) -> list[response.Treatment]:
    """Completed treatment sessions, dated by the local date at their location."""
    from scheduling.models import Session

    sessions = (
        Session.objects.filter(patient=patient, kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED)
        .select_related("location")
        .order_by("start")
    )
    return [response.Treatment(local_date(s.start, s.location.zone), s.id) for s in sessions]


def response_for_patient(*, patient: Patient) -> response.ResponseHistory:
    from scheduling.models import Protocol

    return response.response_history(
        periods=diary_periods(patient=patient),
        treatments=completed_treatments(patient=patient),
        today=today_in(ZoneInfo(patient.time_zone)),
        threshold_pct=Protocol.active().response_threshold_pct,
    )


def eligibility_for_patient(*, patient: Patient) -> response.Eligibility:
    """Baseline over the 90 days before the first treatment, or before today if untreated."""
    from scheduling.models import Protocol

    protocol = Protocol.active()
    treatments = completed_treatments(patient=patient)
    # Untreated: the 90 days up to and including today.
    anchor = treatments[0].treated_on if treatments else today_in(ZoneInfo(patient.time_zone)) + timedelta(days=1)
    failed = PriorPreventive.objects.filter(patient=patient, outcome__in=PriorPreventive.COUNTS_AS_FAILED).count()
    return response.eligibility(
        baseline=response.baseline_rate(diary_periods(patient=patient), anchor),
        failed_preventives=failed,
        min_headache_days=protocol.chronic_min_headache_days,
        min_migraine_days=protocol.chronic_min_migraine_days,
        min_failed_preventives=protocol.min_failed_preventives,
    )


def sessions_for_export(*, patient: Patient):
    """Every session of the patient with what the FHIR export shows: one query, whatever the count."""
    from scheduling.models import Session

    return (
        Session.objects.filter(patient=patient)
        .select_related("clinician", "location", "treatment", "treatment__injector")
        .order_by("start")
    )
