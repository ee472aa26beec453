"""The response assessment as a pure function (DESIGN.md §2): no database here."""

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patients.response import (
    Assessment,
    DiaryPeriod,
    Rate,
    ResponseStatus,
    Treatment,
    assess,
    baseline_rate,
    eligibility,
    rate_over,
    response_history,
)

FIRST = date(2026, 3, 2)


def days(n: int) -> timedelta:
    return timedelta(days=n)


def period(start: date, length: int, headache: int, migraine: int = 0) -> DiaryPeriod:
    return DiaryPeriod(start, start + days(length - 1), headache, migraine)


def history(periods, treated_on=(FIRST,), today=None, threshold=30):
    treatments = [Treatment(d, f"s{i}") for i, d in enumerate(treated_on)]
    return response_history(
        periods=periods,
        treatments=treatments,
        today=today or max(treated_on, default=FIRST) + days(40),
        threshold_pct=threshold,
    )


def test_no_treatment_means_not_started():
    result = history([period(FIRST - days(28), 28, 20)], treated_on=())
    assert result.status == ResponseStatus.NOT_STARTED
    assert result.cycles == []


def test_no_baseline_gives_insufficient_data_not_no_benefit():
    result = history([period(FIRST, 28, 20)])
    assert result.baseline.diary_days == 0
    assert result.cycles[0].assessment == Assessment.INSUFFICIENT_DATA
    assert result.cycles[0].reduction_pct is None
    assert result.status == ResponseStatus.INSUFFICIENT_DATA


def test_baseline_20_and_cycle_14_is_a_30_pct_reduction_and_a_benefit():
    result = history([period(FIRST - days(28), 28, 20), period(FIRST, 28, 14)])
    assert result.baseline.headache_days_per_28 == 20.0
    cycle = result.cycles[0]
    assert cycle.rate.headache_days_per_28 == 14.0
    assert cycle.reduction_pct == 30.0
    assert cycle.assessment == Assessment.BENEFIT
    assert result.status == ResponseStatus.RESPONDER


def test_baseline_20_and_cycle_15_is_a_25_pct_reduction_and_no_benefit():
    result = history([period(FIRST - days(28), 28, 20), period(FIRST, 28, 15)])
    cycle = result.cycles[0]
    assert cycle.reduction_pct == 25.0
    assert cycle.assessment == Assessment.NO_BENEFIT
    assert result.status == ResponseStatus.NON_RESPONDER


def test_the_threshold_comes_from_the_protocol_and_50_pct_turns_30_into_no_benefit():
    result = history([period(FIRST - days(28), 28, 20), period(FIRST, 28, 14)], threshold=50)
    assert result.threshold_pct == 50
    assert result.cycles[0].assessment == Assessment.NO_BENEFIT


def test_a_cycle_with_less_than_28_diary_days_is_insufficient_data():
    result = history([period(FIRST - days(28), 28, 20), period(FIRST, 27, 2)])
    assert result.cycles[0].rate.diary_days == 27
    assert result.cycles[0].assessment == Assessment.INSUFFICIENT_DATA
    assert result.status == ResponseStatus.INSUFFICIENT_DATA


def test_a_baseline_of_less_than_28_days_is_insufficient_even_with_a_good_cycle():
    result = history([period(FIRST - days(27), 27, 20), period(FIRST, 28, 2)])
    assert result.baseline.diary_days == 27
    assert result.cycles[0].assessment == Assessment.INSUFFICIENT_DATA


def test_diary_older_than_90_days_before_the_first_treatment_is_not_baseline():
    result = history([period(FIRST - days(91 + 28), 28, 20), period(FIRST, 28, 2)])
    assert result.baseline.diary_days == 0
    assert result.cycles[0].assessment == Assessment.INSUFFICIENT_DATA


