"""Prior authorisations (DESIGN.md §2, API.md "Prior authorisation"): the payer's approvals of a course,
what each has left, and which need renewing.

The rule that refuses a treatment outside an approval is `cycles.rules.authorization_rule`, one of the
booking rules every path obeys (cycles/booking.py). Here: recording approvals (`authorization_create`,
`authorization_update`), reading them with what they have used (`with_usage`, one query for any number),
the renewal work queue (`expiring_authorizations`), the due list's `authorization` (`authorization_states`)
and the daily job that marks approvals expiring (`expiring_sweep`).

Treatments used are the course's completed and active treatments whose local date (at their location)
falls inside the approval; they are counted when read, never stored, so a booking, a move or a
cancellation shows at once. "Today" for an approval is the patient's local date.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from clinic.errors import ValidationFailed
from clinic.timezones import local_date
from cycles import rules, selectors
from cycles.models import Authorization, Course

Status = Authorization.Status
CHUNK_SIZE = 500
EDITABLE = ("payer", "reference", "status", "treatments_approved", "units_approved", "valid_from", "valid_to", "notes")


# --- writes -----------------------------------------------------------------------------------------


def _check(authorization: Authorization) -> None:
    if authorization.valid_to < authorization.valid_from:
        raise ValidationFailed(
            "The approval cannot end before it starts.", fields={"valid_to": ["Must be on or after valid_from."]}
        )
    if authorization.status == Status.APPROVED and authorization.treatments_approved < 1:
        raise ValidationFailed(
            "An approval covers at least one treatment.",
            fields={"treatments_approved": ["Give the number of treatments the payer approved."]},
        )
    if not authorization.payer.strip():
        raise ValidationFailed("Name the payer.", fields={"payer": ["Required."]})


@transaction.atomic
def authorization_create(
    *,
    course: Course,
    by,
    payer: str,
    valid_from: date,
    valid_to: date,
    status: str = Status.PENDING,
    reference: str = "",
    treatments_approved: int = 0,
    units_approved: int | None = None,
    notes: str = "",
) -> Authorization:
    """Record a payer's prior authorisation of the course (pending while it is asked for)."""
    authorization = Authorization(
        course=course,
        payer=payer.strip(),
        reference=(reference or "").strip(),
        status=status,
        treatments_approved=treatments_approved,
        units_approved=units_approved,
        valid_from=valid_from,
        valid_to=valid_to,
        notes=notes or "",
        created_by=by,
    )
    _check(authorization)
    authorization.save()
    return authorization


@transaction.atomic
def authorization_update(*, authorization: Authorization, by, **fields) -> Authorization:
    """Change an approval (the payer's answer, its dates, the treatments approved). Locked, so two staff
    editing at once do not lose either change; the rules of a new record hold."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationFailed("Unknown field.", fields={name: ["Not editable."] for name in sorted(unknown)})
    current = Authorization.objects.select_for_update().get(pk=authorization.pk)
    for name, value in fields.items():
        setattr(current, name, value.strip() if name in ("payer", "reference") else value)
    _check(current)
    current.save()
    return current


# --- reads --------------------------------------------------------------------------------------------


def authorization_list(*, course=None, patient=None, status: str | None = None) -> QuerySet[Authorization]:
    """Authorisations with their course, patient and protocol: what `with_usage` needs, in the one query."""
    authorizations = Authorization.objects.select_related("course__patient", "course__protocol")
    if course is not None:
        authorizations = authorizations.filter(course=course)
    if patient is not None:
        authorizations = authorizations.filter(course__patient=patient)
    if status:
        authorizations = authorizations.filter(status=status)
    return authorizations.order_by("-valid_to", "pk")


def _today(course: Course, now: datetime) -> date:
    return local_date(now, ZoneInfo(course.patient.time_zone))


def with_usage(authorizations, *, now: datetime | None = None, treated: dict | None = None) -> list[Authorization]:
    """The authorisations (course, patient and protocol joined) with `treatments_used`, `treatments_left`,
    `renew_by` and the live `is_expiring` (API.md: 30 days or one treatment left) set on each. One query
    for any number: the patients' completed and active treatments (unless given, from
    `selectors.known_treatments`)."""
    authorizations = list(authorizations)
    if not authorizations:
        return authorizations
    now = now or timezone.now()
    if treated is None:
        treated = selectors.known_treatments(patient_ids={a.course.patient_id for a in authorizations})
    for a in authorizations:
        course = a.course
        own = [t for t in treated.get(course.patient_id, ()) if t.course_id == course.pk]
        facts = _facts(a)
        a.treatments_used = rules.treatments_used(facts, own, course_id=course.pk)
        a.treatments_left = max(0, a.treatments_approved - a.treatments_used)
        a.today = _today(course, now)
        a.is_expiring = a.status == Status.APPROVED and rules.is_expiring(
            valid_to=a.valid_to,
            treatments_left=a.treatments_left,
            today=a.today,
            within_days=rules.AUTHORIZATION_EXPIRING_DAYS,
        )
        a.renew_by = rules.renew_by(
            valid_to=a.valid_to,
            treatments_left=a.treatments_left,
            last_treated_on=own[-1].treated_on if own else None,
            interval_days=course.protocol.interval_days,
        )
    return authorizations


def _facts(a: Authorization) -> rules.AuthorizationFacts:
    return rules.AuthorizationFacts(
        a.pk, a.status, a.valid_from, a.valid_to, a.treatments_approved, payer=a.payer, reference=a.reference
    )


def expiring_authorizations(
    *, within_days: int = rules.AUTHORIZATION_EXPIRING_DAYS, status: str | None = None, now: datetime | None = None
) -> list[Authorization]:
    """Approved authorisations of active courses, still valid today, that end within `within_days` or
    have at most one treatment left (an approval used up needs renewing no less), soonest to renew first.

    Two queries whatever their number: the approvals still valid (with course, patient, protocol), the
    patients' treatments. A clinic holds one or two approvals per course in force, so the candidates are
    few; the treatments-left test needs each course's local dates, hence Python rather than SQL."""
    now = now or timezone.now()
    if status and status != Status.APPROVED:
        return []
    # A day before today in UTC: no zone's today is earlier, so nothing still valid is missed.
    candidates = authorization_list(status=Status.APPROVED).filter(
        valid_to__gte=(now - timedelta(days=1)).date(), course__status=Course.Status.ACTIVE
    )
    out = []
    for a in with_usage(candidates, now=now):
        if rules.is_expiring(
            valid_to=a.valid_to, treatments_left=a.treatments_left, today=a.today, within_days=within_days
        ):
            out.append(a)
    return sorted(out, key=lambda a: (a.renew_by, a.valid_to, str(a.pk)))


