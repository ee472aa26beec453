"""The prior-authorisation pages in Chromium: the front desk works the renewal queue of the demo clinic and
records the payer's renewal; the queue empties of it."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from cycles.models import Authorization
from tests.browser.conftest import log_in, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_front_desk_renews_an_expiring_approval_from_the_queue(page, clock):
    call_command("seed_demo", stdout=StringIO())
    UserFactory(username="desk", role="front_desk")
    log_in(page, "desk")
    page.goto("/authorizations/renewals/")
    renew = page.locator("section", has=page.locator("#renew"))
    rows = renew.locator("tr[data-authorization]")
    assert rows.count() == 1
    expiring = Authorization.objects.get(pk=rows.first.get_attribute("data-authorization"))
    row_text = rows.first.inner_text()
    assert expiring.payer in row_text and expiring.reference in row_text
    assert f"{expiring.valid_to:%a} {expiring.valid_to.day} {expiring.valid_to:%b %Y}" in row_text
    assert "not requested" in row_text
    assert page.locator("tr[data-course]").count() == 1  # the course with no approval
    screenshot(page, "authorization-renewals")

    rows.first.get_by_role("link", name="Authorisations of").click()
    page.wait_for_url(f"**/courses/{expiring.course_id}/authorizations/")
    start = expiring.valid_to + timedelta(days=1)
    page.get_by_label("Payer").fill(expiring.payer)
    page.get_by_label("Authorisation number").fill("PA-RENEWED-1")
    page.get_by_label("Status").select_option("approved")
    page.get_by_label("Treatments approved").fill("2")
    page.get_by_label("Valid from").fill(start.isoformat())
    page.get_by_label("Valid to").fill((start + timedelta(days=180)).isoformat())
    page.get_by_role("button", name="Record authorisation").click()
    page.wait_for_selector("text=Recorded")
    assert page.locator("tr[data-authorization]").count() == 2
    assert "PA-RENEWED-1" in page.locator("main").inner_text()
    screenshot(page, "authorization-course")

    page.goto("/authorizations/renewals/")
    assert page.locator("tr[data-authorization]").count() == 0
