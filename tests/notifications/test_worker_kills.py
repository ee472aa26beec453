"""Must show 2: a real worker SIGKILLed at random points while it delivers, twenty times over.

Afterwards a fresh worker finishes the work. Nothing is lost (rows stuck in
`sending` are reclaimed after NOTIFICATION_CLAIM_TIMEOUT_SECONDS), and a message
goes out twice only when a kill lands between the provider accepting it and the
row being marked sent: so there are at most as many repeats as kills. Each email
carries a deterministic Message-ID and each SMS its idempotency key, which is how
repeats are counted here.
"""

import json
import random
import re
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import services
from notifications.models import Notification
from tests.factories import PatientFactory
from tests.workers import Worker, running_worker, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]

KILLS = 20
BATCH = 15  # patients per round, each with one email and one SMS due now
CLAIM_TIMEOUT = 2
MESSAGE_ID = re.compile(r"Message-ID:\s*<notification-([0-9a-f-]{36})@", re.IGNORECASE)


def daytime_zone() -> str:
    """A fixed-offset zone where it is about midday now, so quiet hours hold nothing back."""
    offset = 12 - timezone.now().hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"


def make_batch(round_no: int, zone: str) -> None:
    now = timezone.now()
    rows = []
    for i in range(BATCH):
        patient = PatientFactory(time_zone=zone, sms_opt_in=True, phone=f"+1212555{round_no:02d}{i:02d}")
        for channel in ("email", "sms"):
            rows.append(
                Notification(
                    patient=patient,
                    purpose="diary_request",
                    channel=channel,
                    due_at=now - timedelta(seconds=1),
                    dedupe_key=f"kill:{round_no}:{i}:{channel}",
                )
            )
    Notification.objects.bulk_create(rows)


def delivered(mail_dir, sms_dir) -> Counter:
    seen: Counter = Counter()
    for path in mail_dir.glob("*"):
        seen.update(MESSAGE_ID.findall(path.read_text(errors="replace")))
    for path in sms_dir.glob("*.json"):
        seen[json.loads(path.read_text())["id"].removeprefix("notification-")] += 1
    return seen


def test_killing_the_worker_at_random_points_loses_nothing_and_repeats_only_across_kills(
    transactional_db, tmp_path, settings
):
    settings.NOTIFICATION_CLAIM_TIMEOUT_SECONDS = CLAIM_TIMEOUT  # the queueing job runs in this process
    mail_dir, sms_dir = tmp_path / "mail", tmp_path / "sms"
    mail_dir.mkdir()
    sms_dir.mkdir()
    env = {
        "EMAIL_BACKEND": "file",
        "EMAIL_FILE_PATH": str(mail_dir),
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(sms_dir),
        "NOTIFICATION_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT),
    }
    zone = daytime_zone()
    rng = random.Random()
    kills = 0
    with running_worker(extra_env=env, concurrency=2) as worker:
        for round_no in range(KILLS):
            # The next worker starts while this one delivers (a worker takes seconds to boot here),
            # so a kill leaves the queue to a fresh process without the test waiting for it.
            successor = Worker(queue=worker.queue, env=worker.env)
            booting = threading.Thread(target=successor.start)
            booting.start()
            make_batch(round_no, zone)
            services.notifications_queue()  # reclaims rows stuck past the timeout, enqueues every due row
            time.sleep(rng.uniform(0.05, 1.5))
            worker.kill()
            kills += 1
            booting.join()
            worker.process, worker.output = successor.process, successor.output
        time.sleep(CLAIM_TIMEOUT + 0.2)  # whatever the last kill left in `sending` is now reclaimable

        def finished() -> bool:
            services.notifications_queue()
            return not Notification.objects.filter(status__in=["pending", "sending"]).exists()

        if not wait_for(finished, timeout=90, interval=CLAIM_TIMEOUT + 0.5):
            left = Notification.objects.exclude(status="sent").values_list(
                "status", "attempts", "due_at", "claimed_at", "enqueued_at", "skip_reason"
            )
            pytest.fail(f"unfinished at {timezone.now()}: {list(left)[:3]}\n" + "".join(worker.output[-40:]))

    ids = {str(i) for i in Notification.objects.values_list("id", flat=True)}
    seen = delivered(mail_dir, sms_dir)
    duplicates = sum(count - 1 for count in seen.values() if count > 1)
    print(f"\nnotifications={len(ids)} kills={kills} duplicates={duplicates} lost={len(ids - set(seen))}")

    assert len(ids) == KILLS * BATCH * 2
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert ids - set(seen) == set(), "a notification was never delivered"
    assert set(seen) <= ids
    assert duplicates <= kills
