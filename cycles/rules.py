"""The course's rules as pure functions: no database, plain values in and out (DESIGN.md §2).

- Due dates and the planner's target: `due_dates`, `next_target`, `candidate_days`,
  and the order the planner tries free slots in (`slot_preference`).
- The treatment booking rules (`TREATMENT_RULES`): each takes what is known about
  the course (`TreatmentFacts`, loaded in bulk by cycles.booking.treatment_facts) and a
  proposed treatment, and returns the RuleViolation that refuses it, or None. The
  front-desk booking and the planner both ask `treatment_violation`, so a rule added to
  the tuple holds for every path that books a treatment.
- Prior authorisation (`authorization_rule`, `authorization_state`, `renew_by`): a payer's
  approval of a number of treatments between two local dates.
- The cycle review (`course_review`): the flags one course deserves today.
- The cumulative dose (`cumulative_peak`).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.errors import RuleViolation
from clinic.timezones import local_date, shift_days_keep_wall_clock
from cycles.models import Authorization, ReviewFlag, TreatmentRecord
from patients import response
from scheduling.slots import Slot

Kind = ReviewFlag.Kind
MISSING_DATA_LEAD_DAYS = 7  # flag missing diary data this many days before the next treatment
# DESIGN.md §2: renewal is prompted 30 days or one treatment before an approval ends.
AUTHORIZATION_EXPIRING_DAYS = 30


def human_date(day: date) -> str:
    """How staff read a date: Tue 1 Dec 2026."""
    return f"{day:%a} {day.day} {day:%b %Y}"


# --- due dates and targets ----------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where the next treatment belongs: `start` at the same local wall-clock time, inside [due_from, due_by]."""

    start: datetime
    due_from: date
    due_by: date


def due_dates(last_treated_on: date, protocol) -> tuple[date, date]:
    """(due_from, due_by): day min_interval_days to day interval_days + window_days after the last treatment."""
    return (
        last_treated_on + timedelta(days=protocol.min_interval_days),
        last_treated_on + timedelta(days=protocol.interval_days + protocol.window_days),
    )


def next_target(last_start: datetime, tz: ZoneInfo, protocol) -> Target:
    """interval_days after `last_start` at the same local time: 09:00 stays 09:00 across a DST change."""
    due_from, due_by = due_dates(local_date(last_start, tz), protocol)
    return Target(
        start=shift_days_keep_wall_clock(last_start, protocol.interval_days, tz), due_from=due_from, due_by=due_by
    )


def slot_preference(*, target: datetime, clinician_id):
    """Sort key: the same clinician's slots first, then everyone else's; each nearest to the target, ties to the
    earlier."""
    # In UTC: two datetimes sharing a ZoneInfo subtract as wall-clock times, an hour off across a DST change.
    target = target.astimezone(UTC)

    def key(slot: Slot):
        start = slot.start.astimezone(UTC)
        return (slot.clinician_id != clinician_id, abs(start - target), start, str(slot.clinician_id))

    return key


def rank_slots(*, slots: Iterable[Slot], target: datetime, clinician_id) -> list[Slot]:
    """The slots in the order the planner tries them (`slot_preference`)."""
    return sorted(slots, key=slot_preference(target=target, clinician_id=clinician_id))


def candidate_days(target: Target, today: date) -> tuple[date, date] | None:
    """The local dates still open for booking: the window from today on; None once it has passed."""
    first = max(target.due_from, today)
    if first > target.due_by:
        return None
    return first, target.due_by


# --- the treatment booking rules ------------------------------------------------------------


@dataclass(frozen=True)
class KnownTreatment:
    """A treatment of the patient that counts for the interval: completed, or still active (booked,
    confirmed, checked in). Its local date at its location, its start, session, course."""

    treated_on: date
    start: datetime
    session_id: object
    course_id: object = None
    completed: bool = True


