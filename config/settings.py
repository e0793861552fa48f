"""Plugway settings, read from the environment only.

With nothing set you get the embedded default: a SQLite file, Celery tasks run eagerly, a
local-memory cache, console email and DEBUG on. `DJANGO_ENV=production` turns on the
production posture and refuses to start until every variable it needs is set.
See `.env.example` for the full list.
"""

import hashlib
import ipaddress
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Generic Django classes (ModelAdmin[Location], ...) as mypy sees them, at run time too.
django_stubs_ext.monkeypatch()

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
PRODUCTION = DJANGO_ENV == "production"
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be 'development' or 'production', not {DJANGO_ENV!r}"
    )


def required_in_production(name: str, default: str) -> str:
    """The variable's value; in production a missing one stops the start with its name."""
    if PRODUCTION and not env.str(name, default=""):
        raise ImproperlyConfigured(f"DJANGO_ENV=production needs the environment variable {name}.")
    value: str = env.str(name, default=default)
    return value


SECRET_KEY = required_in_production("SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production")
if PRODUCTION and (len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-only")):
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 50 characters.")
DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "DJANGO_ENV=production needs the environment variable ALLOWED_HOSTS."
    )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The public https origin partners and browsers reach us at; used for absolute URLs we hand out
# (OCPI versions URL, Stripe return URLs, links in emails). Unset: the first allowed host over
# https in production; in development the loopback port the app serves (PORT, as
# `scripts/dev.py run` reads it), so every process (the server, `partner_invite`) agrees.
SITE_URL = env.str(
    "SITE_URL",
    default=f"https://{ALLOWED_HOSTS[0]}"
    if PRODUCTION
    else f"http://127.0.0.1:{env.int('PORT', default=8000)}",
).rstrip("/")
# What emails and pages call us ("Hello from Plugway!").
SITE_NAME = env.str("SITE_NAME", default="Plugway")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "csp",
    "accounts",
    "locator",
    "payments",
    "roaming",
    # The project's own app, last: rows every app shares (the outbox, config.outbox).
    "config",
]
if not PRODUCTION:
    # The simulated partner network (sandbox CPO) and its tooling: development and tests only.
    INSTALLED_APPS.append("sandbox")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Partner API calls (/ocpi/) are answered here, without the browser middleware below.
    "roaming.middleware.OcpiMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.QueryTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "config.accounts.StaffMfaMiddleware",
    # Last, so its process_exception sees what the views raise first.
    "config.middleware.ServiceUnavailableMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite file unless DATABASE_URL is set; production insists on a real server.
