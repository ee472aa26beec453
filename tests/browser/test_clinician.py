"""The clinician's flows: the review queue, the treatment history, the treatment form, a late adverse event."""

from datetime import date

import pytest
from playwright.sync_api import expect

from cycles.models import AdverseEvent, ReviewFlag, TreatmentRecord
from scheduling.models import Session
from tests.browser.conftest import check_page, log_in
from tests.browser.world import World, at, flagged, non_responder
from tests.factories import CourseFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NO_BENEFIT = {"baseline": 22.0, "cycle_headache_days_per_28": 21.2, "reduction_pct": 3.6, "threshold_pct": 30}


def test_the_review_queue_reads_as_sentences_filters_and_resolves_with_a_chosen_decision(page):
    world = World()
    _paula, slow = flagged(world, ReviewFlag.Kind.NO_BENEFIT, 3, NO_BENEFIT, "Paula", "Stone")
    _omar, missing = flagged(
        world,
        ReviewFlag.Kind.MISSING_RESPONSE_DATA,
        1,
        {"treated_on": "2026-12-07", "next_treatment": "2027-03-01", "days_away": 0, "diary_days": 0},
        "Omar",
        "Reyes",
        clinician=world.moss,
    )
    log_in(page, "doctor")
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.locator(".queue-item")).to_have_count(2)
    item = page.locator(f'[data-flag="{slow.id}"]')
    expect(item).to_contain_text(
        "Cycle 3: 21.2 headache days per 28 vs baseline 22.0, a 3.6 % reduction; benefit needs 30 %."
    )
    expect(item.get_by_label("Decision")).to_have_value("")  # nothing chosen for the clinician
    check_page(page, "review-queue")

    page.get_by_label("Kind").select_option(label="Missing diary")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".queue-item")).to_have_count(1)
    expect(page.locator(f'[data-flag="{missing.id}"]')).to_contain_text(
        "no diary since the treatment on Mon 7 Dec 2026"
    )
    page.get_by_role("link", name="Show all").click()
    page.get_by_label("Clinician").select_option(label="Dr Lee")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".queue-item")).to_have_count(1)
    check_page(page)

    item = page.locator(f'[data-flag="{slow.id}"]')
    item.get_by_role("button", name="Resolve").click()  # no decision: the browser asks for one
    slow.refresh_from_db()
    assert slow.status == ReviewFlag.Status.OPEN
    item.get_by_label("Decision").select_option(label="Continue treatment")
    item.get_by_label("Note").fill("One more cycle with follow-the-pain.")
    item.get_by_role("button", name="Resolve").click()
    expect(page.locator(".messages")).to_contain_text("Paula Stone: “No benefit” resolved — continue treatment.")
    expect(page.locator(".queue-item")).to_have_count(0)
    slow.refresh_from_db()
    assert (slow.status, slow.decision) == (ReviewFlag.Status.RESOLVED, "continue")


def test_the_response_page_links_the_queue_to_the_chart(page):
    world = World()
    paula, _flag = non_responder(world)
    log_in(page, "doctor")
    page.goto(f"/patients/{paula.id}/response/")
    expect(page.locator("#response-chart[data-ready='1']")).to_have_count(1)
    expect(page.locator("#response-status")).to_have_text("Not responding")
    expect(page.locator("#cycles-table tbody tr")).to_have_count(4)
    check_page(page, "response-page")


