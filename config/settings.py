"""Settings for the crisis hotline and referral system.

Every value comes from the environment (12-factor). With nothing set the project runs on the
embedded default: SQLite, an in-process channel layer and the console telephony gateway.
"""

from datetime import timedelta
from pathlib import Path

import environ

from core.checks import EMBEDDED_DEFAULT_SECRET_KEY

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
# No default for production: core/checks.py refuses this one (and any short key) with DEBUG off.
SECRET_KEY = env.str("SECRET_KEY", default=EMBEDDED_DEFAULT_SECRET_KEY)
# --- Field encryption at rest (issue 15, retention/PIPL) ---------------------------------------
# django-fernet-encrypted-fields derives its Fernet keys from SECRET_KEY and SALT_KEY. The
# dedicated key comes from FIELD_ENCRYPTION_KEY (a comma-separated list: the first encrypts, all
# decrypt, for rotation). Changing SECRET_KEY needs the old one in SECRET_KEY_FALLBACKS, or the
# notes cannot be read. `check --deploy` refuses the embedded development key (core.E101).
SALT_KEY = env.list(
    "FIELD_ENCRYPTION_KEY", default=["embedded-default-field-encryption-key-dev-only"]
)
# --- Retention (PIPL): anonymise people whose cases all closed longer ago than this -------------
# Five years after closure (1825 days): long enough for a returning caller's history and for
# follow-up studies and complaints, short of keeping identities indefinitely; set per policy.
CASE_RETENTION_DAYS = env.int("CASE_RETENTION_DAYS", default=1825)
# How many people one run anonymises, and how often the worker runs it.
RETENTION_BATCH = env.int("RETENTION_BATCH", default=200)
RETENTION_EVERY_SECONDS = env.int("RETENTION_EVERY_SECONDS", default=3600)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_filters",  # the API's list filters (issue 14: every query value validated)
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here (no CDN)
    "csp",
    "phonenumber_field",
    "channels",
    "core",
    "directory",
    "hotline",
    "referrals",
    "clinics",
    "escalation",
    "realtime",
    "dashboard",
    "prevention",
    "network",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # ServeStatic (the maintained WhiteNoise fork): static files before sessions and the rest.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Headers (issue 15): the Content-Security-Policy, and no-store on every page Django renders.
    "csp.middleware.CSPMiddleware",
    "core.middleware.NoStoreMiddleware",
]

ROOT_URLCONF = "config.urls"
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
                "directory.context_processors.staff",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let Daphne and the in-process worker write side by side.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # --- caller line under faults: an unreachable server fails fast (libpq's minimum is 2 s)
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=2
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "directory.User"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env.str("CHANNEL_PREFIX", default="crisisline"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

PHONENUMBER_DEFAULT_REGION = "CN"
PHONENUMBER_DB_FORMAT = "E164"

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"},
}

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous request gets 401 with a WWW-Authenticate header.
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Bad input is a 4xx (issue 14): list filters are django-filter FilterSets, limit/offset
    # are clamped, and the schema lists each operation's error answers (core.schema).
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # JSON and plain forms; no endpoint takes files, and Daphne (Twisted) answers a malformed
    # multipart body with a bare 400 before the application sees it.
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Crisis hotline and referral system API",
    "DESCRIPTION": "心理援助热线与转介系统 - hotline, referrals, one-key dispatch, escalation.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs are for members only; Swagger UI comes from drf-spectacular-sidecar.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.document_error_responses",
    ],
    # One name per choice set that several serializers share.
    "ENUM_NAME_OVERRIDES": {
        "RiskEnum": "hotline.models.Risk",
        "CallStatusEnum": "hotline.models.CallStatus",
        "CallChannelEnum": "hotline.models.CallChannel",
        "ManualCallChannelEnum": "hotline.models.MANUAL_CHANNEL_CHOICES",
        "PresenceStatusEnum": "hotline.models.PresenceStatus",
        "SettablePresenceEnum": "hotline.models.SETTABLE_PRESENCE_CHOICES",
        "ReferralKindEnum": "referrals.models.ReferralKind",
        "HospitalServiceEnum": "referrals.models.HospitalService",
        "MeasureKindEnum": "clinics.models.MeasureKind",
        "FlagKindEnum": "hotline.models.FlagKind",
        "SessionOutcomeEnum": "clinics.models.SessionOutcome",
        "CallbackOutcomeEnum": "hotline.models.CallbackOutcome",
        "CallbackAttemptOutcomeEnum": "hotline.models.ATTEMPT_OUTCOME_CHOICES",
        "ConferenceServiceEnum": [("110", "110"), ("120", "120")],
        "AlertKindEnum": "escalation.kinds.AlertKind",
    },
}

