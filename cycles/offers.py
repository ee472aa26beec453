"""Slot offers: a cancelled treatment slot offered to the patients due then (API.md, Slot offers).

The life of a freed slot:

1. A treatment session whose start is more than the default profile's
   `backfill_min_notice_hours` ahead is cancelled, by staff or a patient link
   (`scheduling.events.session_changed`, connected in cycles.hooks): `slot_freed` writes a
   FreedSlot row in the cancelling transaction, and after commit the `cycles.offer_freed_slot`
   task makes its offers. The periodic job (`slot_offers_sweep`) makes them for a freed slot
   whose task never ran (a lost message, the cron fallback with no worker).
2. `freed_slot_offer`: one set-based query (`offer_candidates`) picks the courses that could
   take the slot, the course rules (`cycles.rules.TREATMENT_RULES`) judge each on facts
   loaded in bulk, `cycles.rules.rank_offer_candidates` orders them, and the first
   `backfill_offers` get an offer; `events.slots_offered` lets the outbox tell them.
3. `slot_offer_accept`: the first accept wins. It books the slot through
   `scheduling.services.session_book`, so every booking rule holds, after cancelling the
   patient's later treatment if they have one (that freed slot is then offered in turn).
   Two accepts meet at the clinician's row lock and, on PostgreSQL, at the exclusion
   constraint (on SQLite at BEGIN IMMEDIATE); the loser sees the winner's session and gets
   `slot_taken` with nothing changed. The offer's own compare-and-swap and the one-accepted-
   offer-per-slot index are the last word.
4. An offer ends when declined (the next candidate gets its place), when the slot is taken
   (by an accept, or booked meanwhile by the front desk or the planner), or when the slot
   starts within the notice period (`slot_offers_sweep`, set-based).

Every step is idempotent: a freed slot is offered only from `pending`, under its row lock,
and the unique (slot, patient) index refuses a second offer to one patient.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from clinic.errors import Conflict
from clinic.timezones import day_bounds, local_date
from cycles import booking, due, events, rules
from cycles.models import Course, FreedSlot, Protocol, SlotOffer
from patients.models import Patient
from scheduling.models import Session, TimeOff
from scheduling.selectors import availability
from scheduling.services import lock_for_booking, session_book, session_cancel
from scheduling.services.lifecycle import CANCEL_UNDO

Status = SlotOffer.Status
SlotStatus = FreedSlot.Status
Reason = FreedSlot.CloseReason
OPEN_SLOT = (SlotStatus.PENDING, SlotStatus.OFFERING)
CHUNK = 200
MOVED_REASON = "Moved to an earlier time the patient took from a slot offer."


class SlotTaken(Conflict):
    """409: another patient (or the front desk) took the slot first."""

    code = "slot_taken"


class OfferEnded(Conflict):
    """409: the offer was declined, accepted or has expired; nothing to act on."""

    code = "invalid_transition"


def enabled() -> bool:
    """The clinic's switch (`SLOT_OFFERS_ENABLED`); a default profile with `backfill_offers` 0 offers nothing too."""
    return settings.SLOT_OFFERS_ENABLED


def _offer_after_commit(freed_slot_id) -> None:
    # By the task module, imported here because it imports this one for its task bodies.
    from cycles.tasks import offer_freed_slot

    freed_slot_id = str(freed_slot_id)
    transaction.on_commit(lambda: offer_freed_slot.delay(freed_slot_id))


# --- a slot is freed -----------------------------------------------------------------------


def slot_freed(*, session: Session, now: datetime | None = None, hold: bool = False) -> FreedSlot | None:
    """A session was cancelled (called inside the cancelling transaction): a treatment slot more than
    `backfill_min_notice_hours` ahead becomes a FreedSlot, offered after commit. Two queries.

    `hold`: the cancellation may still be undone (`scheduling.services.lifecycle.CANCEL_UNDO`): no patient
    is offered a slot that may come back, so the periodic job offers it once the undo has lapsed.
    """
    if not enabled() or session.kind != Session.Kind.TREATMENT:
        return None
    now = now or timezone.now()
    protocol = Protocol.default()
    offer_until = session.start - timedelta(hours=protocol.backfill_min_notice_hours)
    if not protocol.backfill_offers or offer_until <= now:
        return None
    freed, created = FreedSlot.objects.get_or_create(
        session=session, defaults={"offer_until": offer_until, "freed_at": now}
    )
    if created and not hold:
        _offer_after_commit(freed.pk)
    return freed


