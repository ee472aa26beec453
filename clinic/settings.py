"""CycleDesk settings, read from the environment only.

Every value has an embedded default so that `make run` works on a fresh machine
(SQLite under var/, a filesystem broker, console email and SMS). A value that is
set but cannot be parsed stops the process at import time instead of being
silently replaced by a default.
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
import phonenumbers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_str(name: str, default: str = "") -> str:
    return _raw(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name, "1" if default else "0").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false, yes/no, on/off).")


def env_int(name: str, default: int) -> int:
    value = _raw(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in _raw(name, default).split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} must be one of {', '.join(choices)}.")
    return value


DEBUG = env_bool("DJANGO_DEBUG", False)
PRODUCTION = env_bool("CYCLEDESK_PRODUCTION", False)
SECRET_KEY_FILE = VAR_DIR / "secret_key"


def _local_secret_key(path: Path) -> str:
    """The key of this checkout: made once, at random, by the first process that needs it (`make run`)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting at once, one writes and the other reads what it wrote.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as out:
        out.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


# No key is committed. Production takes it from the environment or refuses to start; a
# development checkout uses the random key that `make run` leaves in var/secret_key.
SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: production (CYCLEDESK_PRODUCTION=1) refuses to start without a secret "
            "key. Set DJANGO_SECRET_KEY to a long random value, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, the same for web, worker and beat."
        )
    SECRET_KEY = _local_secret_key(SECRET_KEY_FILE)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# The public base URL of links in messages. Unset, it is the address served here: `make run`
# exports http://$(HOST):$(PORT), so links follow `make run PORT=9000`; else port $PORT.
SITE_URL = (env_str("SITE_URL", "") or f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")
CLINIC_NAME = env_str("CLINIC_NAME", "CycleDesk Clinic")
# The clinic's logo on every staff and patient page: a path under the static files
# (e.g. "web/clinic-logo.svg") or an https:// URL the clinic hosts; empty for none.
CLINIC_LOGO = env_str("CLINIC_LOGO", "web/cycledesk-logo.svg")
# The number patients are told to call when a link no longer works and the link names
# no location (diary links); a location's own phone is used when it has one.
CLINIC_PHONE = env_str("CLINIC_PHONE", "")
# The letterhead of the reauthorisation packet and the referral letter (one line, commas between parts).
CLINIC_ADDRESS = env_str("CLINIC_ADDRESS", "")

INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",  # django.contrib.admin with CycleDesk's site (login, MFA, audit)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "clinic",
    "patients",
    "scheduling",
    "cycles",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below whitenoise, so static files keep their long cache; everything else is no-store.
    "clinic.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clinic.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "clinic.urls"
WSGI_APPLICATION = "clinic.wsgi.application"

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
                "clinic.context_processors.clinic",
            ],
            # The web UI's filters (human labels, local times, phones) in every template.
            "builtins": ["clinic.web.filters"],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'cycledesk.sqlite3'}")
# Production keeps each process's connection open across requests and checks it before reusing it after
# an error or a database restart (issue 16: a new PostgreSQL connection per request; bench/booking.py,
# 5 sync workers: 18 bookings/s kept against 12 with DB_CONN_MAX_AGE=0 on the shared 2-core machine).
# CONN_MAX_AGE rather than psycopg's pool: a sync gunicorn worker serves one request at a time, so a
# pool per process would hold the one connection a persistent connection already keeps, for a new
# dependency (psycopg[pool]). DB_CONN_MAX_AGE overrides it (0: a connection per request).
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 600 if PRODUCTION else 0)
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout + BEGIN IMMEDIATE: the web process and the worker share
    # one file, and IMMEDIATE takes the write lock at BEGIN, which is also what
    # serialises bookings on SQLite (no exclusion constraints there).
    _db["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # A file, not :memory:, so a live server thread and a real worker see the test data.
    _db_path = Path(_db["NAME"] or VAR_DIR / "cycledesk.sqlite3")
    _db["TEST"] = {"NAME": str(_db_path.with_name(f"test-{_db_path.stem}.sqlite3"))}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    pass
else:
    raise ImproperlyConfigured(f"DATABASE_URL engine {_db['ENGINE']} is not supported (use postgres or sqlite).")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True  # the 30 minutes are idle time, not time since login
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

# Login lockout (django-axes), counted in the shared cache below so that every web process
# sees the same failures: 5 for a username from one address, 10 for a username from any
# address, 20 from one address over any usernames (one password sprayed over many accounts).
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_USERNAME_FAILURE_LIMIT = env_int("AXES_USERNAME_FAILURE_LIMIT", 2 * AXES_FAILURE_LIMIT)
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 4 * AXES_FAILURE_LIMIT)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username", "ip_address"]
AXES_HANDLER = "clinic.lockout.SharedCacheLockoutHandler"
AXES_CACHE = "default"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)
# The API answers a lockout in its own error shape (429 throttled), not axes' HTML page.
AXES_LOCKOUT_CALLABLE = "clinic.api.auth.lockout_response"

# API tokens expire this long after issue; logout revokes them (API.md, Security).
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 12)
if API_TOKEN_TTL_HOURS < 1:
    raise ImproperlyConfigured(f"API_TOKEN_TTL_HOURS={API_TOKEN_TTL_HOURS} must be at least 1.")
