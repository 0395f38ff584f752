"""Test overrides of requests_portal.settings (the one settings file)."""

import os
from pathlib import Path

_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ.setdefault(
    "PORTAL_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test" / _worker)
)

from requests_portal.settings import *  # noqa: E402, F403
from requests_portal.settings import CACHES, DATABASES, VAR_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405

# One cache per xdist worker (the workers inherit the first process's PORTAL_VAR_DIR): each test
# empties the cache, which must not sign another worker's test out.
if CACHES["default"]["BACKEND"].endswith("FileBasedCache"):
    CACHES["default"]["LOCATION"] = str(VAR_DIR / "cache" / _worker)
else:
    CACHES["default"]["KEY_PREFIX"] = f"test-{_worker}"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that a real Celery worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_portal.sqlite3")}

# Django's test client signs in without a request, which django-axes refuses; the lockout tests
# (tests/requests_portal/test_accounts.py) switch it back on with the settings fixture.
AXES_ENABLED = False

# WhiteNoise serves STATIC_ROOT and warns when it does not exist; tests serve from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# The product defaults to Persian; tests read messages in English unless they ask for Persian
# (Accept-Language: fa, or translation.override("fa")), now that the Persian catalog is complete.
LANGUAGE_CODE = "en"