def slot_restored(*, session: Session) -> None:
    """A cancellation was undone: its slot, held and so never offered, is not free any more."""
    FreedSlot.objects.filter(session=session, status=SlotStatus.PENDING, offered_at__isnull=True).delete()


# --- who is offered it ---------------------------------------------------------------------


def offer_candidates(*, slot: Session, protocols: list[Protocol], freed: FreedSlot | None = None) -> QuerySet[Course]:
    """The courses that could take the freed `slot` (its location loaded), in one query.

    Active courses of active patients reachable on some channel (consent and an address), whose
    last completed treatment was at the slot's location and whose `due_from` (by the course's own
    protocol; `protocols` are every profile in use) is on or before the slot's local date, with no
    treatment booked on or before that date and no session at the slot's time; not the patient who
    cancelled it, nor anyone already offered it. Annotated with `last_treatment_start` and
    `later_booking_id` (the first treatment booked after that date, which an accept would move).
    The course rules are asked afterwards, on facts loaded in bulk (`freed_slot_offer`).
    """
    tz = slot.location.zone
    day = local_date(slot.start, tz)
    _, day_end = day_bounds(day, tz)
    due_then = Q(pk__in=[])
    for protocol in protocols:
        # due_from ≤ day ⇔ the last treatment's local date ≤ day − min_interval_days
        # ⇔ it began before the local day after that (one UTC bound per profile, in the slot's zone).
        bound, _ = day_bounds(day - timedelta(days=protocol.min_interval_days - 1), tz)
        due_then |= Q(course__protocol_id=protocol.pk, start__lt=bound)
    last_here = due.last_treatments().filter(due_then, location_id=slot.location_id)
    reachable = (Q(patient__email_opt_in=True) & ~Q(patient__email="")) | (
        Q(patient__sms_opt_in=True) & ~Q(patient__phone="")
    )
    busy_then = Session.objects.filter(
        patient_id=OuterRef("patient_id"),
        status__in=Session.ACTIVE_STATUSES,
        start__lt=slot.end,
        end__gt=slot.start,
    )
    later = due.upcoming_treatments().filter(start__gte=day_end).order_by("start", "id")
    courses = (
        Course.objects.filter(
            reachable,
            status=Course.Status.ACTIVE,
            patient__status=Patient.Status.ACTIVE,
            pk__in=last_here.values("course_id"),
        )
        .exclude(patient_id=slot.patient_id)
        .exclude(due.upcoming_treatment(starting_before=day_end))
        .exclude(Exists(busy_then))
        .annotate(last_treatment_start=due.last_treatment("start"), later_booking_id=Subquery(later.values("id")[:1]))
        .select_related("patient", "protocol")
        .order_by("pk")
    )
    if freed is not None:
        courses = courses.exclude(Exists(SlotOffer.objects.filter(freed_slot=freed, patient_id=OuterRef("patient_id"))))
    return courses


def ranked_candidates(*, slot: Session, now: datetime, freed: FreedSlot | None = None) -> list[Course]:
    """The candidates of `offer_candidates` that every course rule lets take the slot, in API.md's order
    (`rules.rank_offer_candidates`). Three queries (the profiles, the candidates, their treatments), and
    whatever else `booking.treatment_facts` loads in bulk for the rules."""
    tz = slot.location.zone
    day = local_date(slot.start, tz)
    protocols = list(Protocol.objects.only("id", "min_interval_days"))
    courses = list(offer_candidates(slot=slot, protocols=protocols, freed=freed))
    facts = booking.treatment_facts(courses)
    by_course, candidates = {}, []
    for course in courses:
        # A later booking is the session an accept moves: it never clashes with its own new time.
        proposal = rules.ProposedTreatment(start=slot.start, treated_on=day, session_id=course.later_booking_id)
        if rules.treatment_violation(facts[course.pk], proposal) is not None:
            continue
        due_from, due_by = rules.due_dates(local_date(course.last_treatment_start, tz), course.protocol)
        later_booking = course.later_booking_id is not None
        candidates.append(rules.OfferCandidate(course.pk, course.patient_id, due_from, due_by, later_booking))
        by_course[course.pk] = course
    ordered = rules.rank_offer_candidates(candidates, today=local_date(now, tz))
    return [by_course[c.course_id] for c in ordered]