def renewals_in_hand(authorizations: list[Authorization]) -> dict:
    """{authorisation id: the later authorisation of its course (approved or pending) that renews it}. One
    query. The work queue marks these: a pending renewal is being chased, an approved one is done."""
    if not authorizations:
        return {}
    later = list(
        Authorization.objects.filter(
            course_id__in={a.course_id for a in authorizations}, status__in=(Status.APPROVED, Status.PENDING)
        ).order_by("valid_from", "pk")
    )
    out = {}
    for a in authorizations:
        renewal = next(
            (r for r in later if r.course_id == a.course_id and r.pk != a.pk and r.valid_to > a.valid_to), None
        )
        if renewal is not None:
            out[a.pk] = renewal
    return out


def courses_without_approval(*, now: datetime | None = None) -> QuerySet[Course]:
    """Active courses on a profile that requires authorisation with no approval still valid, nor one
    pending: a renewal nobody has asked for yet. One query."""
    now = now or timezone.now()
    in_hand = Q(
        authorizations__status=Status.APPROVED, authorizations__valid_to__gte=(now - timedelta(days=1)).date()
    ) | Q(authorizations__status=Status.PENDING)
    return (
        Course.objects.filter(status=Course.Status.ACTIVE, protocol__requires_authorization=True)
        .exclude(pk__in=Course.objects.filter(in_hand).values("pk"))
        .select_related("patient", "protocol")
        .order_by("patient__family_name", "patient__given_name", "pk")
    )


def authorization_states(courses, *, now: datetime | None = None) -> dict:
    """{course id: rules.AuthorizationState} for the due list's courses (patient and protocol loaded). Two
    queries when any course's protocol requires authorisation (its authorisations, the patients'
    treatments), none otherwise."""
    courses = list(courses)
    now = now or timezone.now()
    needing = [c for c in courses if c.protocol.requires_authorization]
    facts = selectors.authorization_facts(course_ids=[c.pk for c in needing]) if needing else {}
    treated = selectors.known_treatments(patient_ids={c.patient_id for c in needing}) if needing else {}
    return {
        c.pk: rules.authorization_state(
            required=c.protocol.requires_authorization,
            authorizations=facts.get(c.pk, ()),
            treatments=treated.get(c.patient_id, ()),
            course_id=c.pk,
            today=_today(c, now),
        )
        for c in courses
    }


# --- the daily job ------------------------------------------------------------------------------------


def expiring_sweep(*, chunk_size: int = CHUNK_SIZE, now: datetime | None = None) -> dict:
    """Daily: mark the approvals that are expiring (30 days or one treatment left) with `expiring` and the
    moment the renewal prompt began, and clear the mark on those no longer expiring (renewed dates, a
    cancelled treatment, denied, ended, course stopped).

    Set-based, in chunks by primary key: per chunk the approvals with their patients, the patients'
    treatments, and at most one update each way. The updates compare and swap on the mark, so a second
    run, or a second worker, changes nothing."""
    now = now or timezone.now()
    cutoff = (now - timedelta(days=1)).date()
    candidates = (
        Authorization.objects.filter(
            Q(status=Status.APPROVED, valid_to__gte=cutoff, course__status=Course.Status.ACTIVE) | Q(expiring=True)
        )
        .select_related("course__patient", "course__protocol")
        .order_by("pk")
    )
    counts = {"authorizations": 0, "marked": 0, "cleared": 0}
    after = None
    while True:
        chunk = list((candidates.filter(pk__gt=after) if after is not None else candidates)[:chunk_size])
        marked, cleared = [], []
        for a in with_usage(chunk, now=now):
            expiring = a.is_expiring and a.course.status == Course.Status.ACTIVE
            if expiring and not a.expiring:
                marked.append(a.pk)
            elif not expiring and a.expiring:
                cleared.append(a.pk)
        if marked:
            counts["marked"] += Authorization.objects.filter(pk__in=marked, expiring=False).update(
                expiring=True, expiring_since=now
            )
        if cleared:
            counts["cleared"] += Authorization.objects.filter(pk__in=cleared, expiring=True).update(
                expiring=False, expiring_since=None
            )
        counts["authorizations"] += len(chunk)
        if len(chunk) < chunk_size:
            return counts
        after = chunk[-1].pk
