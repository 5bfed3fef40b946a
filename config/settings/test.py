"""Test settings: the real PostgreSQL and Redis from the environment, everything else fast and local."""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("EMAIL_ESP", "outbox")
os.environ.setdefault("ENCRYPTION_KEYS", "dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0=")

from config.settings.base import *  # noqa: F403
from config.settings.base import MIDDLEWARE, STORAGES

DEBUG = False
ALLOWED_HOSTS = ["*"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEV_OUTBOX_ENABLED = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
SIGN_IN_RATE_LIMIT = "5/900"
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
# A card number in any request body fails the test: the app must only ever see processors' references.
MIDDLEWARE = [*MIDDLEWARE, "tests.card_number_guard.CardNumberGuardMiddleware"]
