"""Reads about treatment courses: pre-joined querysets and the response and eligibility of a patient."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Subquery, When

from clinic.timezones import day_bounds, local_date, today_in
from cycles.models import Authorization, Course, FreedSlot, Protocol, ReviewFlag, SlotOffer, TreatmentRecord
from cycles.rules import AuthorizationFacts, KnownTreatment, due_dates, response_rules
from patients import response
from patients.models import Patient, PriorPreventive
from patients.selectors import diary_periods, periods_by_patient
from scheduling import selectors as scheduling_selectors
from scheduling.models import Session

COMPLETED_TREATMENT = Q(kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED)
UPCOMING_TREATMENT = Q(kind=Session.Kind.TREATMENT, status__in=Session.UPCOMING_STATUSES)
COUNTS_FOR_INTERVAL = Q(kind=Session.Kind.TREATMENT, status__in=Session.ACTIVE_STATUSES)
COMPLETED_TREATMENT_OF_COURSE = Q(sessions__kind=Session.Kind.TREATMENT, sessions__status=Session.Status.COMPLETED)


def active_course(*, patient: Patient) -> Course | None:
    return Course.objects.filter(patient=patient, status=Course.Status.ACTIVE).first()


def last_completed_treatment(*, patient: Patient, before: datetime | None = None, exclude=None) -> Session | None:
    sessions = Session.objects.filter(COMPLETED_TREATMENT, patient=patient).select_related("location")
    if before is not None:
        sessions = sessions.filter(start__lt=before)
    if exclude is not None:
        sessions = sessions.exclude(pk=exclude.pk)
    return sessions.order_by("-start").first()


def known_treatments(*, patient_ids) -> dict:
    """{patient id: [KnownTreatment, ...]} oldest first: every completed or active treatment of the
    patients (any course), dated at its location. One query."""
    out: dict = {}
    for patient_id, session_id, course_id, start, status, zone in (
        Session.objects.filter(COUNTS_FOR_INTERVAL, patient_id__in=patient_ids)
        .order_by("start", "id")
        .values_list("patient_id", "id", "course_id", "start", "status", "location__time_zone")
    ):
        treated_on = local_date(start, ZoneInfo(zone))
        completed = status == Session.Status.COMPLETED
        out.setdefault(patient_id, []).append(KnownTreatment(treated_on, start, session_id, course_id, completed))
    return out


def authorization_facts(*, course_ids) -> dict:
    """{course id: [AuthorizationFacts, ...]} of the courses' prior authorisations, every status. One query."""
    out: dict = {}
    for course_id, *row in (
        Authorization.objects.filter(course_id__in=course_ids)
        .order_by("valid_from", "pk")
        .values_list("course_id", "id", "status", "valid_from", "valid_to", "treatments_approved", "payer", "reference")
    ):
        out.setdefault(course_id, []).append(AuthorizationFacts(*row))
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


def course_treatments(*, course: Course) -> list[response.Treatment]:
    """The course's completed treatment sessions, dated by the local date at their location."""
    sessions = (
        Session.objects.filter(COMPLETED_TREATMENT, course=course).select_related("location").order_by("start", "id")
    )
    return [response.Treatment(local_date(s.start, s.location.zone), s.id) for s in sessions]


def course_for_patient(*, patient: Patient, course_id=None) -> Course | None:
    """`course_id` of the patient's, or else their latest course (the active one if any), protocol joined."""
    courses = Course.objects.filter(patient=patient).select_related("protocol")
    if course_id is not None:
        return courses.filter(pk=course_id).first()
    return courses.order_by(Case(When(status=Course.Status.ACTIVE, then=0), default=1), "-created_at").first()


def response_for_patient(*, patient: Patient, course: Course | None = None) -> response.ResponseHistory:
    """The response history of one course (default: the patient's latest) against its own protocol."""
    course = course or course_for_patient(patient=patient)
    protocol = course.protocol if course is not None else Protocol.default()
    return response.response_history(
        periods=diary_periods(patient=patient),
        treatments=course_treatments(course=course) if course is not None else [],
        today=today_in(ZoneInfo(patient.time_zone)),
        rules=response_rules(protocol),
    )


def eligibility_for_courses(*, courses, treated: dict | None = None) -> dict:
    """{course id: Eligibility} against each course's own protocol (loaded): the baseline over the
    protocol's window before the course's first treatment (before today if the course has none), the
    failed preventives and medication overuse. Three queries whatever the number of courses: treatments
    (unless given, from `known_treatments`), diary, preventive counts."""
    courses = list(courses)
    if not courses:
        return {}
    patient_ids = {c.patient_id for c in courses}
    treated = known_treatments(patient_ids=patient_ids) if treated is None else treated
    periods = periods_by_patient(patient_ids=patient_ids)
    failed = dict(
        PriorPreventive.objects.filter(patient_id__in=patient_ids, outcome__in=PriorPreventive.COUNTS_AS_FAILED)
        .values_list("patient_id")
        .annotate(n=Count("id"))
        .values_list("patient_id", "n")
    )
    out = {}
    for course in courses:
        protocol = course.protocol
        own = [t for t in treated.get(course.patient_id, []) if t.completed and t.course_id == course.pk]
        # Untreated: the window up to and including today.
        anchor = own[0].treated_on if own else today_in(ZoneInfo(course.patient.time_zone)) + timedelta(days=1)
        diary = periods.get(course.patient_id, [])
        out[course.pk] = response.eligibility(
            baseline=response.baseline_rate(diary, anchor, protocol.baseline_window_days),
            failed_preventives=failed.get(course.patient_id, 0),
            min_headache_days=protocol.chronic_min_headache_days,
            min_migraine_days=protocol.chronic_min_migraine_days,
            min_failed_preventives=protocol.min_failed_preventives,
            min_baseline_days=protocol.min_baseline_diary_days,
            overuse=response.medication_overuse(diary, threshold_days=protocol.overuse_acute_days),
        )
    return out