def test_a_period_straddling_a_treatment_is_split_in_proportion_to_its_days_on_each_side():
    # 20 Jan–16 Feb (28 days, 12 headache days), treatment on 10 Feb:
    # 21 days before (9 headache days) to the earlier side, 7 days from the treatment date on (3) to the later.
    straddling = DiaryPeriod(date(2026, 1, 20), date(2026, 2, 16), 12)
    treated = date(2026, 2, 10)
    before = rate_over([straddling], date(2025, 11, 12), treated - days(1))
    after = rate_over([straddling], treated, date(2026, 3, 31))
    assert (before.diary_days, after.diary_days) == (21, 7)
    assert before.headache_days_per_28 == pytest.approx(9 / 21 * 28, abs=0.05)
    assert after.headache_days_per_28 == pytest.approx(3 / 7 * 28, abs=0.05)


def test_the_treatment_date_itself_belongs_to_the_later_cycle():
    second = FIRST + days(84)
    one_day = DiaryPeriod(second, second, 1)
    result = history([period(FIRST - days(28), 28, 20), one_day], treated_on=(FIRST, second))
    assert result.cycles[0].rate.diary_days == 0
    assert result.cycles[1].rate.diary_days == 1
    assert result.cycles[0].window_end == second - days(1)


def test_a_straddling_period_counts_toward_both_cycles_and_decides_each():
    second = FIRST + days(84)
    periods = [
        period(FIRST - days(28), 28, 20),
        # 14 days in cycle 1, 14 days in cycle 2
        period(second - days(14), 28, 14),
        period(second - days(42), 28, 14),
        period(second + days(14), 28, 7),
    ]
    result = history(periods, treated_on=(FIRST, second), today=second + days(50))
    cycle1, cycle2 = result.cycles
    assert cycle1.rate.diary_days == 42
    assert cycle2.rate.diary_days == 42
    assert cycle1.rate.headache_days_per_28 == 14.0
    assert cycle2.rate.headache_days_per_28 == pytest.approx((7 + 7) / 42 * 28, abs=0.05)
    assert cycle2.assessment == Assessment.BENEFIT


def test_the_latest_assessed_cycle_decides_the_status():
    second = FIRST + days(84)
    periods = [period(FIRST - days(28), 28, 20), period(FIRST, 28, 10), period(second, 28, 18)]
    result = history(periods, treated_on=(FIRST, second))
    assert [c.assessment for c in result.cycles] == [Assessment.BENEFIT, Assessment.NO_BENEFIT]
    assert result.status == ResponseStatus.NON_RESPONDER


def test_a_latest_cycle_without_data_does_not_hide_the_last_assessed_one():
    second = FIRST + days(84)
    periods = [period(FIRST - days(28), 28, 20), period(FIRST, 28, 10)]
    result = history(periods, treated_on=(FIRST, second))
    assert result.cycles[1].assessment == Assessment.INSUFFICIENT_DATA
    assert result.status == ResponseStatus.RESPONDER


def test_a_zero_baseline_cannot_be_divided_by_and_is_insufficient():
    assessment, reduction = assess(Rate(28, 0.0, 0.0), Rate(28, 0.0, 0.0), 30)
    assert (assessment, reduction) == (Assessment.INSUFFICIENT_DATA, None)


def test_eligibility_needs_15_headache_and_8_migraine_days_and_failed_preventives():
    baseline = baseline_rate([period(FIRST - days(28), 28, 16, 9)], FIRST)
    ok = eligibility(
        baseline=baseline, failed_preventives=2, min_headache_days=15, min_migraine_days=8, min_failed_preventives=2
    )
    assert ok.chronic_migraine and ok.meets_protocol and ok.reasons == []
    low = eligibility(
        baseline=baseline_rate([period(FIRST - days(28), 28, 14, 7)], FIRST),
        failed_preventives=1,
        min_headache_days=15,
        min_migraine_days=8,
        min_failed_preventives=2,
    )
    assert not low.chronic_migraine and not low.meets_protocol
    assert len(low.reasons) == 3


# --- properties ---------------------------------------------------------------------------------