def test_the_treatment_history_shows_every_cycle(page):
    world = World()
    paula, _flag = non_responder(world)
    last = Session.objects.filter(patient=paula).order_by("-start").first()
    record = last.treatment
    record.units_by_muscle = {**record.units_by_muscle, "temporalis": 50}
    record.total_units, record.sites, record.units_wasted = 165, 33, 35
    record.save()
    AdverseEvent.objects.create(patient=paula, session=last, kind="neck_pain", severity="mild", note="two days")
    log_in(page, "doctor")
    page.goto(f"/patients/{paula.id}/")
    page.get_by_role("button", name="Treatment history").click()
    cycles = page.locator("section.cycle")
    expect(cycles).to_have_count(3)
    newest = cycles.first
    expect(newest.get_by_role("heading", level=2)).to_have_text("Cycle 3 · Mon 23 Nov 2026, 09:00")
    expect(newest).to_contain_text("Temporalis")
    expect(newest).to_contain_text("165 U at 33 sites")
    expect(newest).to_contain_text("C1234, expires Mon 31 Jan 2028")
    expect(newest).to_contain_text("35 U")
    expect(newest).to_contain_text("64615; J0585 × 165; J0585-JW × 35")
    expect(newest).to_contain_text("Neck pain, mild: two days")
    expect(cycles.nth(1)).to_contain_text("J0585-JZ × 0")
    check_page(page, "treatment-history")


def test_the_treatment_form_lists_every_error_at_the_top_and_takes_the_focus(page):
    world = World()
    omar = PatientFactory(given_name="Omar", family_name="Reyes")
    course = CourseFactory(patient=omar)
    world.treated(omar, world.lee, at(date(2026, 12, 7), 9), course=course)
    today = world.session(omar, world.lee, at(date(2027, 3, 1), 9), course=course, status=Session.Status.CHECKED_IN)
    log_in(page, "doctor")
    page.goto(f"/patients/{omar.id}/")
    page.get_by_role("button", name="Record treatment").click()
    expect(page.locator("#total-units")).to_have_text("155")
    page.get_by_label("Temporalis (U)").fill("-5")
    page.get_by_label("Lot number").fill("")
    page.locator("#id_ae-0-kind").select_option("ptosis")
    page.get_by_role("button", name="Complete treatment").click()
    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("4 things to correct")
    for text in [
        "Temporalis (U):",
        "Lot number: This field is required.",
        "Lot expiry:",
        "Severity: Give the severity.",
    ]:
        expect(summary).to_contain_text(text)
    check_page(page, "treatment-form-errors")
    assert not TreatmentRecord.objects.filter(session=today).exists()

    page.get_by_label("Temporalis (U)").fill("50")
    expect(page.get_by_label("Injection sites")).to_have_value("33")
    page.get_by_label("Lot number").fill("C7781")
    page.get_by_label("Lot expiry").fill("2027-12-31")
    page.locator("#id_ae-0-severity").select_option("mild")
    page.get_by_role("button", name="Complete treatment").click()
    expect(page.locator(".messages")).to_contain_text(
        "Omar Reyes: treatment recorded. Next session booked: Mon 24 May 2027, 09:00 with Dr Lee."
    )
    record = TreatmentRecord.objects.get(session=today)
    assert (record.total_units, record.sites) == (165, 33)


def test_a_late_adverse_event_is_recorded_and_an_urgent_one_reaches_the_queue(page):
    world = World()
    paula, _flag = non_responder(world)
    log_in(page, "doctor")
    page.goto(f"/patients/{paula.id}/treatments/")
    page.locator("section.cycle").first.get_by_role("link", name="Report an adverse event after this treatment").click()
    page.get_by_role("button", name="Record the adverse event").click()
    expect(page.locator(".errorlist").first).to_contain_text("Give the kind of event.")
    check_page(page, "late-adverse-event")
    page.get_by_label("Adverse event").select_option(label="Dysphagia (difficulty swallowing)")
    page.get_by_label("Severity").select_option(label="Moderate")
    page.get_by_label("Note").fill("Rang on day 5")
    page.get_by_role("button", name="Record the adverse event").click()
    expect(page.locator(".messages")).to_contain_text("Paula Stone: dysphagia (difficulty swallowing) recorded")
    expect(page.locator("section.cycle").first).to_contain_text(
        "Dysphagia (difficulty swallowing), moderate: Rang on day 5"
    )
    assert ReviewFlag.objects.filter(patient=paula, kind=ReviewFlag.Kind.ADVERSE_EVENT, status="open").exists()
    page.goto("/review/?kind=adverse-event")
    expect(page.locator(".queue-item")).to_contain_text("Dysphagia (difficulty swallowing), moderate reported")