# Telephony (Twilio). With no account the console gateway records every outgoing SMS/call.
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_WEBHOOK_BASE_URL = env.str("TWILIO_WEBHOOK_BASE_URL", default="")

DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

# --- headers (issue 15): Content-Security-Policy -------------------------------------------
# No inline script anywhere (behaviour lives in static/js, data in data- attributes or
# json_script), no inline style either. 'self' in connect-src also matches ws:/wss: of the same
# host (CSP Level 3), which is what the console socket uses. Only the API docs page adds
# 'unsafe-inline' styles, for Swagger UI (config/urls.py).
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
# Below this length (or the key this repository once shipped) a SECRET_KEY is refused when
# DEBUG is off: core/checks.py, an Error that stops manage.py serve/migrate/check and the ASGI app.
SECRET_KEY_MIN_LENGTH = 50

# --- hotline (calls, queue, triage) ---------------------------------------------------------
HOTLINE_ORGANISATION_CODE = env.str("HOTLINE_ORGANISATION_CODE", default="")  # "" = the first
HOTLINE_SURGE_QUEUE_LENGTH = env.int("HOTLINE_SURGE_QUEUE_LENGTH", default=5)
HOTLINE_QUEUE_AGING_SECONDS = env.int("HOTLINE_QUEUE_AGING_SECONDS", default=30)
HOTLINE_OFFER_TIMEOUT_SECONDS = env.int("HOTLINE_OFFER_TIMEOUT_SECONDS", default=20)
# Presence follows the person: an operator whose every console socket has been gone this long
# is set offline (a reload reconnects well within it, so it does not flap).
HOTLINE_PRESENCE_GRACE_SECONDS = env.int("HOTLINE_PRESENCE_GRACE_SECONDS", default=30)
# Offers let lapse in a row before the operator is put on a break and a coordinator alerted.
HOTLINE_MISSED_OFFERS_BREAK = env.int("HOTLINE_MISSED_OFFERS_BREAK", default=2)
# A caller waiting this long with no operator available alerts the on-duty coordinator.
HOTLINE_WAIT_ALERT_SECONDS = env.int("HOTLINE_WAIT_ALERT_SECONDS", default=60)
HOTLINE_FOLLOW_UP_HOURS = env.int("HOTLINE_FOLLOW_UP_HOURS", default=72)
HOTLINE_REFERRAL_DUE_HOURS = env.int("HOTLINE_REFERRAL_DUE_HOURS", default=24)
# A caller who hung up before anyone answered is called back: a known high-risk person at once,
# anyone else after this delay (they often call again by themselves, which cancels it).
CALLBACK_DELAY_SECONDS = env.int("CALLBACK_DELAY_SECONDS", default=120)
# An abandoned call from a withheld number (nobody to call back) closes its case, when nothing
# else is in it, after this long.
ABANDONED_EMPTY_CASE_CLOSE_MINUTES = env.int("ABANDONED_EMPTY_CASE_CLOSE_MINUTES", default=30)
# An open case with nothing open and no decision: "decide: close or plan" is due this long after
# it became idle, and alerts its owner when missed (hotline.caseplan).
CASE_IDLE_HOURS = env.int("CASE_IDLE_HOURS", default=48)
TWILIO_API_KEY_SID = env.str("TWILIO_API_KEY_SID", default="")
TWILIO_API_KEY_SECRET = env.str("TWILIO_API_KEY_SECRET", default="")
TWILIO_TWIML_APP_SID = env.str("TWILIO_TWIML_APP_SID", default="")
HOTLINE_VOICE_TOKEN_TTL = env.int("HOTLINE_VOICE_TOKEN_TTL", default=600)
# --- caller line under faults: when the database is down the incoming-call webhook dials this
# duty phone (值班电话; "" = hold the caller in Twilio's queue instead) and spools the call to
# HOTLINE_SPOOL_DIR, from which the worker records it once the database is back. Share the
# directory between the serve processes and the worker if they run on different hosts.
HOTLINE_FALLBACK_NUMBER = env.str("HOTLINE_FALLBACK_NUMBER", default="")
HOTLINE_SPOOL_DIR = env.path("HOTLINE_SPOOL_DIR", default=BASE_DIR / "var" / "call-spool")
# /readyz answers within this many seconds, naming what did not answer in time.
READINESS_TIMEOUT = env.float("READINESS_TIMEOUT", default=1.5)