def eligibility_for_patient(*, patient: Patient, course: Course | None = None) -> response.Eligibility:
    """Against the patient's latest course (or the default protocol for a patient with none yet)."""
    course = course or course_for_patient(patient=patient) or Course(patient=patient, protocol=Protocol.default())
    return eligibility_for_courses(courses=[course])[course.pk]


def sessions_for_export(*, patient: Patient) -> QuerySet[Session]:
    """Every session of the patient with what the FHIR export shows: one query, whatever the count."""
    return (
        Session.objects.filter(patient=patient)
        .select_related("clinician", "location", "treatment", "treatment__injector")
        .order_by("start")
    )


def course_has_open_no_benefit_flag() -> Exists:
    """Annotation of a course: it waits for a clinician's review of a no-benefit flag."""
    return Exists(
        ReviewFlag.objects.filter(course=OuterRef("pk"), kind=ReviewFlag.Kind.NO_BENEFIT, status=ReviewFlag.Status.OPEN)
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


def _treatment_of_course(field: str, *, first: bool) -> Subquery:
    completed = Session.objects.filter(COMPLETED_TREATMENT, course=OuterRef("pk"))
    return Subquery(completed.order_by("start" if first else "-start").values(field)[:1])


def course_list(*, patient=None, status: str | None = None) -> QuerySet[Course]:
    """Courses with their protocol and the dates the courses API shows, in one query
    (`course_dates` turns the annotations into local dates)."""
    courses = Course.objects.select_related("protocol").annotate(
        first_start=_treatment_of_course("start", first=True),
        first_zone=_treatment_of_course("location__time_zone", first=True),
        last_start=_treatment_of_course("start", first=False),
        last_zone=_treatment_of_course("location__time_zone", first=False),
        cycles_completed=Count("sessions", filter=COMPLETED_TREATMENT_OF_COURSE, distinct=True),
    )
    if patient is not None:
        courses = courses.filter(patient=patient)
    if status:
        courses = courses.filter(status=status)
    return courses.order_by("-created_at", "pk")


def course_dates(course: Course) -> Course:
    """started_on, last_treatment, due_from and due_by of an annotated course (`course_list`), as local dates."""
    course.started_on = local_date(course.first_start, ZoneInfo(course.first_zone)) if course.first_start else None
    course.last_treatment = local_date(course.last_start, ZoneInfo(course.last_zone)) if course.last_start else None
    course.due_from = course.due_by = None
    if course.last_treatment is not None:
        course.due_from, course.due_by = due_dates(course.last_treatment, course.protocol)
    return course


# --- slot offers ------------------------------------------------------------------------------


def slot_offer_list(*, session=None, patient=None, status: str | None = None) -> QuerySet[SlotOffer]:
    """Offers with their freed slot's session joined, newest first (`session`: the cancelled one)."""
    offers = SlotOffer.objects.select_related("freed_slot__session")
    if session is not None:
        offers = offers.filter(freed_slot__session_id=session)
    if patient is not None:
        offers = offers.filter(patient_id=patient)
    if status:
        offers = offers.filter(status=status)
    return offers.order_by("-offered_at", "rank", "pk")


def freed_slots_for_day(*, location, day: date) -> list[FreedSlot]:
    """The freed treatment slots starting on `day` (local date of the location), with their clinician and
    how their offers stand (`offered`, `open`, `declined`, `accepted`): one query."""
    start, end = day_bounds(day, location.zone)
    return list(
        FreedSlot.objects.filter(session__location=location, session__start__gte=start, session__start__lt=end)
        .select_related("session__clinician")
        .annotate(
            offered=Count("offers"),
            open=Count("offers", filter=Q(offers__status=SlotOffer.Status.OFFERED)),
            declined=Count("offers", filter=Q(offers__status=SlotOffer.Status.DECLINED)),
            accepted=Count("offers", filter=Q(offers__status=SlotOffer.Status.ACCEPTED)),
        )
        .order_by("session__start", "pk")
    )


def slot_offers_for_patient(*, patient: Patient) -> QuerySet[SlotOffer]:
    """The patient's slot offers, newest first, with the slot's session, clinician and location: one query."""
    return (
        SlotOffer.objects.filter(patient=patient)
        .select_related("freed_slot__session__clinician", "freed_slot__session__location")
        .order_by("-offered_at", "pk")
    )
