"""Settings read from the environment (K5).

Everything that differs between a laptop, the test run and production comes from an
environment variable (documented in `.env.example`); the defaults give the embedded
set-up: SQLite, Celery tasks run inline, e-mail printed to the console.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
# Fail closed: with DEBUG off there is no default key (sessions, password resets and signed
# links would be forgeable with a key everyone can read). `make demo` and the tests set one.
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment or in .env (README, "
            '"Production"): python3 -c "import secrets; print(secrets.token_urlsafe(50))"'
        )
    SECRET_KEY = "insecure-debug-only-key"  # DEBUG on: a laptop
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "axes",
    "csp",
    "clients",
    "credits",
    "billing",
    "api",
    "webhooks",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
# Connections are kept between requests (checked before reuse): opening one per request cost
# the API two thirds of its rate and half its PostgreSQL CPU (bench/RESULTS.md, "API over
# HTTP"). 0 closes each at the end of its request, as Django does by default.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# On PostgreSQL a debit runs as one statement (credits_debit, credits/sql/credits_debit.sql),
# prepared once per connection (credits.services.database_debit); off, every debit takes the
# ORM path that SQLite uses. Tests switch it to compare the two.
CREDITS_DEBIT_IN_DATABASE = env.bool("CREDITS_DEBIT_IN_DATABASE", default=True)

# The REST API (K4, docs/api.md): keys, not sessions; every error a problem+json document.
API_DEFAULT_REQUESTS_PER_MINUTE = env.int("API_DEFAULT_REQUESTS_PER_MINUTE", default=6000)
# Each process keeps the keys it authenticated this long (api/keycache.py): a revocation made
# by another process takes effect within it.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=48)  # at least 24 promised
# A request with an Idempotency-Key that dies without answering holds its key this long.
API_IDEMPOTENCY_LEASE = timedelta(seconds=env.int("API_IDEMPOTENCY_LEASE_SECONDS", default=120))
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasApiKey"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerKeyRate"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.NewestFirst",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "EXCEPTION_HANDLER": "api.problems.handle",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Credit portal API",
    "DESCRIPTION": (
        "Quote, reserve, consume and release credits; read balances, lots, the ledger, usage "
        "and invoices; buy credits. Authenticate with an API key (`Authorization: Bearer "
        "cpk_…`). Every POST takes an `Idempotency-Key` header. Errors are "
        "`application/problem+json` with a stable `code`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui/favicon-32x32.png",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Day-first dates and a 24-hour clock in English too (config/formats/en/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Paris")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Production sets STATIC_ROOT and runs collectstatic; without it WhiteNoise serves from the
# finders, so the embedded set-up needs no build step.
STATIC_ROOT = env("STATIC_ROOT", default="") or None
WHITENOISE_USE_FINDERS = STATIC_ROOT is None
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(BASE_DIR / "sent-mail"))
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@portal.example")

# Celery (K2): without REDIS_URL the tasks run inline, so the embedded set-up needs no broker.
REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A message a dead worker held (acks late) goes back to the queue after this, not after Redis's
# default hour. Longer than the longest task and than the furthest retry a task schedules
# with an ETA (webhooks.tasks.SCHEDULE_WITHIN, 5 minutes), which a worker holds unacknowledged.
_visibility_timeout = env.int("CELERY_VISIBILITY_TIMEOUT", default=600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": _visibility_timeout,
    # Every running worker looks for such messages this often (one Redis ZRANGE): kombu's
    # default scans only every 10th time of 10 s, which added ~100 s to the timeout (measured:
    # tests/config/test_worker_death.py, 106 s instead of 6 + a few).
    "unacked_restore_interval": max(1, min(10, _visibility_timeout // 5)),
    "unacked_restore_throttle": 1,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Jobs record their outcome in the database, never in the result store: a result write to a
# Redis that is away costs seconds of retries in the caller (measured: 19 s an enqueue).
CELERY_TASK_IGNORE_RESULT = True
# An enqueue after commit fails fast when the broker is down (the sweeps catch the work):
# one retry, then `config.jobs.enqueue` logs it. Measured with Redis stopped: ~0.6 s an
# enqueue with Celery's default three retries.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
# The schedule lives in code, so every deployment runs the same jobs (run one beat process).
CELERY_BEAT_SCHEDULE = {
    # Holds and lots past their expiry; every operation also applies expiry lazily.
    "credits-expire-due": {"task": "credits.expire_due", "schedule": 300.0},
    # Holds of scheduled work that never ran give their credits back within a minute (S2).
    "credits-expire-holds": {"task": "credits.expire_holds", "schedule": 60.0},
    # Monthly limits restart in each organisation's time zone, so check hourly.
    "credits-reset-monthly": {"task": "credits.reset_monthly", "schedule": 3600.0},
    # Daily: logs each drift between balances and the ledger at error level; corrects nothing.
    "credits-ledger-check": {"task": "credits.ledger_check", "schedule": 86400.0},
    # Usage reports read closed days from a roll-up; a day closes at each zone's midnight.
    "credits-roll-up-usage": {"task": "credits.roll_up_usage", "schedule": 3600.0},
    # Renewals and their retries (dunning) are due at a time of day: check every 10 minutes.
    "billing-renew-subscriptions": {"task": "billing.renew_subscriptions", "schedule": 600.0},
    # Open invoices past their due date become overdue; "past" is in each buyer's time zone.
    "billing-mark-overdue": {"task": "billing.mark_overdue", "schedule": 3600.0},
    # Invoices whose PDF or e-mail job was lost, or whose e-mail failed and is due again.
    "billing-sweep-invoices": {"task": "billing.sweep_invoices", "schedule": 900.0},
    # Purchases a crash or a lost gateway answer left half-way: charged again with the same
    # key (one charge), completed, or refunded.
    "billing-settle-purchases": {"task": "billing.settle_purchases", "schedule": 60.0},
    # Expiry reminders go once a day, in the morning (each run also retries refused notices).
    "credits-send-expiry-reminders": {
        "task": "credits.send_expiry_reminders",
        "schedule": crontab(minute=0, hour=7),
    },
    # Low balance, once per crossing of the threshold; and automatic top-ups, likewise.
    "credits-run-balance-alerts": {"task": "credits.run_balance_alerts", "schedule": 60.0},
    "billing-run-auto-top-ups": {"task": "billing.run_auto_top_ups", "schedule": 60.0},
    # Invitations whose e-mail failed or was never handed to the mail server are sent again.
    "clients-sweep-invitations": {"task": "clients.sweep_invitations", "schedule": 900.0},
    # Answers kept for Idempotency-Key replays are deleted once API_IDEMPOTENCY_HOURS old.
    "api-forget-old-requests": {"task": "api.forget_old_requests", "schedule": 3600.0},
    # Daily: webhook events, deliveries and attempts past WEBHOOKS_RETENTION_DAYS are deleted.
    "webhooks-forget-old-events": {"task": "webhooks.forget_old_events", "schedule": 86400.0},
    # Webhooks (B3): deliveries due (retries, lost enqueues, leases of dead workers), and the
    # consumption.created events, written from the consumptions by a job (docs/webhooks.md).
    "webhooks-send-due": {"task": "webhooks.send_due", "schedule": 60.0},
    "webhooks-emit-consumptions": {"task": "webhooks.emit_consumptions", "schedule": 10.0},
}

# Billing: the payment gateway, and the seller printed on every invoice.
PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", default="billing.gateway.SandboxGateway")
BILLING_SELLER = {
    "name": env("SELLER_NAME", default="Credit Portal SAS"),
    "address": env("SELLER_ADDRESS", default="10 rue de la Paix\n75002 Paris\nFrance"),
    "vat_number": env("SELLER_VAT_NUMBER", default="FR00123456789"),
    "email": env("SELLER_EMAIL", default="billing@portal.example"),
}
INVOICE_SERIES = env("INVOICE_SERIES", default="INV")
CREDIT_NOTE_SERIES = env("CREDIT_NOTE_SERIES", default="CN")

# Webhooks are only sent to public addresses; tests and a local demo, whose receivers listen on
# 127.0.0.1, turn this on (docs/webhooks.md).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", default=False)
# Deliveries and their attempts are shown to owners this long, then deleted (a daily job).
WEBHOOKS_RETENTION_DAYS = env.int("WEBHOOKS_RETENTION_DAYS", default=90)

# HTTPS. Production is served over HTTPS behind a TLS proxy, so every protection is on unless
# DEBUG is; a laptop served over plain http (`make demo`, the tests) sets SERVED_OVER_HTTPS=false.
# Each one can also be set on its own.
SERVED_OVER_HTTPS = env.bool("SERVED_OVER_HTTPS", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SERVED_OVER_HTTPS)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SERVED_OVER_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SERVED_OVER_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000 if SERVED_OVER_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# The header the TLS proxy sets to say the request came over HTTPS (empty: no proxy). Trust it
# only when the proxy overwrites the client's own copy, as nginx's `proxy_set_header` does.
_proxy_ssl_header = env(
    "SECURE_PROXY_SSL_HEADER", default="HTTP_X_FORWARDED_PROTO" if SERVED_OVER_HTTPS else ""
)
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None

# Content-Security-Policy (django-csp): pages load scripts, styles, images and fonts from this
# host only, and run no inline script or style (an injected <script> does not run). Templates
# keep JS in static/js and CSS in static/css; tests/browser/test_csp.py opens every page in
# Chromium and fails on any violation (docs/production.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Login protection (django-axes) on the portal's and the admin's login: after
# LOGIN_FAILURE_LIMIT wrong passwords for one user from one address, that pair is locked out for
# LOGIN_LOCKOUT_MINUTES (staff unlock it in admin, "Access attempts").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The locked-out page (429): how long, and whom to ask. A wrong password while locked out
# starts the cool-off again (axes' default), which the page says.
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# The client's address: behind TRUSTED_PROXY_COUNT proxies (the README's nginx: 1, the default
# in production) it is the X-Forwarded-For entry the outermost proxy appended; what a client
# writes into that header itself is ignored. 0 (no proxy: a laptop, the tests) uses
# REMOTE_ADDR. clients/services/logins.py
AXES_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=1 if SERVED_OVER_HTTPS else 0)
AXES_CLIENT_IP_CALLABLE = "clients.services.logins.client_ip_address"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
