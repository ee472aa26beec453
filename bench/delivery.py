"""Bench: email delivery from a real Celery worker on Redis to a loopback SMTP sink, exactly once.

    .venv/bin/python bench/delivery.py [--emails 3000] [--concurrency 2] [--repeats 3] [--markdown PATH]

Makes its own PostgreSQL database (cd_del_bench) and uses Redis DB 6 as the broker. Builds `--emails` patients,
each with a booked session next week, and one due email per patient (reminders for the session, with their
.ics, and diary requests, alternating), the patients in a zone where it is midday so the send-time rules let
every one go. An aiosmtpd sink on a free loopback port counts each message's Message-ID and the instant it
accepted it. A real worker (`celery -A clinic worker --pool prefork --concurrency N`) is started once; each
repeat makes a fresh set of rows and runs the queueing job (`notifications_queue`, as beat runs it), which
enqueues their delivery tasks, then waits until the sink has every Message-ID. Reports emails/s from the
first to the last message the sink accepted, duplicates (a Message-ID seen twice) and missing (a row with no
message), both of which must be 0. The anchor is the sink's own rate: one plain smtplib connection sending as
many copies of a rendered reminder as fast as it can, in the same run. Drops its database, flushes its Redis
DB and stops the worker and the sink at the end, even on failure.
"""

import argparse
import logging
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import date, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import stop_group, write_section  # noqa: E402  (the project root is on the path now)

DB_NAME = "cd_del_bench"
PG = "postgres://postgres@127.0.0.1:5432"
BROKER = "redis://127.0.0.1:6379/6"
QUEUE = f"bench-delivery-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SMTP_PORT = free_port()
ENV = {
    "DJANGO_SETTINGS_MODULE": "clinic.settings",
    "AXES_ENABLED": "0",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "CELERY_BROKER_URL": BROKER,
    "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "EMAIL_BACKEND": "smtp",
    "EMAIL_HOST": "127.0.0.1",
    "EMAIL_PORT": str(SMTP_PORT),
    "EMAIL_USE_TLS": "0",
    "CLINIC_NAME": "Riverside Neurology Clinic",
    "SITE_URL": "https://cycledesk.example.org",
}
os.environ.update(ENV)

import django  # noqa: E402
import psycopg  # noqa: E402
import redis  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.mail import EmailMultiAlternatives  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connections  # noqa: E402
from django.utils import timezone  # noqa: E402

from clinic.timezones import local_datetime  # noqa: E402
from notifications import rendering, services  # noqa: E402
from notifications.models import Notification  # noqa: E402
from patients.models import Patient  # noqa: E402
from scheduling.models import Clinician, Location, Session  # noqa: E402