def _slot_problem(slot: Session) -> str:
    """Why the slot can no longer be booked by anyone (a close reason; '' when it can): its clinician's time taken by
    another session, on leave, outside their hours. Three queries (`availability`)."""
    if not slot.clinician.active:
        return Reason.SLOT_UNAVAILABLE
    day = local_date(slot.start, slot.location.zone)
    free = availability(location_ids=[slot.location_id], start=slot.start, end=slot.end, clinician=slot.clinician)
    calendar = free.calendar(location=slot.location, start_date=day, end_date=day)
    problem = calendar.problem(slot.start, slot.end, clinician_id=slot.clinician_id)
    if problem is None:
        return ""
    return Reason.SLOT_BOOKED if problem == "clinician_busy" else Reason.SLOT_UNAVAILABLE


def _close(freed: FreedSlot, reason: str, now: datetime) -> None:
    FreedSlot.objects.filter(pk=freed.pk).update(status=SlotStatus.CLOSED, closed_at=now, close_reason=reason)
    ending = Status.TAKEN if reason == Reason.SLOT_BOOKED else Status.EXPIRED
    SlotOffer.objects.filter(freed_slot=freed, status=Status.OFFERED).update(status=ending, closed_at=now)


def freed_slot_offer(*, freed_slot_id, now: datetime | None = None) -> list[SlotOffer]:
    """Make the offers of a freed slot waiting for them: as many as keep `backfill_offers` (default
    profile) open at once, to the best-ranked candidates not offered it yet. Returns the new offers.

    Under the freed slot's row lock and only from `pending`, so a second run, or the task and the
    sweep at once, makes nothing twice. A slot whose clinician's time is gone, or that is now within
    the notice period, is closed instead.
    """
    now = now or timezone.now()
    with transaction.atomic():
        freed = (
            FreedSlot.objects.select_for_update(of=("self",))
            .select_related("session__location", "session__clinician")
            .filter(pk=freed_slot_id, status=SlotStatus.PENDING)
            .first()
        )
        if freed is None:
            return []
        slot = freed.session
        if freed.offer_until <= now:
            _close(freed, Reason.WITHIN_NOTICE, now)
            return []
        if not enabled():
            _close(freed, Reason.TURNED_OFF, now)
            return []
        problem = _slot_problem(slot)
        if problem:
            _close(freed, problem, now)
            return []
        counts = freed.offers.aggregate(made=Count("pk"), open=Count("pk", filter=Q(status=Status.OFFERED)))
        wanted = Protocol.default().backfill_offers - counts["open"]
        chosen = ranked_candidates(slot=slot, now=now, freed=freed)[: max(wanted, 0)]
        offers = [
            SlotOffer(
                freed_slot=freed,
                patient=course.patient,
                course=course,
                rank=counts["made"] + index,
                moves_id=course.later_booking_id,
                offered_at=now,
            )
            for index, course in enumerate(chosen, start=1)
        ]
        SlotOffer.objects.bulk_create(offers)
        if offers or counts["open"]:
            FreedSlot.objects.filter(pk=freed.pk).update(status=SlotStatus.OFFERING, offered_at=now)
        else:
            FreedSlot.objects.filter(pk=freed.pk).update(
                status=SlotStatus.CLOSED, offered_at=now, closed_at=now, close_reason=Reason.NO_CANDIDATES
            )
        if offers:
            events.slots_offered.send(sender=SlotOffer, offers=offers, now=now)
    return offers


# --- the patient answers -------------------------------------------------------------------


def _offer(offer_id) -> SlotOffer:
    return SlotOffer.objects.select_related(
        "patient", "course", "freed_slot__session__location", "freed_slot__session__clinician"
    ).get(pk=offer_id)


