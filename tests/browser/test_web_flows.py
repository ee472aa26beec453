"""End-to-end flows in headless Chromium (Debian's package) driven by Playwright.

Each test logs in through the real login page of a live server; the screenshots
in docs/screenshots/ are written here.
"""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from cycles.models import ReviewFlag, TreatmentRecord
from notifications import links
from notifications.models import PatientLink
from scheduling.models import Session
from tests.browser.conftest import log_in, screenshot
from tests.browser.world import World, at, non_responder, patient_due_on
from tests.factories import CourseFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DUE = date(2027, 3, 15)  # a Monday, two weeks after NOW


def test_front_desk_finds_a_patient_books_the_proposed_slot_and_sees_it_in_the_day_view(page):
    world = World()
    world.busy_day(DUE)
    nora = patient_due_on(world, DUE)
    log_in(page, "desk")

    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_label("Name, MRN, phone or email").fill("Bell")  # htmx searches as one types
    page.get_by_role("link", name="Bell, Nora").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nora Bell")

    page.get_by_role("link", name="Book a session").click()
    expect(page.get_by_text("Next treatment due from")).to_contain_text("Mon 15 Mar 2027")
    # The planner's proposal: 84 days on, same clinician, same 09:00 wall clock (EST → EDT).
    proposed = page.locator(".slot.proposed")
    expect(proposed).to_contain_text("09:00 · Dr Lee (proposed)")
    expect(proposed.get_by_role("radio")).to_be_checked()
    screenshot(page, "booking-form")

    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Booked treatment on Mon 15 Mar 2027 at 09:00")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monday 15 March 2027")
    cell = page.locator(f'.appt[data-session="{Session.objects.get(patient=nora, status="booked").id}"]')
    expect(cell).to_contain_text("Nora Bell")
    expect(cell).to_contain_text("09:00–09:30")
    screenshot(page, "day-view")

    # Moving day by day.
    page.get_by_role("link", name="Next day →").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Tuesday 16 March 2027")
    expect(page.locator(".appt")).to_have_count(0)
    page.get_by_role("link", name="← Previous day").click()
    expect(page.locator(".appt")).to_have_count(6)


def test_a_too_soon_booking_shows_the_earliest_date(page):
    world = World()
    nora = patient_due_on(world, DUE)
    log_in(page, "desk")
    page.goto(f"/patients/{nora.id}/book/?from=2027-03-08")
    # The page proposes no time inside the interval; a time typed in is refused with the earliest date.
    expect(page.locator(".slot")).to_have_count(0)
    page.get_by_label("Clinician").select_option(label="Dr Lee")
    page.get_by_label("Or another date").fill("2027-03-09")
    page.get_by_label("Time").fill("10:00")
    page.get_by_role("button", name="Book", exact=True).click()
    error = page.get_by_role("alert")
    expect(error).to_contain_text("Too soon")
    expect(error).to_contain_text("Earliest date: 2027-03-15")
    assert not Session.objects.filter(patient=nora, status=Session.Status.BOOKED).exists()


def test_a_clinician_completes_a_treatment_and_sees_the_next_session_booked(page):
    world = World()
    omar = PatientFactory(given_name="Omar", family_name="Reyes")
    course = CourseFactory(patient=omar)
    world.treated(omar, world.lee, at(date(2026, 12, 7), 9), course=course)
    today = world.session(omar, world.lee, at(date(2027, 3, 1), 9), course=course, status=Session.Status.CHECKED_IN)
    log_in(page, "doctor")

    page.goto(f"/patients/{omar.id}/")
    page.get_by_role("link", name="Record treatment").click()
    expect(page.locator("#total-units")).to_have_text("155")
    expect(page.get_by_label("Temporalis (U)")).to_have_value("40")
    expect(page.get_by_label("Injection sites")).to_have_value("31")
    page.get_by_label("Temporalis (U)").fill("50")  # follow-the-pain: two more sites
    expect(page.locator("#total-units")).to_have_text("165")
    expect(page.get_by_label("Injection sites")).to_have_value("33")
    page.get_by_label("Lot number").fill("C7781")
    page.get_by_label("Lot expiry").fill("2027-12-31")
    page.get_by_label("Units wasted").fill("35")
    page.locator("#id_ae-0-kind").select_option("neck_pain")
    page.locator("#id_ae-0-severity").select_option("mild")
    screenshot(page, "treatment-form")
    page.get_by_role("button", name="Complete treatment").click()

    expect(page.locator(".messages")).to_contain_text(
        "Treatment recorded. Next session booked: Mon 24 May 2027 at 09:00"
    )
    record = TreatmentRecord.objects.get(session=today)
    assert (record.total_units, record.sites, record.units_wasted) == (165, 33, 35)
    upcoming = page.locator("section", has=page.get_by_role("heading", name="Upcoming sessions"))
    expect(upcoming).to_contain_text("Mon 24 May 2027, 09:00")
    expect(upcoming).to_contain_text("auto-booked")


