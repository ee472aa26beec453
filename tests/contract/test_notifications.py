"""API.md, Notifications: the outbox, webhook and patient links."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command

from patients.models import Patient
from tests.contract.common import (
    API,
    NOTIFICATION_FIELDS,
    assert_error,
    assert_page,
    book_body,
    is_aware_datetime,
    is_uuid,
    ny,
)

pytestmark = pytest.mark.django_db


def test_notifications_list_the_contract_fields_and_never_a_body(front_desk_client, patient, clinician, location):
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 20), 10))
    )
    call_command("run_jobs")
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"patient": str(patient.id)}))
    assert rows
    for row in rows:
        assert set(row) >= NOTIFICATION_FIELDS
        assert not {"body", "subject", "text", "html"} & set(row)
        assert is_uuid(row["id"]) and row["patient"] == str(patient.id)
        assert is_aware_datetime(row["due_at"])
        assert row["sent_at"] is None or is_aware_datetime(row["sent_at"])
    reminders = [r for r in rows if r["purpose"] == "reminder"]
    assert {r["session"] for r in reminders} == {created.json()["id"]}


def test_n_days_before_is_n_times_24_hours_across_a_dst_change(front_desk_client, patient, clinician, location):
    # Monday 2027-03-15 10:00 EDT; the clocks went forward on 2027-03-14.
    start = ny(date(2027, 3, 15), 10).astimezone(UTC)  # UTC: timedelta arithmetic on it is real time
    created = front_desk_client.post(f"{API}/sessions/", book_body(patient, clinician, location, start))
    assert created.status_code == 201
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": created.json()["id"]}))
    due = {(r["channel"], datetime.fromisoformat(r["due_at"])) for r in rows if r["purpose"] == "reminder"}
    assert ("email", start - timedelta(days=7)) in due  # 09:00 EST on 2027-03-08, not 10:00
    assert ("email", start - timedelta(days=1)) in due


def test_a_reminder_whose_time_has_passed_at_booking_is_skipped_too_late(
    front_desk_client, patient, clinician, location
):
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 7), 10))
    )
    call_command("run_jobs")
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": created.json()["id"]}))
    seven_days = [r for r in rows if r["purpose"] == "reminder" and r["status"] == "skipped"]
    assert seven_days and {r["skip_reason"] for r in seven_days} == {"too_late"}


@pytest.mark.parametrize(("email_opt_in", "channel"), [(True, "email"), (False, "sms")])
def test_the_booking_confirmation_goes_by_email_with_consent_else_sms(
    front_desk_client, patient, clinician, location, email_opt_in, channel
):
    Patient.objects.filter(pk=patient.pk).update(email_opt_in=email_opt_in, sms_opt_in=True)
    created = front_desk_client.post(
        f"{API}/sessions/", book_body(patient, clinician, location, ny(date(2027, 1, 20), 10))
    )
    rows = assert_page(front_desk_client.get(f"{API}/notifications/", {"session": created.json()["id"]}))
    confirmations = [r for r in rows if r["purpose"] == "booking_confirmation"]
    assert [r["channel"] for r in confirmations] == [channel]


def test_a_bad_webhook_signature_is_403_in_the_error_shape(anon_client, settings):
    settings.TWILIO_AUTH_TOKEN = "secret"
    response = anon_client.post(
        f"{API}/webhooks/sms/",
        "MessageSid=SM1&From=%2B12125550123&Body=STOP",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE="bogus",
    )
    assert_error(response, 403, "permission_denied")
