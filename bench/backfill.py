"""Slot offers over a simulated year: how many cancelled treatment slots are refilled, and the days of cycle
delay they save, against the same year without offers.

    .venv/bin/python bench/backfill.py --patients 1000 --days 365

The synthetic clinic of bench/generate.py (two locations, New York and London, with
--clinicians-per-location clinicians each working 08:00–18:00 on weekdays, the first of each on leave for
the first 120 days), its courses' last treatments spread over the 12 weeks before the start, is run through
the year twice from the same seed: once with SLOT_OFFERS_ENABLED off, once on. Each simulated day at
13:00 UTC (08:00 in New York, 13:00 in London):

1. the treatments whose time has passed are marked completed (the visit happened);
2. the planner's daily sweep books each course's next treatment (cycles.planner, as in production);
3. patients cancel: each booked treatment is cancelled with probability --cancel-rate (8 %), 2–14 days
   before it (uniform), through scheduling.services.session_cancel; the front desk rebooks the patient
   at the first time the booking rules allow, 7–21 days after the cancelled one (they were away);
4. with offers on, the offers' periodic job (cycles.offers.slot_offers_sweep, the cron fallback of the
   task a worker runs at once) makes the day's offers; each patient offered a slot answers that day:
   accepts with probability --accept, declines with --decline, or never answers (the offer expires 24
   hours before the slot). Answers go through cycles.offers in a random order, so the first accept wins
   and later ones meet `slot_taken`; an accept moves the patient's later treatment, whose slot is then
   offered in turn, and a decline passes its place on; the job runs again until nothing is left to answer.

The acceptance rates are an assumption, not a measurement: 30 % accept, 30 % decline and 40 % never
answer, each patient on their own. It is a middle guess for an offer of an earlier time 2–14 days ahead
to patients who mostly have a treatment booked already (the planner books everyone's next one); pass
other rates to see how the figures move. Every random choice is a hash of the patient's MRN and the date
concerned, so both runs cancel the same appointments while their calendars agree.

Reported: the slots freed by patients' cancellations, the share refilled (from an offer, or by anyone),
the later slots that accepting vacated (moves) and how many of those were refilled in turn, the net share
(refilled freed slots less the vacated ones left empty), and the days of cycle delay (days beyond the
84-day target between a course's treatments, over the treatments of the year) with and without offers.

It runs on a throwaway SQLite database in a temporary folder that is removed at the end (or, with
DATABASE_URL set, on that database, flushed before each run and at the end). Messages are queued in
the outbox as usual but not sent: their delivery tasks go to a throwaway broker folder.
"""

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
WORK = tempfile.mkdtemp(prefix="cycledesk-backfill-")
OWN_DATABASE = "DATABASE_URL" not in os.environ
if OWN_DATABASE:
    os.environ["DATABASE_URL"] = f"sqlite:///{WORK}/backfill.sqlite3"
os.environ.update(
    DJANGO_SETTINGS_MODULE="clinic.settings",
    AXES_ENABLED="0",
    # The tasks sent after commit (offers to make, messages to deliver) go to a throwaway folder: the offers
    # are made by their periodic job instead (the cron fallback), and no message needs sending here.
    CELERY_TASK_ALWAYS_EAGER="0",
    CELERY_BROKER_URL="filesystem://",
    CELERY_BROKER_DIR=f"{WORK}/broker",
    LOG_LEVEL="ERROR",
)

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db.models import F  # noqa: E402

from clinic.errors import DomainError  # noqa: E402
from clinic.timezones import local_date  # noqa: E402

START = datetime(2027, 1, 4, 13, 0, tzinfo=UTC)  # a Monday
INTERVAL_DAYS = 84


