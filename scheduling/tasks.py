from celery import shared_task


@shared_task(name="scheduling.treatment_completed", acks_late=True)
def treatment_completed(session_id: str) -> None:
    """Enqueued after commit when a treatment session is completed.

    Not yet implemented: the next-session planner and response review arrive with
    the cycle automation work.
    """