# --- realtime (console WebSocket) -----------------------------------------------------------
# Server heartbeat interval; a client silent for (misses + 1) intervals is closed (4408).
REALTIME_HEARTBEAT_SECONDS = env.float("REALTIME_HEARTBEAT_SECONDS", default=25.0)
REALTIME_HEARTBEAT_MISSES = env.int("REALTIME_HEARTBEAT_MISSES", default=2)
# A console further behind than this many events gets a resync frame instead of a replay.
REALTIME_REPLAY_WINDOW = env.int("REALTIME_REPLAY_WINDOW", default=1000)
# Client frames: a token bucket (rate per second, burst); more rejections than the abuse limit
# within 10 seconds closes the socket (4429).
REALTIME_CLIENT_RATE = env.float("REALTIME_CLIENT_RATE", default=5.0)
REALTIME_CLIENT_BURST = env.int("REALTIME_CLIENT_BURST", default=20)
REALTIME_CLIENT_ABUSE_LIMIT = env.int("REALTIME_CLIENT_ABUSE_LIMIT", default=50)
# Gap-free delivery (the consumer reads the table itself): a live event above what it has scanned
# is followed by a table read after this settle time; an id found missing (a transaction not yet
# committed) is looked for again until it is this old; on connect, missing ids this far below the
# cursor are waited for too.
REALTIME_GAP_SETTLE_SECONDS = env.float("REALTIME_GAP_SETTLE_SECONDS", default=2.0)
REALTIME_GAP_MAX_WAIT_SECONDS = env.float("REALTIME_GAP_MAX_WAIT_SECONDS", default=300.0)
REALTIME_GAP_LOOKBACK = env.int("REALTIME_GAP_LOOKBACK", default=200)

