"""Settings, all from the environment (12-factor). `.env.example` lists every variable.

Defaults are safe for production (DEBUG off, secure cookies when served over HTTPS); `make run`
exports the development values (see scripts/dev.py).
"""

import base64
import hashlib
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY") if not DEBUG else env("SECRET_KEY", default="insecure-development-key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The address customers and partners reach the app at; used to build links in emails.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django_htmx",
    "anymail",
    "core",  # its template filters ({% load formats %}) and the tasks waiting for the broker (PendingTask)
    "partners",
    "customers",
    "invoicing",
    "payments",
    "payments.gateways.sandbox",
    "reminders",
    "ninja",  # its static files: the API reference page, served by the app
    "api",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "config.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "partners.middleware.PartnerMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "partners.context_processors.partner",
                "payments.context_processors.payments",
            ],
        },
    },
]

# Database -------------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/invoicing")}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
# The sandbox gateway's own books: the same database on a separate connection (see config.routers).
DATABASES["sandbox"] = {**DATABASES["default"], "ATOMIC_REQUESTS": False}
DATABASE_ROUTERS = ["config.routers.SandboxGatewayRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: cache (sessions' fast copy, rate limits, heartbeat) and Celery broker, never the source of
# truth. A stalled Redis costs a request one socket timeout at most: after a failure, the cache and
# the task publisher skip Redis for REDIS_RETRY_SECONDS (core.redis), the cache answering as an empty
# one (core.cache) and tasks waiting in PostgreSQL (core.outbox). docs/operations.md, "Redis outages".
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
REDIS_RETRY_SECONDS = env.float("REDIS_RETRY_SECONDS", default=5.0)
CACHES = {
    "default": {
        "BACKEND": "core.cache.ResilientRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "invoicing",
        "OPTIONS": {
            "socket_timeout": REDIS_SOCKET_TIMEOUT,
            "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
        },
    }
}

# Celery ---------------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Every task is safe to run twice, so a worker that dies mid-task hands it back instead of losing it.
CELERY_TASK_ACKS_LATE = True
# Nobody reads task results; storing none also spares every publish a subscription to Redis for one.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    "visibility_timeout": 3600,
}
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_TIMEOUT
# No retry when publishing: a task that cannot be published waits in PostgreSQL (core.outbox), and
# beat publishes it again once Redis answers, instead of the request waiting for Redis.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Periodic jobs live here, in code. Each scans the database for due work, so missing a tick is harmless.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "config.health.heartbeat", "schedule": 30.0},
    "charge-due-invoices": {"task": "payments.tasks.charge_due_invoices", "schedule": 60.0},
    "resolve-stale-payments": {"task": "payments.tasks.resolve_stale_payments", "schedule": 60.0},
    "send-due-notifications": {"task": "reminders.tasks.send_due_notifications", "schedule": 60.0},
    "issue-recurring-invoices": {"task": "invoicing.tasks.issue_recurring", "schedule": 60.0},
    "sandbox-gateway-clock": {"task": "payments.tasks.sandbox_clock", "schedule": 15.0},
    "deliver-due-webhooks": {"task": "api.tasks.deliver_due_webhooks", "schedule": 30.0},
    "announce-overdue-invoices": {"task": "api.tasks.announce_overdue_invoices", "schedule": 3600.0},
    "forget-idempotent-requests": {"task": "api.tasks.forget_idempotent_requests", "schedule": 3600.0},
    "publish-pending-tasks": {"task": "core.tasks.publish_pending_tasks", "schedule": 30.0},
}

# Auth -----------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "partners.User"
# ModelBackend that loads the user's memberships with the user, in one query (partners/backends.py).
AUTHENTICATION_BACKENDS = ["partners.backends.MembershipBackend"]
# Sessions are read from Redis and written through to PostgreSQL, which stays the source of truth: a
# Redis flush or restart signs nobody out, and while Redis is unreachable the cache (core.cache) answers
# as an empty one, so sessions are read from and written to the database alone.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2
# Behind proxies you control, the client's address is read from X-Forwarded-For: the entry that
# TRUSTED_PROXY_COUNT from the right (each proxy appends one), never one the client wrote (client_ip).
USE_X_FORWARDED_FOR = env.bool("USE_X_FORWARDED_FOR", default=False)
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1)
SIGN_IN_RATE_LIMIT = env("SIGN_IN_RATE_LIMIT", default="10/900")  # attempts / seconds, per email and per IP
# Password reset emails asked for, per client address and per email (each one sends an email).
PASSWORD_RESET_RATE_LIMIT = env("PASSWORD_RESET_RATE_LIMIT", default="5/3600")
# Requests for a fresh pay link (a dead link or the lookup form), per client address and per link.
PAY_LINK_REQUEST_RATE_LIMIT = env("PAY_LINK_REQUEST_RATE_LIMIT", default="5/900")
# New cards and bank accounts tried on a pay page, per pay link and per client address (card testing).
PAY_NEW_METHOD_RATE_LIMIT = env("PAY_NEW_METHOD_RATE_LIMIT", default="5/3600")
# The customer account portal (/pay/<partner slug>/account/): magic sign-in links asked for per email and
# per client address, how long a link works, and how long a signed-in customer stays signed in.
PORTAL_SIGN_IN_RATE_LIMIT = env("PORTAL_SIGN_IN_RATE_LIMIT", default="5/900")
PORTAL_SIGN_IN_LINK_MINUTES = env.int("PORTAL_SIGN_IN_LINK_MINUTES", default=15)
PORTAL_SESSION_HOURS = env.int("PORTAL_SESSION_HOURS", default=8)
# Unknown, expired or used pay-link and sign-in-link tokens one client address may present (then 429).
TOKEN_MISS_RATE_LIMIT = env("TOKEN_MISS_RATE_LIMIT", default="30/900")
INVITATION_VALID_DAYS = 7
LOGO_MAX_BYTES = 1024 * 1024