# TOTP second factor (django-otp) for these roles: they get no token and no web session before
# enrolling. Off on the embedded default; production asks it of clinicians and clinic admins.
_ROLE_NAMES = ("front_desk", "clinician", "clinic_admin")  # clinic.roles.ALL_ROLES (not importable here)
MFA_REQUIRED_ROLES = env_list("MFA_REQUIRED_ROLES", "clinician,clinic_admin" if PRODUCTION else "")
if set(MFA_REQUIRED_ROLES) - set(_ROLE_NAMES):
    raise ImproperlyConfigured(f"MFA_REQUIRED_ROLES={MFA_REQUIRED_ROLES!r}: roles are {', '.join(_ROLE_NAMES)}.")
OTP_TOTP_ISSUER = CLINIC_NAME
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# --- Security headers (check --deploy clean when CYCLEDESK_PRODUCTION=1) ---------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- I18N / time ------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_CLINIC_TIME_ZONE = env_str("DEFAULT_CLINIC_TIME_ZONE", "America/New_York")
try:
    ZoneInfo(DEFAULT_CLINIC_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"DEFAULT_CLINIC_TIME_ZONE={DEFAULT_CLINIC_TIME_ZONE!r} is not an IANA zone.") from None
DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "US")
if DEFAULT_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured(f"DEFAULT_PHONE_REGION={DEFAULT_PHONE_REGION!r} is not a region code.")

# --- Static files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Browser libraries come from npm (package.json; `npm ci` in the Makefile), served by
# staticfiles under vendor/, never from a CDN at run time.
STATICFILES_DIRS += [
    ("vendor/pico", BASE_DIR / "node_modules" / "@picocss" / "pico" / "css"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    ("vendor/chartjs-plugin-annotation", BASE_DIR / "node_modules" / "chartjs-plugin-annotation" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# --- REST framework --------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header is what makes DRF answer 401, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "clinic.api.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "clinic.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["clinic.api.parsers.JSONParser"],  # JSON only: anything else is 415
    "EXCEPTION_HANDLER": "clinic.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth_token": env_str("AUTH_TOKEN_THROTTLE", "10/min")},
    "DATETIME_FORMAT": "iso-8601",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CycleDesk API",
    "DESCRIPTION": "Treatment-cycle scheduling for chronic-migraine clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "clinic.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SessionKindEnum": "scheduling.models.Session.Kind",
        "SessionStatusEnum": "scheduling.models.Session.Status",
        "AdverseEventKindEnum": "cycles.models.AdverseEvent.Kind",
        "AuthorizationStatusEnum": "cycles.models.Authorization.Status",
        "DueAuthorizationStatusEnum": ["ok", "missing", "expiring", "not_required"],
    },
}

# --- Cache (login lockout, throttles) ---------------------------------------------------------
# Shared by every web process: Redis in production, a database table on the embedded default
# (made by `migrate`, see clinic/apps.py). Never a per-process memory cache: counted per gunicorn
# worker, a throttle of 10 a minute lets 10 a minute through each worker.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cycledesk_cache"}}

# --- Celery ---------------------------------------------------------------------------------
# Default broker: kombu's filesystem transport, which needs no server, so `make run`
# runs a real worker and beat on a fresh machine. Production sets a redis:// URL.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = Path(env_str("CELERY_BROKER_DIR", str(VAR_DIR / "broker")))
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Tasks not acknowledged within this time are redelivered; longer than any task.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    raise ImproperlyConfigured("CELERY_BROKER_URL must be filesystem:// or redis://...")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"

# --- Delivery backends -------------------------------------------------------------------------
EMAIL_CHANNEL = env_choice("EMAIL_BACKEND", "console", ("console", "file", "smtp", "anymail", "locmem"))
EMAIL_BACKEND = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "anymail": env_str("ANYMAIL_BACKEND", "anymail.backends.postmark.EmailBackend"),
}[EMAIL_CHANNEL]
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "CycleDesk <no-reply@cycledesk.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

SMS_BACKEND = env_choice("SMS_BACKEND", "console", ("console", "file", "twilio", "locmem"))
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(VAR_DIR / "sms"))
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
if SMS_BACKEND == "twilio" and not (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER):
    raise ImproperlyConfigured("SMS_BACKEND=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER.")
PATIENT_LINK_MAX_AGE_DAYS = env_int("PATIENT_LINK_MAX_AGE_DAYS", 30)
# Offer a cancelled treatment slot to the patients due then (API.md, Slot offers); 0 turns it off.
SLOT_OFFERS_ENABLED = env_bool("SLOT_OFFERS_ENABLED", True)
# A notification left in `sending` this long (its worker died) is given back to pending.
NOTIFICATION_CLAIM_TIMEOUT_SECONDS = env_int("NOTIFICATION_CLAIM_TIMEOUT_SECONDS", 600)

# Request paths are logged without query strings and without patient-link tokens
# (clinic/access_log.py; gunicorn's access log uses the same rule through its logger class).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_paths": {"()": "clinic.access_log.RedactPathsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_paths"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
