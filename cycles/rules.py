"""The course's rules as pure functions: no database, plain values in and out (DESIGN.md §2).

- Due dates and the planner's target: `due_dates`, `next_target`, `candidate_days`,
  and the order the planner tries free slots in (`slot_preference`).
- The treatment booking rules (`TREATMENT_RULES`): each takes what is known about
  the course (`TreatmentFacts`, loaded in bulk by cycles.treatments) and a proposed
  treatment, and returns the RuleViolation that refuses it, or None. The front-desk
  booking and the planner both ask `treatment_violation`, so a rule added to the
  tuple holds for every path that books a treatment.
- The cycle review (`course_review`): the flags one course deserves today.
- The cumulative dose (`cumulative_peak`).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from clinic.errors import RuleViolation
from clinic.timezones import local_date, shift_days_keep_wall_clock
from cycles.models import ReviewFlag
from patients import response
from scheduling.slots import Slot

Kind = ReviewFlag.Kind
MISSING_DATA_LEAD_DAYS = 7  # flag missing diary data this many days before the next treatment


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
class PastTreatment:
    """A completed treatment of the patient: its local date at its location, its start, its session and course."""

    treated_on: date
    start: datetime
    session_id: object
    course_id: object = None


@dataclass(frozen=True)
class TreatmentFacts:
    """What the rules know about one course when a treatment of it is proposed.

    `treatments`: the patient's completed treatments (every course), oldest first;
    `eligibility`: for a course with no completed treatment yet, the patient's
    eligibility against the protocol (None once the course has begun).
    """

    interval_days: int
    min_interval_days: int
    window_days: int
    treatments: tuple[PastTreatment, ...]
    first_of_course: bool
    eligibility: response.Eligibility | None = None


@dataclass(frozen=True)
class ProposedTreatment:
    """A treatment someone (or the planner) wants to book: its start and local date; `session_id` of
    the session being moved, which never clashes with itself."""

    start: datetime
    treated_on: date
    session_id: object = None


def last_treatment_before(facts: TreatmentFacts, proposal: ProposedTreatment) -> PastTreatment | None:
    earlier = [t for t in facts.treatments if t.start < proposal.start and t.session_id != proposal.session_id]
    return max(earlier, key=lambda t: t.start, default=None)


def interval_rule(facts: TreatmentFacts, proposal: ProposedTreatment) -> RuleViolation | None:
    """too_soon: earlier than min_interval_days after the patient's last completed treatment."""
    last = last_treatment_before(facts, proposal)
    if last is None:
        return None
    earliest = last.treated_on + timedelta(days=facts.min_interval_days)
    if proposal.treated_on >= earliest:
        return None
    return RuleViolation(
        f"Too soon: the last treatment was on {last.treated_on}; the earliest allowed date is {earliest}.",
        code="too_soon",
        earliest=earliest.isoformat(),
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


TreatmentRule = Callable[[TreatmentFacts, ProposedTreatment], RuleViolation | None]

# Every rule a treatment booking must pass, in the order they are reported. A clinician's
# override (with a reason, audited) passes them all.
TREATMENT_RULES: tuple[TreatmentRule, ...] = (interval_rule, eligibility_rule)


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
    last = last_treatment_before(facts, proposal)
    if last is None:
        return False
    return proposal.treated_on > last.treated_on + timedelta(days=facts.interval_days + facts.window_days)


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
    threshold_pct: float
    review_after_sessions: int
    interval_days: int
    episodic_max_headache_days: int
    episodic_periods: int

    @classmethod
    def of(cls, protocol) -> "ReviewRules":
        return cls(
            threshold_pct=protocol.response_threshold_pct,
            review_after_sessions=protocol.review_after_sessions,
            interval_days=protocol.interval_days,
            episodic_max_headache_days=protocol.episodic_max_headache_days,
            episodic_periods=protocol.episodic_periods,
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
    """The flags one course deserves today.

    - no_benefit: the latest assessed cycle is cycle `review_after_sessions` or a
      later one and shows no benefit (a cycle with < 28 diary days is not assessed,
      so missing data never reads as no benefit);
    - missing_response_data: the next treatment (booked, or else due at last +
      interval_days) is at most 7 days away and the current cycle has no diary day;
    - episodic_conversion: the last `episodic_periods` diary periods since the first
      treatment are each below `episodic_max_headache_days` per 28 days.
    """
    if not treatments:
        return []
    ordered = sorted(treatments, key=lambda t: t.treated_on)
    history = response.response_history(
        periods=periods, treatments=ordered, today=today, threshold_pct=rules.threshold_pct
    )
    flags: list[FlagSpec] = []
    assessed = [c for c in history.cycles if c.assessment != response.Assessment.INSUFFICIENT_DATA]
    if assessed and assessed[-1].cycle >= rules.review_after_sessions:
        cycle = assessed[-1]
        if cycle.assessment == response.Assessment.NO_BENEFIT:
            flags.append(
                FlagSpec(
                    Kind.NO_BENEFIT,
                    cycle.cycle,
                    {
                        "baseline": history.baseline.headache_days_per_28,
                        "baseline_diary_days": history.baseline.diary_days,
                        "cycle_headache_days_per_28": cycle.rate.headache_days_per_28,
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
    since_start = sorted((p for p in periods if p.start >= ordered[0].treated_on), key=lambda p: p.start)
    recent = since_start[-rules.episodic_periods :] if rules.episodic_periods else []
    rates = [round(p.headache_days * response.DAYS_PER_RATE / p.days, 1) for p in recent]
    if len(recent) == rules.episodic_periods and recent and all(r < rules.episodic_max_headache_days for r in rates):
        flags.append(
            FlagSpec(
                Kind.EPISODIC_CONVERSION,
                current.cycle,
                {
                    "advice": "consider pause",
                    "max_headache_days_per_28": rules.episodic_max_headache_days,
                    "periods": [
                        {"start": p.start.isoformat(), "end": p.end.isoformat(), "headache_days_per_28": r}
                        for p, r in zip(recent, rates, strict=True)
                    ],
                },
            )
        )
    return flags