# Payments -------------------------------------------------------------------------------------------
# The processor adapter (a payments.gateways.base.Gateway) and its options. The sandbox is test mode:
# it accepts only test card and account numbers and moves no real money.
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="payments.gateways.sandbox.gateway.SandboxGateway")
PAYMENT_GATEWAY_OPTIONS = {
    "latency_ms": env.float("SANDBOX_LATENCY_MS", default=0),
    "ach_settle_seconds": env.float("SANDBOX_ACH_SETTLE_SECONDS", default=30),
    "webhook_secret": env("SANDBOX_WEBHOOK_SECRET", default=""),
}
# Partners' own processor accounts (Settings -> Payments), through STRIPE_GATEWAY. STRIPE_API_BASE
# points the Stripe SDK elsewhere (the local test double); STRIPE_CONNECT_SECRET_KEY is the platform's
# key for Stripe Connect accounts (a hosted installation); each call waits STRIPE_TIMEOUT_SECONDS and
# is retried once.
STRIPE_GATEWAY = env("STRIPE_GATEWAY", default="payments.gateways.stripe.gateway.StripeGateway")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_CONNECT_SECRET_KEY = env("STRIPE_CONNECT_SECRET_KEY", default="")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=25)
# Fernet keys (comma-separated, newest first) encrypting partners' processor secrets at rest.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])
if DEBUG and not ENCRYPTION_KEYS:  # development only: a key derived from the development SECRET_KEY
    ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(f"encryption:{SECRET_KEY}".encode()).digest()).decode()
    ]
# An attempt still "pending" after this long lost its worker (crash, deploy): the janitor resolves it
# by asking the gateway with the same idempotency key. Longer than any gateway call can take.
PAYMENT_ATTEMPT_STALE_SECONDS = env.int("PAYMENT_ATTEMPT_STALE_SECONDS", default=120)
# Charges the due-date job claims per transaction, and how many gateway calls it makes at once.
PAYMENT_CHARGE_BATCH = env.int("PAYMENT_CHARGE_BATCH", default=50)
PAYMENT_CHARGE_CONCURRENCY = env.int("PAYMENT_CHARGE_CONCURRENCY", default=8)

# API and webhooks (api/, docs/api.md) ----------------------------------------------------------------
# Requests per key per window ("600/60": 600 a minute); over it the API answers 429 with Retry-After.
API_RATE_LIMIT = env("API_RATE_LIMIT", default="600/60")
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=256 * 1024)
# Keys made against the sandbox gateway say so: inv_test_...; against a real processor, inv_live_...
_SANDBOX = PAYMENT_GATEWAY.startswith("payments.gateways.sandbox")
API_KEY_PREFIX = env("API_KEY_PREFIX", default="inv_test_" if _SANDBOX else "inv_live_")
# Webhook targets must be https (except in development) and never resolve to a private, loopback or
# link-local address; the second may only be lifted for tests and local development.
WEBHOOK_REQUIRE_HTTPS = env.bool("WEBHOOK_REQUIRE_HTTPS", default=not DEBUG)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)

# Email ----------------------------------------------------------------------------------------------
# EMAIL_ESP picks the provider: any django-anymail ESP ("postmark", "sendgrid", "mailgun",
# "amazon_ses", "brevo", ...), "smtp" for a plain SMTP relay, or "outbox" to capture every message in
# the database and show it at /dev/outbox/ (the development default).
EMAIL_ESP = env("EMAIL_ESP", default="outbox" if DEBUG else "smtp")
_EMAIL_BACKENDS = {
    "outbox": "reminders.backends.OutboxEmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS.get(EMAIL_ESP, f"anymail.backends.{EMAIL_ESP}.EmailBackend")
# Every ANYMAIL_<NAME> environment variable becomes ANYMAIL["<NAME>"], so ESP credentials need no code:
# ANYMAIL_POSTMARK_SERVER_TOKEN=..., ANYMAIL_WEBHOOK_SECRET=user:password (guards tracking webhooks).
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value for name, value in env.ENVIRON.items() if name.startswith("ANYMAIL_")
}
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Invoicing <billing@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
DEV_OUTBOX_ENABLED = EMAIL_ESP == "outbox"

# I18n and time ---------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"  # storage and the admin; partners see their own zone (PartnerMiddleware)
USE_I18N = True
USE_TZ = True

# Static and uploads ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".data" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# In development whitenoise serves straight from the app folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Security -------------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; kept readable for forms
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
# HSTS (sent only on HTTPS requests): a year in production, where cookies are Secure anyway; 0 turns it off.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Logging --------------------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
