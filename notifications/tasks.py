from dataclasses import asdict

from celery import shared_task
from celery.signals import worker_process_shutdown
from celery.utils.time import get_exponential_backoff_interval

from notifications import services
from notifications.channels import TransientSendError, email
from notifications.services.delivery import BATCH, RETRY

MAX_RETRIES = 5


@shared_task(
    name="notifications.deliver",
    acks_late=True,
    autoretry_for=(TransientSendError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=MAX_RETRIES,
)
def deliver(notification_id: str) -> str:
    """One row (a booking's confirmation, a task sent before batches): the same rules as a batch of one."""
    return services.notification_deliver(notification_id=notification_id)


@shared_task(name="notifications.deliver_batch", bind=True, acks_late=True, max_retries=MAX_RETRIES)
def deliver_batch(self, notification_ids: list[str]) -> dict:
    """Up to BATCH rows in one task. The rows a transient error put back are retried, alone, with the
    backoff (and jitter) the one-row task has; once the retries are spent they wait for the queueing job,
    which enqueues a pending row again after the claim timeout."""
    outcomes = services.notifications_deliver_batch(notification_ids=notification_ids)
    retry = [key for key, outcome in outcomes.items() if outcome == RETRY]
    if retry:
        countdown = get_exponential_backoff_interval(
            factor=1, retries=self.request.retries, maximum=600, full_jitter=True
        )
        raise self.retry(args=(retry,), countdown=countdown, exc=TransientSendError(f"{len(retry)} to retry"))
    counts: dict[str, int] = {}
    for outcome in outcomes.values():
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def enqueue(ids) -> None:
    """The delivery tasks for these rows: one per BATCH of them, in the order given."""
    ids = [str(i) for i in ids]
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        if len(chunk) == 1:
            deliver.delay(chunk[0])
        else:
            deliver_batch.delay(chunk)


@worker_process_shutdown.connect
def _close_mail_connection(**kwargs) -> None:
    """The held SMTP session ends with the worker process (QUIT, not a dropped socket)."""
    email.close_held_connection()


@shared_task(name="notifications.queue")
def queue() -> dict:
    return asdict(services.notifications_queue())