@dataclass(frozen=True)
class AuthorizationFacts:
    """One prior authorisation of the course: `treatments_approved` treatments whose local dates fall
    in [valid_from, valid_to]."""

    id: object
    status: str
    valid_from: date
    valid_to: date
    treatments_approved: int
    payer: str = ""
    reference: str = ""

    @property
    def approved(self) -> bool:
        return self.status == Authorization.Status.APPROVED

    def covers(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def label(self) -> str:
        return " ".join(part for part in (self.payer, self.reference) if part) or "The approval"


@dataclass(frozen=True)
class TreatmentFacts:
    """What the rules know about one course when a treatment of it is proposed.

    `treatments`: the patient's completed and active treatments (every course), oldest first;
    `eligibility`: for a course with no completed treatment yet, the patient's eligibility
    against the course's protocol (None once the course has begun);
    `requires_authorization`: the course's protocol asks for a payer's approval, and
    `authorizations` are the course's (every status).
    """

    interval_days: int
    min_interval_days: int
    window_days: int
    treatments: tuple[KnownTreatment, ...]
    first_of_course: bool
    eligibility: response.Eligibility | None = None
    course_id: object = None
    requires_authorization: bool = False
    authorizations: tuple[AuthorizationFacts, ...] = ()


@dataclass(frozen=True)
class ProposedTreatment:
    """A treatment someone (or the planner) wants to book: its start and local date; `session_id` of
    the session being moved, which never clashes with itself."""

    start: datetime
    treated_on: date
    session_id: object = None


def _others(facts: TreatmentFacts, proposal: ProposedTreatment) -> list[KnownTreatment]:
    return [t for t in facts.treatments if t.session_id != proposal.session_id]


def last_completed_before(facts: TreatmentFacts, proposal: ProposedTreatment) -> KnownTreatment | None:
    earlier = [t for t in _others(facts, proposal) if t.completed and t.start < proposal.start]
    return max(earlier, key=lambda t: t.start, default=None)


def interval_rule(facts: TreatmentFacts, proposal: ProposedTreatment) -> RuleViolation | None:
    """too_soon: fewer than min_interval_days from any completed or active treatment of the patient, before
    it or after it (payers refuse either; the same day is 0 days).

    `earliest` is the latest treatment before it + min_interval_days, or None when only a later one
    clashes; `conflicts_with` names the clashing session nearest in time.
    """
    others = _others(facts, proposal)
    clashes = [t for t in others if abs((t.treated_on - proposal.treated_on).days) < facts.min_interval_days]
    if not clashes:
        return None
    nearest = min(clashes, key=lambda t: (abs((t.start - proposal.start).total_seconds()), str(t.session_id)))
    before = [t for t in others if t.start <= proposal.start]
    earliest = None
    if any(t.start <= proposal.start for t in clashes):
        earliest = max(t.treated_on for t in before) + timedelta(days=facts.min_interval_days)
    which = "the last treatment was" if nearest.start <= proposal.start else "another treatment is booked"
    when = f" The earliest allowed date is {earliest}." if earliest else ""
    return RuleViolation(
        f"Too soon: {which} on {nearest.treated_on}; treatments must be at least "
        f"{facts.min_interval_days} days apart.{when}",
        code="too_soon",
        earliest=earliest.isoformat() if earliest else None,
        conflicts_with=str(nearest.session_id),
    )


def eligibility_rule(facts: TreatmentFacts, proposal: ProposedTreatment) -> RuleViolation | None:
    """not_eligible: a course's first treatment for a patient who does not meet the protocol.

    Judged when the treatment is booked; moving it later does not reopen the question.
    """
    if proposal.session_id is not None:
        return None
    if not facts.first_of_course or facts.eligibility is None or facts.eligibility.meets_protocol:
        return None
    return RuleViolation(
        "The patient does not meet the protocol's criteria for a first treatment.",
        code="not_eligible",
        reasons=list(facts.eligibility.reasons),
    )


def treatments_used(
    authorization: AuthorizationFacts, treatments: Iterable[KnownTreatment], *, course_id, exclude=None
) -> int:
    """The course's completed and active treatments whose local date falls inside the authorisation
    (`exclude`: the session being moved or completed, which is the one asking)."""
    return sum(
        1
        for t in treatments
        if t.course_id == course_id and t.session_id != exclude and authorization.covers(t.treated_on)
    )


def treatments_left(authorization: AuthorizationFacts, treatments: Iterable[KnownTreatment], *, course_id) -> int:
    used = treatments_used(authorization, treatments, course_id=course_id)
    return max(0, authorization.treatments_approved - used)


def authorization_rule(facts: TreatmentFacts, proposal: ProposedTreatment) -> RuleViolation | None:
    """authorization_required: on a protocol with `requires_authorization`, a treatment must fall, by its
    local date, inside an approved authorisation of the course that has a treatment left (the course's
    completed and active treatments inside it are used; the session being moved or completed is not)."""
    if not facts.requires_authorization:
        return None
    day = proposal.treated_on
    covering = [a for a in facts.authorizations if a.approved and a.covers(day)]
    for authorization in covering:
        used = treatments_used(authorization, facts.treatments, course_id=facts.course_id, exclude=proposal.session_id)
        if used < authorization.treatments_approved:
            return None
    if covering:
        full = covering[0]
        detail = (
            f"{full.label()} ({human_date(full.valid_from)} to {human_date(full.valid_to)}) has no treatment left: "
            f"{full.treatments_approved} approved, all booked or given."
        )
    else:
        approved = sorted((a for a in facts.authorizations if a.approved), key=lambda a: a.valid_from)
        ranges = "; ".join(f"{human_date(a.valid_from)} to {human_date(a.valid_to)}" for a in approved)
        detail = f"No approved prior authorisation covers {human_date(day)}." + (
            f" Approved: {ranges}." if ranges else ""
        )
    return RuleViolation(
        f"{detail} Record the payer's approval first; a clinician can override with a reason.",
        code="authorization_required",
        authorization=str(covering[0].id) if covering else None,
    )


def authorization_open(facts: TreatmentFacts, first: date, last: date) -> bool:
    """Whether some local date in [first, last] can take a treatment under the course's approvals
    (always true when its protocol asks for none): the planner skips a course for which it is false."""
    if not facts.requires_authorization:
        return True
    return any(
        a.approved
        and a.valid_from <= last
        and a.valid_to >= first
        and treatments_used(a, facts.treatments, course_id=facts.course_id) < a.treatments_approved
        for a in facts.authorizations
    )


TreatmentRule = Callable[[TreatmentFacts, ProposedTreatment], RuleViolation | None]

# Every rule a treatment booking must pass, in the order they are reported. A clinician's
# override (with a reason, audited) passes them all.
TREATMENT_RULES: tuple[TreatmentRule, ...] = (interval_rule, eligibility_rule, authorization_rule)


def treatment_violation(
    facts: TreatmentFacts, proposal: ProposedTreatment, *, rules: Iterable[TreatmentRule] | None = None
) -> RuleViolation | None:
    """The first rule that refuses the proposed treatment, or None."""
    for rule in TREATMENT_RULES if rules is None else rules:
        violation = rule(facts, proposal)
        if violation is not None:
            return violation
    return None


def is_late(facts: TreatmentFacts, proposal: ProposedTreatment) -> bool:
    """After the booking window (last treatment + interval + window): allowed, but the course is late."""
    last = last_completed_before(facts, proposal)
    if last is None:
        return False
    return proposal.treated_on > last.treated_on + timedelta(days=facts.interval_days + facts.window_days)


# --- prior authorisation: renewal ---------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationState:
    """A course's prior authorisation as the due list shows it: `ok`, `missing` (no approval with a
    treatment left that is still valid), `expiring` (it ends within 30 days or has one treatment
    left) or `not_required`; `valid_to` and `treatments_left` of the approval in force."""

    status: str
    valid_to: date | None = None
    treatments_left: int | None = None
    authorization_id: object = None


def is_expiring(*, valid_to: date, treatments_left: int, today: date, within_days: int) -> bool:
    """Still valid today, and ending within `within_days` or with at most one treatment left (an approval
    used up needs renewing no less)."""
    return today <= valid_to and (valid_to <= today + timedelta(days=within_days) or treatments_left <= 1)


def authorization_state(
    *,
    required: bool,
    authorizations: Iterable[AuthorizationFacts],
    treatments: Iterable[KnownTreatment],
    course_id,
    today: date,
) -> AuthorizationState:
    """The due list's view: of the approvals still valid today with a treatment left, the one that runs
    longest is in force (a renewal already approved is what counts)."""
    if not required:
        return AuthorizationState("not_required")
    treatments = list(treatments)
    in_force = []
    for a in authorizations:
        left = treatments_left(a, treatments, course_id=course_id)
        if a.approved and a.valid_to >= today and left > 0:
            in_force.append((a.valid_to, a.valid_from, str(a.id), a, left))
    if not in_force:
        return AuthorizationState("missing")
    *_, current, left = max(in_force)
    expiring = is_expiring(
        valid_to=current.valid_to, treatments_left=left, today=today, within_days=AUTHORIZATION_EXPIRING_DAYS
    )
    return AuthorizationState("expiring" if expiring else "ok", current.valid_to, left, current.id)


def renew_by(*, valid_to: date, treatments_left: int, last_treated_on: date | None, interval_days: int) -> date:
    """The day an approval stops covering the course: its `valid_to`, or sooner the due date of the first
    treatment it has no room for (the latest booked or given + interval_days × (treatments left + 1))."""
    if last_treated_on is None:
        return valid_to
    return min(valid_to, last_treated_on + timedelta(days=interval_days * (treatments_left + 1)))


# --- slot offers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class OfferCandidate:
    """A course that could take a freed treatment slot: its due dates by its own protocol, and whether it
    has a treatment booked after the slot (which accepting would move to it)."""

    course_id: object
    patient_id: object
    due_from: date
    due_by: date
    later_booking: bool = False


def rank_offer_candidates(candidates: Iterable[OfferCandidate], *, today: date) -> list[OfferCandidate]:
    """API.md's order for a freed slot: overdue courses first (`due_by` already past `today`), then the
    earliest `due_by`, then those with nothing booked before those with a later booking; ties go to the
    earlier `due_from`, then the patient id, so the order never depends on the query's.

    Today 10 March: A (due_by 1 March, overdue), B (due_by 20 March), C and D (due_by 24 March, D with a
    treatment booked on 2 April) rank A, B, C, D.
    """
    return sorted(
        candidates,
        key=lambda c: (c.due_by >= today, c.due_by, c.later_booking, c.due_from, str(c.patient_id)),
    )


# --- the treatment record ------------------------------------------------------------------------

MUSCLE_NAMES = {
    "corrugator": "Corrugator",
    "procerus": "Procerus",
    "frontalis": "Frontalis",
    "temporalis": "Temporalis",
    "occipitalis": "Occipitalis",
    "cervical_paraspinal": "Cervical paraspinal",
    "trapezius": "Trapezius",
}


def preempt_deviations(*, units: dict[str, int], sites: int, units_per_site: int) -> list[str]:
    """How a record departs from the PREEMPT template (DESIGN.md §2), in words; [] when it follows it.

    Each muscle at least its standard dose; extra units only in the follow-the-pain muscles, each within
    its maximum; sites = total ÷ units_per_site. (The total's own limit is the protocol's `max_units`,
    a dose limit checked apart: a recorded deviation never lifts it.)
    """
    problems = []
    for muscle, standard in TreatmentRecord.STANDARD_UNITS.items():
        given, name = units.get(muscle, 0), MUSCLE_NAMES[muscle]
        maximum = TreatmentRecord.FOLLOW_THE_PAIN_MAXIMUM.get(muscle)
        if given < standard:
            problems.append(f"{name}: {given} U is below the standard {standard} U.")
        elif maximum is not None and given > maximum:
            problems.append(f"{name}: {given} U is over the follow-the-pain maximum of {maximum} U.")
        elif maximum is None and given > standard:
            problems.append(
                f"{name}: {given} U; extra units go only to temporalis, occipitalis and trapezius "
                f"(standard {standard} U)."
            )
    total = sum(units.values())
    if total % units_per_site or sites != total // units_per_site:
        problems.append(
            f"{sites} sites for {total} U: at {units_per_site} U per site that is {total / units_per_site:g} sites."
        )
    return problems


def units_wasted_from_vials(*, vials: list[int], total_units: int) -> int | None:
    """Units discarded from the single-dose vials opened (their sizes), or None when they hold fewer units
    than were given."""
    wasted = sum(vials) - total_units
    return wasted if wasted >= 0 else None


# --- doses ------------------------------------------------------------------------------------


def cumulative_peak(*, treatments: list[tuple[date, int]], days: int) -> int:
    """The most units given inside any `days`-day window (pure; dates are local treatment dates)."""
    ordered = sorted(treatments)
    peak = 0
    for anchor, _ in ordered:
        peak = max(peak, sum(u for d, u in ordered if anchor <= d < anchor + timedelta(days=days)))
    return peak


# --- the cycle review -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRules:
    """The review rules of one protocol profile."""

    response: response.ResponseRules
    review_after_sessions: int
    interval_days: int
    episodic_threshold_days: int
    episodic_min_diary_days: int
    overuse_acute_days: int

    @property
    def threshold_pct(self) -> float:
        return self.response.threshold_pct

    @classmethod
    def of(cls, protocol) -> "ReviewRules":
        return cls(
            response=response_rules(protocol),
            review_after_sessions=protocol.review_after_sessions,
            interval_days=protocol.interval_days,
            episodic_threshold_days=protocol.episodic_threshold_days,
            episodic_min_diary_days=protocol.episodic_min_diary_days,
            overuse_acute_days=protocol.overuse_acute_days,
        )


def response_rules(protocol) -> response.ResponseRules:
    return response.ResponseRules(
        threshold_pct=protocol.response_threshold_pct,
        metric=response.Metric(protocol.response_metric),
        min_baseline_days=protocol.min_baseline_diary_days,
        min_cycle_days=protocol.min_cycle_diary_days,
        baseline_window_days=protocol.baseline_window_days,
        assessment_after_days=protocol.assessment_after_days,
    )


@dataclass(frozen=True)
class FlagSpec:
    kind: str
    cycle: int
    details: dict


def course_review(
    *,
    periods: Sequence[response.DiaryPeriod],
    treatments: Sequence[response.Treatment],
    today: date,
    next_treatment: date | None,
    rules: ReviewRules,
) -> list[FlagSpec]:
    """The flags one course deserves today (`treatments`: the course's own, completed).

    - no_benefit: the latest final assessed cycle is cycle `review_after_sessions` or a
      later one and shows no benefit on the protocol's metric (a cycle without enough
      diary days is not assessed, and one still in its first `assessment_after_days`
      is not final, so neither missing data nor a toxin not yet at full effect reads as
      no benefit);
    - missing_response_data: the next treatment (booked, or else due at last +
      interval_days) is at most 7 days away and the current cycle has no diary day;
    - episodic_conversion: `response.episodic_conversion` since the first treatment;
    - medication_overuse: `response.medication_overuse` at the protocol's threshold.
    """
    if not treatments:
        return []
    ordered = sorted(treatments, key=lambda t: t.treated_on)
    history = response.response_history(periods=periods, treatments=ordered, today=today, rules=rules.response)
    flags: list[FlagSpec] = []
    judged = [c for c in history.cycles if c.final and c.assessment != response.Assessment.INSUFFICIENT_DATA]
    if judged and judged[-1].cycle >= rules.review_after_sessions:
        cycle = judged[-1]
        if cycle.assessment == response.Assessment.NO_BENEFIT:
            metric = rules.response.metric
            flags.append(
                FlagSpec(
                    Kind.NO_BENEFIT,
                    cycle.cycle,
                    {
                        "metric": str(metric),
                        "baseline": history.baseline.per_28(metric),
                        "baseline_diary_days": history.baseline.diary_days,
                        "cycle_per_28": cycle.rate.per_28(metric),
                        "cycle_headache_days_per_28": cycle.rate.headache_days_per_28,
                        "cycle_migraine_days_per_28": cycle.rate.migraine_days_per_28,
                        "reduction_pct": cycle.reduction_pct,
                        "threshold_pct": rules.threshold_pct,
                        "diary_days": cycle.rate.diary_days,
                        "treated_on": cycle.treated_on.isoformat(),
                    },
                )
            )
    current = history.cycles[-1]
    upcoming = next_treatment or current.treated_on + timedelta(days=rules.interval_days)
    days_away = (upcoming - today).days
    if days_away <= MISSING_DATA_LEAD_DAYS and current.rate.diary_days == 0:
        flags.append(
            FlagSpec(
                Kind.MISSING_RESPONSE_DATA,
                current.cycle,
                {
                    "treated_on": current.treated_on.isoformat(),
                    "next_treatment": upcoming.isoformat(),
                    "days_away": days_away,
                    "diary_days": 0,
                },
            )
        )
    episodic = response.episodic_conversion(
        periods,
        since=ordered[0].treated_on,
        threshold_days=rules.episodic_threshold_days,
        min_diary_days=rules.episodic_min_diary_days,
    )
    if episodic.converted:
        flags.append(
            FlagSpec(
                Kind.EPISODIC_CONVERSION,
                current.cycle,
                {
                    "advice": "consider pause",
                    "threshold_days_per_28": rules.episodic_threshold_days,
                    "first": episodic.first.isoformat(),
                    "last": episodic.last.isoformat(),
                    "headache_days_per_28": list(episodic.thirds),
                },
            )
        )
    overuse = response.medication_overuse(periods, threshold_days=rules.overuse_acute_days)
    if overuse.overused:
        flags.append(
            FlagSpec(
                Kind.MEDICATION_OVERUSE,
                current.cycle,
                {
                    "acute_medication_days_per_28": overuse.acute_days_per_28,
                    "threshold_days_per_28": rules.overuse_acute_days,
                    "diary_days": overuse.diary_days,
                },
            )
        )
    return flags
