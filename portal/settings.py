"""Settings for the Social Protection Portal, read from the environment.

Safe defaults run the demo on an embedded SQLite file; DJANGO_ENV=production
turns on every secure setting and refuses to start without a real secret.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A setting from the environment, or from the file named by NAME_FILE."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = env(name, "")
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use true or false)")


def envint(name: str, default: int) -> int:
    value = env(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number") from exc


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DJANGO_ENV = env("DJANGO_ENV", "development")
if DJANGO_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(f"DJANGO_ENV={DJANGO_ENV!r} is unknown: use development, production or test")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = envbool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must not be on when DJANGO_ENV=production")

_DEV_SECRET = "insecure-development-key-only-for-the-demo-never-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set to a long random "
        "value when DJANGO_ENV=production; generate one with: "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'"
    )

ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # the admin, with our AdminSite as default
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_fsm",
    "guardian",
    "import_export",
    "django_tables2",
    "django_filters",
    "simple_history",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "ninja",  # the API docs' static files, served locally (strict CSP)
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    # ours, lowest layer first
    "access",
    "identity",
    "files",
    "jobs",
    "notifications",
    "approvals",
    "registry",
    "programs",
    "payments",
    "uploads",
    "intake",
    "grievances",
    "reports",  # before portal: its permissions exist when portal grants the roles theirs
    "portal",
    "fixtures",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): signed in with a second factor
    "portal.language.ProfileLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "identity.middleware.IdleSessionMiddleware",  # an idle session ends (shorter for privileged roles)
    "identity.middleware.TwoFactorMiddleware",  # who must use two factors enrols or gives a code first
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # 413 before any view (or the CSRF check) reads the body; after the above, so the page has their headers
    "portal.middleware.RequestSizeLimitMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "portal.middleware.ApiKeyThrottleMiddleware",  # 429 after repeated wrong API keys from one address
    "portal.middleware.ReplicaReadsMiddleware",  # which requests read a replica (portal.db_router)
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
            ],
        },
    },
]

# Database: SQLite file by default, PostgreSQL for production.
DATA_DIR = Path(env("PORTAL_DATA_DIR", str(BASE_DIR / "var")))
_database_url = env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
_SUPPORTED_ENGINES = {"django.db.backends.sqlite3", "django.db.backends.postgresql"}


def _redacted(url: str) -> str:
    """The URL without its password, for error messages."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not (sep and at) or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


try:
    _default_db = dj_database_url.parse(_database_url, conn_max_age=envint("DB_CONN_MAX_AGE", 60))
except Exception as exc:  # dj-database-url raises several kinds for bad URLs
    raise ImproperlyConfigured(
        f"DATABASE_URL={_redacted(_database_url)!r} is not a valid database URL: expected "
        "postgres://user:password@host:5432/name or sqlite:////absolute/path/db.sqlite3"
    ) from exc
if _default_db.get("ENGINE") not in _SUPPORTED_ENGINES:
    raise ImproperlyConfigured(
        f"DATABASE_URL={_redacted(_database_url)!r} names a database the portal does not support: "
        "use postgres://... or sqlite:///..."
    )
if not _default_db.get("NAME"):
    raise ImproperlyConfigured(f"DATABASE_URL={_redacted(_database_url)!r} names no database")
