"""Course jobs: thin tasks taking ids; the work is in cycles.planner, cycles.review and cycles.offers.

The registered names predate the cycles app (they were scheduling's and patients'
tasks) and stay as they are, so tasks already queued under them still run.
"""

from celery import shared_task

from cycles import authorizations, offers, planner, review
from scheduling.models import Session

# Sweeps walk every course in chunks: more time than a single-row task.
SWEEP_LIMITS = {"time_limit": 1800, "soft_time_limit": 1700}


@shared_task(name="scheduling.treatment_completed", acks_late=True)
def treatment_completed(session_id: str) -> dict:
    """Enqueued after commit when a treatment session is completed: plan the next one, then review the patient."""
    session = Session.objects.filter(pk=session_id).values("course_id", "patient_id").first()
    if session is None:
        return {"outcome": "skipped", "reason": "no such session"}
    result = {"outcome": "skipped", "reason": "no course"}
    if session["course_id"]:
        plan = planner.course_plan_next(course_id=session["course_id"])
        result = {"outcome": plan.outcome, "session": plan.session_id, "reason": plan.reason}
    result["flags_opened"] = review.patient_assess(patient_id=session["patient_id"])
    return result


@shared_task(name="scheduling.plan_next_sessions", acks_late=True, **SWEEP_LIMITS)
def plan_next_sessions() -> dict:
    """Daily: book the next treatment of every active course that has nothing booked."""
    return planner.plan_sweep()


@shared_task(name="scheduling.flag_overdue", acks_late=True, **SWEEP_LIMITS)
def flag_overdue() -> dict:
    """Daily: flag active courses past their window with nothing booked."""
    return review.overdue_sweep()


@shared_task(name="patients.assess_patient", acks_late=True)
def assess_patient(patient_id: str) -> dict:
    """Enqueued after commit when a diary entry is recorded."""
    return {"flags_opened": review.patient_assess(patient_id=patient_id)}


@shared_task(name="patients.assess_responses", acks_late=True, **SWEEP_LIMITS)
def assess_responses() -> dict:
    """Daily: review every active course's response."""
    return review.responses_sweep()


@shared_task(name="cycles.mark_expiring_authorizations", acks_late=True, **SWEEP_LIMITS)
def mark_expiring_authorizations() -> dict:
    """Daily: mark prior authorisations that need renewing (30 days or one treatment left)."""
    return authorizations.expiring_sweep()


@shared_task(name="cycles.offer_freed_slot", acks_late=True)
def offer_freed_slot(freed_slot_id: str) -> dict:
    """Enqueued after commit when a treatment slot is freed (or an offer of it declined): make its offers."""
    made = offers.freed_slot_offer(freed_slot_id=freed_slot_id)
    return {"offers_made": len(made)}


@shared_task(name="cycles.slot_offers", acks_late=True, **SWEEP_LIMITS)
def slot_offers() -> dict:
    """Every 5 minutes: end offers whose slot is gone or too close, make those a lost task left undone."""
    return offers.slot_offers_sweep()
