"""Response assessment: a pure function of the diary and the treatment dates.

DESIGN.md §2. No database access here; callers pass plain values.

Attribution rule for a diary period that straddles a boundary (a treatment date,
or the start of the 90-day baseline window): its headache days are split in
proportion to its days on each side. Days before a treatment date belong to the
earlier cycle (or the baseline); the treatment date itself and the days after it
belong to the later cycle. Periods are inclusive of both ends.

Example: a 28-day period 20 Jan–16 Feb with 12 headache days and a treatment on
10 Feb gives 21 days (9 headache days) to the earlier side and 7 days (3 headache
days) to the later one.

Sufficiency: the baseline (the 90 days before the first treatment) and each cycle
(treatment k to the day before treatment k+1, or today) need at least 28 diary
days inside them; fewer → `insufficient_data`, never `no_benefit`. Rates are
rounded to one decimal before the reduction is computed, so what the API shows
is what was compared with the threshold.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

DAYS_PER_RATE = 28
MIN_DIARY_DAYS = 28  # less than this inside a cycle (or the baseline) → insufficient data
BASELINE_DAYS = 90


class Assessment(StrEnum):
    BENEFIT = "benefit"
    NO_BENEFIT = "no_benefit"
    INSUFFICIENT_DATA = "insufficient_data"


class ResponseStatus(StrEnum):
    NOT_STARTED = "not_started"
    INSUFFICIENT_DATA = "insufficient_data"
    RESPONDER = "responder"
    NON_RESPONDER = "non_responder"


@dataclass(frozen=True)
class DiaryPeriod:
    start: date
    end: date
    headache_days: int
    migraine_days: int = 0

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Rate:
    """Headache and migraine days per 28 days over the diary days inside a window."""

    diary_days: int
    headache_days_per_28: float | None
    migraine_days_per_28: float | None

    @property
    def sufficient(self) -> bool:
        return self.diary_days >= MIN_DIARY_DAYS


@dataclass(frozen=True)
class Treatment:
    treated_on: date
    session_id: object = None


@dataclass(frozen=True)
class CycleResponse:
    cycle: int
    treated_on: date
    window_end: date
    session_id: object
    rate: Rate
    reduction_pct: float | None
    assessment: Assessment


@dataclass(frozen=True)
class ResponseHistory:
    status: ResponseStatus
    baseline: Rate
    threshold_pct: float
    cycles: list[CycleResponse]


def rate_over(periods: Iterable[DiaryPeriod], first: date, last: date) -> Rate:
    """Rate over the window [first, last], each period weighted by its days inside it."""
    # Exact fractions: the sum, hence the rounded rate, cannot depend on the order
    # in which the periods were recorded.
    diary_days = 0
    headache = Fraction(0)
    migraine = Fraction(0)
    for period in periods:
        overlap = (min(period.end, last) - max(period.start, first)).days + 1
        if overlap <= 0:
            continue
        share = Fraction(overlap, period.days)
        diary_days += overlap
        headache += period.headache_days * share
        migraine += period.migraine_days * share
    if diary_days == 0:
        return Rate(0, None, None)
    return Rate(
        diary_days=diary_days,
        headache_days_per_28=round(float(headache / diary_days * DAYS_PER_RATE), 1),
        migraine_days_per_28=round(float(migraine / diary_days * DAYS_PER_RATE), 1),
    )


def baseline_rate(periods: Iterable[DiaryPeriod], first_treatment: date) -> Rate:
    """The 90 days before the first treatment (the treatment date itself excluded)."""
    return rate_over(periods, first_treatment - timedelta(days=BASELINE_DAYS), first_treatment - timedelta(days=1))


def reduction_pct(baseline: float, cycle: float) -> float:
    return round((baseline - cycle) / baseline * 100, 1)


def assess(baseline: Rate | None, cycle: Rate, threshold_pct: float) -> tuple[Assessment, float | None]:
    """Three states, never guessing: missing or thin data is insufficient, not no benefit."""
    if (
        baseline is None
        or not baseline.sufficient
        or not baseline.headache_days_per_28
        or not cycle.sufficient
        or cycle.headache_days_per_28 is None
    ):
        return Assessment.INSUFFICIENT_DATA, None
    reduction = reduction_pct(baseline.headache_days_per_28, cycle.headache_days_per_28)
    return (Assessment.BENEFIT if reduction >= threshold_pct else Assessment.NO_BENEFIT), reduction


def response_history(
    *,
    periods: Sequence[DiaryPeriod],
    treatments: Sequence[Treatment],
    today: date,
    threshold_pct: float,
) -> ResponseHistory:
    """Baseline, then one assessed cycle per treatment, from treatment k to the day before k+1 (or today)."""
    ordered = sorted(treatments, key=lambda t: t.treated_on)
    if not ordered:
        # Untreated: the baseline so far (the 90 days up to today), as eligibility counts it.
        baseline = baseline_rate(periods, today + timedelta(days=1))
        return ResponseHistory(ResponseStatus.NOT_STARTED, baseline, threshold_pct, [])
    baseline = baseline_rate(periods, ordered[0].treated_on)
    cycles = []
    for index, treatment in enumerate(ordered):
        is_last = index + 1 == len(ordered)
        window_end = today if is_last else ordered[index + 1].treated_on - timedelta(days=1)
        rate = rate_over(periods, treatment.treated_on, window_end)
        assessment, reduction = assess(baseline, rate, threshold_pct)
        cycles.append(
            CycleResponse(
                cycle=index + 1,
                treated_on=treatment.treated_on,
                window_end=window_end,
                session_id=treatment.session_id,
                rate=rate,
                reduction_pct=reduction,
                assessment=assessment,
            )
        )
    return ResponseHistory(_overall(baseline, cycles), baseline, threshold_pct, cycles)


def _overall(baseline: Rate, cycles: list[CycleResponse]) -> ResponseStatus:
    assessed = [c for c in cycles if c.assessment != Assessment.INSUFFICIENT_DATA]
    if not baseline.sufficient or not assessed:
        return ResponseStatus.INSUFFICIENT_DATA
    if assessed[-1].assessment == Assessment.BENEFIT:
        return ResponseStatus.RESPONDER
    return ResponseStatus.NON_RESPONDER


@dataclass(frozen=True)
class Eligibility:
    chronic_migraine: bool
    baseline: Rate
    failed_preventives: int
    meets_protocol: bool
    reasons: list[str]


def eligibility(
    *,
    baseline: Rate,
    failed_preventives: int,
    min_headache_days: int,
    min_migraine_days: int,
    min_failed_preventives: int,
) -> Eligibility:
    """Chronic migraine (ICHD-3 1.3) from the baseline, and the protocol's failed-preventive count."""
    reasons = []
    if not baseline.sufficient:
        reasons.append(f"Baseline diary covers {baseline.diary_days} days; at least {MIN_DIARY_DAYS} are needed.")
        chronic = False
    else:
        chronic = True
        if baseline.headache_days_per_28 < min_headache_days:
            chronic = False
            reasons.append(
                f"Baseline {baseline.headache_days_per_28} headache days per 28; at least {min_headache_days} needed."
            )
        if baseline.migraine_days_per_28 < min_migraine_days:
            chronic = False
            reasons.append(
                f"Baseline {baseline.migraine_days_per_28} migraine days per 28; at least {min_migraine_days} needed."
            )
    if failed_preventives < min_failed_preventives:
        reasons.append(f"{failed_preventives} failed oral preventives; the protocol asks for {min_failed_preventives}.")
    return Eligibility(
        chronic_migraine=chronic,
        baseline=baseline,
        failed_preventives=failed_preventives,
        meets_protocol=chronic and failed_preventives >= min_failed_preventives,
        reasons=reasons,
    )