if _default_db["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web server read while the worker writes; a busy timeout
    # makes a writer wait for the lock instead of failing at once; IMMEDIATE
    # transactions take the write lock when they begin, so two writers (two
    # approvers of one task) queue up instead of deadlocking halfway.
    _default_db.setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    _default_db["CONN_MAX_AGE"] = 0
DATABASES = {"default": _default_db}
IS_POSTGRES = _default_db["ENGINE"].startswith("django.db.backends.postgresql")
if IS_POSTGRES and DJANGO_ENV != "test":
    # A second connection to the same database, in autocommit, for job progress:
    # it is seen by pollers while the job's own work is one open transaction.
    DATABASES["progress"] = {**_default_db, "CONN_MAX_AGE": 0}

# Reads on PostgreSQL streaming replicas (portal.db_router): DATABASE_REPLICA_URL names one or several,
# comma-separated; dashboards, reports, exports, lists and the read-only API read there. A browser that
# wrote reads the primary for DATABASE_REPLICA_STICKY_SECONDS after (at least the replication lag).
DATABASE_REPLICAS: list[str] = []
for _index, _replica_url in enumerate(envlist("DATABASE_REPLICA_URL", "")):
    _alias = "replica" if _index == 0 else f"replica{_index + 1}"
    try:
        _replica = dj_database_url.parse(_replica_url, conn_max_age=envint("DB_CONN_MAX_AGE", 60))
    except Exception as exc:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL: {_redacted(_replica_url)!r} is not a valid database URL: expected "
            "postgres://user:password@host:5432/name (several separated by commas)"
        ) from exc
    if not IS_POSTGRES or not _replica.get("ENGINE", "").startswith("django.db.backends.postgresql"):
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL: {_redacted(_replica_url)!r} must be a PostgreSQL replica of a "
            "PostgreSQL DATABASE_URL"
        )
    # Tests never create a database on a replica: it stands for the primary's test database.
    DATABASES[_alias] = {**_replica, "TEST": {"MIRROR": "default"}}
    DATABASE_REPLICAS.append(_alias)
if DJANGO_ENV == "test" and not DATABASE_REPLICAS:
    # A mirror of the test database, routed to only when a test sets DATABASE_REPLICAS = ["replica"].
    DATABASES["replica"] = {**_default_db, "TEST": {"MIRROR": "default"}}
DATABASE_REPLICA_STICKY_SECONDS = envint("DATABASE_REPLICA_STICKY_SECONDS", 10)
DATABASE_ROUTERS = ["portal.db_router.ReplicaRouter"]
for _database in DATABASES.values():
    # A persistent connection is checked before reuse: a restarted database costs a reconnect, not an error.
    if _database.get("CONN_MAX_AGE", 0) != 0:
        _database["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The summaries' covering indexes INCLUDE columns on PostgreSQL; SQLite (the demo) builds them without,
# which is harmless: its warning would only be noise in `make demo`.
# guardian.W001 looks for its backend by name: ours (identity.backends) is a subclass of it.
SILENCED_SYSTEM_CHECKS = ["models.W040", "guardian.W001"]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "identity.backends.RoleGrantModelBackend",  # Django's ModelBackend, with the roles in force only
    "identity.sso.DirectoryBackend",  # single sign-on's callback only (idle unless OIDC_ISSUER is set)
    "identity.backends.ScopeGrantObjectPermissionBackend",  # guardian's, with the plan scopes in force only
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if DJANGO_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("pt", "Português"), ("es", "Español")]
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "portal.staticfinders.PlotlyFinder",  # plotly.min.js straight from the pinned plotly package
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
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Processes parsing a large upload on PostgreSQL: unset = one per core, 0 = parse in the worker itself.
_parse_workers = envint("UPLOADS_PARSE_WORKERS", -1)
UPLOADS_PARSE_WORKERS = None if _parse_workers < 0 else _parse_workers
# Limits on untrusted spreadsheet files (uploads, the location tree, payment results), checked before memory
# grows by files.limits; the defaults keep any file within ~100 MB of a process's memory.
UPLOADS_MAX_FILE_BYTES = envint("UPLOADS_MAX_FILE_BYTES", 150 * 1024 * 1024)
UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES = envint("UPLOADS_MAX_XLSX_UNCOMPRESSED_BYTES", 2048 * 1024 * 1024)
UPLOADS_MAX_XLSX_PART_BYTES = envint("UPLOADS_MAX_XLSX_PART_BYTES", 32 * 1024 * 1024)
UPLOADS_XLSX_MAX_RATIO = envint("UPLOADS_XLSX_MAX_RATIO", 200)
UPLOADS_XLSX_MAX_ENTRIES = envint("UPLOADS_XLSX_MAX_ENTRIES", 2000)
UPLOADS_MAX_SHARED_STRINGS = envint("UPLOADS_MAX_SHARED_STRINGS", 1_000_000)
UPLOADS_MAX_SHARED_STRINGS_BYTES = envint("UPLOADS_MAX_SHARED_STRINGS_BYTES", 32 * 1024 * 1024)
UPLOADS_MAX_ROWS = envint("UPLOADS_MAX_ROWS", 2_000_000)
# Grievances (README's Grievances): the reopening window, the dashboards' minimum for sensitive categories,
# the largest attachment.
GRIEVANCES_REOPEN_DAYS = envint("GRIEVANCES_REOPEN_DAYS", 30)
GRIEVANCES_SENSITIVE_MIN_COUNT = envint("GRIEVANCES_SENSITIVE_MIN_COUNT", 10)
# The public complaint page (grievances.forms_public): a form filled faster than this is refused, and one
# older than this; complaints and status look-ups per client address and window; how deep its location list
# goes.
GRIEVANCE_PUBLIC_MIN_FILL_SECONDS = envint("GRIEVANCE_PUBLIC_MIN_FILL_SECONDS", 3)
GRIEVANCE_PUBLIC_FORM_MAX_AGE_SECONDS = envint("GRIEVANCE_PUBLIC_FORM_MAX_AGE_SECONDS", 2 * 60 * 60)
GRIEVANCE_PUBLIC_RATE_LIMIT = envint("GRIEVANCE_PUBLIC_RATE_LIMIT", 5)
GRIEVANCE_PUBLIC_STATUS_RATE_LIMIT = envint("GRIEVANCE_PUBLIC_STATUS_RATE_LIMIT", 30)
GRIEVANCE_PUBLIC_RATE_WINDOW_SECONDS = envint("GRIEVANCE_PUBLIC_RATE_WINDOW_SECONDS", 60 * 60)
GRIEVANCE_PUBLIC_LOCATION_DEPTH = envint("GRIEVANCE_PUBLIC_LOCATION_DEPTH", 1)
ATTACHMENTS_MAX_BYTES = envint("ATTACHMENTS_MAX_BYTES", 5 * 1024 * 1024)
UPLOADS_MAX_COLUMNS = envint("UPLOADS_MAX_COLUMNS", 500)
UPLOADS_MAX_CELL_CHARS = envint("UPLOADS_MAX_CELL_CHARS", 32_767)
UPLOADS_MAX_ROW_CHARS = envint("UPLOADS_MAX_ROW_CHARS", 1_000_000)
# The largest request body (form fields; on /api/ the whole body, photos included): more gets 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000

