"""Requests Portal settings: one file, read from the environment.

Every value defaults to the embedded shape (SQLite, Celery on the filesystem
transport, files on local disk under ``var/``), so ``make demo`` needs nothing
set. Production sets DATABASE_URL, CELERY_BROKER_URL, PORTAL_STORAGE=s3, …
Test overrides live in ``tests/settings.py``.
"""

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _embedded_secret_key() -> str:
    """The embedded shape keeps a generated key beside its SQLite file (state, not config)."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DJANGO_DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or _embedded_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_htmx",
    "requests_portal",
    "workflow",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's, reading the session's device from the cached user (accounts.staff_state).
    "requests_portal.accounts.staff_state.StaffOTPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during sign-in into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "requests_portal.urls"
WSGI_APPLICATION = "requests_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Django's cached loader over the project's and the apps' templates, each template's
            # constant text (with its literal translations) joined once per language.
            "loaders": [
                (
                    "requests_portal.template_loader.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the Celery worker write to one file: wait for the lock instead of
    # failing, and take the write lock at BEGIN so that select_for_update-style sections serialise.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users, roles, sign-in ------------------------------------------------------------------
AUTH_USER_MODEL = "requests_portal.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out sign-in before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, with the user, role, permissions and devices read from the cache.
    "requests_portal.accounts.staff_state.StaffBackend",
]
# How long the gate's cached state of a user lives at most: the bound for changes to users,
# groups or devices made outside the ORM (every ORM change takes effect on the next request).
PORTAL_STAFF_CACHE_SECONDS = int(os.environ.get("PORTAL_STAFF_CACHE_SECONDS", "60"))
# Staff sign in with a password and then a TOTP code; the password alone opens no staff page.
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Requests Portal")
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "1"))  # hours
# Per user and address together: a stranger cannot lock a colleague out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Sessions, the sign-in gate's state and rendered pages are read from the cache. It must be
# shared by every process that changes data (web workers, Celery workers, commands), because
# those changes invalidate what it holds (workflow.freshness): CACHE_URL (redis://…) in
# production; the embedded shape's processes share a file cache under var/cache.
_cache_url = os.environ.get("CACHE_URL", "")
CACHES: dict[str, dict[str, object]] = {
    "default": (
        {"BACKEND": "requests_portal.cache.PortalRedisCache", "LOCATION": _cache_url}
        if _cache_url.startswith(("redis://", "rediss://"))
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
            "OPTIONS": {"MAX_ENTRIES": 5000},
        }
    )
}
# How long a rendered officer page (dashboard, order page) is kept at most; 0 renders every view.
# Within that time a page is served from the cache only while nothing it shows has changed.
PORTAL_PAGE_CACHE_SECONDS = int(os.environ.get("PORTAL_PAGE_CACHE_SECONDS", "300"))
# Django's cached_db sessions; a cached staff page reads one beside the page (accounts.sessions).
SESSION_ENGINE = "requests_portal.accounts.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))

# --- Languages: Persian first, English ------------------------------------------------------
LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "fa")
LANGUAGES = [("fa", _("Persian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Tehran")

# --- Files ----------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "requests_portal" / "static"]
PORTAL_FILES_DIR = Path(os.environ.get("PORTAL_FILES_DIR", VAR_DIR / "files"))
if os.environ.get("PORTAL_STORAGE", "local") == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("PORTAL_S3_BUCKET", ""),
            "endpoint_url": os.environ.get("PORTAL_S3_ENDPOINT") or None,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": PORTAL_FILES_DIR, "base_url": None},
    }
STORAGES = {
    # Scanned orders and packages are encrypted at rest (workflow.vault; key: PORTAL_DATA_KEY).
    "default": {"BACKEND": "workflow.vault.EncryptedStorage", "OPTIONS": {"inner": _default_storage}},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
ORDER_DOCUMENT_MAX_BYTES = int(os.environ.get("ORDER_DOCUMENT_MAX_BYTES", str(20 * 1024 * 1024)))

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_FS_DIR = Path(os.environ.get("CELERY_FS_DIR", VAR_DIR / "broker"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("out", "processed", "control"):
        (CELERY_FS_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FS_DIR / "out"),
        "data_folder_out": str(CELERY_FS_DIR / "out"),
        "processed_folder": str(CELERY_FS_DIR / "processed"),
        # The exchange tables too, under var/ (kombu's default is ./control in the working directory).
        "control_folder": str(CELERY_FS_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_IMPORTS = ["workflow.audit.tasks"]
AUDIT_CHECKPOINT_MINUTES = float(os.environ.get("AUDIT_CHECKPOINT_MINUTES", "15"))
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "workflow.audit.tasks.make_checkpoint",
    "schedule": AUDIT_CHECKPOINT_MINUTES * 60,
}
# The dashboard's time-per-state chart reads a summary this task recomputes from the audit trail.
PORTAL_CHART_REFRESH_MINUTES = float(os.environ.get("PORTAL_CHART_REFRESH_MINUTES", "10"))
CELERY_IMPORTS.append("workflow.tasks_stats")
CELERY_BEAT_SCHEDULE["dashboard-state-dwell"] = {
    "task": "workflow.tasks_stats.refresh_state_dwell",
    "schedule": PORTAL_CHART_REFRESH_MINUTES * 60,
}
CELERY_BEAT_SCHEDULE["audit-verify"] = {
    "task": "workflow.audit.tasks.verify_trail",
    "schedule": float(os.environ.get("AUDIT_VERIFY_HOURS", "24")) * 3600,
}
# verify_audit on PostgreSQL: processes that each verify a range of streams. "auto" (the default):
# two on a host with two or more CPUs once the trail holds 100,000 events, else one (each process
# keeps a core busy, its server backend much of another; a small trail is done before a fork pays).
_verify_processes = os.environ.get("AUDIT_VERIFY_PROCESSES", "auto").strip().lower()
AUDIT_VERIFY_PROCESSES = None if _verify_processes == "auto" else int(_verify_processes)

# --- Signing, encryption at rest, audit witness ---------------------------------------------
SIGNING_DIR = Path(os.environ.get("SIGNING_DIR", VAR_DIR / "signing"))
SIGNING_KEY_PATH = Path(os.environ.get("SIGNING_KEY_PATH", SIGNING_DIR / "signer.key.pem"))
SIGNING_CERT_PATH = Path(os.environ.get("SIGNING_CERT_PATH", SIGNING_DIR / "signer.cert.pem"))
SIGNING_CA_CERT_PATH = Path(os.environ.get("SIGNING_CA_CERT_PATH", SIGNING_DIR / "ca.cert.pem"))
SIGNING_KEY_PASSPHRASE = os.environ.get("SIGNING_KEY_PASSPHRASE", "")
# --- Packages (issue 4) ----------------------------------------------------------------------
# Categories longer than this print their first rows; every row is in the attachments.
PACKAGE_PRINTED_ROWS = int(os.environ.get("PACKAGE_PRINTED_ROWS", "50"))
# Printed rows per chunk rendered in parallel, and how many processes render them.
PACKAGE_CHUNK_ROWS = int(os.environ.get("PACKAGE_CHUNK_ROWS", "1500"))
PACKAGE_RENDER_PROCESSES = int(os.environ.get("PACKAGE_RENDER_PROCESSES", "2"))
# A build claim not refreshed for this long belongs to a dead worker and may be taken over.
PACKAGE_CLAIM_LEASE_SECONDS = int(os.environ.get("PACKAGE_CLAIM_LEASE_SECONDS", "120"))
# Where the build reads the scoped data from (the data map's extraction, issue 3).
PACKAGE_EXTRACTOR = os.environ.get("PACKAGE_EXTRACTOR", "workflow.package.build.extract_with_datamap")
PACKAGE_VERIFY_MAX_BYTES = int(os.environ.get("PACKAGE_VERIFY_MAX_BYTES", str(200 * 1024 * 1024)))
PACKAGE_MAX_ATTEMPTS = int(os.environ.get("PACKAGE_MAX_ATTEMPTS", "3"))
PACKAGE_TIME_LIMIT_SECONDS = int(os.environ.get("PACKAGE_TIME_LIMIT_SECONDS", "900"))
AUDIT_WITNESS_DIR = Path(os.environ.get("AUDIT_WITNESS_DIR", VAR_DIR / "witness"))
# Production keeps the witness in object storage the database's administrators cannot rewrite
# (e.g. an S3 bucket with object lock): name a STORAGES alias here; empty = AUDIT_WITNESS_DIR.
AUDIT_WITNESS_STORAGE = os.environ.get("AUDIT_WITNESS_STORAGE", "")
if AUDIT_WITNESS_STORAGE == "audit_witness":
    STORAGES["audit_witness"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("AUDIT_WITNESS_BUCKET", ""),
            "endpoint_url": os.environ.get("PORTAL_S3_ENDPOINT") or None,
            "default_acl": "private",
            "file_overwrite": False,
        },
    }

# --- The store -----------------------------------------------------------------------------
STORE_NAME = os.environ.get("STORE_NAME", "Saray-e Parsian")
STORE_NAME_FA = os.environ.get("STORE_NAME_FA", "سرای پارسیان")
STORE_DATAMAPS = env_list("STORE_DATAMAPS", str(VAR_DIR / "store" / "datamap.yaml"))

# --- Logging: no personal data in logs ------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request logs carry query strings, which may carry identifiers: keep them at WARNING.
        "django.request": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        "pikepdf": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "ERROR"},
    },
}

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# --- Customers: sign-in, notices, data-subject requests, retention (issue 7) ---------------
CUSTOMER_PORTAL_URL = os.environ.get("CUSTOMER_PORTAL_URL", "http://localhost:8000/me/")
CUSTOMER_SIGN_IN = {
    "code_minutes": int(os.environ.get("CUSTOMER_CODE_MINUTES", "10")),
    "attempts_per_code": int(os.environ.get("CUSTOMER_CODE_ATTEMPTS", "5")),
    "codes_per_identifier": int(os.environ.get("CUSTOMER_CODES_PER_IDENTIFIER", "3")),
    "identifier_window_minutes": int(os.environ.get("CUSTOMER_IDENTIFIER_WINDOW_MINUTES", "15")),
    "codes_per_ip": int(os.environ.get("CUSTOMER_CODES_PER_IP", "20")),
    "ip_window_minutes": int(os.environ.get("CUSTOMER_IP_WINDOW_MINUTES", "60")),
}
CUSTOMER_SESSION_SECONDS = int(os.environ.get("CUSTOMER_SESSION_SECONDS", str(30 * 60)))
# E-mail: Django's backends (console by default; smtp with EMAIL_HOST etc.; file with EMAIL_FILE_PATH).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "outbox" / "email"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "privacy@store.example")
# SMS: a dotted path to a workflow.notify.sms backend (ConsoleSms, FileSms, HttpSmsGateway).
PORTAL_SMS_BACKEND = os.environ.get("PORTAL_SMS_BACKEND", "workflow.notify.sms.ConsoleSms")
PORTAL_SMS_FILE_PATH = os.environ.get("PORTAL_SMS_FILE_PATH", str(VAR_DIR / "outbox" / "sms.jsonl"))
PORTAL_SMS_OPTIONS = {
    key: value
    for key, value in {
        "url": os.environ.get("PORTAL_SMS_URL", ""),
        "api_key": os.environ.get("PORTAL_SMS_API_KEY", ""),
        "sender": os.environ.get("PORTAL_SMS_SENDER", ""),
    }.items()
    if value
}
DSR_RESPONSE_MONTHS = int(os.environ.get("DSR_RESPONSE_MONTHS", "1"))
DSR_REMINDER_DAYS = int(os.environ.get("DSR_REMINDER_DAYS", "7"))
# Store data kept by law whatever the customer asks (erasure is refused for it, citing the basis).
# JSON: {"<category>": {"years": N, "basis": "…"}}.
STORE_RETENTION_RULES = json.loads(
    os.environ.get(
        "STORE_RETENTION_RULES",
        '{"invoice": {"years": 10, "basis": "Direct Taxation Act (invoices and books of account)"}}',
    )
)
# How long the portal keeps what it produced, in days after the request or order ended.
PORTAL_RETENTION_DAYS = {
    "disclosure_package": int(os.environ.get("RETAIN_DISCLOSURE_PACKAGE_DAYS", str(5 * 365))),
    "access_package": int(os.environ.get("RETAIN_ACCESS_PACKAGE_DAYS", "90")),
    "order_document": int(os.environ.get("RETAIN_ORDER_DOCUMENT_DAYS", str(5 * 365))),
}
# The customers' tasks, which the schedule below sends: a worker that had not imported them would
# drop each as "unregistered" (they are otherwise imported only by the services that queue them).
CELERY_IMPORTS.append("workflow.tasks_customers")
CELERY_BEAT_SCHEDULE.update(
    {
        "notify-visible-disclosures": {
            "task": "workflow.tasks_customers.notify_visible_disclosures",
            "schedule": 900.0,
        },
        "resume-deferred-erasures": {
            "task": "workflow.tasks_customers.resume_deferred_erasures",
            "schedule": 3600.0,
        },
        "remind-due-requests": {
            "task": "workflow.tasks_customers.remind_due_requests",
            "schedule": 6 * 3600.0,
        },
        "purge-expired-files": {
            "task": "workflow.tasks_customers.purge_expired_files",
            "schedule": 24 * 3600.0,
        },
    }
)