def _require_open(offer: SlotOffer, now: datetime) -> None:
    if offer.status == Status.TAKEN:
        raise SlotTaken("Another patient took this appointment first.")
    if offer.status != Status.OFFERED:
        raise OfferEnded(f"This offer was {offer.get_status_display().lower()} and can no longer be changed.")
    if offer.freed_slot.offer_until <= now:
        raise OfferEnded("This appointment is too close to be offered any more.")


def slot_offer_accept(*, offer: SlotOffer, by=None) -> SlotOffer:
    """Book the offer's slot for its patient; `by` is the staff member recording it, None for the patient.

    The patient's later booked treatment, if any, is cancelled first (as a move: its freed slot is
    offered in turn) so that the interval rule judges the new time on its own; the booking then goes
    through `session_book` with every rule. Raises SlotTaken (409 `slot_taken`) when the slot went to
    someone else, OfferEnded for an offer already closed, or the booking's own DomainError (the patient
    busy then, too soon...); nothing is written then.
    """
    now = timezone.now()
    with transaction.atomic():
        offer = _offer(offer.pk)
        _require_open(offer, now)
        slot = offer.freed_slot.session
        later = (
            due.upcoming_treatments(course=offer.course)
            .filter(start__gt=slot.start)
            .select_related("clinician")
            .order_by("start", "id")
            .first()
        )
        # The booking lock order (the patient, then the clinicians by id) before anything is written.
        lock_for_booking(offer.patient, slot.clinician, *([later.clinician] if later else []))
        if later is not None:
            session_cancel(session=later, reason=MOVED_REASON, by=by)
        try:
            booked = session_book(
                patient=offer.patient,
                clinician=slot.clinician,
                location=slot.location,
                start=slot.start,
                end=slot.end,
                kind=Session.Kind.TREATMENT,
                booked_by=by,
                course=offer.course,
            )
        except Conflict as exc:
            if exc.code == "slot_unavailable":
                raise SlotTaken("This appointment has been taken.") from None
            raise
        try:
            with transaction.atomic():
                won = SlotOffer.objects.filter(pk=offer.pk, status=Status.OFFERED).update(
                    status=Status.ACCEPTED, responded_at=now, closed_at=now, booked=booked
                )
        except IntegrityError:  # another offer of the slot was accepted: one per slot
            won = 0
        if won != 1:
            raise SlotTaken("Another patient took this appointment first.")
        SlotOffer.objects.filter(freed_slot_id=offer.freed_slot_id, status=Status.OFFERED).update(
            status=Status.TAKEN, closed_at=now
        )
        FreedSlot.objects.filter(pk=offer.freed_slot_id).update(
            status=SlotStatus.FILLED, closed_at=now, close_reason=Reason.ACCEPTED
        )
        events.slot_offer_accepted.send(sender=SlotOffer, offer=offer, session=booked, moved_from=later)
    return _offer(offer.pk)


def slot_offer_lost(*, offer: SlotOffer) -> None:
    """After a refused accept (its transaction rolled back): if the slot really is gone, close it and end
    its open offers now, so their pages say so at once rather than after the next sweep."""
    now = timezone.now()
    with transaction.atomic():
        freed = (
            FreedSlot.objects.select_for_update(of=("self",))
            .select_related("session__location", "session__clinician")
            .filter(pk=offer.freed_slot_id, status__in=OPEN_SLOT)
            .first()
        )
        if freed is not None:
            problem = _slot_problem(freed.session)
            if problem:
                _close(freed, problem, now)


@transaction.atomic
def slot_offer_decline(*, offer: SlotOffer, by=None) -> SlotOffer:
    """The patient does not want the slot: the offer ends and its place passes to the next candidate."""
    now = timezone.now()
    declined = SlotOffer.objects.filter(pk=offer.pk, status=Status.OFFERED).update(
        status=Status.DECLINED, responded_at=now, closed_at=now
    )
    if declined != 1:
        _require_open(_offer(offer.pk), now)
    reopened = FreedSlot.objects.filter(pk=offer.freed_slot_id, status=SlotStatus.OFFERING, offer_until__gt=now).update(
        status=SlotStatus.PENDING
    )
    if reopened:
        _offer_after_commit(offer.freed_slot_id)
    return _offer(offer.pk)


