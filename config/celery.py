"""The one Celery app. Tasks take primary keys and are enqueued only after commit (core.tasks)."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("invoicing")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.include = ["config.health"]


@worker_process_init.connect
def _freeze_startup_objects(**_) -> None:
    from config.gc import freeze_startup_objects

    freeze_startup_objects()