# Two-factor sign-in (identity): holders of these roles (unless a role's rule in the admin says otherwise)
# and superusers must sign in with a code from an authenticator app. Off only for the test suite, whose
# two-factor tests turn it on.
TWO_FACTOR_ENFORCE = envbool("TWO_FACTOR_ENFORCE", DJANGO_ENV != "test")
TWO_FACTOR_DEFAULT_ROLES = envlist("TWO_FACTOR_ROLES", "Approver,Payment officer,Administrator")
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Social Protection Portal")
OTP_TOTP_THROTTLE_FACTOR = 1  # each wrong code doubles the wait before the next try (1 s, 2 s, 4 s...)

# A session left idle this long ends (minutes); shorter for the roles that need two factors. Off only for
# the test suite, whose idle-session tests turn it on.
SESSION_IDLE_ENFORCE = envbool("SESSION_IDLE_ENFORCE", DJANGO_ENV != "test")
SESSION_IDLE_MINUTES = envint("SESSION_IDLE_MINUTES", 120)
SESSION_IDLE_MINUTES_PRIVILEGED = envint("SESSION_IDLE_MINUTES_PRIVILEGED", 30)

# Single sign-on (identity.sso, README's "Single sign-on"): sign-in through the ministry's OpenID Connect
# provider with mozilla-django-oidc. Off unless OIDC_ISSUER and OIDC_RP_CLIENT_ID are set; local accounts
# keep working beside it (break-glass administrators). The provider's endpoints come from its discovery
# document (OIDC_ISSUER/.well-known/openid-configuration, fetched at the first sign-in and cached) unless
# each is given here.
OIDC_ISSUER = env("OIDC_ISSUER", "").rstrip("/")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "")  # the button says "Sign in with <name>"
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID", "")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", "")  # or OIDC_RP_CLIENT_SECRET_FILE
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email profile")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT", "")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT", "")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT", "")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", "")
# Which claim carries the user's roles or groups (a dotted path reads inside an object: Keycloak's
# "realm_access.roles"), which one their location codes (empty: none), which one their user name.
OIDC_ROLES_CLAIM = env("OIDC_ROLES_CLAIM", "groups")
OIDC_LOCATIONS_CLAIM = env("OIDC_LOCATIONS_CLAIM", "")
OIDC_USERNAME_CLAIM = env("OIDC_USERNAME_CLAIM", "preferred_username")
# Does the provider's multi-factor sign-in stand for the portal's two-factor step? Only when this is on
# and the ID token's `amr` names one of OIDC_MFA_AMR_VALUES or its `acr` is one of OIDC_MFA_ACR_VALUES;
# otherwise the portal's own authenticator code is asked as after a password.
OIDC_MFA_SATISFIES_TWO_FACTOR = envbool("OIDC_MFA_SATISFIES_TWO_FACTOR", False)
OIDC_MFA_AMR_VALUES = envlist("OIDC_MFA_AMR_VALUES", "mfa,otp,hwk,swk,sc")
OIDC_MFA_ACR_VALUES = envlist("OIDC_MFA_ACR_VALUES", "")
OIDC_CLOCK_LEEWAY_SECONDS = envint("OIDC_CLOCK_LEEWAY_SECONDS", 60)
OIDC_TIMEOUT = envint("OIDC_TIMEOUT_SECONDS", 10)
OIDC_USE_NONCE = True
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso:callback"
OIDC_CREATE_USER = True
OIDC_STORE_ID_TOKEN = False
OIDC_STORE_ACCESS_TOKEN = False
if PRODUCTION and OIDC_ISSUER and not OIDC_ISSUER.startswith("https://"):
    raise ImproperlyConfigured(f"OIDC_ISSUER={OIDC_ISSUER!r} must be an https:// address in production")

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# Sessions expire after a working day, and when the browser closes.
SESSION_COOKIE_AGE = envint("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the admin's own JS does not read it; kept default for forms
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DJANGO_ALLOWED_HOSTS must list the portal's host names when DJANGO_ENV=production"
        )

