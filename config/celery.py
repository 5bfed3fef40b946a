"""The one Celery app. Tasks take primary keys and are enqueued only after commit (see `enqueue`)."""

import logging
import os

from celery import Celery
from celery.signals import worker_process_init
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("invoicing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.include = ["config.health"]

logger = logging.getLogger(__name__)


@worker_process_init.connect
def _freeze_startup_objects(**_) -> None:
    from config.gc import freeze_startup_objects

    freeze_startup_objects()


def enqueue(task, **kwargs) -> None:
    """Send `task` with keyword arguments once the current transaction commits.

    The database is the source of truth and beat jobs sweep for due work, so a broker that is down or
    stalled only delays the work: the failure is logged, never raised into the request that caused it.
    """

    def send() -> None:
        try:
            task.apply_async(kwargs=kwargs)
        except Exception:
            logger.exception(
                "Could not enqueue %s(%s); the periodic sweep will pick it up", task.name, kwargs
            )

    transaction.on_commit(send)
