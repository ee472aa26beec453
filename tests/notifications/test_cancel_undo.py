"""Undoing a cancellation: the held notice is withdrawn, the reminders come back, and an undo that comes
too late, after the notice went, or onto a slot taken meanwhile changes nothing."""

from datetime import date, timedelta

import pytest

from clinic.errors import Conflict
from notifications import services
from notifications.models import Notification
from scheduling.models import Session
from scheduling.services import CANCEL_UNDO, session_cancel, session_cancel_undo
from tests.factories import PatientFactory
from tests.notifications.conftest import at, book, summary

pytestmark = pytest.mark.django_db

START = (date(2027, 3, 15), 10)


def test_a_staff_cancellation_holds_its_notice_for_the_undo_and_the_undo_restores_the_reminders(
    now, patient, clinician, location
):
    session = book(patient, clinician, location, at(*START))
    services.deliver_due()  # the booking confirmation goes
    session_cancel(session=session, reason="rang", by=None, undoable=True)
    notice = Notification.objects.get(session=session, purpose="cancellation")
    assert notice.status == "pending" and notice.due_at == session_after(session).cancelled_at + CANCEL_UNDO
    services.deliver_due()
    notice.refresh_from_db()
    assert notice.status == "pending"  # not yet: the undo may still come

    restored = session_cancel_undo(session=session, by=None)
    assert (restored.status, restored.cancel_reason, restored.cancelled_at) == (Session.Status.BOOKED, "", None)
    assert summary(session=session, purpose="cancellation") == [
        ("cancellation", "email", 0, "skipped", "session_not_cancelled")
    ]
    assert {(n.status, n.skip_reason) for n in Notification.objects.filter(session=session, purpose="reminder")} == {
        ("pending", "")
    }


def session_after(session):
    session.refresh_from_db()
    return session


def test_the_undo_is_refused_once_the_minute_has_passed(now, patient, clinician, location):
    session = book(patient, clinician, location, at(*START))
    session_cancel(session=session, reason="rang", by=None, undoable=True)
    now.shift(CANCEL_UNDO + timedelta(seconds=1))
    with pytest.raises(Conflict, match="Too late to undo"):
        session_cancel_undo(session=session, by=None)
    assert session_after(session).status == Session.Status.CANCELLED


def test_the_undo_is_refused_when_the_patient_was_already_told(now, patient, clinician, location):
    session = book(patient, clinician, location, at(*START))
    session_cancel(session=session, reason="rang", by=None)  # not undoable: the notice goes at once
    services.deliver_due()
    assert Notification.objects.get(session=session, purpose="cancellation").status == "sent"
    with pytest.raises(Conflict, match="already been sent the cancellation"):
        session_cancel_undo(session=session, by=None)
    assert session_after(session).status == Session.Status.CANCELLED


def test_the_undo_is_refused_when_the_slot_was_booked_meanwhile(now, patient, clinician, location):
    session = book(patient, clinician, location, at(*START))
    session_cancel(session=session, reason="rang", by=None, undoable=True)
    book(PatientFactory(), clinician, location, at(*START))
    with pytest.raises(Conflict):
        session_cancel_undo(session=session, by=None)
    assert session_after(session).status == Session.Status.CANCELLED
    assert Notification.objects.get(session=session, purpose="cancellation").status == "pending"
