"""Tasks that wait in PostgreSQL while the broker is unreachable, and are published again by beat.

Every email a page promises (an invoice sent, a pay link, a portal sign-in link, an invitation, a
password reset) and every charge asked for is a task published after commit (`core.tasks.enqueue`).
When the broker does not take it, the task is written here instead of being lost, and
`pending_tasks_publish` (beat, every REPUBLISH_SECONDS) publishes what waits, oldest first, once
Redis answers again.
"""

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError

from core.models import PendingTask
from core.redis import REDIS_DOWN, breaker_for

logger = logging.getLogger(__name__)

BATCH = 200
# Kombu reports an unreachable broker as its OperationalError; a few paths let Redis's own errors through.
BROKER_DOWN = (OperationalError, *REDIS_DOWN)


def broker_breaker():
    return breaker_for(current_app.conf.broker_url or "")


def task_publish(*, task, kwargs: dict) -> None:
    """Publish `task`, or keep it in PostgreSQL for beat to publish when the broker is back."""
    name, breaker = task.name, broker_breaker()
    if not breaker.is_open():
        try:
            task.apply_async(kwargs=kwargs)
            return
        except BROKER_DOWN as error:
            breaker.trip(error)
            last_error = f"{error.__class__.__name__}: {error}"[:500]
        except Exception:  # a bug (arguments that are not JSON), or an eager task failing in a test
            logger.exception("Could not enqueue %s(%s)", name, kwargs)
            return
    else:
        last_error = "broker unreachable a moment ago"
    PendingTask.objects.create(name=name, kwargs=kwargs, last_error=last_error)
    logger.warning("Broker unreachable: %s(%s) kept in PostgreSQL; beat publishes it again", name, kwargs)


def pending_tasks_publish() -> int:
    """Publish the tasks that wait, oldest first, a batch per transaction; stop at the first the broker
    refuses. Rows are claimed with SKIP LOCKED, so two beats never publish one twice at once."""
    current_app.loader.import_default_modules()  # every app's tasks module, as a worker has at start
    published, after = 0, 0
    while True:
        with transaction.atomic():
            batch = list(
                PendingTask.objects.select_for_update(skip_locked=True)
                .filter(pk__gt=after)
                .order_by("pk")[:BATCH]
            )
            if not batch:
                return published
            sent, refused = _publish(batch)
            PendingTask.objects.filter(pk__in=sent).delete()
        published += len(sent)
        if refused:
            logger.warning("Broker still unreachable; tasks wait in PostgreSQL (%s published)", published)
            return published
        after = batch[-1].pk


def _publish(batch: list[PendingTask]) -> tuple[list[int], bool]:
    """The ids published, and whether the broker refused one (the rest of the batch then waits)."""
    sent = []
    for task in batch:
        if task.name not in current_app.tasks:  # renamed or removed since: left for an operator to see
            logger.error("Pending task %s names no task; left in PostgreSQL", task)
            continue
        try:
            current_app.tasks[task.name].apply_async(kwargs=task.kwargs)
        except BROKER_DOWN as error:
            task.attempts += 1
            task.last_error = f"{error.__class__.__name__}: {error}"[:500]
            task.save(update_fields=["attempts", "last_error"])
            broker_breaker().trip(error)
            return sent, True
        sent.append(task.pk)
    return sent, False