def draw(*parts) -> float:
    """A uniform number in [0, 1) fixed by `parts`: the same appointment gets the same fate in both runs."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Year:
    def __init__(self, *, offers_on: bool, args):
        self.offers_on = offers_on
        self.args = args
        self.freed: list[tuple] = []  # (clinician id, start, end) of each slot a patient's cancellation freed
        self.decided: set = set()  # offers already answered (or left unanswered)
        self.counts = {"cancelled": 0, "accepted": 0, "declined": 0, "unanswered": 0, "accept_refused": 0}

    # --- one day -------------------------------------------------------------------------------

    def day(self, now: datetime) -> None:
        from cycles import planner
        from scheduling.models import Session

        Session.objects.filter(
            kind=Session.Kind.TREATMENT, status__in=(Session.Status.BOOKED, Session.Status.CONFIRMED), start__lt=now
        ).update(status=Session.Status.COMPLETED, completed_at=F("start"), checked_in_at=F("start"))
        planner.plan_sweep(now=now)
        self.cancellations(now)
        if self.offers_on:
            self.answers(now)

    def cancellations(self, now: datetime) -> None:
        from scheduling.models import Session
        from scheduling.services import session_cancel

        ahead = Session.objects.filter(
            kind=Session.Kind.TREATMENT,
            status__in=(Session.Status.BOOKED, Session.Status.CONFIRMED),
            start__gt=now + timedelta(days=1),
            start__lt=now + timedelta(days=15),
        ).select_related("patient", "location", "clinician")
        for session in list(ahead.order_by("start", "id")):
            day = local_date(session.start, session.location.zone)
            key = (session.patient.mrn, day.isoformat())
            if draw("cancel", *key) >= self.args.cancel_rate:
                continue
            lead = 2 + int(draw("lead", *key) * 13)  # 2–14 days before
            if local_date(now, session.location.zone) != day - timedelta(days=lead):
                continue
            cancelled = session_cancel(session=session, reason="Cannot come (simulated)", by=None)
            self.counts["cancelled"] += 1
            if session.end < self.end:
                self.freed.append((session.clinician_id, session.start, session.end))
            self.rebook(cancelled, gap=7 + int(draw("gap", *key) * 15), now=now)

    def rebook(self, cancelled, *, gap: int, now: datetime) -> None:
        """The front desk's rebooking: the first time, `gap` days on, that the booking rules allow."""
        from scheduling.models import Clinician
        from scheduling.selectors import free_slots_for
        from scheduling.services import session_book

        first = local_date(cancelled.start, cancelled.location.zone) + timedelta(days=gap)
        slots = free_slots_for(location=cancelled.location, start_date=first, end_date=first + timedelta(days=13))
        clinicians = Clinician.objects.in_bulk({slot.clinician_id for slot in slots[:40]})
        for slot in slots[:40]:
            try:
                session_book(
                    patient=cancelled.patient,
                    clinician=clinicians[slot.clinician_id],
                    location=cancelled.location,
                    start=slot.start,
                    kind="treatment",
                    booked_by=None,
                )
                return
            except DomainError:
                continue

    def answers(self, now: datetime) -> None:
        """Each patient offered a slot answers once, the same day, in a random order; a decline's place and a
        move's vacated slot are offered in turn (by the periodic job) and answered too."""
        from cycles import offers
        from cycles.models import SlotOffer

        rng = random.Random(f"answers {now.date()}")
        while True:
            # The offers' periodic job: makes the day's offers (what the task would have done at once),
            # then those a decline or a move left to make, and ends what is over.
            offers.slot_offers_sweep(now=now)
            waiting = [
                o
                for o in SlotOffer.objects.filter(status=SlotOffer.Status.OFFERED)
                .select_related("patient", "freed_slot__session")
                .order_by("pk")
                if o.pk not in self.decided
            ]
            if not waiting:
                return
            rng.shuffle(waiting)
            for offer in waiting:
                self.decided.add(offer.pk)
                choice = draw("answer", offer.patient.mrn, offer.freed_slot.session.start.isoformat())
                try:
                    if choice < self.args.accept:
                        offers.slot_offer_accept(offer=offer)
                        self.counts["accepted"] += 1
                    elif choice < self.args.accept + self.args.decline:
                        offers.slot_offer_decline(offer=offer)
                        self.counts["declined"] += 1
                    else:
                        self.counts["unanswered"] += 1
                except DomainError:  # slot_taken, or the booking rules refuse it now
                    self.counts["accept_refused"] += 1

    # --- the year ------------------------------------------------------------------------------

    def run(self) -> dict:
        from bench.generate import build_clinic

        call_command("flush", interactive=False, verbosity=0)
        settings.SLOT_OFFERS_ENABLED = self.offers_on
        self.end = START + timedelta(days=self.args.days)
        started = time.perf_counter()
        with time_machine.travel(START, tick=False) as clock:
            build_clinic(
                patients=self.args.patients,
                clinicians_per_location=self.args.clinicians_per_location,
                spread_over_cycle=True,
            )
            for offset in range(self.args.days):
                now = START + timedelta(days=offset)
                clock.move_to(now)
                self.day(now)
            clock.move_to(self.end)
            self.day(self.end)
        return {**self.measure(), "seconds": time.perf_counter() - started}

    def measure(self) -> dict:
        from cycles.models import FreedSlot, SlotOffer
        from scheduling.models import Session

        held = list(
            Session.objects.filter(status__in=Session.ACTIVE_STATUSES, start__gte=START).values_list(
                "clinician_id", "start", "end"
            )
        )
        by_clinician: dict = {}
        for clinician_id, start, end in held:
            by_clinician.setdefault(clinician_id, []).append((start, end))

        def refilled(clinician_id, start, end) -> bool:
            return any(s < end and start < e for s, e in by_clinician.get(clinician_id, ()))

        filled = set(
            FreedSlot.objects.filter(status=FreedSlot.Status.FILLED).values_list(
                "session__clinician_id", "session__start"
            )
        )
        moved = list(
            SlotOffer.objects.filter(
                status=SlotOffer.Status.ACCEPTED, moves__isnull=False, moves__end__lt=self.end
            ).values_list("moves__clinician_id", "moves__start", "moves__end")
        )
        completed = (
            Session.objects.filter(kind=Session.Kind.TREATMENT, status=Session.Status.COMPLETED)
            .select_related("location")
            .order_by("course_id", "start")
        )
        late_days = treatments = in_window = 0
        previous: dict = {}
        for session in completed.iterator(chunk_size=2000):
            day = local_date(session.start, session.location.zone)
            before = previous.get(session.course_id)
            previous[session.course_id] = day
            if before is None or session.start < START:
                continue
            treatments += 1
            late = max(0, (day - before).days - INTERVAL_DAYS)
            late_days += late
            in_window += late <= 14
        return {
            **self.counts,
            "freed": len(self.freed),
            "refilled": sum(refilled(*slot) for slot in self.freed),
            "by_offer": sum(slot[:2] in filled and refilled(*slot) for slot in self.freed),
            "moves": len(moved),
            "moves_refilled": sum(refilled(*slot) for slot in moved),
            "treatments": treatments,
            "late_days": late_days,
            "in_window": in_window,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--clinicians-per-location", type=int, default=2)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--cancel-rate", type=float, default=0.08)
    parser.add_argument("--accept", type=float, default=0.30)
    parser.add_argument("--decline", type=float, default=0.30)
    parser.add_argument(
        "--repeats", type=int, default=1, help="accepted for bench/all.py; the year is seeded, so one run says it all"
    )
    parser.add_argument("--markdown", type=Path, help="write docs/PERFORMANCE.md's section here")
    args = parser.parse_args()
    try:
        call_command("migrate", interactive=False, verbosity=0)
        off = Year(offers_on=False, args=args).run()
        on = Year(offers_on=True, args=args).run()
        if not OWN_DATABASE:
            call_command("flush", interactive=False, verbosity=0)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
    lines = report(args, off, on)
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text(markdown(args, off, on, lines))


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def report(args, off: dict, on: dict) -> list[str]:
    lines = []
    net_off = off["refilled"]
    net_on = on["refilled"] - (on["moves"] - on["moves_refilled"])
    lines.append(
        f"{args.patients} patients, {2 * args.clinicians_per_location} clinicians, {args.days} days, "
        f"cancellation rate {args.cancel_rate:.0%} (2–14 days ahead), "
        f"accept {args.accept:.0%} / decline {args.decline:.0%} / no answer {1 - args.accept - args.decline:.0%}; "
        f"{off['seconds']:.0f} s + {on['seconds']:.0f} s"
    )
    lines += ["", "| | offers off | offers on |", "|---|---:|---:|"]
    rows = [
        ("treatment sessions cancelled by patients", off["cancelled"], on["cancelled"]),
        ("slots freed (ending within the year)", off["freed"], on["freed"]),
        ("freed slots refilled by anyone", pct(off["refilled"], off["freed"]), pct(on["refilled"], on["freed"])),
        ("… of which from an offer", "–", pct(on["by_offer"], on["freed"])),
        ("offers accepted / declined / unanswered", "–", f"{on['accepted']} / {on['declined']} / {on['unanswered']}"),
        ("accepts refused (slot_taken or a rule)", "–", on["accept_refused"]),
        ("later slots vacated by a move (refilled in turn)", "–", f"{on['moves']} ({on['moves_refilled']})"),
        ("net share of freed slots refilled", pct(net_off, off["freed"]), pct(net_on, on["freed"])),
        ("treatments in the year", off["treatments"], on["treatments"]),
        (
            "… within the 14-day window",
            pct(off["in_window"], off["treatments"]),
            pct(on["in_window"], on["treatments"]),
        ),
        ("days of cycle delay (beyond 84 days)", off["late_days"], on["late_days"]),
    ]
    for name, a, b in rows:
        lines.append(f"| {name} | {a} | {b} |")
    saved = off["late_days"] - on["late_days"]
    lines.append("")
    lines.append(
        f"Days of cycle delay saved: {saved} ({saved / max(on['accepted'], 1):.1f} per accepted offer; "
        f"{saved / max(on['freed'], 1):.1f} per freed slot)."
    )

    return lines


