"""Reads about treatment courses: pre-joined querysets and the response and eligibility of a patient."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from clinic.timezones import local_date, today_in
from cycles.models import Course, Protocol, ReviewFlag, TreatmentRecord
from cycles.rules import PastTreatment
from patients import response
from patients.models import Patient, PriorPreventive
from patients.selectors import diary_periods, periods_by_patient
from scheduling import selectors as scheduling_selectors
from scheduling.models import Session

COMPLETED_TREATMENT = Q(kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED)
UPCOMING_TREATMENT = Q(kind=Session.Kind.TREATMENT, status__in=Session.UPCOMING_STATUSES)


def active_course(*, patient: Patient) -> Course | None:
    return Course.objects.filter(patient=patient, status=Course.Status.ACTIVE).first()


def last_completed_treatment(*, patient: Patient, before: datetime | None = None, exclude=None) -> Session | None:
    sessions = Session.objects.filter(COMPLETED_TREATMENT, patient=patient).select_related("location")
    if before is not None:
        sessions = sessions.filter(start__lt=before)
    if exclude is not None:
        sessions = sessions.exclude(pk=exclude.pk)
    return sessions.order_by("-start").first()


def past_treatments(*, patient_ids) -> dict:
    """{patient id: [PastTreatment, ...]} oldest first: every completed treatment, dated at its location. One
    query."""
    out: dict = {}
    for patient_id, session_id, course_id, start, zone in (
        Session.objects.filter(COMPLETED_TREATMENT, patient_id__in=patient_ids)
        .order_by("start")
        .values_list("patient_id", "id", "course_id", "start", "location__time_zone")
    ):
        treated_on = local_date(start, ZoneInfo(zone))
        out.setdefault(patient_id, []).append(PastTreatment(treated_on, start, session_id, course_id))
    return out


def treatments_near(*, patient: Patient, start: datetime, days: int, exclude=None) -> list[tuple[date, int]]:
    """(local date, total units) of the patient's recorded treatments within `days` of `start`."""
    records = TreatmentRecord.objects.filter(
        session__patient=patient,
        session__status=Session.Status.COMPLETED,
        session__start__gt=start - timedelta(days=days + 1),
        session__start__lt=start + timedelta(days=days + 1),
    ).select_related("session__location")
    if exclude is not None:
        records = records.exclude(session=exclude)
    return [(local_date(r.session.start, r.session.location.zone), r.total_units) for r in records]


def completed_treatments(*, patient: Patient) -> list[response.Treatment]:
    """Completed treatment sessions, dated by the local date at their location."""
    sessions = Session.objects.filter(COMPLETED_TREATMENT, patient=patient).select_related("location").order_by("start")
    return [response.Treatment(local_date(s.start, s.location.zone), s.id) for s in sessions]


def response_for_patient(*, patient: Patient) -> response.ResponseHistory:
    return response.response_history(
        periods=diary_periods(patient=patient),
        treatments=completed_treatments(patient=patient),
        today=today_in(ZoneInfo(patient.time_zone)),
        threshold_pct=Protocol.active().response_threshold_pct,
    )


def eligibility_for_patients(*, patients, protocol: Protocol | None = None, treated: dict | None = None) -> dict:
    """{patient id: Eligibility}: the baseline over the 90 days before the first treatment (before today
    if untreated) and the failed preventives, against the protocol. Four queries whatever the number of
    patients: the protocol unless given, treatments (unless given, from `past_treatments`), diary, preventive
    counts."""
    zones = {p.pk: p.time_zone for p in patients}
    patient_ids = list(zones)
    if not patient_ids:
        return {}
    protocol = protocol or Protocol.active()
    treated = past_treatments(patient_ids=patient_ids) if treated is None else treated
    periods = periods_by_patient(patient_ids=patient_ids)
    failed = dict(
        PriorPreventive.objects.filter(patient_id__in=patient_ids, outcome__in=PriorPreventive.COUNTS_AS_FAILED)
        .values_list("patient_id")
        .annotate(n=Count("id"))
        .values_list("patient_id", "n")
    )
    out = {}
    for patient_id in patient_ids:
        first = treated.get(patient_id)
        # Untreated: the 90 days up to and including today.
        anchor = first[0].treated_on if first else today_in(ZoneInfo(zones[patient_id])) + timedelta(days=1)
        out[patient_id] = response.eligibility(
            baseline=response.baseline_rate(periods.get(patient_id, []), anchor),
            failed_preventives=failed.get(patient_id, 0),
            min_headache_days=protocol.chronic_min_headache_days,
            min_migraine_days=protocol.chronic_min_migraine_days,
            min_failed_preventives=protocol.min_failed_preventives,
        )
    return out


def eligibility_for_patient(*, patient: Patient) -> response.Eligibility:
    return eligibility_for_patients(patients=[patient])[patient.pk]


def sessions_for_export(*, patient: Patient) -> QuerySet[Session]:
    """Every session of the patient with what the FHIR export shows: one query, whatever the count."""
    return (
        Session.objects.filter(patient=patient)
        .select_related("clinician", "location", "treatment", "treatment__injector")
        .order_by("start")
    )


def open_no_benefit_flag() -> Exists:
    """Annotation: the session's course waits for a clinician's review of a no-benefit flag."""
    return Exists(
        ReviewFlag.objects.filter(
            course=OuterRef("course_id"), kind=ReviewFlag.Kind.NO_BENEFIT, status=ReviewFlag.Status.OPEN
        )
    )


def session_list(**filters) -> QuerySet[Session]:
    """`scheduling.selectors.session_list` with the course's review marker (`review_required`)."""
    return scheduling_selectors.session_list(**filters).annotate(review_required=open_no_benefit_flag())


def review_flags(*, status: str | None = None, kind: str | None = None) -> QuerySet[ReviewFlag]:
    flags = ReviewFlag.objects.all()
    if status:
        flags = flags.filter(status=status)
    if kind:
        flags = flags.filter(kind=kind)
    return flags.order_by("-raised_at", "pk")


def open_flags() -> QuerySet[ReviewFlag]:
    """The clinician review queue: open flags, oldest first, with the patient joined."""
    return ReviewFlag.objects.filter(status=ReviewFlag.Status.OPEN).select_related("patient").order_by("raised_at")


def open_flags_for_patient(*, patient: Patient) -> QuerySet[ReviewFlag]:
    return ReviewFlag.objects.filter(patient=patient, status=ReviewFlag.Status.OPEN).order_by("raised_at")


def open_flag_counts() -> dict[str, int]:
    """{kind: number of open flags}. One query."""
    return dict(
        ReviewFlag.objects.filter(status=ReviewFlag.Status.OPEN)
        .values_list("kind")
        .annotate(n=Count("id"))
        .values_list("kind", "n")
    )
