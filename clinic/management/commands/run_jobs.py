"""Run every periodic job once, synchronously: the cron fallback and the way tests drive time.

After the jobs, what is due in the outbox (booking confirmations, reminders, offers)
is delivered in this process, so a clinic running CycleDesk from cron with no
Celery worker still sends every message (DESIGN.md §4). Beside a running worker
this is harmless: each delivery claims its row first.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from clinic.celery import PERIODIC_JOBS, worker_ready
from clinic.celery import app as celery_app
from notifications.services import deliver_due


class Command(BaseCommand):
    help = "Run every periodic job (clinic/celery.py PERIODIC_JOBS) once, in order, then deliver what is due."

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="+", metavar="JOB", help="run only these jobs (names as in the schedule)")
        parser.add_argument("--no-deliver", action="store_true", help="leave due notifications to the Celery worker")

    def handle(self, *args, only=None, no_deliver=False, **options):
        celery_app.loader.import_default_modules()
        worker_ready()  # it runs the jobs as a worker process would: the same connections, the set-up frozen
        names = list(PERIODIC_JOBS)
        unknown = [name for name in (only or []) if name not in PERIODIC_JOBS]
        if unknown:
            raise CommandError(f"Not a periodic job: {', '.join(unknown)}. Jobs: {', '.join(names)}.")
        for name in only or names:
            task = celery_app.tasks.get(name)
            if task is None:
                # Every scheduled name must be a registered task: beat would send it into the void.
                raise CommandError(f"{name} is in PERIODIC_JOBS but no task has that name.")
            result = task.apply()
            if result.failed():
                raise CommandError(f"{name} failed: {result.result!r}")
            self.stdout.write(f"{name}: {json.dumps(result.result, default=str)}")
        if not no_deliver:
            self.stdout.write(f"delivered: {json.dumps(deliver_due())}")