# --- referrals and clinics ------------------------------------------------------------------
# Hand-off deadline (acknowledge by): minutes for imminent/high and moderate, working days
# (Mon-Fri, Asia/Shanghai) for low/none.
REFERRAL_ACK_MINUTES_URGENT = env.int("REFERRAL_ACK_MINUTES_URGENT", default=15)
REFERRAL_ACK_MINUTES_MODERATE = env.int("REFERRAL_ACK_MINUTES_MODERATE", default=240)
REFERRAL_ACK_WORKING_DAYS_LOW = env.int("REFERRAL_ACK_WORKING_DAYS_LOW", default=2)
# Screening (issue 20): PHQ-9 / GAD-7 totals at or above these open a case at discovery (item 9
# above 0 always does, with a same-day task); the bands that keep a student in view at prevention.
PREVENTION_PHQ9_CUTOFF = env.int("PREVENTION_PHQ9_CUTOFF", default=15)
PREVENTION_GAD7_CUTOFF = env.int("PREVENTION_GAD7_CUTOFF", default=15)
PREVENTION_WATCH_BANDS = env.list("PREVENTION_WATCH_BANDS", default=["moderate"])
PREVENTION_FLAG_DAYS = env.int("PREVENTION_FLAG_DAYS", default=3)
PREVENTION_WATCH_DAYS = env.int("PREVENTION_WATCH_DAYS", default=14)
SCREENING_RETENTION_DAYS = env.int("SCREENING_RETENTION_DAYS", default=180)
# Codes typed on the public screening page, per address (a class may share one school address;
# a code is 10 of 31 letters and digits, so this many guesses find nothing).
SCREENING_CODE_RATE = env.str("SCREENING_CODE_RATE", default="120/hour")
# Follow-up (回访) offsets in hours after the triggering fact, per risk ("a,b,c").
FOLLOW_UP_HOURS_HIGH = env.list("FOLLOW_UP_HOURS_HIGH", cast=int, default=[24, 168, 720])
FOLLOW_UP_HOURS_DEFAULT = env.list("FOLLOW_UP_HOURS_DEFAULT", cast=int, default=[48, 168, 720])
FOLLOW_UP_MAX_FAILED_ATTEMPTS = env.int("FOLLOW_UP_MAX_FAILED_ATTEMPTS", default=3)

# --- grants with a purpose and an end (issue 15) ---------------------------------------------
# Break-glass (紧急查阅) is one coordinator's read, with a reason of real length, for minutes.
BREAK_GLASS_MINUTES = env.int("BREAK_GLASS_MINUTES", default=60)
BREAK_GLASS_REASON_MIN_CHARS = env.int("BREAK_GLASS_REASON_MIN_CHARS", default=10)
# Break-glass needs a session verified with a TOTP code (django-otp); the one check is
# clinics.services.require_second_factor.
BREAK_GLASS_REQUIRES_SECOND_FACTOR = env.bool("BREAK_GLASS_REQUIRES_SECOND_FACTOR", default=True)
# A closed dispatch's responders keep the case this long to write their report.
DISPATCH_GRANT_GRACE_HOURS = env.float("DISPATCH_GRANT_GRACE_HOURS", default=24)
# Schema enum names for the choice sets referrals and clinics share field names with others.

