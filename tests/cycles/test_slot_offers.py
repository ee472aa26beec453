"""Slot offers (API.md, Slot offers): who is offered a freed treatment slot, the first accept, the chain of
moves, declines, expiry, a slot booked meanwhile, and jobs that change nothing the second time.

Time is pinned to Monday 2027-03-01 10:00 in New York; the freed slot is Wednesday 10 March 09:00 with
Dr Adams (tests/offers.py).
"""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import IntegrityError

from cycles import offers, rules, tasks
from cycles.models import Course, FreedSlot, Protocol, SlotOffer
from notifications.channels import sms
from notifications.models import Notification
from scheduling.models import Session
from scheduling.services import session_book, session_cancel, session_cancel_undo
from tests.factories import CourseFactory, SessionFactory, TimeOffFactory, UserFactory
from tests.offers import NOW, SLOT_DAY, booked, cancel, clinic, due_patient, ny, slot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _pinned(settings):
    settings.SMS_BACKEND = "locmem"
    sms.outbox.clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
    sms.outbox.clear()


@pytest.fixture
def manhattan(db):
    return clinic()


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def names(rows) -> list[str]:
    return [row.patient.given_name for row in rows]


def offered(session) -> list[SlotOffer]:
    return list(SlotOffer.objects.filter(freed_slot__session=session).select_related("patient").order_by("rank"))


# --- who is offered the slot --------------------------------------------------------------------


def test_the_offers_go_to_the_three_patients_api_md_ranks_first_and_to_no_one_the_rules_refuse(manhattan, capture):
    location, (adams, baker) = manhattan
    due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")  # due_by 22 Feb: overdue
    due_patient(location, baker, last=date(2026, 12, 7), given_name="Bea")  # due 1–15 Mar
    due_patient(location, baker, last=date(2026, 12, 10), given_name="Cal")  # due 4–18 Mar, nothing booked
    dee = due_patient(location, baker, last=date(2026, 12, 10), given_name="Dee")  # due 4–18 Mar ...
    booked(dee, baker, location, ny(date(2027, 3, 17), 9))  # ... and booked on 17 March
    due_patient(location, baker, last=date(2026, 12, 20), given_name="Eve")  # due from 14 Mar: after the slot
    # Each of these, due 6–14 March, would rank second, but none may have the slot:
    due_patient(location, baker, last=date(2026, 12, 6), given_name="Nocontact", email_opt_in=False, sms_opt_in=False)
    due_patient(location, baker, last=date(2026, 12, 6), given_name="Paused", course_status=Course.Status.PAUSED)
    too_soon = due_patient(location, baker, last=date(2026, 12, 6), given_name="Toosoon")
    # ... treated seven weeks ago in Brooklyn under an earlier course: 10 March is 49 days after that.
    brooklyn, (cole,) = clinic("Brooklyn", clinicians=("Dr Cole",))
    earlier = CourseFactory(patient=too_soon.patient, status=Course.Status.STOPPED)
    SessionFactory(
        patient=too_soon.patient,
        course=earlier,
        clinician=cole,
        location=brooklyn,
        start=ny(date(2027, 1, 20), 9),
        status=Session.Status.COMPLETED,
    )
    busy = due_patient(location, baker, last=date(2026, 12, 6), given_name="Busy")  # a consultation at 09:00 then
    SessionFactory(
        patient=busy.patient,
        course=None,
        kind="consultation",
        clinician=baker,
        location=location,
        start=ny(SLOT_DAY, 9),
    )
    session = slot(adams, location, patient_name="Sam")

    # The whole order, as the offers see it: Sam cancelled this slot and is never offered it back.
    assert names(c for c in offers.ranked_candidates(slot=session, now=NOW)) == ["Olivia", "Bea", "Cal", "Dee"]
    cancel(session, capture)
    made = offered(session)
    assert [(o.rank, o.patient.given_name) for o in made] == [(1, "Olivia"), (2, "Bea"), (3, "Cal")]
    assert {o.status for o in made} == {"offered"}
    rows = Notification.objects.filter(purpose="slot_offer", session=session).select_related("patient")
    assert sorted(names(rows)) == ["Bea", "Cal", "Olivia"]
    assert FreedSlot.objects.get(session=session).status == "offering"