class Sink:
    """Counts each Message-ID and when the first and last message were accepted."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.seen: Counter = Counter()
            self.first = self.last = None

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        start = content.find(b"Message-ID:")
        mid = content[start : content.find(b">", start) + 1].split(b":", 1)[1].strip() if start >= 0 else b"?"
        now = time.perf_counter()
        with self.lock:
            self.seen[mid.decode()] += 1
            self.first = self.first or now
            self.last = now
        return "250 OK"


def create_database() -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    call_command("migrate", verbosity=0)


def drop_database() -> None:
    connections.close_all()
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def daytime_zone() -> str:
    """A fixed-offset zone where it is about midday now, so quiet hours hold nothing back."""
    offset = 12 - timezone.now().hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def build_clinic(clinicians: int = 20) -> tuple[Location, list[Clinician]]:
    location = Location.objects.create(name="Riverside", time_zone="America/New_York")
    staff = Clinician.objects.bulk_create([Clinician(name=f"Dr Bench {i}") for i in range(clinicians)])
    return location, staff


def build_rows(repeat: int, emails: int, location: Location, staff: list[Clinician], zone: str) -> set[str]:
    """`emails` patients, each with a session next week and one due email; returns their Message-IDs."""
    tag = f"r{repeat}"
    patients = Patient.objects.bulk_create(
        [
            Patient(
                mrn=f"B{tag}{i:06d}",
                given_name="Alex",
                family_name=f"Bench{i}",
                date_of_birth=date(1980, 5, 17),
                email=f"{tag}.{i}@example.com",
                phone=f"+1212555{i % 10000:04d}",
                time_zone=zone,
                email_opt_in=True,
                sms_opt_in=False,
            )
            for i in range(emails)
        ],
        batch_size=1000,
    )
    first_day = timezone.now().date() + timedelta(days=7 + 14 * repeat)
    sessions = []
    for i, patient in enumerate(patients):
        slot, clinician = divmod(i, len(staff))
        day, half_hour = divmod(slot, 16)  # 09:00-17:00 in half hours
        start = local_datetime(first_day + timedelta(days=day), clock(9), location.zone) + timedelta(
            minutes=30 * half_hour
        )
        sessions.append(
            Session(
                patient=patient,
                clinician=staff[clinician],
                location=location,
                kind=Session.Kind.CONSULTATION,
                start=start,
                end=start + timedelta(minutes=30),
            )
        )
    Session.objects.bulk_create(sessions, batch_size=1000)
    due = timezone.now() - timedelta(seconds=1)
    rows = []
    for i, session in enumerate(sessions):
        if i % 2 == 0:
            rows.append(
                Notification(
                    patient_id=session.patient_id,
                    session=session,
                    purpose=Notification.Purpose.REMINDER,
                    channel=Notification.Channel.EMAIL,
                    offset_days=1,
                    session_start=session.start,
                    due_at=due,
                    dedupe_key=f"bench:{tag}:{i}:reminder",
                )
            )
        else:
            rows.append(
                Notification(
                    patient_id=session.patient_id,
                    purpose=Notification.Purpose.DIARY_REQUEST,
                    channel=Notification.Channel.EMAIL,
                    due_at=due,
                    dedupe_key=f"bench:{tag}:{i}:diary",
                )
            )
    Notification.objects.bulk_create(rows, batch_size=1000)
    return {n.message_id for n in rows}


def sample_message() -> bytes:
    """A rendered reminder as the worker sends it (its link a fixed URL: no row is written)."""
    n = (
        Notification.objects.filter(purpose=Notification.Purpose.REMINDER)
        .select_related("patient", "session", "session__location", "course")
        .first()
    )
    message = rendering.render_email(n, link_url=f"{settings.SITE_URL}/p/sample")
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to],
        headers={"Message-ID": "<anchor-MID@cycledesk.example>"},
    )
    email.attach_alternative(message.html, "text/html")
    for filename, content, mimetype in message.attachments:
        email.attach(filename, content, mimetype)
    return email.message().as_bytes(linesep="\r\n")  # as the SMTP backend writes it


def anchor_rate(sink: Sink, count: int, template: bytes) -> float:
    """The sink's own acceptance rate: one smtplib connection, `count` messages back to back."""
    sink.reset()
    with smtplib.SMTP("127.0.0.1", SMTP_PORT, timeout=30) as client:
        started = time.perf_counter()
        for i in range(count):
            client.sendmail(
                "no-reply@cycledesk.example", ["anchor@example.com"], template.replace(b"MID", f"{i}".encode())
            )
        elapsed = time.perf_counter() - started
    assert sum(sink.seen.values()) == count, "the sink lost anchor messages"
    return count / elapsed


