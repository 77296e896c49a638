"""Leadscore settings, read from the environment (and `.env` for local use).

Sections follow Django's docs. Every variable is listed with its default in `.env.example`.
Secrets have no usable default: with DEBUG off the process refuses to start without them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")

# prometheus_client turns multiprocess on when this variable merely exists, and a blank value then
# puts its counter_<pid>.db files in the working directory: blank means one process, its own counters.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
else:
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)


def env_str(name: str, default: str = "") -> str:
    """The variable, or the default when it is unset or blank (`.env.example` lists keys with no value)."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
INSECURE_KEY_PREFIX = "django-insecure-"
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1" if DEBUG else "")

if not DEBUG:
    # Refuse to serve production traffic with a guessable key or an open Host header.
    if len(SECRET_KEY) < 32 or SECRET_KEY.startswith(INSECURE_KEY_PREFIX) or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "DEBUG is off and SECRET_KEY is missing or insecure: set SECRET_KEY to a random string of "
            "at least 32 characters (python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("DEBUG is off and ALLOWED_HOSTS is empty: list the host names you serve.")
elif not SECRET_KEY:
    SECRET_KEY = INSECURE_KEY_PREFIX + "local-development-only-not-for-production"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_yasg",
    "django_htmx",
    "leads",
    "axes",
    "django_celery_beat",
]

MIDDLEWARE = [
    "leads.api.metrics.RequestMetricsMiddleware",
    "leads.api.middleware.RequestBoundsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out log-in.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "main.urls"
WSGI_APPLICATION = "main.wsgi.application"
APPEND_SLASH = True

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-notes
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates its file, not its folder
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'leadscore.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # Web and worker write to one file: WAL lets readers run beside a writer, IMMEDIATE takes the
        # write lock at BEGIN (so a transaction never fails half-way upgrading its lock), and the
        # busy timeout makes the other process wait instead of raising "database is locked".
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT", 30),
        # Checkpoints run in a thread of each server process (main/wal_checkpoint.py); a commit
        # checkpoints itself only past SQLITE_WAL_AUTOCHECKPOINT pages, and a log a burst grew is
        # cut back to 64 MB once it starts over.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; "
            f"PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint={env_int('SQLITE_WAL_AUTOCHECKPOINT', 100_000)}; "
            "PRAGMA journal_size_limit=67108864;"
        ),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Log-in attempts (django-axes): every log-in through django.contrib.auth.authenticate — the admin's,
