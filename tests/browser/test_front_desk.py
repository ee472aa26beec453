"""The front desk's flows in headless Chromium (Debian's package) against a live server.

Each page shown is checked by `check_page` (axe-core: no violation of any impact; no
internal code in the HTML); the screenshots in docs/screenshots/ are written here.
"""

from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from clinic.web.views import calendar as calendar_views
from notifications.models import Notification
from patients.models import Patient
from scheduling import services
from scheduling.models import Session
from tests.browser.conftest import check_page, log_in
from tests.browser.world import World, at, patient_due_on
from tests.factories import PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = date(2027, 3, 1)  # conftest.NOW: Monday 09:00 in New York
DUE = date(2027, 3, 15)


def test_intake_adds_a_patient_with_every_error_shown_at_once(page):
    World()
    log_in(page, "desk")
    check_page(page, "home")
    page.get_by_role("link", name="Patients", exact=True).click()
    page.get_by_role("button", name="Add a patient").click()
    page.get_by_label("Given name").fill("Ada")
    page.get_by_label("Family name").fill("Lovelace")
    page.get_by_label("Date of birth").fill("1980-12-10")
    page.get_by_label("Mobile phone").fill("12")
    page.get_by_label("Email", exact=True).fill("not-an-email")
    page.get_by_role("button", name="Add the patient").click()
    summary = page.locator("#form-errors")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("MRN: This field is required.")
    expect(summary).to_contain_text("Mobile phone:")
    expect(summary).to_contain_text("Email:")
    check_page(page, "intake-errors")
    page.get_by_label("MRN").fill("MRN-7001")
    page.get_by_label("Mobile phone").fill("(212) 555-0142")
    page.get_by_label("Email", exact=True).fill("ada@example.com")
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_label("SMS reminders").check()
    page.get_by_role("button", name="Add the patient").click()
    expect(page.locator(".messages")).to_contain_text("Ada Lovelace added (MRN MRN-7001).")
    ada = Patient.objects.get(mrn="MRN-7001")
    assert (ada.phone, ada.sms_opt_in, ada.time_zone) == ("+12125550142", True, "America/New_York")
    expect(page.locator("dl.facts").first).to_contain_text("(212) 555-0142")
    check_page(page, "patient-page")

    page.get_by_role("button", name="Edit details").click()
    page.get_by_label("Status").select_option("paused")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".messages")).to_contain_text("Ada Lovelace: details saved.")
    ada.refresh_from_db()
    assert ada.status == "paused"

    # Found by "family, given", by a national phone form, and an exact MRN first.
    PatientFactory(given_name="Zed", family_name="Other", mrn="MRN-70011")
    for query in ["Lovelace, Ada", "212 555 0142", "MRN-7001"]:
        page.goto(f"/patients/?q={query}")
        expect(page.locator("#results tbody tr").first).to_contain_text("Lovelace, Ada")
    check_page(page, "patient-search")