class Worker:
    def __init__(self, concurrency: int, pool: str):
        self.command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "clinic",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "INFO",
            "--queues",
            QUEUE,
            "--hostname",
            f"bench-delivery-{uuid.uuid4().hex[:6]}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.process = None
        self.output: list[str] = []
        self.ready = threading.Event()

    def start(self, timeout: float = 90) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(timeout):
            raise RuntimeError("the worker did not start:\n" + "".join(self.output[-30:]))

    def _read(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if " ready." in line:
                self.ready.set()

    def stop(self) -> None:
        stop_group(self.process)


def one_repeat(repeat, emails, sink, worker, location, staff, zone, timeout) -> dict:
    expected = build_rows(repeat, emails, location, staff, zone)
    sink.reset()
    services.notifications_queue()  # the 5-minute job: enqueues a delivery task per batch of due rows
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sink.lock:
            done = expected <= set(sink.seen)
        if done:
            break
        time.sleep(0.05)
    # Whatever is still in flight (a repeat would show here) lands before the count.
    time.sleep(1.0)
    with sink.lock:
        seen, first, last = Counter(sink.seen), sink.first, sink.last
    left = Notification.objects.filter(status__in=["pending", "sending"]).count()
    if left and not (expected <= set(seen)):
        print("worker output:\n" + "".join(worker.output[-20:]), file=sys.stderr)
    accepted = sum(seen.values())
    return {
        "rate": (accepted - 1) / (last - first) if accepted > 1 and last > first else 0.0,
        "duplicates": sum(c - 1 for c in seen.values() if c > 1),
        "missing": len(expected - set(seen)),
        "unexpected": len(set(seen) - expected),
        "not_sent_rows": Notification.objects.filter(dedupe_key__startswith=f"bench:r{repeat}:")
        .exclude(status="sent")
        .count(),
        "seconds": (last - first) if last and first else 0.0,
    }


def markdown(args, results, anchors) -> str:
    rate = statistics.median(r["rate"] for r in results)
    anchor = statistics.median(anchors)
    duplicates = max(r["duplicates"] for r in results)
    missing = max(r["missing"] for r in results)
    return (
        "## Delivery\n\n"
        f"{args.emails} due emails (reminders with their .ics and diary requests, alternating; each patient with a "
        "booked session) delivered by a real Celery worker "
        f"(`celery -A clinic worker --pool {args.pool} --concurrency {args.concurrency}`, Redis broker, PostgreSQL) "
        "to an aiosmtpd sink on loopback, after the queueing job enqueued them (a task per batch of "
        f"{services.delivery.BATCH} rows, each row claimed at its send, one held SMTP session per worker process). "
        "The rate runs from the first to the last message the sink accepted; duplicates are Message-IDs the sink "
        "saw twice and missing are rows it never saw (both must be 0; the worst repeat is shown). The anchor is the "
        "sink's own rate: one smtplib connection sending as many copies of a rendered reminder back to back, in "
        f"the same run (`bench/delivery.py`, medians of {args.repeats}).\n\n"
        "| emails | worker emails/s | sink's own rate (one smtplib connection) | ratio | duplicates | missing |\n"
        "|---|---|---|---|---|---|\n"
        f"| {args.emails} | {rate:.0f} | {anchor:.0f} | {rate / anchor:.0%} | {duplicates} | {missing} |\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=SMTP_PORT)
    worker = Worker(args.concurrency, args.pool)
    broker = redis.Redis.from_url(BROKER)
    created = False
    try:
        controller.start()
        create_database()
        created = True
        location, staff = build_clinic()
        zone = daytime_zone()
        worker.start()
        results, anchors = [], []
        for repeat in range(args.repeats):
            result = one_repeat(repeat, args.emails, sink, worker, location, staff, zone, 60 + args.emails / 20)
            anchors.append(anchor_rate(sink, args.emails, sample_message()))
            results.append(result)
            print(
                f"repeat {repeat + 1}: {result['rate']:.0f} emails/s over {result['seconds']:.1f} s, "
                f"sink alone {anchors[-1]:.0f}/s, duplicates={result['duplicates']} missing={result['missing']} "
                f"unexpected={result['unexpected']} rows not sent={result['not_sent_rows']}",
                flush=True,
            )
        section = markdown(args, results, anchors)
        print()
        print(section)
        write_section(args.markdown, section)
        bad = any(r["duplicates"] or r["missing"] or r["not_sent_rows"] for r in results)
        return 1 if bad else 0
    finally:
        worker.stop()
        controller.stop()
        broker.flushdb()
        broker.close()
        if created:
            drop_database()


if __name__ == "__main__":
    sys.exit(main())