def test_the_ranking_puts_the_overdue_first_then_the_earliest_due_by_then_nothing_booked_before_a_booking():
    today = date(2027, 3, 10)

    def candidate(name, due_by, later=False):
        return rules.OfferCandidate(name, name, due_by - timedelta(days=14), due_by, later)

    ranked = rules.rank_offer_candidates(
        [
            candidate("D", date(2027, 3, 24), later=True),
            candidate("C", date(2027, 3, 24)),
            candidate("B", date(2027, 3, 20)),
            candidate("A", date(2027, 3, 1)),
            candidate("A2", date(2027, 3, 9), later=True),
        ],
        today=today,
    )
    assert [c.course_id for c in ranked] == ["A", "A2", "B", "C", "D"]


@pytest.mark.parametrize(
    "why",
    ["less than 24 hours ahead", "a consultation", "turned off for the clinic", "backfill_offers is 0"],
)
def test_no_slot_is_offered_without_notice_for_another_kind_or_when_turned_off(manhattan, capture, settings, why):
    location, (adams, baker) = manhattan
    due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
    session = slot(adams, location, start=ny(date(2027, 3, 2), 9, 30))  # 23½ hours ahead
    if why != "less than 24 hours ahead":
        session = slot(adams, location)
    if why == "a consultation":
        Session.objects.filter(pk=session.pk).update(kind=Session.Kind.CONSULTATION)
        session.refresh_from_db()
    if why == "turned off for the clinic":
        settings.SLOT_OFFERS_ENABLED = False
    if why == "backfill_offers is 0":
        Protocol.objects.filter(pk=Protocol.default().pk).update(backfill_offers=0)
    cancel(session, capture)
    assert not FreedSlot.objects.filter(session=session).exists()
    assert not SlotOffer.objects.exists()


def test_the_notice_and_the_number_of_offers_are_the_default_profiles(manhattan, capture):
    location, (adams, baker) = manhattan
    for index, last in enumerate((date(2026, 11, 16), date(2026, 11, 20), date(2026, 12, 1))):
        due_patient(location, baker, last=last, given_name=f"P{index}")
    Protocol.objects.filter(pk=Protocol.default().pk).update(backfill_offers=2, backfill_min_notice_hours=72)
    near = slot(adams, location, start=ny(date(2027, 3, 3), 9))  # 47 hours ahead: not enough notice now
    cancel(near, capture)
    assert not FreedSlot.objects.filter(session=near).exists()
    session = slot(adams, location)
    cancel(session, capture)
    assert names(offered(session)) == ["P0", "P1"]
    assert FreedSlot.objects.get(session=session).offer_until == session.start - timedelta(hours=72)


@pytest.mark.parametrize("count", [4, 20])
def test_choosing_the_candidates_takes_the_same_queries_for_4_and_20_patients(
    manhattan, count, django_assert_num_queries
):
    location, (adams, baker) = manhattan
    for index in range(count):
        due_patient(location, baker, last=date(2026, 11, 20) + timedelta(days=index))
    session = slot(adams, location)
    # 1 profiles, 2 candidates with patient, protocol, last treatment and later booking, 3 their treatments
    with django_assert_num_queries(3):
        assert len(offers.ranked_candidates(slot=session, now=NOW)) == count


# --- accepting ---------------------------------------------------------------------------------


