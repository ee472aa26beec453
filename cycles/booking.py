"""The course rules every treatment booking passes, on every path that books.

`CoursePolicy` is the booking policy cycles registers with scheduling
(`scheduling.policy`): every booking and reschedule of a treatment, from the API,
the web UI or anything else that calls `scheduling.services.session_book`, is
judged by `cycles.rules.TREATMENT_RULES` on facts loaded by `treatment_facts`.
The planner, which books a whole batch at once, loads the same facts for the
batch and asks the same rules about each slot it considers.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from clinic.roles import is_clinician
from clinic.timezones import local_date
from cycles import rules, selectors
from cycles.models import Course, Protocol
from patients.models import Patient
from scheduling import policy
from scheduling.models import Session


def course_for_treatment(patient: Patient) -> Course:
    """The patient's active course, opened on the default protocol when there is none."""
    course = selectors.active_course(patient=patient)
    if course is None:
        course = Course.objects.create(patient=patient, protocol=Protocol.default())
    return course


def treatment_facts(courses: list[Course], *, treated: dict | None = None) -> dict:
    """{course id: TreatmentFacts} for a batch of courses (patient and protocol loaded), in a fixed number
    of queries whatever their number: the patients' completed and active treatments (unless given,
    {patient id: [KnownTreatment]}), for courses not yet begun their diary and preventives, and for
    courses whose protocol requires authorisation their authorisations (one query; none when no course
    of the batch needs one).

    A booking reads these after locking the patient (scheduling/services/booking.py), so two bookings of
    one course are judged one after the other, each seeing the other's session: the last approved
    treatment goes to one of them only."""
    if not courses:
        return {}
    if treated is None:
        treated = selectors.known_treatments(patient_ids={c.patient_id for c in courses})
    begun = {t.course_id for known in treated.values() for t in known if t.completed}
    unbegun = [c for c in courses if c.pk not in begun]
    eligibility = selectors.eligibility_for_courses(courses=unbegun, treated=treated) if unbegun else {}
    needing = [c.pk for c in courses if c.protocol.requires_authorization]
    authorizations = selectors.authorization_facts(course_ids=needing) if needing else {}
    return {
        c.pk: rules.TreatmentFacts(
            interval_days=c.protocol.interval_days,
            min_interval_days=c.protocol.min_interval_days,
            window_days=c.protocol.window_days,
            treatments=tuple(treated.get(c.patient_id, ())),
            first_of_course=c.pk not in begun,
            eligibility=eligibility.get(c.pk),
            course_id=c.pk,
            requires_authorization=c.protocol.requires_authorization,
            authorizations=tuple(authorizations.get(c.pk, ())),
        )
        for c in courses
    }


def proposal_for(session: Session, *, exclude: Session | None = None) -> rules.ProposedTreatment:
    return rules.ProposedTreatment(
        start=session.start,
        treated_on=local_date(session.start, session.location.zone),
        session_id=exclude.pk if exclude is not None else None,
    )


class CoursePolicy(policy.BookingPolicy):
    """A session takes its course's protocol length; a treatment passes the course rules (or a clinician's
    override) and is marked late after the window."""

    def session_length(self, *, patient=None, kind=None) -> timedelta:
        course = selectors.active_course(patient=patient) if patient is not None else None
        protocol = course.protocol if course is not None else Protocol.default()
        return timedelta(minutes=protocol.session_minutes)

    def begin(self, *, patient_id, kind: str) -> policy.BookingContext | None:
        """One query for a patient on a course: the active course with its protocol and its review marker,
        the patient's row joined and locked (FOR UPDATE OF the patient: the booking's one lock)."""
        course = (
            Course.objects.select_for_update(of=("patient",))
            .select_related("patient", "protocol")
            .annotate(review_required=selectors.course_has_open_no_benefit_flag())
            .filter(patient_id=patient_id, status=Course.Status.ACTIVE)
            .first()
        )
        if course is not None:
            length = timedelta(minutes=course.protocol.session_minutes)
            return policy.BookingContext(patient=course.patient, length=length, state=course)
        context = super().begin(patient_id=patient_id, kind=kind)
        if context is not None:
            context.length = timedelta(minutes=Protocol.default().session_minutes)
        return context

    def check(
        self, *, session: Session, override_reason: str, by, exclude=None, context=None, patient_sessions=None
    ) -> None:
        course = context.state if context is not None else None
        session.review_required = bool(getattr(course, "review_required", False))
        if session.kind != Session.Kind.TREATMENT:
            if session.course_id is None:
                session.course = course if context is not None else selectors.active_course(patient=session.patient)
            return
        if session.course_id is None:
            session.course = course or course_for_treatment(session.patient)
        treated = _known_treatments(session.patient_id, patient_sessions)
        facts = treatment_facts([session.course], treated=treated)[session.course_id]
        proposal = proposal_for(session, exclude=exclude)
        if not override_reason:
            violation = rules.treatment_violation(facts, proposal)
            if violation is not None:
                raise for_the_reader(violation, by)
        session.late = rules.is_late(facts, proposal)


def _known_treatments(patient_id, patient_sessions) -> dict | None:
    """The patient's treatments as the course rules read them, from the sessions the booking has read
    already (`scheduling.selectors.booking_calendar`); None (query them) when it has not."""
    if patient_sessions is None:
        return None
    return {
        patient_id: [
            rules.KnownTreatment(
                local_date(s.start, ZoneInfo(s.time_zone)), s.start, s.id, s.course_id, s.status == "completed"
            )
            for s in patient_sessions
            if s.kind == Session.Kind.TREATMENT
        ]
    }


# What front desk may read of a refusal (API.md, DESIGN.md §6): no diary or preventive figures.
NOT_ELIGIBLE_FOR_FRONT_DESK = "Does not meet the treatment criteria; a clinician can review."


def for_the_reader(violation, by):
    """The refusal as the person booking may read it: a clinician sees the numbers behind not_eligible,
    anyone else the one generic line."""
    if violation.code == "not_eligible" and by is not None and not is_clinician(by):
        violation.extra["reasons"] = [NOT_ELIGIBLE_FOR_FRONT_DESK]
        violation.detail = NOT_ELIGIBLE_FOR_FRONT_DESK
    return violation


def treatment_slot_filter(*, patient: Patient, tz, exclude: Session | None = None):
    """Which free slots at a location (zone `tz`) a treatment of the patient's course may take: the course
    rules, asked as the planner asks them, so a booking page never proposes a slot the booking would refuse.
    `exclude`: the session being moved."""
    course = selectors.active_course(patient=patient) or Course(patient=patient, protocol=Protocol.default())
    facts = treatment_facts([course])[course.pk]
    moving = exclude.pk if exclude is not None else None
    # With an approval that has room, only the times inside it are proposed; with none, every time is
    # refused alike, so (as for eligibility) the booking says why rather than the list going blank.
    room = not facts.requires_authorization or any(
        a.approved
        and rules.treatments_used(a, facts.treatments, course_id=course.pk, exclude=moving) < a.treatments_approved
        for a in facts.authorizations
    )

    def allowed(slot) -> bool:
        proposal = rules.ProposedTreatment(start=slot.start, treated_on=local_date(slot.start, tz), session_id=moving)
        violation = rules.treatment_violation(facts, proposal)
        # Eligibility is the same for every slot: the booking says so (and a clinician may override it),
        # so it does not empty the list of times.
        if violation is not None and violation.code == "authorization_required":
            return not room
        return violation is None or violation.code == "not_eligible"

    return allowed
