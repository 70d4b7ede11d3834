"""Marginalia's one settings file, read from the environment and safe by default.

With no variables set, DEBUG is off and the site refuses to start without a real SECRET_KEY.
`make run` and the tests switch on development mode themselves (DEBUG=1).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from reader.database import database_settings

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MARGINALIA_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from exc


DEBUG = env_bool("DEBUG")

_DEV_SECRET_KEY = "django-insecure-development-only-never-use-in-production"  # noqa: S105
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string (or DEBUG=1 for development)."
        )
    SECRET_KEY = _DEV_SECRET_KEY
elif not DEBUG and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure")):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production: use 50+ random characters.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Where `make run` serves.
HOST = os.environ.get("HOST", "127.0.0.1")
PORT = env_int("PORT", 8000)
WEB_WORKERS = env_int("WEB_WORKERS", 1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "markdownx",
    "reader",
    "annotations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # After auth and htmx (its refusal is a page or a fragment): a NUL in the path or a
    # parameter is refused before any view could hand it to PostgreSQL.
    "annotations.http.NulRefusalMiddleware",
    # Last: the first to see a view's exception. Any refused write becomes its HTTP answer.
    "annotations.http.RefusalMiddleware",
]

ROOT_URLCONF = "reader.urls"
WSGI_APPLICATION = "reader.wsgi.application"
ASGI_APPLICATION = "reader.asgi.application"

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
                "annotations.notifications.context_processors.notifications",
            ],
        },
    },
]

DATABASES = {"default": database_settings(os.environ.get("DATABASE_URL"), VAR_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "library"
LOGOUT_REDIRECT_URL = "library"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
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
MEDIA_ROOT = VAR_DIR / "media"
# In development whitenoise serves straight from the app folders: no collectstatic needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Security: strict unless running in development mode. `check --deploy` passes in production
# mode when HTTPS settings are on (SECURE_SSL_REDIRECT etc. default on outside DEBUG).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if env_bool("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Marginalia <noreply@localhost>")

# Importing documents.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 5 * 1024 * 1024)
# Quotes, lists and HTML block elements inside one another; deeper input is refused.
IMPORT_MAX_NESTING = max(env_int("IMPORT_MAX_NESTING", 100), 1)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024  # pasted text arrives in the body
FILE_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024

# django-markdownx: previews go through our own renderer and its one sanitizer.
MARKDOWNX_MARKDOWNIFY_FUNCTION = "annotations.rendering.render_markdown"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": sys.stderr}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The embedded server narrates every start and stop; only its problems matter here.
        "pgserver": {"level": "WARNING"},
    },
}

# Caches: each process its own, in memory. "pages" keeps reading pages' annotated text (a few
# MB each for a long, heavily annotated book) per viewer and document, until a write on the
# document or a change in what the viewer may see makes a new one (annotations.reading.page).
PAGE_CACHE_ENTRIES = env_int("PAGE_CACHE_ENTRIES", 64)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "pages": (
        {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "pages",
            "TIMEOUT": 3600,
            "OPTIONS": {"MAX_ENTRIES": PAGE_CACHE_ENTRIES},
        }
        if PAGE_CACHE_ENTRIES > 0
        else {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}
    ),
}

# Annotations.
ANNOTATION_BODY_MAX_CHARS = env_int("ANNOTATION_BODY_MAX_CHARS", 10_000)
ANNOTATION_MAX_PARAGRAPHS = env_int("ANNOTATION_MAX_PARAGRAPHS", 200)
# Replies nest at most this deep (a reply to the note is at depth 1); a reply to one at the
# maximum depth is stored beside it, under the same parent, instead of one level deeper.
REPLY_MAX_DEPTH = max(env_int("REPLY_MAX_DEPTH", 50), 1)
# Importing W3C JSON-LD (or a Hypothesis export): the largest file, and most annotations in it.
ANNOTATION_IMPORT_MAX_BYTES = env_int("ANNOTATION_IMPORT_MAX_BYTES", 20 * 1024 * 1024)
ANNOTATION_IMPORT_MAX_COUNT = env_int("ANNOTATION_IMPORT_MAX_COUNT", 20_000)
# The API's page size for annotation collections.
API_PAGE_SIZE = env_int("API_PAGE_SIZE", 100)

# Rate limits per person, as (window seconds, most acts in it). Defaults a lively study group
# never meets but a script does. RATE_LIMITS_ENABLED=0 switches them off (benchmarks).
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
RATE_LIMITS = {
    "post": [
        (60, env_int("RATE_LIMIT_POSTS_PER_MINUTE", 30)),
        (3600, env_int("RATE_LIMIT_POSTS_PER_HOUR", 400)),
    ],
    "flag": [
        (60, env_int("RATE_LIMIT_FLAGS_PER_MINUTE", 10)),
        (3600, env_int("RATE_LIMIT_FLAGS_PER_HOUR", 60)),
    ],
}

# The site's own address, for links in emails.
SITE_URL = os.environ.get("SITE_URL", f"http://{HOST}:{PORT}")

# Live updates (Server-Sent Events fanned out through PostgreSQL LISTEN/NOTIFY).
LIVE_HEARTBEAT_SECONDS = env_int("LIVE_HEARTBEAT_SECONDS", 15)
LIVE_RETRY_MS = env_int("LIVE_RETRY_MS", 2000)
LIVE_CATCH_UP_SECONDS = env_int("LIVE_CATCH_UP_SECONDS", 3600)
LIVE_MAX_STREAMS_PER_PERSON = env_int("LIVE_MAX_STREAMS_PER_PERSON", 8)
