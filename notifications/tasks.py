from dataclasses import asdict

from celery import shared_task

from notifications import services
from notifications.channels import TransientSendError


@shared_task(
    name="notifications.deliver",
    acks_late=True,
    autoretry_for=(TransientSendError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def deliver(notification_id: str) -> str:
    return services.notification_deliver(notification_id=notification_id)


@shared_task(name="notifications.queue")
def queue() -> dict:
    return asdict(services.notifications_queue())