# Strict Content-Security-Policy: no inline script anywhere. Styles allow
# inline because the admin and Plotly set style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# django-axes: lock out a username from an IP address after repeated failures, and an address
# trying many usernames (password spraying) after more (portal.security.PortalAxesHandler).
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_ADDRESS_FAILURE_LIMIT = envint("AXES_ADDRESS_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "portal.security.PortalAxesHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
# The client address (sign-in lock-out, API throttle) is REMOTE_ADDR unless trusted proxies are
# configured: behind nginx every request comes from 127.0.0.1, so the address is the hop the nearest
# proxy appended to X-Forwarded-For. Production assumes one (gunicorn listens on 127.0.0.1 only).
# AXES_PROXY_COUNT is the older name of the same setting.
PORTAL_TRUSTED_PROXY_COUNT = envint(
    "PORTAL_TRUSTED_PROXY_COUNT", envint("AXES_PROXY_COUNT", 1 if PRODUCTION else 0)
)
AXES_CLIENT_IP_CALLABLE = "portal.security.client_ip_address"

# Wrong API keys: after API_KEY_FAILURE_LIMIT from one address within the window, 429 until it ends.
API_KEY_FAILURE_LIMIT = envint("API_KEY_FAILURE_LIMIT", 10)
API_KEY_FAILURE_WINDOW_SECONDS = max(envint("API_KEY_FAILURE_WINDOW_SECONDS", 15 * 60), 1)
# A rotated API key keeps working this many hours beside the new one (the admin may choose another overlap).
API_KEY_ROTATION_OVERLAP_HOURS = max(envint("API_KEY_ROTATION_OVERLAP_HOURS", 24), 0)
# Registry API clients: calls per minute when the client sets no limit of its own.
REGISTRY_API_RATE_PER_MINUTE = max(envint("REGISTRY_API_RATE_PER_MINUTE", 120), 1)

# The "throttle" cache holds those counts, shared by every gunicorn worker: a table in the database
# (created by migrate) unless REDIS_URL names a Redis server (then pip install redis).
_redis_url = env("REDIS_URL", "")
if _redis_url and not _redis_url.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(f"REDIS_URL={_redacted(_redis_url)!r} is not a redis:// URL")
if _redis_url:
    try:
        import redis  # noqa: F401
    except ImportError as exc:
        raise ImproperlyConfigured(
            "REDIS_URL is set but the redis package is missing: pip install redis"
        ) from exc
# The admin sidebar (each model admin's permissions) is kept this long per user, language and roles.
PORTAL_APP_LIST_CACHE_SECONDS = envint("PORTAL_APP_LIST_CACHE_SECONDS", 30)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "throttle": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis_url,
            "KEY_PREFIX": "portal",
        }
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_throttle_cache"}
    ),
}