def test_the_week_view_shows_a_column_per_clinician_and_opens_a_day(page):
    world = World()
    world.busy_day(TODAY + timedelta(days=2))
    log_in(page, "desk")
    page.get_by_role("link", name="Week", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Riverside · week of 1 March 2027")
    grid = page.locator(".grid-box")
    expect(grid.locator("thead th")).to_have_count(4)  # Day + three clinicians
    expect(grid).to_contain_text("Ivy Park")
    expect(grid.locator("tbody tr")).to_have_count(7)
    check_page(page, "week-view")
    page.get_by_role("link", name="Wed 3 Mar", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Wednesday 3 March 2027")
    expect(page.locator(".appt")).to_have_count(5)


def test_click_an_empty_slot_find_the_patient_and_book_there(page):
    world = World()
    nora = patient_due_on(world, TODAY)
    log_in(page, "desk")
    page.goto(f"/day/?location={world.location.id}&date={TODAY}")
    check_page(page)
    page.get_by_role("link", name="Book 10:30 with Dr Moss").click()
    dialog = page.locator("#book-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", level=2)).to_have_text("Book Mon 1 Mar 2027, 10:30 with Dr Moss")
    dialog.get_by_label("Find the patient").fill("Bell, Nora")
    choice = dialog.get_by_role("button", name="Book Bell, Nora")
    expect(choice).to_be_visible()
    check_page(page, "click-to-book")
    choice.click()
    expect(page.locator(".messages")).to_contain_text(
        "Booked treatment for Nora Bell on Mon 1 Mar 2027, 10:30 with Dr Moss."
    )
    booked = Session.objects.get(patient=nora, status=Session.Status.BOOKED)
    assert booked.start == at(TODAY, 10, 30) and booked.clinician == world.moss
    expect(page.locator(f'.appt[data-session="{booked.id}"]')).to_contain_text("10:30–11:00")
    check_page(page, "day-view")


def test_another_desks_booking_appears_without_reloading(page, monkeypatch):
    monkeypatch.setattr(calendar_views, "POLL_SECONDS", 1)
    world = World()
    log_in(page, "desk")
    page.goto(f"/day/?location={world.location.id}&date={TODAY}")
    expect(page.locator(".appt")).to_have_count(0)
    leo = PatientFactory(given_name="Leo", family_name="Grant")
    services.session_book(
        patient=leo, clinician=world.kaur, location=world.location, start=at(TODAY, 14), kind="review", booked_by=None
    )
    expect(page.locator(".appt")).to_have_count(1, timeout=8_000)
    expect(page.locator(".appt")).to_contain_text("Leo Grant")


def test_move_a_session_to_the_nearest_other_slot_and_return_to_the_day(page):
    world = World()
    mia = PatientFactory(given_name="Mia", family_name="Chen")
    session = world.session(mia, world.lee, at(TODAY + timedelta(days=1), 11), kind=Session.Kind.REVIEW)
    log_in(page, "desk")
    day_url = f"/day/?location={world.location.id}&date={TODAY + timedelta(days=1)}"
    page.goto(day_url)
    page.get_by_role("button", name="Move Mia Chen’s session").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Move review for Mia Chen")
    nearest = page.locator(".slot.proposed")
    expect(nearest).to_contain_text("10:30 · Dr Lee (nearest)")
    expect(nearest.get_by_role("radio")).to_be_checked()
    check_page(page, "move")
    page.get_by_text("Every other free slot these days").click()
    page.get_by_label("Tue 2 Mar 2027, 14:00 · Dr Kaur").check()
    page.get_by_role("button", name="Move the session").click()
    expect(page.locator(".messages")).to_contain_text("Moved Mia Chen’s review to Tue 2 Mar 2027, 14:00 with Dr Kaur.")
    assert page.url.endswith(day_url)
    session.refresh_from_db()
    assert (session.start, session.clinician) == (at(TODAY + timedelta(days=1), 14), world.kaur)


def test_cancel_asks_for_a_reason_and_can_be_undone_before_the_patient_is_told(page):
    world = World()
    sam = PatientFactory(given_name="Sam", family_name="Ortiz", email="sam@example.com")
    session = services.session_book(
        patient=sam, clinician=world.lee, location=world.location, start=at(DUE, 10), kind="review", booked_by=None
    )
    log_in(page, "desk")
    page.goto(f"/patients/{sam.id}/")
    page.get_by_role("button", name="Cancel Sam Ortiz’s session").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cancel review for Sam Ortiz?")
    page.get_by_role("button", name="Cancel the session").click()
    expect(page.locator("#id_reason + .errorlist, .errorlist")).to_contain_text("Give the reason for cancelling.")
    page.get_by_label("Why is it cancelled?").fill("The patient rang to cancel")
    check_page(page, "cancel-confirm")
    page.get_by_role("button", name="Cancel the session").click()
    expect(page.locator(".messages")).to_contain_text("Cancelled Sam Ortiz’s review on Mon 15 Mar 2027, 10:00.")
    session.refresh_from_db()
    assert session.status == Session.Status.CANCELLED
    notice = Notification.objects.get(session=session, purpose="cancellation")
    assert notice.status == "pending" and notice.due_at > session.cancelled_at  # held for the undo
    check_page(page, "cancel-undo")
    page.get_by_role("button", name="Undo cancellation").click()
    expect(page.locator(".messages")).to_contain_text(
        "Undone: Sam Ortiz’s review on Mon 15 Mar 2027, 10:00 stands again"
    )
    session.refresh_from_db()
    notice.refresh_from_db()
    assert session.status == Session.Status.BOOKED
    assert (notice.status, notice.skip_reason) == ("skipped", "session_not_cancelled")
    reminders = Notification.objects.filter(session=session, purpose="reminder")
    assert {r.status for r in reminders} == {"pending"}


def test_check_in_is_offered_only_on_the_sessions_day_and_no_show_only_after_its_start(page):
    world = World()
    early = world.session(PatientFactory(given_name="Eva", family_name="Novak"), world.lee, at(TODAY, 8, 30))
    later = world.session(PatientFactory(given_name="Ivy", family_name="Park"), world.moss, at(TODAY, 15))
    tomorrow = world.session(
        PatientFactory(given_name="Tom", family_name="Reed"), world.kaur, at(TODAY + timedelta(days=1), 9)
    )
    log_in(page, "desk")
    page.goto(f"/day/?location={world.location.id}&date={TODAY}")
    late_cell = page.locator(f'.appt[data-session="{later.id}"]')
    expect(late_cell.get_by_role("button", name="Check in Ivy Park")).to_be_visible()
    expect(late_cell.get_by_role("button", name="Mark Ivy Park as a no-show")).to_have_count(0)
    early_cell = page.locator(f'.appt[data-session="{early.id}"]')
    early_cell.get_by_role("button", name="Mark Eva Novak as a no-show").click()
    expect(page.locator(".messages")).to_contain_text("Eva Novak is marked as a no-show.")
    late_cell.get_by_role("button", name="Check in Ivy Park").click()
    expect(page.locator(".messages")).to_contain_text("Ivy Park is checked in.")
    expect(page.locator(f'.appt[data-session="{later.id}"]')).to_contain_text("Checked in")
    check_page(page, "day-check-in")
    early.refresh_from_db()
    later.refresh_from_db()
    assert (early.status, later.status) == (Session.Status.NO_SHOW, Session.Status.CHECKED_IN)
    page.goto(f"/day/?location={world.location.id}&date={TODAY + timedelta(days=1)}")
    cell = page.locator(f'.appt[data-session="{tomorrow.id}"]')
    expect(cell).to_contain_text("Tom Reed")
    expect(cell.locator("button")).to_have_count(0)  # nothing to check in or mark yet
    expect(cell.get_by_role("button", name="Move Tom Reed’s session")).to_be_visible()


def test_the_day_prints_as_a_list(page):
    world = World()
    world.busy_day(TODAY)
    log_in(page, "desk")
    page.goto(f"/day/?location={world.location.id}&date={TODAY}")
    page.emulate_media(media="print")
    listing = page.locator(".print-list")
    expect(listing).to_be_visible()
    expect(page.locator(".grid-box")).to_be_hidden()
    expect(page.locator("header.top")).to_be_hidden()
    expect(listing.locator("tbody tr")).to_have_count(5)
    expect(listing.locator("tbody tr").first).to_contain_text("09:30–10:00")
    expect(listing.locator("tbody tr").first).to_contain_text("Park, Ivy")
    check_page(page, "day-print")
