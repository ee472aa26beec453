import re

import phonenumbers
from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from patients import response
from patients.models import DiaryEntry, Patient

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


def _exact_mrn_first(patients: QuerySet[Patient], query: str) -> QuerySet[Patient]:
    if not query:
        return patients
    rank = Case(When(mrn__iexact=query, then=Value(0)), default=Value(1), output_field=IntegerField())
    return patients.annotate(mrn_rank=rank).order_by("mrn_rank", "family_name", "given_name", "mrn")


def patient_search(*, query: str = "") -> QuerySet[Patient]:
    """A phone number in any form, "family, given" as lists print names, or else every term must match
    a name, the MRN, the email or the phone digits. A patient whose MRN is exactly the query comes first."""
    patients = Patient.objects.all()
    query = query.strip()
    phone = _phone_match(query)
    if phone is not None:
        return _exact_mrn_first(patients.filter(phone | Q(mrn__icontains=query)), query)
    if "," in query:
        family, _, given = (part.strip() for part in query.partition(","))
        if family:
            patients = patients.filter(family_name__icontains=family)
        for term in given.split():
            patients = patients.filter(given_name__icontains=term)
        return patients
    patients = _exact_mrn_first(patients, query)
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
    return periods_by_patient(patient_ids=[patient.pk]).get(patient.pk, [])


def periods_by_patient(*, patient_ids) -> dict:
    """{patient id: [DiaryPeriod, ...]} of the patients' diaries. One query."""
    out: dict = {}
    for patient_id, *row in DiaryEntry.objects.filter(patient_id__in=patient_ids).values_list(
        "patient_id", "period_start", "period_end", "headache_days", "migraine_days", "acute_medication_days"
    ):
        out.setdefault(patient_id, []).append(response.DiaryPeriod(*row))
    return out