# --- escalation (dispatch, alerts, timers, notifications) -----------------------------------
ESCALATION_ACK_SECONDS_DEFAULT = env.int("ESCALATION_ACK_SECONDS", default=60)
# Acknowledgement deadline per responder kind (seconds), e.g. ESCALATION_ACK_SECONDS_POLICE=45.
ESCALATION_ACK_SECONDS = {
    kind: env.int(f"ESCALATION_ACK_SECONDS_{kind.upper()}", default=ESCALATION_ACK_SECONDS_DEFAULT)
    for kind in ("police", "ambulance", "community", "expert")
}
ESCALATION_DEFAULT_FIRST_WAIT = env.int("ESCALATION_DEFAULT_FIRST_WAIT", default=60)
ESCALATION_DEFAULT_FALLBACK_WAIT = env.int("ESCALATION_DEFAULT_FALLBACK_WAIT", default=120)
ESCALATION_SEND_BACKOFF = env.list("ESCALATION_SEND_BACKOFF", cast=int, default=[10, 30, 120, 600])
ESCALATION_WORKER_POLL = env.float("ESCALATION_WORKER_POLL", default=0.2)
ESCALATION_WORKER_BATCH = env.int("ESCALATION_WORKER_BATCH", default=100)
ESCALATION_SOURCES_POLL = env.float("ESCALATION_SOURCES_POLL", default=15.0)
ESCALATION_HEARTBEAT_STALE = env.int("ESCALATION_HEARTBEAT_STALE", default=60)
# Where Twilio fetches the TwiML of outbound alert calls when TWILIO_WEBHOOK_BASE_URL is unset.
ESCALATION_PUBLIC_BASE_URL = env.str("ESCALATION_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# `serve` runs the timer worker in-process (embedded default); set 0 when workers run apart.
ESCALATION_WORKER_IN_PROCESS = env.bool("ESCALATION_WORKER_IN_PROCESS", default=True)
# Fault injection for tests/faults only: seconds each timer step sleeps inside its transaction.
ESCALATION_WORKER_STEP_DELAY = env.float("ESCALATION_WORKER_STEP_DELAY", default=0.0)

# --- dashboard ------------------------------------------------------------------------------

# 一屏总览
# "High-risk, no contact in N days" default; the page's filter may change it per view.
DASHBOARD_NO_CONTACT_DAYS = env.int("DASHBOARD_NO_CONTACT_DAYS", default=7)
# A repeat caller: at least this many calls in one week.
DASHBOARD_REPEAT_CALLS = env.int("DASHBOARD_REPEAT_CALLS", default=3)
# The worker refreshes the daily rollup (closed days, and today so far) this often (seconds).
DASHBOARD_ROLLUP_EVERY = env.int("DASHBOARD_ROLLUP_EVERY", default=600)
# It stores today up to this many seconds ago (rows in transactions still open are not missed).
DASHBOARD_ROLLUP_LAG = env.int("DASHBOARD_ROLLUP_LAG", default=60)
# The page re-reads its figures this often (seconds) even without events.
DASHBOARD_POLL_SECONDS = env.int("DASHBOARD_POLL_SECONDS", default=15)

# --- performance (PostgreSQL connection pool, hotline intake) --------------------------------
# Under ASGI every request runs in a thread of its own, so a connection per request (or
# CONN_MAX_AGE, one idle connection per dead thread) is what limited intake. psycopg's pool keeps a
# few connections per process and hands one to each request; size it so that
# processes x DATABASE_POOL_MAX_SIZE stays under PostgreSQL's max_connections.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_POOL", default=True
):
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # Django refuses persistent connections with a pool
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
        # A request waits this long for a connection; short, so that with PostgreSQL down the
        # incoming-call webhook still answers the caller within 2 s (its fallback TwiML).
        "timeout": env.float("DATABASE_POOL_TIMEOUT", default=1.5),
        "max_idle": env.float("DATABASE_POOL_MAX_IDLE", default=300.0),
    }

# --- accounts (issue 15: lockout, expiring tokens, idle sessions, two-step verification) ------
# django-axes counts failed logins on every path that calls authenticate() (the /login/ page,
# /admin/login/, POST /api/v1/auth/token/); django-rest-knox issues expiring, revocable API
# tokens; django-otp is the TOTP second factor (required for administrators, see
# directory/accounts.py). Our own middleware ends idle sessions and sends unverified
# administrators to the code page.
INSTALLED_APPS += [
    "axes",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
]
_AUTH = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE.insert(_AUTH + 1, "django_otp.middleware.OTPMiddleware")
_MESSAGES = MIDDLEWARE.index("django.contrib.messages.middleware.MessageMiddleware")
MIDDLEWARE.insert(_MESSAGES + 1, "directory.middleware.AccountMiddleware")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as its documentation asks
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username+IP before the rest
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "directory.account_views.locked_out"
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0) or None
# Absolute lifetime of a signed-in session, and the idle time after which it ends. Only what a
# person does counts as activity: a POST, or a page they open (not the pages' own polling, not
# the console socket), so a console left open at a desk does not keep itself signed in.
SESSION_COOKIE_AGE = env.int("SESSION_MAX_HOURS", default=12) * 3600
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.float("API_TOKEN_TTL_HOURS", default=10.0)),
    "AUTO_REFRESH": False,
    "TOKEN_LIMIT_PER_USER": None,
}
# The token endpoint's scoped throttle (per client address, on top of the lockout).
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"auth": env.str("API_AUTH_RATE", default="30/min")}
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="心理援助热线")

