"""Settings for the processes the multi-process tests start (due-date runners, recurring issuers).

As config.settings.test, except that what such a process enqueues (emails, the PDF of each new invoice
version) goes to a broker in the process's memory instead of running inline, as in production it goes
to Redis for the workers. Run inline, 2,000 PDF renders would be the chaos run's runners' work.
"""

from config.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = None
