"""Unit-test settings: SQLite, a fast hasher, the local intent provider and eager Celery.

Only the unit suite uses this; the integration suite runs the real settings against PostgreSQL,
Redis and a separate worker.
"""

import os
import tempfile

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="leadscore-test-"))
os.environ["INTENT_PROVIDER"] = os.environ.get("TEST_INTENT_PROVIDER", "local")
os.environ.pop("OPENAI_API_KEY", None)
os.environ.pop("DATABASE_URL", None)
os.environ.pop("CELERY_BROKER_URL", None)
os.environ["WEBHOOK_ALLOW_PRIVATE"] = "1"  # the tests' receivers listen on 127.0.0.1

from main.settings import *  # noqa: F403
from main.settings import DATA_DIR, REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "test.sqlite3"),
        "TEST": {"NAME": str(DATA_DIR / "test.sqlite3")},
    }
}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_BROKER_TRANSPORT = None  # the URL's own (memory), not the embedded filesystem broker's
JOB_WAIT_SECONDS = 5.0
# Throttles are tested explicitly with their own rates.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"upload": "10000/hour", "score": "10000/hour"}}
MEDIA_ROOT = DATA_DIR / "media"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# One process: the embedded default's database cache (shared by processes) would only add queries to
# the tests' query counts; the integration suite runs it across real processes.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