# and any other log-in form of the site — counts failures per user name and client address in the
# database (shared by every process) and answers 429 after LOGIN_FAILURE_LIMIT of them, for
# LOGIN_LOCKOUT_MINUTES; a success clears the count. API tokens are not passwords and don't count.
AUTHENTICATION_BACKENDS = ["leads.auth.LoginAttemptsBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_float("LOGIN_LOCKOUT_MINUTES", 15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_COOLOFF_MESSAGE = "Too many failed log-in attempts: try again later."

# The dashboard signs people in with these same users.
LOGIN_URL = "/app/login/"
LOGIN_REDIRECT_URL = "/app/"

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = DATA_DIR / "media"

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "leads.api.pagination.PageNumberPagination",
    "PAGE_SIZE": env_int("PAGE_SIZE", 50),
    "EXCEPTION_HANDLER": "leads.api.errors.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "leads.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "upload": env_str("THROTTLE_UPLOAD", "30/hour"),
        "score": env_str("THROTTLE_SCORE", "60/hour"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SWAGGER_USE_COMPAT_RENDERERS = False
SWAGGER_SETTINGS = {
    "SECURITY_DEFINITIONS": {
        "Token": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "Paste `Token <your key>` (make run prints it).",
        }
    },
    "USE_SESSION_AUTH": True,
    # DRF's log-in page takes any member; the admin's takes staff only.
    "LOGIN_URL": "/api-auth/login/",
    "LOGOUT_URL": "/admin/logout/",
    "DEFAULT_AUTO_SCHEMA_CLASS": "leads.api.schema.EnvelopeAutoSchema",
}

# --- CORS & security --------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
    SESSION_COOKIE_HTTPONLY = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY") else None
    # [issue 6] Probes (Docker HEALTHCHECK, load balancers) call these over plain http on the host.
    SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^ready/$"]

# --- Uploads ----------------------------------------------------------------------------------
# Bodies above this are streamed to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024  # non-file form/JSON bodies
# Under gunicorn, a folder of each worker's own that the master removes when the worker dies
# (main/gunicorn.conf.py); elsewhere the system's temporary folder.
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR") or None
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 500 * 1024 * 1024)
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 2_000_000)
# Each commit writes every index page its rows touched to the WAL, and dedupe keys land all over the
# unique index: fewer, bigger commits write far less. 1M rows in the worker: 25.5 s at 20,000 against
# 32.4 s at 5,000, for about 40 MB more peak memory.
IMPORT_BATCH_SIZE = env_int("IMPORT_BATCH_SIZE", 20000)
IMPORT_MAX_ERRORS = env_int("IMPORT_MAX_ERRORS", 1000)
# Where an accepted upload waits for its import. "filesystem": under MEDIA_ROOT, so web and workers
# must share that folder (one machine, or one volume). "database": in the database, so a worker on
# another machine (Render, Heroku, several hosts) needs nothing else. The default follows the
# database: SQLite means one machine.
UPLOAD_STORAGE = env_str(
    "UPLOAD_STORAGE",
    "filesystem" if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" else "database")
if UPLOAD_STORAGE not in {"filesystem", "database"}:
    raise ImproperlyConfigured(f"UPLOAD_STORAGE must be 'filesystem' or 'database', got {UPLOAD_STORAGE!r}")

# --- Jobs and scoring -------------------------------------------------------------------------
# How long a request waits for its job before answering 202 with the job to poll.
JOB_WAIT_SECONDS = env_float("JOB_WAIT_SECONDS", 10.0)
SCORE_CHUNK_SIZE = env_int("SCORE_CHUNK_SIZE", 2000)
JOB_MAX_ERRORS = env_int("JOB_MAX_ERRORS", 1000)
# A running import or scoring chunk whose worker stopped renewing its lease this long ago (killed,
# machine gone) is taken over by another worker; renewed every quarter of it (leads.services.leases).
JOB_LEASE_SECONDS = env_float("JOB_LEASE_SECONDS", 60.0)
# Engagement: how long new events wait before their leads are rescored (many requests, one run),
# how often beat rescores everything that decays (seconds; 0 turns the schedule off), upload limits.
ENGAGEMENT_RESCORE_DELAY_SECONDS = env_int("ENGAGEMENT_RESCORE_DELAY_SECONDS", 5)
SCORE_REFRESH_INTERVAL = env_int("SCORE_REFRESH_INTERVAL", 6 * 3600)
EVENTS_UPLOAD_MAX_BYTES = env_int("EVENTS_UPLOAD_MAX_BYTES", 200 * 1024 * 1024)
EVENTS_UPLOAD_MAX_ROWS = env_int("EVENTS_UPLOAD_MAX_ROWS", 2_000_000)
# Stored events wait this long before the worker folds them into the leads' aggregates (counts,
# engagement_summary, stale marks), and a fold takes at most this many at a time.
ENGAGEMENT_FOLD_DELAY_SECONDS = env_int("ENGAGEMENT_FOLD_DELAY_SECONDS", 2)
ENGAGEMENT_FOLD_CHUNK = env_int("ENGAGEMENT_FOLD_CHUNK", 200_000)

# --- AI layer ---------------------------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL") or None
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_CONCURRENCY = env_int("OPENAI_CONCURRENCY", 16)
OPENAI_TIMEOUT = env_float("OPENAI_TIMEOUT", 30.0)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 4)
# "local" unless a key is set; an explicit INTENT_PROVIDER always wins.
INTENT_PROVIDER = env_str("INTENT_PROVIDER") or ("openai" if OPENAI_API_KEY else "local")
if INTENT_PROVIDER not in {"local", "openai"}:
    raise ImproperlyConfigured(f"INTENT_PROVIDER must be 'local' or 'openai', got {INTENT_PROVIDER!r}")

# true: `make run` loads the demo workspace for the local admin (`make demo` does it on demand).
DEMO_MODE = env_bool("DEMO_MODE", False)