# Partner systems (issue 21, network): outbound hooks and signed inbound status.
NETWORK_HOOK_BACKOFF = env.list("NETWORK_HOOK_BACKOFF", cast=int, default=[10, 60, 300, 1800, 7200])
NETWORK_HOOK_MAX_ATTEMPTS = env.int("NETWORK_HOOK_MAX_ATTEMPTS", default=10)
NETWORK_HOOK_TIMEOUT = env.float("NETWORK_HOOK_TIMEOUT", default=5.0)
NETWORK_PARTNER_MAX_SKEW = env.int("NETWORK_PARTNER_MAX_SKEW", default=300)


# --- call recording (issue 18: consent announcement, storage, retention) ----------------------
# Recordings are copied from Twilio into the "recordings" storage (Django's storage API; the file
# system under RECORDING_ROOT by default, outside static and media: no URL serves it, only the
# authenticated player), deleted at Twilio, and removed here after RECORDING_RETENTION_DAYS.
RECORDING_ROOT = env.path("RECORDING_ROOT", default=BASE_DIR / "var" / "recordings")
RECORDING_RETENTION_DAYS = env.int("RECORDING_RETENTION_DAYS", default=90)
RECORDING_FORMAT = env.str("RECORDING_FORMAT", default="mp3")  # "mp3" or "wav" (Twilio's media)
STORAGES["recordings"] = {
    "BACKEND": "django.core.files.storage.FileSystemStorage",
    "OPTIONS": {"location": str(RECORDING_ROOT)},
}
# --- issue 18: every hotline call is a conference (hold music, transfers) ---------------------
# What a held caller hears after the Chinese message (Twilio's own public hold music by default).
HOTLINE_HOLD_MUSIC_URL = env.str(
    "HOTLINE_HOLD_MUSIC_URL",
    default="http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3",
)
# How long a transfer's receiver keeps reading the case when their organisation did not hold it.
HOTLINE_TRANSFER_GRANT_HOURS = env.int("HOTLINE_TRANSFER_GRANT_HOURS", default=72)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "TransferModeEnum": "hotline.conference_models.TransferMode",
        "TransferTargetEnum": "hotline.conference_models.TransferTarget",
        "ParticipantRoleEnum": "hotline.conference_models.ParticipantRole",
        "ParticipantStatusEnum": "hotline.conference_models.ParticipantStatus",
    }
)

# --- Safety plan (安全计划, issue 18 item 4) --------------------------------------------------
# Prefilled in every new plan's "professionals and agencies": the hotline and the appointment line
# as callers dial them in the city, and the counselling centre's opening hours (its address comes
# from the organisation's record).
SAFETY_PLAN_HOTLINE_NUMBER = env.str("SAFETY_PLAN_HOTLINE_NUMBER", default="2251885")
SAFETY_PLAN_APPOINTMENT_NUMBER = env.str("SAFETY_PLAN_APPOINTMENT_NUMBER", default="2259885")
SAFETY_PLAN_CENTRE_HOURS = env.str(
    "SAFETY_PLAN_CENTRE_HOURS", default="周一至周五 9:00-12:00，14:00-17:00"
)
# One SMS of the plan carries at most this many characters; a longer plan goes in numbered parts.
SAFETY_PLAN_SMS_PART_CHARS = env.int("SAFETY_PLAN_SMS_PART_CHARS", default=300)

# --- softphone in the console (issue 18): Twilio Voice JS SDK in the browser ---------------
# The SDK's edge (a Twilio edge location ID: "roaming" picks the nearest; e.g. "singapore",
# "tokyo"). Its signalling host is allowed in the console page's connect-src.
TWILIO_VOICE_EDGE = env.str("TWILIO_VOICE_EDGE", default="roaming")