@st.composite
def diaries(draw):
    """Non-overlapping periods of 1–31 days around two treatments, in recording order."""
    start = FIRST - days(draw(st.integers(0, 120)))
    periods = []
    cursor = start
    for _ in range(draw(st.integers(0, 12))):
        cursor += days(draw(st.integers(0, 10)))
        length = draw(st.integers(1, 31))
        headache = draw(st.integers(0, length))
        migraine = draw(st.integers(0, headache))
        periods.append(DiaryPeriod(cursor, cursor + days(length - 1), headache, migraine))
        cursor += days(length)
    return periods


treatment_plans = st.lists(st.integers(0, 200), min_size=1, max_size=4, unique=True).map(
    lambda offsets: [FIRST + days(o) for o in offsets]
)


@settings(max_examples=300, deadline=None)
@given(periods=diaries(), treated_on=treatment_plans, threshold=st.integers(1, 100))
def test_the_reduction_never_exceeds_100_pct(periods, treated_on, threshold):
    result = history(periods, treated_on=tuple(treated_on), threshold=threshold)
    for cycle in result.cycles:
        if cycle.reduction_pct is not None:
            assert cycle.reduction_pct <= 100
            assert cycle.assessment != Assessment.INSUFFICIENT_DATA


@settings(max_examples=300, deadline=None)
@given(periods=diaries(), treated_on=treatment_plans, data=st.data())
def test_the_assessment_does_not_depend_on_the_order_entries_were_recorded_in(periods, treated_on, data):
    shuffled = data.draw(st.permutations(periods))
    shuffled_treatments = data.draw(st.permutations(treated_on))
    expected = history(periods, treated_on=tuple(treated_on), today=FIRST + days(300))
    actual = history(shuffled, treated_on=tuple(shuffled_treatments), today=FIRST + days(300))
    assert actual.status == expected.status
    assert actual.baseline == expected.baseline
    assert [(c.treated_on, c.rate, c.reduction_pct, c.assessment) for c in actual.cycles] == [
        (c.treated_on, c.rate, c.reduction_pct, c.assessment) for c in expected.cycles
    ]


@settings(max_examples=200, deadline=None)
@given(periods=diaries(), treated_on=treatment_plans)
def test_every_diary_day_is_counted_once_across_baseline_and_cycles(periods, treated_on):
    today = FIRST + days(300)
    result = history(periods, treated_on=tuple(treated_on), today=today)
    first = min(treated_on)
    window_start = first - days(90)
    inside = sum(max(0, (min(p.end, today) - max(p.start, window_start)).days + 1) for p in periods)
    assert result.baseline.diary_days + sum(c.rate.diary_days for c in result.cycles) == inside


def rate_by_fractions(periods, first: date, last: date) -> tuple[int, float | None, float | None]:
    """The definition of the rate, written the slow way: a Fraction per period."""
    diary_days, headache, migraine = 0, Fraction(0), Fraction(0)
    for p in periods:
        overlap = (min(p.end, last) - max(p.start, first)).days + 1
        if overlap > 0:
            diary_days += overlap
            headache += Fraction(p.headache_days * overlap, p.days)
            migraine += Fraction(p.migraine_days * overlap, p.days)
    if not diary_days:
        return 0, None, None
    return diary_days, round(float(headache * 28 / diary_days), 1), round(float(migraine * 28 / diary_days), 1)


@settings(max_examples=500, deadline=None)
@given(periods=diaries(), start=st.integers(-150, 150), length=st.integers(1, 120))
def test_the_rate_is_the_exact_fraction_rounded_for_periods_of_any_lengths(periods, start, length):
    # rate_over keeps integer sums over a common multiple of the period lengths; periods of 1 to 31 days
    # (lengths that share factors and lengths that do not) must give what exact fractions give.
    first = FIRST + days(start)
    last = first + days(length - 1)
    rate = rate_over(periods, first, last)
    assert (rate.diary_days, rate.headache_days_per_28, rate.migraine_days_per_28) == rate_by_fractions(
        periods, first, last
    )