if PRODUCTION:
    required_in_production("DATABASE_URL", "")
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, checking a persistent connection only after it sat idle (config/db).
    DATABASES["default"]["ENGINE"] = "config.db"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database host that has gone silent costs a request 2 s (libpq's least), then a 503.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 2
elif PRODUCTION:
    raise ImproperlyConfigured("DJANGO_ENV=production needs DATABASE_URL to point at PostgreSQL.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers (web threads, a retried capture) wait for SQLite's write lock instead
    # of failing: transactions take it when they begin, and waiting is allowed. Tests use a
    # file too, because SQLite's shared in-memory database fails at once instead of waiting.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
    _checkout = hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:12]
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(Path(tempfile.gettempdir()) / f"plugway-test-{_checkout}.sqlite3")
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Django 6 behaviour now: a URL typed without a scheme is https.
FORMS_URLFIELD_ASSUME_HTTPS = True

# Redis backs the cache (rate limits, geocoder results) and Celery; without it, local memory and
# eager tasks, so one process is enough on a laptop.
REDIS_URL = required_in_production("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 300
CELERY_TASK_TIME_LIMIT = 360
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Redis redelivers unacknowledged tasks after this long; retries back off well below it.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "clear-expired-sessions": {
        "task": "config.tasks.expired_sessions_clear",
        "schedule": crontab(hour=3, minute=17),
    },
    # Work stored while the broker was down (config.outbox) leaves within seconds of its return.
    "outbox-relay": {
        "task": "config.tasks.pending_tasks_relay",
        "schedule": timedelta(seconds=5),
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# Sign-up also asks for the public display name (accounts.forms).
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupFields"
# allauth names a signed-in driver by the display name, never by the email's local part.
ACCOUNT_USER_DISPLAY = "accounts.services.display_name_of"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# Confirming in the browser that signed up signs in; another browser is asked to sign in.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
# allauth's default limits (login failures per IP and per account, sign-ups, resets) stay on;
# they need a shared cache, which production has through Redis.
ACCOUNT_RATE_LIMITS: dict[str, str] = {}
# Two-factor authentication: an authenticator app (TOTP) with recovery codes; any driver may
# turn it on, staff must (config.accounts.StaffMfaMiddleware).
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Plugway"
# Drivers see where they are signed in (started, IP, browser) and can end the other sessions.
# Activity is not tracked: that would write to the database on every request.
USERSESSIONS_TRACK_ACTIVITY = False
# How many reverse proxies we run in front of the app, each appending to X-Forwarded-For: the
# client is the entry that many from the right (config.clients.client_ip). 0 = the connecting
# address. Every limit (allauth, the API, ours) keys on that one identity.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Plugway <no-reply@plugway.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Who hears of what needs a person (billing differences, besides staff users), comma-separated.
ADMINS = [(address, address) for address in env.list("ADMIN_EMAILS", default=[])]

LANGUAGE_CODE = "en"
# Drivers' languages: the browser's Accept-Language picks one, the footer's switch overrides it.
LANGUAGES = [("en", "English"), ("de", "German"), ("fr", "French"), ("nl", "Dutch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.api_defaults.LenientFormatNegotiation",
    "DEFAULT_RENDERER_CLASSES": ["config.api_defaults.FastJSONRenderer"]
    + ([] if PRODUCTION else ["rest_framework.renderers.BrowsableAPIRenderer"]),
    "DEFAULT_THROTTLE_CLASSES": ["config.clients.ClientRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="120/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Plugway API",
    "DESCRIPTION": "Find a charger on any network, start it, and pay for it with one account.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Content Security Policy: our own scripts and styles only; later pages add what they need
# (map tiles, Stripe.js) here, not inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    # TLS ends at the proxy in front of gunicorn, which must set X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"refusals": {"()": "config.log_filters.RefusalWithoutTraceback"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["refusals"]},
    },
}

# How long /healthz waits for a worker to answer a ping before calling it unreachable.
HEALTHZ_WORKER_TIMEOUT = env.float("HEALTHZ_WORKER_TIMEOUT", default=1.0)
ACCOUNT_ADAPTER = "config.accounts.AccountAdapter"

# --- roaming: outbound partner calls ---
# Networks outbound partner calls may reach although they are private or loopback. The embedded
# default and the tests talk to a sandbox CPO on loopback; production allows none by default.
OUTBOUND_ALLOWED_NETWORKS = [
    ipaddress.ip_network(network)
    for network in env.list(
        "OUTBOUND_ALLOWED_NETWORKS", default=[] if PRODUCTION else ["127.0.0.0/8", "::1/128"]
    )
]
OUTBOUND_REQUIRE_HTTPS = env.bool("OUTBOUND_REQUIRE_HTTPS", default=PRODUCTION)
OUTBOUND_CONNECT_TIMEOUT = env.float("OUTBOUND_CONNECT_TIMEOUT", default=3.0)
OUTBOUND_READ_TIMEOUT = env.float("OUTBOUND_READ_TIMEOUT", default=10.0)
OUTBOUND_TOTAL_TIMEOUT = env.float("OUTBOUND_TOTAL_TIMEOUT", default=30.0)
OUTBOUND_MAX_BODY_BYTES = env.int("OUTBOUND_MAX_BODY_BYTES", default=50_000_000)
OUTBOUND_GET_ATTEMPTS = env.int("OUTBOUND_GET_ATTEMPTS", default=4)
OUTBOUND_RETRY_BASE_SECONDS = env.float("OUTBOUND_RETRY_BASE_SECONDS", default=0.5)
# A Fernet key for partner tokens at rest; derived from SECRET_KEY when unset.
ROAMING_TOKEN_KEY = env.str("ROAMING_TOKEN_KEY", default="")
# Who we are on OCPI: our party, as partners see it in credentials and tokens.
OCPI_COUNTRY_CODE = env.str("OCPI_COUNTRY_CODE", default="NL")
OCPI_PARTY_ID = env.str("OCPI_PARTY_ID", default="PLW")
OCPI_BUSINESS_NAME = env.str("OCPI_BUSINESS_NAME", default="Plugway")
# How often partners are pulled: a delta (date_from = last success) and a full resync.
ROAMING_DELTA_SYNC_INTERVAL = timedelta(minutes=env.int("ROAMING_DELTA_SYNC_MINUTES", default=5))
ROAMING_FULL_SYNC_INTERVAL = timedelta(hours=env.int("ROAMING_FULL_SYNC_HOURS", default=24))
CELERY_BEAT_SCHEDULE["roaming-sync-due"] = {
    "task": "roaming.tasks.partners_sync_due",
    "schedule": timedelta(minutes=1),
}
# Drivers' tokens follow their cards and payments (payments cannot tell roaming): issued and
# re-judged every minute, and each change pushed to partners.
CELERY_BEAT_SCHEDULE["roaming-driver-tokens-reconcile"] = {
    "task": "roaming.tasks.driver_tokens_reconcile_task",
    "schedule": timedelta(minutes=1),
}

# --- charging on partner networks ---
# The hold before a start is the estimated cost of a typical charge on that EVSE's tariff and
# power, kept between a floor and a cap (minor units of the tariff's currency).
CHARGING_HOLD_FLOOR = env.int("CHARGING_HOLD_FLOOR", default=2000)
CHARGING_HOLD_CAP = env.int("CHARGING_HOLD_CAP", default=8000)
# Our fee on each charge, added to the CDR's total cost (minor units of the CDR's currency).
CHARGING_FEE = env.int("CHARGING_FEE", default=35)
# A CDR whose cost differs from our own reckoning by more than this (minor units) waits for an
# admin instead of being billed.
CHARGING_CDR_TOLERANCE = env.int("CHARGING_CDR_TOLERANCE", default=50)
# A command with no result this long after the partner's own timeout ends timed out.
CHARGING_COMMAND_GRACE = timedelta(seconds=env.int("CHARGING_COMMAND_GRACE_SECONDS", default=30))
# A finished session with no CDR this long after it ended is looked for on the partner's CDRs
# sender, then flagged to an admin.
CHARGING_CDR_WAIT = timedelta(minutes=env.int("CHARGING_CDR_WAIT_MINUTES", default=60))
CELERY_BEAT_SCHEDULE["roaming-cdrs-missing"] = {
    "task": "roaming.tasks.cdrs_missing_find_task",
    "schedule": timedelta(minutes=10),
}
CELERY_BEAT_SCHEDULE["roaming-cdrs-unbilled"] = {
    "task": "roaming.tasks.cdrs_unbilled_requeue_task",
    "schedule": timedelta(minutes=10),
}
# Each night the partners' CDRs, ours and Stripe's captures of this many last days are compared
# and each difference reported to staff and ADMINS (roaming.services.billing_reconcile).
BILLING_RECONCILE_WINDOW = timedelta(days=env.int("BILLING_RECONCILE_DAYS", default=3))
CELERY_BEAT_SCHEDULE["roaming-billing-reconcile"] = {
    "task": "roaming.tasks.billing_reconcile_task",
    "schedule": crontab(hour=4, minute=40),
}
CELERY_BEAT_SCHEDULE["roaming-commands-expire"] = {
    "task": "roaming.tasks.commands_expire_task",
    "schedule": timedelta(seconds=15),
}

# --- payments: Stripe (localstripe on loopback in the embedded setup) ---
# Without these, the embedded setup talks to localstripe, which `scripts/dev.py run` starts on
# STRIPE_API_BASE and which accepts any sk_/pk_ key. Production needs real keys and no base.
STRIPE_SECRET_KEY = required_in_production("STRIPE_SECRET_KEY", "sk_test_localstripe")
STRIPE_PUBLISHABLE_KEY = required_in_production("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = required_in_production("STRIPE_WEBHOOK_SECRET", "whsec_localstripe")
# Empty means the real Stripe API (and the real Stripe.js from https://js.stripe.com/v3/).
STRIPE_API_BASE = env.str(
    "STRIPE_API_BASE", default="" if PRODUCTION else "http://127.0.0.1:8420"
).rstrip("/")
if PRODUCTION and STRIPE_API_BASE:
    raise ImproperlyConfigured("STRIPE_API_BASE is for localstripe; leave it unset in production.")
# Seconds before one Stripe call is abandoned (the SDK default is 80).
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=20.0)
# How long a worker's claim on a payment lasts while it calls Stripe; a claim whose worker died
# is taken over after it (the PaymentIntent says what happened). Keep it above STRIPE_TIMEOUT.
PAYMENTS_CLAIM_LEASE = timedelta(seconds=env.int("PAYMENTS_CLAIM_LEASE_SECONDS", default=120))
if PAYMENTS_CLAIM_LEASE.total_seconds() <= STRIPE_TIMEOUT:
    raise ImproperlyConfigured("PAYMENTS_CLAIM_LEASE_SECONDS must be above STRIPE_TIMEOUT.")
# How long an uncaptured hold lives at the card network: Visa's limit for merchant-initiated
# holds is 4 days 18 hours; the sweeper captures or releases PAYMENTS_HOLD_SWEEP_MARGIN before.
PAYMENTS_HOLD_LIFETIME = timedelta(hours=env.float("PAYMENTS_HOLD_LIFETIME_HOURS", default=114))
PAYMENTS_HOLD_SWEEP_MARGIN = timedelta(
    hours=env.float("PAYMENTS_HOLD_SWEEP_MARGIN_HOURS", default=12)
)
# A driver who never completes a bank's authentication request: the attempt is cancelled after.
PAYMENTS_AUTHENTICATION_TIMEOUT = timedelta(
    minutes=env.float("PAYMENTS_AUTHENTICATION_TIMEOUT_MINUTES", default=60)
)
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "payments.tasks.payments_reconcile",
    "schedule": crontab(minute="*/30"),
}
# The SDK logs every request at INFO; our gateway logs what matters.
LOGGING["loggers"]["stripe"] = {"level": "WARNING"}  # type: ignore[index]

# --- locator: map tiles, geocoder, comments ---
# Map tiles (Leaflet URL template) and the attribution the tile provider requires. Where tiles
# cannot be loaded (no internet) or the URL is empty, the map draws country outlines instead.
LOCATOR_TILE_URL = env.str(
    "LOCATOR_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
LOCATOR_TILE_ATTRIBUTION = env.str(
    "LOCATOR_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'
    " contributors",
)
# A status report older than this is shown as "Status unknown", not as fact (OCPI feeds push
# changes; a live feed also re-confirms now and then, as the sandbox's --status-refresh does).
LOCATOR_STATUS_MAX_AGE_MINUTES = env.int("LOCATOR_STATUS_MAX_AGE_MINUTES", default=24 * 60)
# How often open map and station pages ask for fresh statuses (paused in a background tab).
LOCATOR_STATUS_POLL_SECONDS = env.int("LOCATOR_STATUS_POLL_SECONDS", default=20)
# Any Nominatim-compatible search service; empty = search our own station list only.
LOCATOR_GEOCODER_URL = env.str("LOCATOR_GEOCODER_URL", default="")
# Which API that URL speaks: "nominatim" (/search) or "photon" (/api).
LOCATOR_GEOCODER_KIND = env.str("LOCATOR_GEOCODER_KIND", default="nominatim")
LOCATOR_GEOCODER_USER_AGENT = env.str(
    "LOCATOR_GEOCODER_USER_AGENT", default="plugway/0.1 (ops@plugway.localhost)"
)
LOCATOR_GEOCODER_TIMEOUT = env.float("LOCATOR_GEOCODER_TIMEOUT", default=3.0)
# Where locator learns the tokens a signed-in driver holds, to show the stations a CPO publishes
# only to them (publish_allowed_to); locator itself never imports roaming.
LOCATOR_VIEWER_TOKENS = "roaming.selectors.driver_publish_tokens"
LOCATOR_GEOCODER_CACHE_SECONDS = env.int("LOCATOR_GEOCODER_CACHE_SECONDS", default=24 * 3600)


# Tiles are images from the tile server's origin ({s} subdomains allowed by a wildcard).
_tiles = urlsplit(LOCATOR_TILE_URL.replace("{s}.", "*.").replace("{s}", "a"))
if _tiles.netloc:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] = [
        *CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"],
        f"{_tiles.scheme}://{_tiles.netloc}",
    ]
