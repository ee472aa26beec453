"""The Celery app and its beat schedule (in code, not in the database)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("cycledesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Every periodic job, in the order `manage.py run_jobs` runs them. Far-future work
# lives in rows with due times; these sweeps pick it up, so a missed beat is
# caught up by the next one.
PERIODIC_JOBS: dict[str, dict] = {}

app.conf.beat_schedule = {name: {"task": name, **options} for name, options in PERIODIC_JOBS.items()}
