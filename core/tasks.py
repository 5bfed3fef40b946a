"""The task base: tasks are enqueued after commit, and a task about one partner's data runs in that
partner's scope.

Tasks take primary keys, never model instances, and check them: a task called with bad arguments (by a
bug, a replayed message or someone with broker access) logs a rejection and returns "rejected" instead
of raising, so it is not retried forever.
"""

import functools
import logging

from celery import shared_task
from django.db import transaction
from django_scopes import scope

from core.outbox import pending_tasks_publish, task_publish

logger = logging.getLogger(__name__)


def enqueue(task, **kwargs) -> None:
    """Send `task` with keyword arguments once the current transaction commits.

    A broker that is down or stalled only delays the work, never fails or hangs the request: the task
    then waits in PostgreSQL and beat publishes it again (core.outbox).
    """
    transaction.on_commit(lambda: task_publish(task=task, kwargs=kwargs))


@shared_task(name="core.tasks.publish_pending_tasks")
def publish_pending_tasks() -> int:
    """Beat: publish the tasks that waited in PostgreSQL while the broker was unreachable."""
    return pending_tasks_publish()


def valid_ids(**ids) -> bool:
    """True if every value is a positive int (not a bool, not a string of digits)."""
    return all(type(value) is int and value > 0 for value in ids.values())


def partner_task(*decorator_args, **task_options):
    """`@partner_task` (or `@partner_task(bind=True, ...)`): a Celery task whose keyword arguments are
    `partner_id` and other `*_id` primary keys. It runs inside `scope(partner=partner_id)`, so every
    scoped query it makes sees that partner's rows only; bad ids are a logged rejection."""

    def decorate(func):
        @functools.wraps(func)
        def run(*args, partner_id=None, **kwargs):
            ids = {name: value for name, value in kwargs.items() if name.endswith("_id")}
            if not valid_ids(partner_id=partner_id, **ids):
                logger.error("%s rejected: bad ids %r", func.__name__, {"partner_id": partner_id, **ids})
                return "rejected"
            with scope(partner=partner_id):
                return func(*args, partner_id=partner_id, **kwargs)

        return shared_task(**task_options)(run)

    if decorator_args and callable(decorator_args[0]):
        return decorate(decorator_args[0])
    return decorate