def markdown(args, off: dict, on: dict, lines: list[str]) -> str:
    command = (
        f".venv/bin/python bench/backfill.py --patients {args.patients} --days {args.days} "
        f"--cancel-rate {args.cancel_rate} --accept {args.accept} --decline {args.decline}"
    )
    net_on = on["refilled"] - (on["moves"] - on["moves_refilled"])
    return f"""## Slot offers: a simulated year (`bench/backfill.py`)

How many treatment slots freed by cancellations the offers refill, and how many days of cycle delay they save,
over the synthetic clinic run through a year twice from the same seed, with `SLOT_OFFERS_ENABLED` off and on (the
script's docstring says what each simulated day does). The real code does the work: the planner's daily sweep,
`session_cancel`, the offers' periodic job, and `slot_offer_accept` / `slot_offer_decline` in a random order (so
the first accept wins and later ones meet `slot_taken`). Assumptions, not measurements: {args.cancel_rate:.0%} of
booked treatments are cancelled by the patient 2–14 days ahead, the front desk rebooks them 7–21 days later, and
each patient offered a slot accepts with probability {args.accept:.2f}, declines with {args.decline:.2f} and never
answers otherwise, the same day. The year is seeded (every random choice is a hash of the patient's MRN and the
date), so one run is the figure; SQLite in a temporary folder that the script removes.

```sh
{command}
```

{chr(10).join(lines)}

Reading it: the offers refill {pct(on["by_offer"], on["freed"])} of the freed slots, where without them almost none
is (the planner has booked everyone already, so nobody else is looking for that time). Nearly every taker has a
later booking ({on["moves"]} of {on["accepted"]} accepts were moves), so accepting pulls a treatment earlier and
vacates a later slot, itself offered and refilled {pct(on["moves_refilled"], on["moves"])} of the time: net of those,
{pct(net_on, on["freed"])} of freed slots are filled that would not have been. The gain is time: days of cycle delay
beyond 84 fall from {off["late_days"]} to {on["late_days"]}, and treatments inside the window go from
{pct(off["in_window"], off["treatments"])} to {pct(on["in_window"], on["treatments"])}. {on["accept_refused"]} accepts
met a slot already taken (or a rule that refused them by then) and booked nothing, as designed.
"""


if __name__ == "__main__":
    main()