# Text channels (issue 19: SMS and web chat into the hotline's queue). An operator holds up to
# HOTLINE_MAX_CHATS text conversations at once (never with a voice call); a conversation with no
# message for CHAT_INACTIVITY_MINUTES ends; a web-chat visitor may come back within
# CHAT_RESUME_MINUTES; SMS replies are split into SMS_PART_CHARS characters (one UCS-2 segment).
HOTLINE_MAX_CHATS = env.int("HOTLINE_MAX_CHATS", default=2)
CHAT_INACTIVITY_MINUTES = env.int("CHAT_INACTIVITY_MINUTES", default=15)
CHAT_RESUME_MINUTES = env.int("CHAT_RESUME_MINUTES", default=30)
CHAT_MESSAGE_MAX_CHARS = env.int("CHAT_MESSAGE_MAX_CHARS", default=2000)
SMS_PART_CHARS = env.int("SMS_PART_CHARS", default=70)

# --- web chat visitor socket (issue 19, webchat) ----------------------------------------------
# The anonymous ws/chat/ (hotline/webchat): one frame's size, then a token bucket per socket and
# one per client address (per serving process), and a bucket of conversations started per
# address. More than CHAT_CLIENT_ABUSE_LIMIT refused frames in 10 s close the socket (4429).
# 16 KB: a message of CHAT_MESSAGE_MAX_CHARS Chinese characters fits even \u-escaped.
CHAT_FRAME_MAX_BYTES = env.int("CHAT_FRAME_MAX_BYTES", default=16384)
CHAT_CLIENT_RATE = env.float("CHAT_CLIENT_RATE", default=1.0)  # frames a second, per socket
CHAT_CLIENT_BURST = env.int("CHAT_CLIENT_BURST", default=8)
CHAT_CLIENT_ABUSE_LIMIT = env.int("CHAT_CLIENT_ABUSE_LIMIT", default=20)
CHAT_IP_RATE = env.float("CHAT_IP_RATE", default=5.0)  # frames a second, per address
CHAT_IP_BURST = env.int("CHAT_IP_BURST", default=40)
CHAT_IP_SOCKETS = env.int("CHAT_IP_SOCKETS", default=20)  # a school's network shares one address
CHAT_IP_STARTS_PER_HOUR = env.int("CHAT_IP_STARTS_PER_HOUR", default=20)
# The resume token is re-issued this often while connected (the window counts from leaving).
CHAT_TOKEN_REFRESH_SECONDS = env.int("CHAT_TOKEN_REFRESH_SECONDS", default=60)


# --- WeChat Official Account (微信公众号, issue 19 item 4) ------------------------------------
# The account's AppID and AppSecret (the customer-service message API), and the callback's Token
# and EncodingAESKey (43 characters; safe mode). Without AppID, Token and AppSecret the channel is
# off: /wechat/callback/ answers 404. WECHAT_API_BASE_URL: tests point the client at a local server.
WECHAT_APP_ID = env.str("WECHAT_APP_ID", default="")
WECHAT_APP_SECRET = env.str("WECHAT_APP_SECRET", default="")
WECHAT_TOKEN = env.str("WECHAT_TOKEN", default="")
WECHAT_ENCODING_AES_KEY = env.str("WECHAT_ENCODING_AES_KEY", default="")
WECHAT_API_BASE_URL = env.str("WECHAT_API_BASE_URL", default="https://api.weixin.qq.com/cgi-bin/")
WECHAT_TIMEOUT = env.float("WECHAT_TIMEOUT", default=5.0)

# --- several hotline centres and overflow (issue 21, overflow) --------------------------------
# A centre's waiting call goes to its partner after this long with no operator free (a centre's
# CentreRouting may set its own); the partner's grant on the case ends this long after wrap-up.
HOTLINE_OVERFLOW_AFTER_SECONDS = env.int("HOTLINE_OVERFLOW_AFTER_SECONDS", default=60)
HOTLINE_OVERFLOW_GRANT_GRACE_MINUTES = env.int("HOTLINE_OVERFLOW_GRANT_GRACE_MINUTES", default=30)
HOTLINE_OVERFLOW_GRANT_MAX_HOURS = env.int("HOTLINE_OVERFLOW_GRANT_MAX_HOURS", default=4)