# --- Automations ------------------------------------------------------------------------------
# Webhook and Slack targets on private, loopback or link-local addresses are refused unless this is
# set (the test suites set it to reach their own receivers on 127.0.0.1).
WEBHOOK_ALLOW_PRIVATE = env_bool("WEBHOOK_ALLOW_PRIVATE", False)
WORKFLOW_MAX_ATTEMPTS = env_int("WORKFLOW_MAX_ATTEMPTS", 6)
# How often beat looks for due retries, dead workers' deliveries and scheduled workflows.
AUTOMATION_SWEEP_SECONDS = env_float("AUTOMATION_SWEEP_SECONDS", 30.0)
# A delivery whose worker died is taken over after this long: more than one delivery can take.
AUTOMATION_LEASE_SECONDS = env_float("AUTOMATION_LEASE_SECONDS", 120.0)
# Where people open a lead: the link in Slack messages, emails and webhook payloads.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# Email: the console by default; SMTP when EMAIL_HOST is set.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Leadscore <leadscore@localhost>")

# --- Connectors -------------------------------------------------------------------------------
# HubSpot: the API host (tests point it at their own server on 127.0.0.1) and contacts per page
# (HubSpot allows at most 100 on its list endpoint).
HUBSPOT_API_BASE = env_str("HUBSPOT_API_BASE", "https://api.hubapi.com").rstrip("/")
HUBSPOT_PAGE_SIZE = min(max(env_int("HUBSPOT_PAGE_SIZE", 100), 1), 100)

# --- Celery -----------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's own writes a message file in two steps a polling worker can fall between (main/celery.py).
    CELERY_BROKER_TRANSPORT = "main.celery:FilesystemTransport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # The filesystem transport polls its folder; the default of 1 s would idle between chunks.
        "polling_interval": 0.05,
    }
    for _folder in (BROKER_DIR / "queue", BROKER_DIR / "control"):
        _folder.mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
        # [issue 6] Redis: look for a dead worker's unacknowledged tasks every 10 s (kombu's
        # unacked_restore_interval) instead of kombu's default of every 10th sweep (~100 s).
        "unacked_restore_throttle": 1,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A chunk is acknowledged only after it is written, and a worker that dies mid-chunk gives it back:
# chunks are idempotent, so a re-delivery never scores a lead twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Worker processes per `celery worker` (default: one per CPU); `make run` uses 2.
CELERY_WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 0) or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat: one `beat` process beside the workers (the Procfile's, which `make run` starts under honcho).
CELERY_BEAT_SCHEDULE = {
    "automations-sweep": {"task": "leads.tasks.automations_sweep_task", "schedule": AUTOMATION_SWEEP_SECONDS},
    # Imports and chunks whose worker died (expired lease): queued again for a live worker.
    "jobs-sweep": {"task": "leads.tasks.jobs_sweep_task", "schedule": max(JOB_LEASE_SECONDS / 2, 1.0)},
}
if SCORE_REFRESH_INTERVAL > 0:
    # Checked every minute; a workspace is rescored once per SCORE_REFRESH_INTERVAL slot, however
    # often beat sends this (a second beat, a restart).
    CELERY_BEAT_SCHEDULE["scores-refresh"] = {"task": "leads.tasks.scores_refresh_task",
                                              "schedule": min(60.0, float(SCORE_REFRESH_INTERVAL))}
# django-celery-beat's DatabaseScheduler (the Procfile's beat passes it too): the entries live in its
# tables, which `manage.py beat_schedule_sync` fills from CELERY_BEAT_SCHEDULE, so the admin shows them.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# No result backend, so nothing to expire (django-celery-beat would add a daily celery.backend_cleanup).
CELERY_RESULT_EXPIRES = None

# --- Cache ------------------------------------------------------------------------------------
# Throttle counters live in the cache, which every process must share: a per-process cache let N
# gunicorn workers give a user N times the rate. Scale-out: Redis (CACHE_URL, default: a Redis
# broker URL); embedded: the database.
CACHE_URL = env_str("CACHE_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
                          "KEY_PREFIX": "leadscore"}}
else:
    # The embedded default: the database, which web and worker processes share (its table is made by
    # migration 0008), so a throttle's rate is the rate whatever the number of web processes.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "leadscore_cache",
                          "KEY_PREFIX": "leadscore", "OPTIONS": {"MAX_ENTRIES": 100_000}}}

# --- Metrics ----------------------------------------------------------------------------------
# Prometheus scrapes /metrics with `Authorization: Bearer <METRICS_TOKEN>`; unset, only staff users can.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "leads.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": sys.stdout, "formatter": "plain",
                   "filters": ["redact"]},
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        # The SDK's HTTP client logs request URLs and, at DEBUG, headers: keep it at WARNING.
        "httpx": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes.apps": {"level": "WARNING"},  # a version banner in every process
    },
}
