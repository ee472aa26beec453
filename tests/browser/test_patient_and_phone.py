"""Patient link pages, and the staff pages at 390 px: screenshots, and nothing cut off at the phone's width."""

from datetime import date

import pytest
from playwright.sync_api import expect

from cycles.models import ReviewFlag
from notifications import links
from notifications.models import PatientLink
from scheduling.models import Session
from tests.browser.conftest import assert_fits_the_phone, check_page, log_in
from tests.browser.world import World, at, flagged, non_responder
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _session_link(world, key: str):
    world.location.phone = "+12125550100"
    world.location.save()
    quinn = PatientFactory(given_name="Quinn", family_name="Ash")
    session = world.session(quinn, world.moss, at(date(2027, 3, 10), 14))
    link = PatientLink.objects.create(key=key, kind=PatientLink.Kind.SESSION, patient=quinn, session=session)
    return session, f"/p/{links.sign(link)}/"


def test_a_patient_confirms_with_the_confirm_button(phone):
    session, url = _session_link(World(), "webtest1")
    phone.goto(url)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your appointment")
    confirm = phone.get_by_role("button", name="Confirm I will come")
    cancel = phone.get_by_role("button", name="Cancel this appointment")
    assert confirm.evaluate("e => getComputedStyle(e).backgroundColor") != cancel.evaluate(
        "e => getComputedStyle(e).backgroundColor"
    )
    check_page(phone, "patient-link-phone")
    assert_fits_the_phone(phone)
    confirm.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Confirmed")
    session.refresh_from_db()
    assert session.status == Session.Status.CONFIRMED
    phone.goto(url)  # used: 410, with the number to call
    expect(phone.get_by_role("heading", level=1)).to_have_text("This link can no longer be used")
    expect(phone.locator(".call")).to_contain_text("(212) 555-0100")
    check_page(phone, "patient-link-used")
    assert_fits_the_phone(phone)


def test_a_patient_cancels_and_is_given_the_number_to_rebook(phone):
    session, url = _session_link(World(), "webtest3")
    phone.goto(url)
    phone.get_by_role("button", name="Cancel this appointment").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cancelled")
    expect(phone.locator(".call")).to_contain_text("(212) 555-0100")
    check_page(phone, "patient-cancelled")
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    phone.goto("/p/nothing:here:atall/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("We could not find this link")
    check_page(phone, "patient-link-404")


def test_a_patient_sends_the_diary_prefilled_with_the_last_four_weeks(phone):
    World()
    quinn = PatientFactory(given_name="Quinn", family_name="Ash", time_zone="America/New_York")
    link = PatientLink.objects.create(key="webtest2", kind=PatientLink.Kind.DIARY, patient=quinn)
    phone.goto(f"/p/diary/{links.sign(link)}/")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Your diary")
    expect(phone.get_by_label("First day of the period")).to_have_value("2027-02-01")
    expect(phone.get_by_label("Last day of the period")).to_have_value("2027-02-28")
    phone.get_by_label("Days with a headache").fill("12")
    phone.get_by_label("Of those, days with a migraine").fill("5")
    phone.get_by_label("Days you took pain or acute medicine").fill("4")
    check_page(phone, "patient-diary-phone")
    assert_fits_the_phone(phone)
    phone.get_by_role("button", name="Send").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Thank you")
    entry = quinn.diary_entries.get()
    assert (entry.period_start, entry.headache_days, entry.source) == (date(2027, 2, 1), 12, "patient")


def test_staff_pages_fit_a_390_px_phone(phone):
    world = World()
    world.busy_day(date(2027, 3, 1))
    world.busy_day(date(2027, 3, 2))
    paula, _ = non_responder(world)
    flagged(world, ReviewFlag.Kind.OVERDUE, 1, {"last_treatment": "2026-12-07", "due_by": "2027-03-15"}, "Ola", "Berg")
    log_in(phone, "doctor")
    pages = {
        "day-view-phone": f"/day/?location={world.location.id}&date=2027-03-01",
        "week-view-phone": f"/week/?location={world.location.id}&date=2027-03-01",
        "patient-phone": f"/patients/{paula.id}/",
        "review-queue-phone": "/review/",
        "treatment-history-phone": f"/patients/{paula.id}/treatments/",
    }
    for name, url in pages.items():
        phone.goto(url)
        check_page(phone, name)
        assert_fits_the_phone(phone)
    phone.goto(pages["day-view-phone"])
    grid = phone.locator(".grid-box")
    widths = grid.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] > widths[1], "the day's columns scroll inside their box"
    grid.evaluate("el => el.scrollLeft = el.scrollWidth")
    expect(grid.get_by_role("columnheader", name="Dr Moss")).to_be_visible()
