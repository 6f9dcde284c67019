"""Django settings for GreenLedger, read from environment variables.

| variable | default | meaning |
| --- | --- | --- |
| ``DATABASE_URL`` | ``sqlite:///<data dir>/greenledger.sqlite3`` | any URL dj-database-url understands |
| ``SECRET_KEY`` | a development key (``check --deploy`` refuses it) | Django's secret key |
| ``DEBUG`` | ``false`` | ``true`` only for development |
| ``ALLOWED_HOSTS`` | ``127.0.0.1,localhost`` | comma separated |
| ``CSRF_TRUSTED_ORIGINS`` | empty | comma separated, e.g. ``https://ledger.example.cn`` |
| ``GREENLEDGER_DATA_DIR`` | ``var/`` | uploaded files, keys, the SQLite file |
| ``GREENLEDGER_SPOOL_DIR`` | ``<data dir>/spool`` | work answered for and not yet written (camera pushes); keep it on local disk |
| ``TIME_ZONE`` | ``Asia/Shanghai`` | the sites' default time zone for display |
| ``LANGUAGE_CODE`` | ``zh-hans`` | default UI language (``en`` available) |
| ``GREENLEDGER_HTTPS`` | ``false`` | ``true`` behind TLS: secure cookies, HSTS, redirect |
| ``EMAIL_URL``-style settings | console backend | ``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``, ``EMAIL_USE_TLS``, ``DEFAULT_FROM_EMAIL`` |
"""

import os
from pathlib import Path

import dj_database_url
import django

PACKAGE_DIR = Path(__file__).resolve().parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("GREENLEDGER_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEV_SECRET_KEY = "django-insecure-greenledger-development-only-do-not-use-in-production"
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "ninja",
    "axes",
    "auditlog",
    "greenledger.core",
    "greenledger.evidence",
    "greenledger.measures",
    "greenledger.telemetry",
    "greenledger.carbon",
    "greenledger.gate",
    "greenledger.uplink",
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
    "auditlog.middleware.AuditlogMiddleware",
    # AxesMiddleware last: it turns a lock-out into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "greenledger.urls"
WSGI_APPLICATION = "greenledger.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "greenledger.core.context_processors.navigation",
            ],
        },
    },
]

# Database -----------------------------------------------------------------------------------

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'greenledger.sqlite3'}",
        # persistent connections (gunicorn workers): a new PostgreSQL connection per request cost the
        # camera endpoint a third of its throughput; runserver still closes them after each request
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# A request's writes, their audit entries and their evidence seals commit together or not at all.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked". The WAL is
    # copied back into the database every 4,000 pages (16 MB) rather than SQLite's 1,000: telemetry
    # batches rewrite the same index pages, and each copy ends with an fsync (docs/benchmarks.md).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
            "PRAGMA wal_autocheckpoint=4000;",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-greenledger.sqlite3")}
elif os.environ.get("GREENLEDGER_TEST_DB"):
    # lets two test runs share one PostgreSQL server without fighting over test_<name>
    DATABASES["default"]["TEST"] = {"NAME": os.environ["GREENLEDGER_TEST_DB"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Authentication -----------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lock-out after repeated failed logins (django-axes): per user name and address.
AXES_FAILURE_LIMIT = int(os.environ.get("GREENLEDGER_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("GREENLEDGER_LOGIN_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True

# Internationalisation -----------------------------------------------------------------------

LANGUAGE_CODE = os.environ.get("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# Static and uploaded files ------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"
# work answered for and not yet written (greenledger.core.spool): camera pushes are answered first
GREENLEDGER_SPOOL_DIR = Path(os.environ.get("GREENLEDGER_SPOOL_DIR", DATA_DIR / "spool"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without collectstatic (development, tests) whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Attachments: what may be uploaded, and how large.
GREENLEDGER_ATTACHMENT_MAX_BYTES = int(os.environ.get("GREENLEDGER_ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

# Evidence log -------------------------------------------------------------------------------

GREENLEDGER_EVIDENCE_KEY = Path(
    os.environ.get("GREENLEDGER_EVIDENCE_KEY", str(DATA_DIR / "keys" / "evidence-ed25519.pem"))
)

# Notifications ------------------------------------------------------------------------------

EMAIL_BACKEND_PATH = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
SMTP_OPTIONS = {
    "host": os.environ.get("EMAIL_HOST", "localhost"),
    "port": int(os.environ.get("EMAIL_PORT", "25")),
    "username": os.environ.get("EMAIL_HOST_USER", ""),
    "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
    "use_tls": env_bool("EMAIL_USE_TLS", False),
}
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": EMAIL_BACKEND_PATH,
                           "OPTIONS": SMTP_OPTIONS if EMAIL_BACKEND_PATH.endswith("smtp.EmailBackend") else {}}}
else:
    EMAIL_BACKEND = EMAIL_BACKEND_PATH
    EMAIL_HOST, EMAIL_PORT = SMTP_OPTIONS["host"], SMTP_OPTIONS["port"]
    EMAIL_HOST_USER, EMAIL_HOST_PASSWORD = SMTP_OPTIONS["username"], SMTP_OPTIONS["password"]
    EMAIL_USE_TLS = SMTP_OPTIONS["use_tls"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "greenledger@localhost")
# Channel name -> adapter class. Replace the logging adapters with real SMS/webhook gateways.
GREENLEDGER_NOTIFICATION_ADAPTERS = {
    "sms": os.environ.get("GREENLEDGER_SMS_ADAPTER", "greenledger.core.notifications.LoggingAdapter"),
    "webhook": os.environ.get("GREENLEDGER_WEBHOOK_ADAPTER", "greenledger.core.notifications.LoggingAdapter"),
}

# Audit of master data (django-auditlog) -----------------------------------------------------

AUDITLOG_INCLUDE_ALL_MODELS = False
AUDITLOG_LOGENTRY_MODEL = "core.AuditEntry"
# auditlog's own migrations always create its default table, which is unused once the log entry
# model is swapped for core.AuditEntry (and would block test flushes on PostgreSQL).
MIGRATION_MODULES = {"auditlog": None}
AUDITLOG_DISABLE_REMOTE_ADDR = False

# Security for production --------------------------------------------------------------------

HTTPS = env_bool("GREENLEDGER_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