def test_accepting_books_the_slot_through_the_booking_rules_and_ends_the_other_offers(manhattan, capture):
    location, (adams, baker) = manhattan
    for name, last in (("Olivia", date(2026, 11, 16)), ("Bea", date(2026, 12, 7)), ("Cal", date(2026, 12, 10))):
        due_patient(location, baker, last=last, given_name=name)
    session = slot(adams, location)
    cancel(session, capture)
    first, second, _ = offered(session)
    with capture(execute=True):
        accepted = offers.slot_offer_accept(offer=second)
    assert accepted.status == "accepted" and accepted.responded_at == NOW
    new = accepted.booked
    assert (new.patient, new.clinician, new.location, new.start, new.end) == (
        second.patient,
        adams,
        location,
        session.start,
        session.end,
    )
    assert (new.kind, new.course, new.status) == ("treatment", second.course, "booked")
    assert [o.status for o in offered(session)] == ["taken", "accepted", "taken"]
    assert FreedSlot.objects.get(session=session).status == "filled"
    assert Notification.objects.filter(session=new, purpose="booking_confirmation").exists()

    sessions = Session.objects.count()
    with pytest.raises(offers.SlotTaken):
        offers.slot_offer_accept(offer=first)
    assert Session.objects.count() == sessions
    assert [o.status for o in offered(session)] == ["taken", "accepted", "taken"]


def test_a_patient_who_accepts_has_their_later_treatment_moved_and_its_slot_offered_in_turn(manhattan, capture):
    location, (adams, baker) = manhattan
    dee = due_patient(location, baker, last=date(2026, 12, 10), given_name="Dee")
    later = booked(dee, baker, location, ny(date(2027, 3, 17), 11))
    due_patient(location, baker, last=date(2026, 12, 20), given_name="Fay")  # due from 14 March: not by the 10th
    session = slot(adams, location, patient_name="Sam")
    cancel(session, capture)
    (offer,) = offered(session)
    assert offer.patient == dee.patient and offer.moves == later

    with capture(execute=True):
        accepted = offers.slot_offer_accept(offer=offer)
    later.refresh_from_db()
    assert later.status == "cancelled" and later.cancel_reason == offers.MOVED_REASON
    assert accepted.booked.start == session.start
    assert list(Session.objects.filter(course=dee, status="booked")) == [accepted.booked]
    # The freed 17 March slot is offered in turn: to Sam (who cancelled the 10th) and Fay, never to Dee.
    assert names(offered(later)) == ["Sam", "Fay"]
    # Dee is told of her new time, not that her appointment was cancelled.
    moved = Notification.objects.get(session=later, purpose="cancellation")
    assert (moved.status, moved.skip_reason) == ("skipped", "moved_to_offered_slot")
    assert Notification.objects.filter(session=accepted.booked, purpose="booking_confirmation").exists()


def test_a_slot_booked_by_the_front_desk_meanwhile_ends_its_offers(manhattan, capture):
    location, (adams, baker) = manhattan
    olivia = due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
    due_patient(location, baker, last=date(2026, 12, 7), given_name="Bea")
    session = slot(adams, location)
    cancel(session, capture)
    walk_in = due_patient(location, baker, last=date(2026, 12, 1), given_name="Walkin")
    session_book(
        patient=walk_in.patient,
        clinician=adams,
        location=location,
        start=session.start,
        kind="treatment",
        booked_by=UserFactory(role="front_desk"),
    )
    with pytest.raises(offers.SlotTaken):
        offers.slot_offer_accept(offer=offered(session)[0])
    assert not Session.objects.filter(patient=olivia.patient, status="booked").exists()
    assert offers.slot_offers_sweep() == {"expired": 0, "taken": 2, "slots_closed": 1, "offers_made": 0}
    assert [o.status for o in offered(session)] == ["taken", "taken"]
    freed = FreedSlot.objects.get(session=session)
    assert (freed.status, freed.close_reason) == ("closed", "slot_booked")
    assert offers.slot_offers_sweep() == {"expired": 0, "taken": 0, "slots_closed": 0, "offers_made": 0}


def test_an_offer_expires_once_its_slot_starts_within_the_notice_period(manhattan, capture, _pinned):
    location, (adams, baker) = manhattan
    due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
    session = slot(adams, location)
    cancel(session, capture)
    (offer,) = offered(session)
    _pinned.move_to(session.start - timedelta(hours=24, seconds=1))
    assert offers.slot_offers_sweep()["expired"] == 0
    _pinned.move_to(session.start - timedelta(hours=24))
    assert offers.slot_offers_sweep() == {"expired": 1, "taken": 0, "slots_closed": 1, "offers_made": 0}
    offer.refresh_from_db()
    assert offer.status == "expired"
    with pytest.raises(offers.OfferEnded):
        offers.slot_offer_accept(offer=offer)
    assert not Session.objects.filter(patient=offer.patient, status="booked").exists()


