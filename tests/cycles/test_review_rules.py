"""course_review, the pure rule behind the review flags."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cycles.models import Protocol
from cycles.rules import FlagSpec, ReviewRules, course_review
from patients.response import DiaryPeriod, Treatment


def rules(**profile) -> ReviewRules:
    """The review rules of a protocol profile (PREEMPT defaults, unsaved: no database)."""
    return ReviewRules.of(Protocol(**profile))


RULES = rules()
T1 = date(2026, 1, 6)
FINAL = 56  # assessment_after_days: a cycle is judged this many days after its treatment


def treatments(n: int) -> list[Treatment]:
    return [Treatment(T1 + timedelta(days=84 * k), f"s{k + 1}") for k in range(n)]


def periods(first: date, values: list[int]) -> list[DiaryPeriod]:
    return [
        DiaryPeriod(first + timedelta(days=28 * i), first + timedelta(days=28 * i + 27), v, min(v, 8))
        for i, v in enumerate(values)
    ]


def history(baseline: int, cycles: list[list[int]]) -> list[DiaryPeriod]:
    out = periods(T1 - timedelta(days=84), [baseline] * 3)
    for k, values in enumerate(cycles):
        out += periods(T1 + timedelta(days=84 * k), values)
    return out


def review(diary, n, today, next_treatment=None, rules=RULES) -> list[FlagSpec]:
    return course_review(
        periods=diary, treatments=treatments(n), today=today, next_treatment=next_treatment, rules=rules
    )


def kinds(flags):
    return [(f.kind, f.cycle) for f in flags]


def test_no_benefit_after_the_third_cycle_is_judged_with_its_numbers():
    diary = history(20, [[18] * 3, [17] * 3, [16]])
    [flag] = review(diary, 3, today=T1 + timedelta(days=168 + FINAL))
    assert (flag.kind, flag.cycle) == ("no_benefit", 3)
    assert flag.details == {
        "metric": "headache_days",
        "baseline": 20.0,
        "baseline_diary_days": 84,
        "cycle_per_28": 16.0,
        "cycle_headache_days_per_28": 16.0,
        "cycle_migraine_days_per_28": 8.0,
        "reduction_pct": 20.0,
        "threshold_pct": 30,
        "diary_days": 28,
        "treated_on": "2026-06-23",
    }


def test_a_third_cycle_is_not_judged_before_the_toxin_reaches_full_effect():
    # Cycle 3 treated 30 days ago, 28 diary days at no benefit: shown, but not final, so no flag.
    diary = history(20, [[18] * 3, [17] * 3, [16]])
    assert review(diary, 3, today=T1 + timedelta(days=168 + 30)) == []
    assert kinds(review(diary, 3, today=T1 + timedelta(days=168 + FINAL - 1))) == []
    assert kinds(review(diary, 3, today=T1 + timedelta(days=168 + FINAL))) == [("no_benefit", 3)]


def test_no_benefit_in_the_first_two_cycles_is_not_flagged():
    diary = history(20, [[18] * 3, [17] * 3])
    assert review(diary, 2, today=T1 + timedelta(days=84 + 60)) == []
    # The third cycle has begun but is not assessed yet (27 diary days): still nothing.
    diary = history(20, [[18] * 3, [17] * 3, [16]])
    assert review(diary, 3, today=T1 + timedelta(days=168 + 26)) == []


def test_a_third_cycle_with_benefit_is_not_flagged():
    diary = history(20, [[18], [12], [13]])
    assert review(diary, 3, today=T1 + timedelta(days=168 + 60)) == []
    # Three whole months below 15 headache days are an episodic conversion, but still not no_benefit.
    diary = history(20, [[18] * 3, [12] * 3, [13] * 3])
    assert kinds(review(diary, 3, today=T1 + timedelta(days=168 + 83))) == [("episodic_conversion", 3)]


def test_the_threshold_is_inclusive_and_configurable():
    diary = history(20, [[18] * 3, [17] * 3, [14]])  # 30 % exactly
    assert review(diary, 3, today=T1 + timedelta(days=168 + FINAL)) == []
    strict = rules(response_threshold_pct=50)
    assert kinds(review(diary, 3, today=T1 + timedelta(days=168 + FINAL), rules=strict)) == [("no_benefit", 3)]


def test_the_response_metric_can_be_migraine_days():
    # 20 → 16 headache days is −20 %; 8 → 4 migraine days is −50 %: a benefit only on the migraine metric.
    diary = periods(T1 - timedelta(days=84), [20] * 3)
    diary += [DiaryPeriod(T1 + timedelta(days=28 * i), T1 + timedelta(days=28 * i + 27), 16, 4) for i in range(3)]
    on_headache = rules(review_after_sessions=1)
    on_migraine = rules(review_after_sessions=1, response_metric="migraine_days")
    assert kinds(review(diary, 1, today=T1 + timedelta(days=83), rules=on_headache)) == [("no_benefit", 1)]
    assert review(diary, 1, today=T1 + timedelta(days=83), rules=on_migraine) == []


def test_review_after_sessions_is_configurable():
    diary = history(20, [[18] * 3])
    assert kinds(review(diary, 1, today=T1 + timedelta(days=60), rules=rules(review_after_sessions=1))) == [
        ("no_benefit", 1)
    ]


def test_the_latest_assessed_cycle_decides_so_a_fourth_cycle_can_flag():
    diary = history(20, [[18] * 3, [17] * 3, [16] * 3, [16]])
    assert kinds(review(diary, 4, today=T1 + timedelta(days=252 + FINAL))) == [("no_benefit", 4)]
    # A fourth cycle not yet assessed leaves the third as the latest assessed one.
    diary = history(20, [[18] * 3, [17] * 3, [16] * 3])
    assert kinds(review(diary, 4, today=T1 + timedelta(days=252 + 10))) == [("no_benefit", 3)]


def test_without_a_baseline_there_is_never_no_benefit():
    diary = [p for p in history(20, [[18] * 3, [17] * 3, [16] * 3]) if p.start >= T1]
    assert review(diary, 3, today=T1 + timedelta(days=168 + 60)) == []


def test_missing_data_is_flagged_seven_days_before_the_next_treatment_is_due():
    diary = history(20, [[18] * 3, [17] * 3])
    due = T1 + timedelta(days=168 + 84)
    assert review(diary, 3, today=due - timedelta(days=8)) == []
    [flag] = review(diary, 3, today=due - timedelta(days=7))
    assert (flag.kind, flag.cycle) == ("missing_response_data", 3)
    assert flag.details["next_treatment"] == due.isoformat()
    assert flag.details["days_away"] == 7
    # Past the due date too, and never no_benefit for the cycle without data.
    assert kinds(review(diary, 3, today=due + timedelta(days=20))) == [("missing_response_data", 3)]


def test_missing_data_counts_from_a_booked_next_treatment():
    diary = history(20, [[18] * 3, [17] * 3])
    booked = T1 + timedelta(days=168 + 90)
    assert review(diary, 3, today=booked - timedelta(days=8), next_treatment=booked) == []
    assert kinds(review(diary, 3, today=booked - timedelta(days=7), next_treatment=booked)) == [
        ("missing_response_data", 3)
    ]


def test_a_single_diary_day_in_the_current_cycle_is_not_missing_data():
    diary = [*history(20, [[18] * 3, [17] * 3]), DiaryPeriod(T1 + timedelta(days=168), T1 + timedelta(days=168), 1)]
    assert review(diary, 3, today=T1 + timedelta(days=168 + 80)) == []


def test_84_gap_free_days_each_third_below_15_suggest_a_pause():
    diary = history(20, [[12, 12, 12]])
    [flag] = review(diary, 1, today=T1 + timedelta(days=84))
    assert (flag.kind, flag.cycle) == ("episodic_conversion", 1)
    assert flag.details["headache_days_per_28"] == [12.0, 12.0, 12.0]
    assert flag.details["advice"] == "consider pause"
    assert (flag.details["first"], flag.details["last"]) == (T1.isoformat(), (T1 + timedelta(days=83)).isoformat())


def test_episodic_conversion_needs_every_third_below_the_threshold():
    assert review(history(20, [[14, 15, 9]]), 1, today=T1 + timedelta(days=84)) == []
    assert kinds(review(history(20, [[14, 14, 9]]), 1, today=T1 + timedelta(days=84))) == [("episodic_conversion", 1)]


def test_short_diary_periods_with_gaps_are_not_an_episodic_conversion():
    # Three 7-day periods a month apart: low rates, but far from 84 days of diary without a gap.
    gaps = [DiaryPeriod(T1 + timedelta(days=28 * i), T1 + timedelta(days=28 * i + 6), 1) for i in range(3)]
    assert review(periods(T1 - timedelta(days=84), [20] * 3) + gaps, 1, today=T1 + timedelta(days=70)) == []
    # 84 days with one day missing are not gap-free either.
    holed = [*history(20, [[12, 12]]), DiaryPeriod(T1 + timedelta(days=57), T1 + timedelta(days=83), 11)]
    assert review(holed, 1, today=T1 + timedelta(days=84)) == []


def test_baseline_days_do_not_count_towards_an_episodic_conversion():
    low_baseline = periods(T1 - timedelta(days=84), [10] * 3) + periods(T1, [10])
    assert [f.kind for f in review(low_baseline, 1, today=T1 + timedelta(days=30))] == []


def test_twelve_acute_medication_days_per_28_for_84_days_is_medication_overuse():
    diary = [DiaryPeriod(T1 + timedelta(days=28 * i), T1 + timedelta(days=28 * i + 27), 18, 9, 12) for i in range(3)]
    diary = periods(T1 - timedelta(days=84), [20] * 3) + diary
    overuse = [f for f in review(diary, 1, today=T1 + timedelta(days=84)) if f.kind == "medication_overuse"]
    assert [(f.cycle, f.details["acute_medication_days_per_28"]) for f in overuse] == [(1, 12.0)]
    # Nine days per 28 is under the protocol's 10.
    calmer = [DiaryPeriod(p.start, p.end, p.headache_days, p.migraine_days, 9) for p in diary]
    assert not [f for f in review(calmer, 1, today=T1 + timedelta(days=84)) if f.kind == "medication_overuse"]


def test_no_treatment_means_no_review():
    assert course_review(periods=history(20, []), treatments=[], today=T1, next_treatment=None, rules=RULES) == []


@given(st.lists(st.integers(min_value=0, max_value=28), min_size=9, max_size=9), st.integers(1, 83))
def test_no_benefit_only_from_a_final_assessed_cycle_at_or_after_the_third(values, day):
    diary = history(20, [values[0:3], values[3:6], values[6:9]])
    for flag in review(diary, 3, today=T1 + timedelta(days=168 + day)):
        if flag.kind == "no_benefit":
            assert flag.cycle == 3
            assert day >= FINAL
            assert flag.details["diary_days"] >= 28
            assert flag.details["reduction_pct"] < 30
