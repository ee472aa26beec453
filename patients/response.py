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

Every number below comes from the course's protocol profile (`ResponseRules`,
defaults in brackets). Sufficiency: the baseline (the `baseline_window_days` [90]
before the course's first treatment) needs `min_baseline_days` [28] diary days
and each cycle (treatment k to the day before treatment k+1, or today)
`min_cycle_days` [28]; fewer → `insufficient_data`, never `no_benefit`. The
reduction is computed on the protocol's `metric` (headache or migraine days per
28). A cycle is `final` once the next treatment has been given or
`assessment_after_days` [56] have passed since its treatment: the toxin takes 4–6
weeks to reach full effect, so a cycle is shown from its first day but judged
only then. Rates are rounded to one decimal before the reduction is computed, so
what the API shows is what was compared with the threshold.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import NamedTuple

DAYS_PER_RATE = 28
OVERUSE_WINDOW_DAYS = 84  # medication overuse is judged over the latest 84 days of diary (ICHD-3 8.2)


class Metric(StrEnum):
    HEADACHE_DAYS = "headache_days"
    MIGRAINE_DAYS = "migraine_days"


@dataclass(frozen=True)
class ResponseRules:
    """The response rules of one protocol profile (DESIGN.md §2)."""

    threshold_pct: float = 30
    metric: Metric = Metric.HEADACHE_DAYS
    min_baseline_days: int = 28
    min_cycle_days: int = 28
    baseline_window_days: int = 90
    assessment_after_days: int = 56


class Assessment(StrEnum):
    BENEFIT = "benefit"
    NO_BENEFIT = "no_benefit"
    INSUFFICIENT_DATA = "insufficient_data"


class ResponseStatus(StrEnum):
    NOT_STARTED = "not_started"
    INSUFFICIENT_DATA = "insufficient_data"
    RESPONDER = "responder"
    NON_RESPONDER = "non_responder"


class DiaryPeriod(NamedTuple):
    # A tuple rather than a frozen dataclass: the daily review sweep makes one for every diary entry of every
    # treated patient (a million at 100,000 patients), and a tuple is made in a fraction of the time.
    start: date
    end: date
    headache_days: int
    migraine_days: int = 0
    acute_medication_days: int = 0

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Rate:
    """Headache and migraine days per 28 days over the diary days inside a window."""

    diary_days: int
    headache_days_per_28: float | None
    migraine_days_per_28: float | None

    def per_28(self, metric: Metric) -> float | None:
        return self.migraine_days_per_28 if metric == Metric.MIGRAINE_DAYS else self.headache_days_per_28


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
    final: bool = True


@dataclass(frozen=True)
class ResponseHistory:
    status: ResponseStatus
    baseline: Rate
    threshold_pct: float
    cycles: list[CycleResponse]
    metric: Metric = Metric.HEADACHE_DAYS