def test_time_off_over_the_slot_ends_its_offers_as_expired(manhattan, capture):
    location, (adams, baker) = manhattan
    due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
    session = slot(adams, location)
    cancel(session, capture)
    TimeOffFactory(clinician=adams, start=ny(SLOT_DAY, 0), end=ny(SLOT_DAY, 23))
    assert offers.slot_offers_sweep() == {"expired": 1, "taken": 0, "slots_closed": 1, "offers_made": 0}
    assert FreedSlot.objects.get(session=session).close_reason == "slot_unavailable"


def test_declining_ends_the_offer_and_passes_its_place_to_the_next_in_line(manhattan, capture):
    location, (adams, baker) = manhattan
    for name, last in (("Olivia", date(2026, 11, 16)), ("Bea", date(2026, 12, 7)), ("Cal", date(2026, 12, 10))):
        due_patient(location, baker, last=last, given_name=name)
    due_patient(location, baker, last=date(2026, 12, 12), given_name="Dan")
    session = slot(adams, location)
    cancel(session, capture)
    assert names(offered(session)) == ["Olivia", "Bea", "Cal"]
    with capture(execute=True):
        declined = offers.slot_offer_decline(offer=offered(session)[1])
    assert (declined.status, declined.responded_at) == ("declined", NOW)
    assert [(o.rank, o.patient.given_name, o.status) for o in offered(session)] == [
        (1, "Olivia", "offered"),
        (2, "Bea", "declined"),
        (3, "Cal", "offered"),
        (4, "Dan", "offered"),
    ]
    with pytest.raises(offers.OfferEnded):
        offers.slot_offer_decline(offer=declined)
    with pytest.raises(offers.OfferEnded):
        offers.slot_offer_accept(offer=declined)


# --- jobs run twice ----------------------------------------------------------------------------


