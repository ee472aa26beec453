"""`manage.py run_jobs` is the cron fallback (DESIGN.md §4): with no Celery worker anywhere, it delivers
what it finds due before it exits.

Everything runs in real processes: a booking made in one process (as the web would, its delivery task
sent to a broker nobody reads), then `run_jobs` in another, with the file backends of API.md.
"""

import json
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications.models import Notification
from tests import workers
from tests.cycle import clinic
from tests.factories import PatientFactory

pytestmark = pytest.mark.slow


def _daytime_zone() -> str:
    """A fixed-offset IANA zone where it is about noon now, so quiet hours hold nothing."""
    offset = 12 - timezone.now().hour
    if offset > 12:
        offset -= 24
    return "Etc/GMT" + (f"-{offset}" if offset > 0 else f"+{-offset}" if offset < 0 else "")


def _manage(*args, env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=workers.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def environment(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "EMAIL_", "SMS_"))}
    env.update(
        DATABASE_URL=workers.test_database_url(),
        CELERY_BROKER_URL="filesystem://",
        CELERY_BROKER_DIR=str(tmp_path / "broker"),  # nobody consumes it
        EMAIL_BACKEND="file",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        SMS_BACKEND="file",
        SMS_FILE_PATH=str(tmp_path / "sms"),
    )
    return env


def test_run_jobs_with_no_worker_delivers_the_booking_confirmation(transactional_db, environment, tmp_path):
    zone = _daytime_zone()
    location, (clinician, _) = clinic(zone=zone)
    patient = PatientFactory(time_zone=zone, email="ada@example.com", email_opt_in=True)
    start = (timezone.now() + timedelta(days=2)).astimezone(location.zone).replace(hour=10, minute=0)
    booking = (
        "from scheduling.models import *; from patients.models import Patient; "
        "from scheduling.services import session_book; from datetime import datetime; "
        f"s = session_book(patient=Patient.objects.get(pk='{patient.pk}'), "
        f"clinician=Clinician.objects.get(pk='{clinician.pk}'), location=Location.objects.get(pk='{location.pk}'), "
        f"start=datetime.fromisoformat('{start.isoformat()}'), kind='consultation', booked_by=None); print(s.pk)"
    )
    booked = _manage("shell", "-c", booking, env=environment)
    assert booked.returncode == 0, booked.stderr
    confirmation = Notification.objects.get(purpose="booking_confirmation")
    assert confirmation.status == "pending"  # its task sits in a broker no worker reads
    assert not (tmp_path / "mail").exists() or not list((tmp_path / "mail").iterdir())

    ran = _manage("run_jobs", env=environment)
    assert ran.returncode == 0, ran.stderr

    confirmation.refresh_from_db()
    assert confirmation.status == "sent"
    mails = list((tmp_path / "mail").iterdir())
    assert len(mails) == 1
    text = mails[0].read_text()
    assert "To: ada@example.com" in text
    assert "Your appointment is booked" in text
    delivered = json.loads(ran.stdout.splitlines()[-1].removeprefix("delivered: "))
    assert delivered.get("sent", 0) >= 1

    # A second run sends nothing again.
    again = _manage("run_jobs", env=environment)
    assert again.returncode == 0, again.stderr
    assert len(list((tmp_path / "mail").iterdir())) == 1


def test_run_jobs_no_deliver_leaves_due_rows_to_the_worker(transactional_db, environment, tmp_path):
    patient = PatientFactory(email="bo@example.com")
    Notification.objects.create(
        patient=patient, purpose="diary_request", channel="email", due_at=timezone.now(), dedupe_key="once"
    )
    ran = _manage("run_jobs", "--no-deliver", env=environment)
    assert ran.returncode == 0, ran.stderr
    assert Notification.objects.get(dedupe_key="once").status == "pending"
    assert not (tmp_path / "mail").exists() or not list((tmp_path / "mail").iterdir())