def _window_sums(periods: Iterable[DiaryPeriod], first: date, last: date) -> tuple[int, int, int, int, int]:
    """(diary days, common, headache, migraine, acute) over the window [first, last]: each period adds its
    days × overlap / length, kept exact as integers over `common`, a multiple of the lengths met."""
    # Exact, so a rounded rate cannot depend on the order in which the periods were recorded (a Fraction
    # per period made the daily review sweep spend most of its time here). The sweep sums about eight
    # windows a course: periods outside one are passed over with two comparisons, and diaries of one period
    # length never widen the multiple.
    diary_days = 0
    common = 1
    headache = migraine = acute = 0
    for period in periods:
        start, end = period.start, period.end
        if end < first or start > last:
            continue
        overlap = ((end if end < last else last) - (start if start > first else first)).days + 1
        length = (end - start).days + 1
        if common % length:
            widen = length // math.gcd(common, length)
            common, headache, migraine, acute = common * widen, headache * widen, migraine * widen, acute * widen
        share = overlap * (common // length)
        headache += period.headache_days * share
        migraine += period.migraine_days * share
        acute += period.acute_medication_days * share
        diary_days += overlap
    return diary_days, common, headache, migraine, acute


def _per_28(total: int, common: int, diary_days: int) -> float:
    # int / int is correctly rounded: the float of the exact fraction, then rounded to one decimal.
    return round(total * DAYS_PER_RATE / (common * diary_days), 1)


def rate_over(periods: Iterable[DiaryPeriod], first: date, last: date) -> Rate:
    """Rate over the window [first, last], each period weighted by its days inside it."""
    diary_days, common, headache, migraine, _ = _window_sums(periods, first, last)
    if diary_days == 0:
        return Rate(0, None, None)
    return Rate(diary_days, _per_28(headache, common, diary_days), _per_28(migraine, common, diary_days))


def baseline_rate(periods: Iterable[DiaryPeriod], first_treatment: date, window_days: int = 90) -> Rate:
    """The `window_days` before the course's first treatment (the treatment date itself excluded)."""
    return rate_over(periods, first_treatment - timedelta(days=window_days), first_treatment - timedelta(days=1))


def reduction_pct(baseline: float, cycle: float) -> float:
    return round((baseline - cycle) / baseline * 100, 1)


def assess(
    baseline: Rate | None, cycle: Rate, threshold_pct: float, rules: ResponseRules | None = None
) -> tuple[Assessment, float | None]:
    """Three states, never guessing: missing or thin data is insufficient, not no benefit."""
    rules = rules or ResponseRules(threshold_pct=threshold_pct)
    before = baseline.per_28(rules.metric) if baseline is not None else None
    after = cycle.per_28(rules.metric)
    if (
        baseline is None
        or baseline.diary_days < rules.min_baseline_days
        or not before
        or cycle.diary_days < rules.min_cycle_days
        or after is None
    ):
        return Assessment.INSUFFICIENT_DATA, None
    reduction = reduction_pct(before, after)
    return (Assessment.BENEFIT if reduction >= threshold_pct else Assessment.NO_BENEFIT), reduction


def response_history(
    *,
    periods: Sequence[DiaryPeriod],
    treatments: Sequence[Treatment],
    today: date,
    threshold_pct: float | None = None,
    rules: ResponseRules | None = None,
) -> ResponseHistory:
    """Baseline, then one assessed cycle per treatment of the course, from treatment k to the day before
    k+1 (or today). `rules` default to the PREEMPT profile's, with `threshold_pct` if given."""
    if rules is None:
        rules = ResponseRules() if threshold_pct is None else ResponseRules(threshold_pct=threshold_pct)
    ordered = sorted(treatments, key=lambda t: t.treated_on)
    if not ordered:
        # Untreated: the baseline so far (the window up to today), as eligibility counts it.
        baseline = baseline_rate(periods, today + timedelta(days=1), rules.baseline_window_days)
        return ResponseHistory(ResponseStatus.NOT_STARTED, baseline, rules.threshold_pct, [], rules.metric)
    baseline = baseline_rate(periods, ordered[0].treated_on, rules.baseline_window_days)
    cycles = []
    for index, treatment in enumerate(ordered):
        is_last = index + 1 == len(ordered)
        window_end = today if is_last else ordered[index + 1].treated_on - timedelta(days=1)
        rate = rate_over(periods, treatment.treated_on, window_end)
        assessment, reduction = assess(baseline, rate, rules.threshold_pct, rules)
        cycles.append(
            CycleResponse(
                cycle=index + 1,
                treated_on=treatment.treated_on,
                window_end=window_end,
                session_id=treatment.session_id,
                rate=rate,
                reduction_pct=reduction,
                assessment=assessment,
                final=not is_last or today >= treatment.treated_on + timedelta(days=rules.assessment_after_days),
            )
        )
    status = _overall(baseline, cycles, rules)
    return ResponseHistory(status, baseline, rules.threshold_pct, cycles, rules.metric)


def _overall(baseline: Rate, cycles: list[CycleResponse], rules: ResponseRules) -> ResponseStatus:
    assessed = [c for c in cycles if c.assessment != Assessment.INSUFFICIENT_DATA]
    if baseline.diary_days < rules.min_baseline_days or not assessed:
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
    medication_overuse: bool = False
    acute_medication_days_per_28: float | None = None


def eligibility(
    *,
    baseline: Rate,
    failed_preventives: int,
    min_headache_days: int,
    min_migraine_days: int,
    min_failed_preventives: int,
    min_baseline_days: int = 28,
    overuse: "Overuse | None" = None,
) -> Eligibility:
    """Chronic migraine (ICHD-3 1.3) from the baseline, the protocol's failed-preventive count, and
    medication overuse (shown with a reason; NICE asks that it be managed first, it does not bar)."""
    reasons = []
    if baseline.diary_days < min_baseline_days:
        reasons.append(f"Baseline diary covers {baseline.diary_days} days; at least {min_baseline_days} are needed.")
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
    overused = overuse is not None and overuse.overused
    if overused:
        reasons.append(
            f"Medication overuse: {overuse.acute_days_per_28} acute-medication days per 28 over the latest "
            f"{overuse.diary_days} diary days (threshold {overuse.threshold_days}); manage it before treatment."
        )
    return Eligibility(
        chronic_migraine=chronic,
        baseline=baseline,
        failed_preventives=failed_preventives,
        meets_protocol=chronic and failed_preventives >= min_failed_preventives,
        reasons=reasons,
        medication_overuse=overused,
        acute_medication_days_per_28=overuse.acute_days_per_28 if overuse is not None else None,
    )


@dataclass(frozen=True)
class Overuse:
    acute_days_per_28: float | None
    diary_days: int
    threshold_days: int

    @property
    def overused(self) -> bool:
        return self.acute_days_per_28 is not None and self.acute_days_per_28 >= self.threshold_days


def medication_overuse(periods: Sequence[DiaryPeriod], *, threshold_days: int, min_diary_days: int = 28) -> Overuse:
    """Acute-medication days per 28 over the latest 84 days of diary (up to the latest diary day); judged
    only when those days hold at least `min_diary_days` of diary."""
    if not periods:
        return Overuse(None, 0, threshold_days)
    last = max(p.end for p in periods)
    diary_days, common, _, _, acute = _window_sums(periods, last - timedelta(days=OVERUSE_WINDOW_DAYS - 1), last)
    if diary_days < min_diary_days:
        return Overuse(None, diary_days, threshold_days)
    return Overuse(_per_28(acute, common, diary_days), diary_days, threshold_days)


@dataclass(frozen=True)
class EpisodicCheck:
    converted: bool
    first: date | None = None
    last: date | None = None
    thirds: tuple[float, ...] = ()


def episodic_conversion(
    periods: Sequence[DiaryPeriod], *, since: date, threshold_days: int, min_diary_days: int
) -> EpisodicCheck:
    """Episodic again: the latest `min_diary_days` up to the latest diary day (all on or after `since`, the
    course's first treatment) are covered by diary without a gap, and each third of them is below
    `threshold_days` headache days per 28 (DESIGN.md §2, "consider pause")."""
    if not periods or min_diary_days < 3:
        return EpisodicCheck(False)
    last = max(p.end for p in periods)
    first = last - timedelta(days=min_diary_days - 1)
    if first < since:
        return EpisodicCheck(False)
    covered = _window_sums(periods, first, last)[0]
    if covered < min_diary_days:  # periods never overlap, so fewer days covered means a gap
        return EpisodicCheck(False, first, last)
    third = min_diary_days // 3
    bounds = [(first + timedelta(days=third * k), first + timedelta(days=third * (k + 1) - 1)) for k in range(2)]
    bounds.append((first + timedelta(days=third * 2), last))
    rates = tuple(rate_over(periods, a, b).headache_days_per_28 for a, b in bounds)
    return EpisodicCheck(all(r is not None and r < threshold_days for r in rates), first, last, rates)