def test_a_clinician_reviews_the_queue_reads_the_chart_and_resolves_the_flag(page):
    world = World()
    _paula, flag = non_responder(world)
    log_in(page, "doctor")

    page.get_by_role("link", name="Review", exact=True).click()
    row = page.locator(f'tr[data-flag="{flag.id}"]')
    expect(row).to_contain_text("No Benefit")
    expect(row).to_contain_text("reduction_pct")
    expect(row).to_contain_text("15.0")
    row.get_by_role("link", name="Paula Stone").click()

    expect(page.locator("#response-chart[data-ready='1']")).to_have_count(1)
    table = page.locator("#cycles-table")
    expect(table).to_contain_text("Baseline")
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(page.locator("#response-status")).to_have_text("non_responder")
    screenshot(page, "response-page")

    box = page.locator(f'[data-flag="{flag.id}"]')
    box.get_by_label("Decision").select_option("continue")
    box.get_by_label("Note").fill("Discussed; one more cycle with follow-the-pain.")
    box.get_by_role("button", name="Resolve").click()
    expect(page.locator(".messages")).to_contain_text("resolved (continue)")
    flag.refresh_from_db()
    assert flag.status == ReviewFlag.Status.RESOLVED and flag.decision == "continue"
    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_text("No open flags.")).to_be_visible()


def test_a_patient_confirms_through_a_link_on_a_phone(phone):
    world = World()
    quinn = PatientFactory(given_name="Quinn", family_name="Ash")
    session = world.session(quinn, world.moss, at(date(2027, 3, 10), 14))
    link = PatientLink.objects.create(key="webtest1", kind=PatientLink.Kind.SESSION, patient=quinn, session=session)

    phone.goto(f"/p/{links.sign(link)}/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your appointment")
    screenshot(phone, "patient-link-phone")
    phone.get_by_role("button", name="Confirm I will come").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Confirmed")
    session.refresh_from_db()
    assert session.status == Session.Status.CONFIRMED


def test_the_day_view_scrolls_sideways_on_a_phone(phone):
    world = World()
    world.busy_day(date(2027, 3, 1))
    log_in(phone, "desk")
    phone.goto(f"/day/?location={world.location.id}&date=2027-03-01")
    grid = phone.locator(".day-grid")
    expect(grid).to_be_visible()
    widths = grid.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] > widths[1], "the grid scrolls inside its box"
    page_width = phone.evaluate("document.documentElement.scrollWidth")
    assert page_width <= 390, "the page itself does not scroll sideways"
    assert re.search("Ivy Park", grid.inner_text())
    screenshot(phone, "day-view-phone")


def test_a_patient_sends_a_diary_through_a_link_on_a_phone(phone):
    World()
    quinn = PatientFactory(given_name="Quinn", family_name="Ash")
    link = PatientLink.objects.create(key="webtest2", kind=PatientLink.Kind.DIARY, patient=quinn)

    phone.goto(f"/p/diary/{links.sign(link)}/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your diary")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.get_by_label("First day of the period").fill("2027-02-01")
    phone.get_by_label("Last day of the period").fill("2027-02-28")
    phone.get_by_label("Days with a headache").fill("12")
    phone.get_by_label("Of those, days with a migraine").fill("5")
    phone.get_by_label("Days you took pain or acute medicine").fill("4")
    screenshot(phone, "patient-diary-phone")
    phone.get_by_role("button", name="Send").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you")
    entry = quinn.diary_entries.get()
    assert (entry.headache_days, entry.source) == (12, "patient")


def test_the_front_desk_can_work_by_keyboard_alone(page):
    world = World()
    patient_due_on(world, DUE)
    page.goto("/login/")
    page.get_by_label("Username").focus()
    page.keyboard.type("desk")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("pw-for-tests-1")
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    # The focus ring is visible (not suppressed by the stylesheet).
    page.get_by_label("Find a patient").focus()
    page.keyboard.type("Bell")
    page.keyboard.press("Enter")
    result = page.get_by_role("link", name="Bell, Nora")
    result.focus()
    outline = result.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nora Bell")
    page.get_by_role("link", name="Book a session").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".slot.proposed").get_by_role("radio")).to_be_checked()
    page.get_by_role("button", name="Book", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text("Booked treatment on Mon 15 Mar 2027 at 09:00")