def test_a_second_run_of_every_job_makes_no_second_offer_or_message(manhattan, capture, _pinned):
    location, (adams, baker) = manhattan
    for name, last in (("Olivia", date(2026, 11, 16)), ("Bea", date(2026, 12, 7)), ("Cal", date(2026, 12, 10))):
        due_patient(location, baker, last=last, given_name=name)
    due_patient(location, baker, last=date(2026, 12, 12), given_name="Dan")
    # The front desk books by hand here: the planner (run_jobs' first job) would otherwise book them all.
    Protocol.objects.filter(pk=Protocol.default().pk).update(auto_book=False)
    session = slot(adams, location)
    # The offer task is lost (nothing runs after commit): the periodic job makes the offers instead.
    session_cancel(session=session, reason="Unwell", by=None)
    freed = FreedSlot.objects.get(session=session)
    assert freed.status == "pending" and not SlotOffer.objects.exists()
    # The job leaves a slot freed under a minute ago (a staff cancellation may still be undone).
    with capture(execute=True):
        assert offers.slot_offers_sweep()["offers_made"] == 0
    _pinned.shift(timedelta(minutes=2))

    def state():
        return (
            sorted((o.freed_slot_id, o.patient_id, o.status) for o in SlotOffer.objects.all()),
            sorted(Notification.objects.filter(purpose="slot_offer").values_list("dedupe_key", "status")),
            FreedSlot.objects.get(pk=freed.pk).status,
        )

    with capture(execute=True):
        call_command("run_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115
    first = state()
    assert len(first[0]) == 3 and {status for _, status in first[1]} == {"sent"}
    with capture(execute=True):
        call_command("run_jobs", stdout=open("/dev/null", "w"))  # noqa: SIM115
        tasks.offer_freed_slot.delay(str(freed.pk))
        tasks.slot_offers.delay()
        offers.freed_slot_offer(freed_slot_id=freed.pk)
    assert state() == first
    # Nor does the database let a slot go twice to one patient, or be accepted twice.
    offer = SlotOffer.objects.first()
    with pytest.raises(IntegrityError):
        SlotOffer.objects.create(freed_slot=freed, patient=offer.patient, course=offer.course, rank=9, offered_at=NOW)


def test_a_second_decline_task_makes_no_second_offer(manhattan, capture):
    location, (adams, baker) = manhattan
    for index in range(5):
        due_patient(location, baker, last=date(2026, 11, 16) + timedelta(days=index), given_name=f"P{index}")
    session = slot(adams, location)
    cancel(session, capture)
    with capture(execute=True):
        offers.slot_offer_decline(offer=offered(session)[0])
    freed = FreedSlot.objects.get(session=session)
    with capture(execute=True):
        tasks.offer_freed_slot.delay(str(freed.pk))
        offers.slot_offers_sweep()
    assert [(o.patient.given_name, o.status) for o in offered(session)] == [
        ("P0", "declined"),
        ("P1", "offered"),
        ("P2", "offered"),
        ("P3", "offered"),
    ]


def test_a_slot_nobody_can_take_is_closed_and_not_looked_at_again(manhattan, capture):
    location, (adams, _) = manhattan
    session = slot(adams, location)
    cancel(session, capture)
    freed = FreedSlot.objects.get(session=session)
    assert (freed.status, freed.close_reason) == ("closed", "no_candidates")
    assert offers.slot_offers_sweep() == {"expired": 0, "taken": 0, "slots_closed": 0, "offers_made": 0}


def test_a_patient_booked_meanwhile_has_their_other_offers_ended_and_passed_on(manhattan, capture):
    location, (adams, baker) = manhattan
    due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
    due_patient(location, baker, last=date(2026, 12, 7), given_name="Bea")
    Protocol.objects.filter(pk=Protocol.default().pk).update(backfill_offers=1)
    nine = slot(adams, location, patient_name="Sam")
    eleven = slot(adams, location, start=ny(SLOT_DAY, 11), patient_name="Tom")
    cancel(nine, capture)
    cancel(eleven, capture)
    assert names(offered(nine)) == names(offered(eleven)) == ["Olivia"]
    pending = Notification.objects.filter(purpose="slot_offer", session=eleven, status="sent")
    assert pending.count() == 1
    offers.slot_offer_accept(offer=offered(nine)[0])
    # Olivia is booked at 09:00 now: her 11:00 offer ends and Bea, next in line, is offered it.
    with capture(execute=True):
        result = offers.slot_offers_sweep()
    assert result == {"expired": 1, "taken": 0, "slots_closed": 0, "offers_made": 1}
    assert [(o.patient.given_name, o.status) for o in offered(eleven)] == [("Olivia", "expired"), ("Bea", "offered")]
    assert offers.slot_offers_sweep() == {"expired": 0, "taken": 0, "slots_closed": 0, "offers_made": 0}


def test_a_cancellation_staff_may_undo_is_offered_only_once_the_undo_has_lapsed(manhattan, capture, _pinned):
    location, (adams, baker) = manhattan
    due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
    session = slot(adams, location)
    with capture(execute=True):
        session_cancel(session=session, reason="Unwell", by=None, undoable=True)
    assert not SlotOffer.objects.exists()  # nobody is told of a slot that may come back
    with capture(execute=True):
        assert offers.slot_offers_sweep()["offers_made"] == 0
    _pinned.shift(timedelta(minutes=2))
    with capture(execute=True):
        assert offers.slot_offers_sweep()["offers_made"] == 1
    assert names(offered(session)) == ["Olivia"]


def test_an_undone_cancellation_frees_no_slot(manhattan, capture):
    location, (adams, baker) = manhattan
    due_patient(location, baker, last=date(2026, 11, 16), given_name="Olivia")
    session = slot(adams, location)
    with capture(execute=True):
        session_cancel(session=session, reason="Unwell", by=None, undoable=True)
        session_cancel_undo(session=session, by=None)
    assert not FreedSlot.objects.filter(session=session).exists()
    with capture(execute=True):
        assert offers.slot_offers_sweep()["offers_made"] == 0
    assert not SlotOffer.objects.exists()
