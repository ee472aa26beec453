"""The Celery app and its beat schedule (in code, not in the database)."""

import gc
import logging
import os

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun, worker_init, worker_process_init
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

logger = logging.getLogger(__name__)


class RowBackedTask(Task):
    """A task whose work is already written down in the database when it is sent.

    Every task CycleDesk sends is sent after a commit (`transaction.on_commit`) to act on rows that commit
    made: the outbox's deliveries, a slot offer, a course review, the next plan. A periodic job finds each of
    those rows again if its task never arrives (DESIGN.md §4: `notifications.queue` enqueues every due
    pending row, `cycles.slot_offers` the offers left undone, the review and the planner their courses). So
    a broker that is down must not fail the request whose data is already committed (issue 16: a booking
    answered 500 for a session it had made while Redis was stopped): the send is logged and dropped, and the
    sweep sends it once the broker is back.
    """

    def apply_async(self, *args, **kwargs):
        try:
            return super().apply_async(*args, **kwargs)
        except OperationalError as exc:
            logger.warning("broker unavailable, %s not sent (its periodic job will pick it up): %s", self.name, exc)
            return None


app = Celery("cycledesk", task_cls=RowBackedTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
# A request sends its tasks after its commit: with the broker down it must not wait long for it (the
# defaults, 4 s a connection try and 3 retries, held a booking up to 16 s when the broker's host did not
# answer). One retry, a 1 s connect timeout: a broker that refuses costs a booking a few milliseconds.
app.conf.broker_connection_timeout = 1.0
app.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
app.autodiscover_tasks()

# A worker process keeps its database connection across tasks as a web process keeps it across requests:
# Django's own rules close it before and after a task when it is older than CONN_MAX_AGE, broken, or left
# mid-transaction, and a health check runs before a task first uses it. (Celery's Django fixup would close
# it after every task: CELERY_DB_REUSE_MAX hands that decision to these rules.) The web processes' setting
# (DB_CONN_MAX_AGE) is left alone.
WORKER_DB_CONN_MAX_AGE = int(os.environ.get("WORKER_DB_CONN_MAX_AGE", "600"))
app.conf.update(CELERY_DB_REUSE_MAX=2**31)


def _persistent_worker_connections(**kwargs) -> None:
    from django.db import connections  # Django is set up by the time a worker (process) starts

    for connection in connections.all(initialized_only=False):
        connection.settings_dict["CONN_MAX_AGE"] = WORKER_DB_CONN_MAX_AGE
        connection.settings_dict["CONN_HEALTH_CHECKS"] = True


def _close_old_connections(task=None, **kwargs) -> None:
    if task is not None and getattr(task.request, "is_eager", False):
        return  # inline (tests, eager mode): the caller's connection and transaction are not the task's
    from django.db import close_old_connections  # as above

    close_old_connections()


def worker_ready(**kwargs) -> None:
    """What a worker process does once it is set up, before its first task (the signals below)."""
    _persistent_worker_connections()
    # What setting up Django and Celery made lives as long as the process: frozen, the cyclic collector's
    # full collections stop scanning it again and again (as the web workers', clinic/wsgi.py). The daily
    # review sweep at 20,000 patients spent 0.9 s of its 6 s in the collector, 0.2 s once frozen.
    gc.freeze()


worker_init.connect(worker_ready, weak=False)  # the solo and threads pools (a prefork parent too, before it forks)
worker_process_init.connect(worker_ready, weak=False)  # each prefork child
task_prerun.connect(_close_old_connections, weak=False)
task_postrun.connect(_close_old_connections, weak=False)

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
