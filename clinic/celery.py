"""The Celery app and its beat schedule (in code, not in the database)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("cycledesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job, in the order `manage.py run_jobs` runs them. Far-future work
# lives in rows with due times; these sweeps pick it up, so a missed beat is
# caught up by the next one.
PERIODIC_JOBS: dict[str, dict] = {
    # Book the next treatment of courses with nothing booked (completions also plan at once).
    "scheduling.plan_next_sessions": {"schedule": crontab(minute=10, hour="*/6"), "options": {"expires": 6 * 3600}},
    # Review every course's response: no_benefit, missing_response_data, episodic_conversion.
    "patients.assess_responses": {"schedule": crontab(minute=30, hour=4), "options": {"expires": 24 * 3600}},
    # Courses past their window with nothing booked.
    "scheduling.flag_overdue": {"schedule": crontab(minute=50, hour=4), "options": {"expires": 24 * 3600}},
    # Prior authorisations ending within 30 days or with one treatment left: the renewal queue's mark.
    "cycles.mark_expiring_authorizations": {
        "schedule": crontab(minute=10, hour=5),
        "options": {"expires": 24 * 3600},
    },
    # Slot offers: end those whose slot is gone or too close; make those a lost task left undone.
    "cycles.slot_offers": {"schedule": 300.0, "options": {"expires": 290}},
    # Reclaim stuck deliveries, create reminders, next-session and diary requests, enqueue what is due.
    "notifications.queue": {"schedule": 300.0, "options": {"expires": 290}},
}

app.conf.beat_schedule = {name: {"task": name, **options} for name, options in PERIODIC_JOBS.items()}
