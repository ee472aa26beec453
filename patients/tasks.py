"""Response-review jobs: thin tasks taking ids; the work is in patients.review."""

from celery import shared_task

from patients import review


@shared_task(name="patients.assess_patient", acks_late=True)
def assess_patient(patient_id: str) -> dict:
    """Enqueued after commit when a diary entry is recorded."""
    return {"flags_opened": review.patient_assess(patient_id=patient_id)}


@shared_task(name="patients.assess_responses", acks_late=True, time_limit=1800, soft_time_limit=1700)
def assess_responses() -> dict:
    """Daily: review every active course's response."""
    return review.responses_sweep()