# --- the periodic job ----------------------------------------------------------------------


def _clinician_then(model) -> Exists:
    """A row of `model` (a session or time off) of the freed slot's clinician overlapping its time."""
    rows = model.objects.filter(
        clinician_id=OuterRef("session__clinician_id"),
        start__lt=OuterRef("session__end"),
        end__gt=OuterRef("session__start"),
    )
    if model is Session:
        rows = rows.filter(status__in=Session.ACTIVE_STATUSES)
    return Exists(rows)


def _end(slots: QuerySet[FreedSlot], *, offers_to: str, reason: str, now: datetime) -> tuple[int, int]:
    """Close the open freed slots of `slots` and end their open offers. Two UPDATEs."""
    ended = SlotOffer.objects.filter(status=Status.OFFERED, freed_slot__in=slots.values("pk")).update(
        status=offers_to, closed_at=now
    )
    closed = slots.update(status=SlotStatus.CLOSED, closed_at=now, close_reason=reason)
    return ended, closed


def booked_by_then() -> Exists:
    """Annotation of an offer: its course has a treatment booked that starts before its slot ends (another
    offer accepted, the front desk): the patient no longer needs the slot."""
    return Exists(
        due.upcoming_treatments(course=OuterRef("course_id"))
        .filter(start__lt=OuterRef("freed_slot__session__end"))
        .exclude(pk=OuterRef("freed_slot__session_id"))
    )


def slot_offers_sweep(*, now: datetime | None = None) -> dict:
    """The periodic job (every 5 minutes), in eight UPDATEs whatever their number: end the offers whose
    slot starts within the notice period (expired) or whose clinician's time was booked meanwhile (taken)
    or taken off (expired); end the offers of patients booked on or before the slot meanwhile (expired),
    passing each place to the next in line; then make the offers of freed slots waiting for them. A
    second run changes nothing."""
    now = now or timezone.now()
    result = {"expired": 0, "taken": 0, "slots_closed": 0, "offers_made": 0}
    open_slots = FreedSlot.objects.filter(status__in=OPEN_SLOT)
    with transaction.atomic():
        for slots, offers_to, reason, counter in (
            (open_slots.filter(offer_until__lte=now), Status.EXPIRED, Reason.WITHIN_NOTICE, "expired"),
            (open_slots.filter(_clinician_then(Session)), Status.TAKEN, Reason.SLOT_BOOKED, "taken"),
            (open_slots.filter(_clinician_then(TimeOff)), Status.EXPIRED, Reason.SLOT_UNAVAILABLE, "expired"),
        ):
            ended, closed = _end(slots, offers_to=offers_to, reason=reason, now=now)
            result[counter] += ended
            result["slots_closed"] += closed
        needless = SlotOffer.objects.filter(status=Status.OFFERED).filter(booked_by_then())
        reopen = FreedSlot.objects.filter(
            status=SlotStatus.OFFERING, offer_until__gt=now, pk__in=needless.values("freed_slot_id")
        )
        reopen.update(status=SlotStatus.PENDING)
        result["expired"] += needless.update(status=Status.EXPIRED, closed_at=now)
    # A slot never offered and freed less than the undo time ago waits: a held cancellation may still be
    # taken back. (One reopened after its offers ended goes at once.)
    waiting = (
        FreedSlot.objects.filter(status=SlotStatus.PENDING, offer_until__gt=now)
        .filter(Q(offered_at__isnull=False) | Q(freed_at__lte=now - CANCEL_UNDO))
        .order_by("pk")
    )
    last = None
    while True:
        ids = list((waiting if last is None else waiting.filter(pk__gt=last)).values_list("pk", flat=True)[:CHUNK])
        for freed_slot_id in ids:
            result["offers_made"] += len(freed_slot_offer(freed_slot_id=freed_slot_id, now=now))
        if len(ids) < CHUNK:
            return result
        last = ids[-1]