# django-guardian: no anonymous user row, and 404 rather than 403 on denial.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

SIMPLE_HISTORY_REVERT_DISABLED = True

TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Background jobs survive crashes: the worker renews a running job's lease every third of
# JOBS_LEASE_SECONDS; a running job whose lease expired is failed, its partial work cleaned
# (`manage.py jobs_sweep`, and every worker every JOBS_SWEEP_SECONDS and when it starts).
JOBS_LEASE_SECONDS = envint("JOBS_LEASE_SECONDS", 60)
JOBS_SWEEP_SECONDS = envint("JOBS_SWEEP_SECONDS", JOBS_LEASE_SECONDS)
if JOBS_LEASE_SECONDS < 1 or JOBS_SWEEP_SECONDS < 1:
    raise ImproperlyConfigured("JOBS_LEASE_SECONDS and JOBS_SWEEP_SECONDS must be at least 1 (seconds)")
JOBS_RUNTIME_DIR = Path(env("JOBS_RUNTIME_DIR", str(DATA_DIR / "run")))

# Notifications (notifications/): e-mail through Django's e-mail backend (the console in the demo), SMS
# through SMS_BACKEND: notifications.senders.HttpSmsBackend posts JSON {"to", "text"} to SMS_HTTP_URL with
# "Authorization: Bearer SMS_HTTP_TOKEN"; ConsoleSmsBackend prints. A failed send is tried again after
# NOTIFICATIONS_RETRY_SECONDS, doubled each time (at most NOTIFICATIONS_RETRY_MAX_SECONDS apart), up to
# NOTIFICATIONS_MAX_ATTEMPTS; then it stays failed in the admin's outbox.
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "portal@localhost")
# The portal's address as people reach it, for links in messages (the status page, a ticket's page).
PORTAL_BASE_URL = env("PORTAL_BASE_URL", "http://127.0.0.1:8000")
SMS_BACKEND = env("SMS_BACKEND", "notifications.senders.ConsoleSmsBackend")
SMS_HTTP_URL = env("SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = env("SMS_HTTP_TOKEN", "")
SMS_HTTP_TIMEOUT = envint("SMS_HTTP_TIMEOUT", 10)
if (
    PRODUCTION
    and SMS_BACKEND == "notifications.senders.HttpSmsBackend"
    and not SMS_HTTP_URL.startswith("https://")
):
    raise ImproperlyConfigured("SMS_HTTP_URL must be an https:// URL when SMS_BACKEND is the HTTP gateway")
NOTIFICATIONS_MAX_ATTEMPTS = max(envint("NOTIFICATIONS_MAX_ATTEMPTS", 6), 1)
NOTIFICATIONS_RETRY_SECONDS = max(envint("NOTIFICATIONS_RETRY_SECONDS", 60), 1)
NOTIFICATIONS_RETRY_MAX_SECONDS = max(envint("NOTIFICATIONS_RETRY_MAX_SECONDS", 6 * 60 * 60), 1)
NOTIFICATIONS_SENDING_TIMEOUT_SECONDS = max(envint("NOTIFICATIONS_SENDING_TIMEOUT_SECONDS", 10 * 60), 60)

IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view"
IMPORT_EXPORT_SKIP_ADMIN_LOG = False
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

DJANGO_TABLES2_TEMPLATE = "django_tables2/table.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# Static files straight from the apps in development and tests; collected in production.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
