"""One settings module, driven by environment variables.

With nothing set, the project runs on the embedded default: SQLite, a local-memory
cache and Celery on kombu's filesystem transport (a real worker and beat, no server).
`DATABASE_URL`, `REDIS_URL` and `CELERY_BROKER_URL` switch to PostgreSQL, Redis and a
real broker. `MANAGERS_CONFIG_LEVEL=production` turns on the deployment hardening and
refuses to start without a real secret key.
"""

from pathlib import Path

import environ
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for developers; real deployments set the environment.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

CONFIG_LEVEL = env.str("MANAGERS_CONFIG_LEVEL", default="development")
if CONFIG_LEVEL not in {"development", "test", "production"}:
    raise environ.ImproperlyConfigured(
        f"MANAGERS_CONFIG_LEVEL must be development, test or production, not {CONFIG_LEVEL!r}"
    )
PRODUCTION = CONFIG_LEVEL == "production"
if PRODUCTION:
    # Every missing or malformed production setting, named, before anything reads one
    # (config/preflight.py; `python -m config.preflight` prints the same).
    from config.preflight import ProductionSettingsError, enforce

    try:
        enforce(env.ENVIRON)
    except ProductionSettingsError as exc:
        raise environ.ImproperlyConfigured(str(exc)) from None

VAR_DIR = Path(env.str("DIM_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # no default: fail loudly
else:
    SECRET_KEY = env.str(
        "DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop"
    )
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION and CONFIG_LEVEL != "test")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The console shell: unfold's templates and static files (before the admin, whose
    # templates it overrides); the admin site itself is ours (tenancy/console_site.py).
    "unfold.apps.BasicAppConfig",
    "tenancy.admin_app.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served locally (no CDN)
    # Before tenancy, whose admin replaces its schedule pages with platform-only ones.
    "django_celery_beat",
    "tenancy",
    "cache_mgr",
    "connection_mgr",
    "jobs_mgr",
    "workflow_mgr",
    "ai_mgr",
    "move_mgr",
    "lifecycle_mgr",
    "audit_mgr",
    "sessions_mgr",
    "security_mgr",
    "perf_mgr",
    "metadata_mgr",
    *env.list("DIM_EXTRA_APPS", default=[]),
]

MIDDLEWARE = [
    # /healthz and /readyz answer before anything else (config/health.py): a kubelet
    # probes the pod's IP over plain HTTP, which ALLOWED_HOSTS and the HTTPS redirect refuse.
    "config.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Latency, status, queries and cache reads of every request, per tenant and view
    # (perf_mgr/middleware.py): outermost but one, so it sees every final status.
    "perf_mgr.middleware.RequestMetricsMiddleware",
    # Then: every error under API_PATH_PREFIXES answers in the API's JSON format
    # (with the security headers), whatever raised it below.
    "tenancy.api.middleware.APIErrorMiddleware",
    # Database (or Redis where nothing falls back) unreachable: a JSON 503, Retry-After.
    "tenancy.health.DependencyUnavailableMiddleware",
    # A database whose circuit breaker is open: a 503 naming it (JSON for the API, a page
    # for the console); and the per-request read-your-writes flag (connection_mgr).
    "connection_mgr.middleware.ConnectionMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's LocaleMiddleware where Django wants it (after the session, before
    # CommonMiddleware, which resolves URLs in the active language), except that the API
    # (API_PATH_PREFIXES) always answers in English: see tenancy/language.py.
    "tenancy.language.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Once the user is known: their saved language beats the cookie and the browser's.
    "tenancy.language.UserLanguageMiddleware",
    "tenancy.middleware.TenantContextMiddleware",
    "security_mgr.middleware.AdminMFAMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
                "tenancy.context_processors.tenant",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
# PostgreSQL goes through our backend, which keeps `app.tenant_id` right on every query
# (see tenancy/db/postgresql/base.py). The URL's user is the *runtime* role: not a
# superuser, not BYPASSRLS, not the tables' owner. Migrations run as the owner
# (DATABASE_OWNER_URL), see `make migrate`.
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    _db = env.db_url_config(DATABASE_URL)
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise environ.ImproperlyConfigured("DATABASE_URL must be a postgres:// URL")
    _db["ENGINE"] = "tenancy.db.postgresql"
    # Server-side binding: values travel apart from the statement text, so
    # pg_stat_activity (readable by every session of the runtime role) never shows them.
    # PostgreSQL down must be a quick JSON 503 (tenancy/health.py), not a long wait: a
    # connection attempt gives up after connect_timeout (libpq's minimum is 2 s), a
    # request waits for a pooled connection at most POSTGRES_POOL_TIMEOUT, and the pool
    # stops backing off after POSTGRES_POOL_RECONNECT_TIMEOUT (then it reconnects on the
    # next request), so it notices a database that is back within seconds.
    _db["OPTIONS"] = {
        "server_side_binding": True,
        "connect_timeout": env.int("POSTGRES_CONNECT_TIMEOUT", default=2),
    }
    _pool = env.bool("DATABASE_POOL", default=True)
    if _pool:
        _db["OPTIONS"] = {
            **_db["OPTIONS"],
            "pool": {
                "min_size": env.int("POSTGRES_POOL_MIN_SIZE", default=2),
                "max_size": env.int("POSTGRES_POOL_SIZE", default=20),
                "timeout": env.float("POSTGRES_POOL_TIMEOUT", default=2.0),
                "reconnect_timeout": env.float("POSTGRES_POOL_RECONNECT_TIMEOUT", default=10.0),
            },
        }
        _db["CONN_MAX_AGE"] = 0
    else:
        _db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env.str("SQLITE_PATH", default=str(VAR_DIR / "db.sqlite3")),
            # The web server, the worker's processes and beat write concurrently: WAL,
            # IMMEDIATE transactions and a busy timeout instead of "database is locked".
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

# Connection manager (docs/connections.md): dedicated tenants' databases and read
# replicas through a router; a circuit breaker per database alias.
DATABASE_ROUTERS = ["connection_mgr.router.TenantDatabaseRouter"]
# Read replicas (comma-separated URLs, same runtime role): reads go there when fresh.
DATABASE_REPLICA_URLS = env.str("DATABASE_REPLICA_URLS", default="")
CONNECTION_REPLICA_MAX_LAG_SECONDS = env.float("CONNECTION_REPLICA_MAX_LAG_SECONDS", default=5.0)
CONNECTION_REPLICA_LAG_CHECK_SECONDS = env.float(
    "CONNECTION_REPLICA_LAG_CHECK_SECONDS", default=1.0
)
# Failures in a row that open a database's breaker, and how long it stays open before
# one probe may try again.
CONNECTION_BREAKER_FAILURES = env.int("CONNECTION_BREAKER_FAILURES", default=3)
CONNECTION_BREAKER_OPEN_SECONDS = env.float("CONNECTION_BREAKER_OPEN_SECONDS", default=10.0)
# How long a process trusts its tenant -> database map before reading it again.
CONNECTION_ROUTING_TTL = env.float("CONNECTION_ROUTING_TTL", default=5.0)

# The key of the proof that the application chose the tenant a connection acts in
# (tenancy/db/proof.py); derived from SECRET_KEY when unset. migrate stores it where only
# the owner role can read it, so every process and migrate must share it.
DB_CONTEXT_KEY = env.str("DB_CONTEXT_KEY", default="")
# The runtime role that the owner grants table privileges to after each migrate.
DB_RUNTIME_ROLE = env.str("DB_RUNTIME_ROLE", default="")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------------
# Keys are namespaced per tenant (and per-tenant generation) by the key function itself,
# so no caller can forget it.
REDIS_URL = env.str("REDIS_URL", default="")
# Redis down must cost a request at most this long (a stopped server refuses at once; a
# hung one or a lost network would otherwise block for minutes), see tenancy/degraded.py.
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=1.0)
# REDIS_URL names a node of a Redis Cluster (the seed's REDIS_CLUSTER_ENABLED): every Redis
# user then takes a cluster client (tenancy/redis_conn.py; docs/cache.md, "Redis Cluster").
REDIS_CLUSTER_ENABLED = env.bool("REDIS_CLUSTER_ENABLED", default=False)


# Redis pub/sub ignores the database number: two deployments (or two test runs) on one
# Redis server, each on a database of its own, would hear each other's invalidations. The
# channels (cache, sessions, memberships, key rings) carry this suffix; by default the
# database number of REDIS_URL, so separate databases never share a channel.
def _redis_database(url: str) -> str:
    from urllib.parse import urlsplit

    path = urlsplit(url).path.strip("/") if url else ""
    return path if path.isdigit() and path != "0" else ""


REDIS_CHANNEL_NAMESPACE = env.str("REDIS_CHANNEL_NAMESPACE", default=_redis_database(REDIS_URL))


def redis_cache(url: str, *, cluster: bool | None = None) -> dict:
    """The cache configuration for a Redis URL (the tests point it at their own server);
    on a Redis Cluster, django-redis gets our cluster factory and client."""
    cluster = REDIS_CLUSTER_ENABLED if cluster is None else cluster
    on_cluster = {
        "CONNECTION_FACTORY": "tenancy.redis_conn.ClusterConnectionFactory",
        "CLIENT_CLASS": "tenancy.redis_conn.ClusterClient",
    }
    return {
        # django-redis's RedisCache, counting hits and misses (perf_mgr/cache_backends.py).
        "BACKEND": "perf_mgr.cache_backends.InstrumentedRedisCache",
        "LOCATION": url,
        "KEY_FUNCTION": "tenancy.cache.make_tenant_key",
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
            **(on_cluster if cluster else {}),
        },
    }


if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    CACHES = {
        "default": {
            # Django's LocMemCache, counting hits and misses (perf_mgr/cache_backends.py).
            "BACKEND": "perf_mgr.cache_backends.InstrumentedLocMemCache",
            "LOCATION": "dim-default",
            "KEY_FUNCTION": "tenancy.cache.make_tenant_key",
        }
    }

# The tenant cache (cache_mgr, docs/cache.md): an in-process tier in front of the shared
# cache. Bounds of the in-process tier; how long a copy may outlive a lost invalidation
# message (CACHE_LOCAL_MAX_AGE) and how often generations are re-read (the fallback for
# lost namespace/tenant invalidations); per-tenant quotas (the lifecycle tiers may
# override them through the `cache_quota` hook); co-access prefetching.
CACHE_LOCAL_TIER_ENABLED = env.bool("CACHE_LOCAL_TIER_ENABLED", default=True)
CACHE_LOCAL_MAX_ENTRIES = env.int("CACHE_LOCAL_MAX_ENTRIES", default=100_000)
CACHE_LOCAL_MAX_BYTES = env.int("CACHE_LOCAL_MAX_BYTES", default=256 * 1024 * 1024)
CACHE_LOCAL_MAX_AGE = env.float("CACHE_LOCAL_MAX_AGE", default=5.0)
CACHE_GENERATION_CHECK_SECONDS = env.float("CACHE_GENERATION_CHECK_SECONDS", default=1.0)
# Tier quotas (lifecycle_mgr.quotas; docs/compliance.md): enforced where the work happens.
LIFECYCLE_QUOTAS_ENFORCED = env.bool("LIFECYCLE_QUOTAS_ENFORCED", default=True)
CACHE_TENANT_QUOTA_KEYS = env.int("CACHE_TENANT_QUOTA_KEYS", default=50_000)
CACHE_TENANT_QUOTA_BYTES = env.int("CACHE_TENANT_QUOTA_BYTES", default=64 * 1024 * 1024)
CACHE_PREFETCH_ENABLED = env.bool("CACHE_PREFETCH_ENABLED", default=True)
CACHE_COMPRESS_MIN_BYTES = env.int("CACHE_COMPRESS_MIN_BYTES", default=1024)

# Per-user cache of memberships for tenant resolution. Only with a shared cache: a
# process-local cache could not be invalidated across processes.
# With Redis, each process also keeps memberships in memory, dropped over pub/sub when
# they change (tenancy/membership_cache.py); off: every request asks the shared cache.
TENANT_MEMBERSHIP_LISTENER = env.bool("TENANT_MEMBERSHIP_LISTENER", default=True)
TENANT_RESOLUTION_CACHE_SECONDS = env.int(
    "TENANT_RESOLUTION_CACHE_SECONDS", default=300 if REDIS_URL else 0
)

# --- Celery -----------------------------------------------------------------------------
_broker_dir = VAR_DIR / "celery" / "broker"
# An empty variable means "unset" (scripts export empty values to turn services off).
# Celery's Redis transport cannot use a Redis Cluster: there the broker is named on its own.
_redis_for_celery = "" if REDIS_CLUSTER_ENABLED else REDIS_URL
if REDIS_CLUSTER_ENABLED and not env.str("CELERY_BROKER_URL", default=""):
    raise environ.ImproperlyConfigured(
        "REDIS_CLUSTER_ENABLED is on but CELERY_BROKER_URL is not set: Celery cannot use a "
        "Redis Cluster as its broker; set CELERY_BROKER_URL (e.g. amqp://... for RabbitMQ)."
    )
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or _redis_for_celery or "filesystem://"
CELERY_RESULT_BACKEND = (
    env.str("CELERY_RESULT_BACKEND", default="")
    or _redis_for_celery
    or f"file://{VAR_DIR / 'celery' / 'results'}"
)
if CELERY_RESULT_BACKEND.startswith("file://"):
    (VAR_DIR / "celery" / "results").mkdir(parents=True, exist_ok=True)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("out", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Beat reads its schedule from the database (django-celery-beat), where platform operators
# edit it in the console. PERIODIC_TASKS below are the product's schedules: migrate seeds
# the missing ones (tenancy/schedules.py) and never overwrites an operator's edit
# (`manage.py seed_schedules --reset` does). CELERY_BEAT_SCHEDULE stays empty, or beat
# would write it over the database's entries at every start.
# Several beats (replicas, or a terminating pod beside its replacement) elect one leader
# through a Redis lock; the others send nothing (config/beat_lock.py).
CELERY_BEAT_SCHEDULER = "config.beat_lock:LeaderDatabaseScheduler"
BEAT_LEADER_LEASE_SECONDS = env.float("BEAT_LEADER_LEASE_SECONDS", default=15.0)
CELERY_BEAT_SCHEDULE = {}
# The seed's monitoring interval: beat's heartbeat, the queue-depth sample and each
# process's CPU/memory sample (perf_mgr).
PERFORMANCE_MONITORING_INTERVAL = env.float("PERFORMANCE_MONITORING_INTERVAL", default=60.0)
PERIODIC_TASKS = {
    "tenancy-heartbeat-every-tenant": {
        "task": "tenancy.tasks.fan_out_task",
        "schedule": PERFORMANCE_MONITORING_INTERVAL,
        "args": ("tenancy.tasks.record_tenant_heartbeat_task",),
    },
    "sessions-purge-expired": {
        "task": "tenancy.tasks.fan_out_task",
        "schedule": 3600.0,
        "args": ("sessions_mgr.tasks.purge_expired_sessions_task",),
    },
    "sessions-evaluate-active": {
        "task": "tenancy.tasks.fan_out_task",
        "schedule": 300.0,
        "args": ("sessions_mgr.tasks.evaluate_active_sessions_task",),
    },
    "sessions-train-anomaly-model": {
        "task": "tenancy.tasks.fan_out_task",
        "schedule": 86400.0,
        "args": ("sessions_mgr.tasks.train_anomaly_model_task",),
    },
}

# Console (Django) sessions: django_session keeps a digest of each cookie and data bound
# to it, so SQL that reads or rewrites the table logs nobody in (tenancy/session_store.py).
SESSION_ENGINE = "tenancy.session_store"

# --- Long jobs (jobs_mgr) ------------------------------------------------------------------
# A worker holds a job's lease this long past its last step; the sweep requeues a running
# job whose lease expired (its worker died), at most JOBS_MAX_ATTEMPTS times in a row.
JOBS_LEASE_SECONDS = env.float("JOBS_LEASE_SECONDS", default=60.0)
JOBS_MAX_ATTEMPTS = env.int("JOBS_MAX_ATTEMPTS", default=5)
PERIODIC_TASKS["jobs-resume-stale"] = {
    "task": "jobs_mgr.tasks.resume_stale_jobs_task",
    "schedule": env.float("JOBS_SWEEP_INTERVAL", default=30.0),
}

# --- Workflows (workflow_mgr) -------------------------------------------------------------
# Steps hold a lease of JOBS_LEASE_SECONDS (jobs_mgr's); the sweep requeues a step whose
# worker died, wakes due timers and advances runs that stopped moving.
PERIODIC_TASKS["workflows-sweep"] = {
    "task": "workflow_mgr.tasks.sweep_workflows_task",
    "schedule": env.float("WORKFLOW_SWEEP_INTERVAL", default=15.0),
}

# --- AI model registry (ai_mgr; issue 15) -------------------------------------------------
# Artifacts: "db" (the version row), "file" (AI_ARTIFACT_ROOT) or a Django Storage class's
# dotted path (django-storages for S3-like stores). Other processes see an alias move at
# most AI_MODEL_RECHECK_SECONDS later (the promoting process at once).
AI_ARTIFACT_STORAGE = env.str("AI_ARTIFACT_STORAGE", default="db")
AI_ARTIFACT_ROOT = env.str("AI_ARTIFACT_ROOT", default="")
AI_MODEL_RECHECK_SECONDS = env.float("AI_MODEL_RECHECK_SECONDS", default=1.0)
# The seed's switch: beat checks each tenant's models for drift (PSI above the threshold
# on any feature) and retrains them.
AUTO_TRAINING_ENABLED = env.bool("AUTO_TRAINING_ENABLED", default=False)
AI_DRIFT_PSI_THRESHOLD = env.float("AI_DRIFT_PSI_THRESHOLD", default=0.2)
PERIODIC_TASKS["ai-auto-retrain"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("AI_RETRAIN_CHECK_INTERVAL", default=3600.0),
    "args": ("ai_mgr.tasks.auto_retrain_task",),
}

# --- Sessions (sessions_mgr) --------------------------------------------------------------
# Master secret of the per-tenant session keys (HKDF); SECRET_KEY when unset.
SESSION_MASTER_KEY = env.str("SESSION_MASTER_KEY", default="")
# The process-local session view listens to Redis pub/sub and resyncs from the database.
SESSION_FASTPATH_LISTENER = env.bool("SESSION_FASTPATH_LISTENER", default=True)
SESSION_RESYNC_SECONDS = env.float("SESSION_RESYNC_SECONDS", default=30.0)
SESSION_LAST_SEEN_WRITE_SECONDS = env.float("SESSION_LAST_SEEN_WRITE_SECONDS", default=60.0)

# --- Metadata manager (metadata_mgr) -------------------------------------------------------
# Content larger than this (canonical JSON) is refused with 413 `content_too_large`.
METADATA_MAX_CONTENT_BYTES = env.int("METADATA_MAX_CONTENT_BYTES", default=1_048_576)
# Content (and each version's snapshot) from this size on is stored compressed with zstd.
METADATA_COMPRESS_MIN_BYTES = env.int("METADATA_COMPRESS_MIN_BYTES", default=1024)
# Lines per step of a bulk import (one transaction each, with its checkpoint).
METADATA_IMPORT_BATCH = env.int("METADATA_IMPORT_BATCH", default=5000)
# Search (docs/metadata.md, "Search"): the encoder ("minilm", the ONNX sentence model,
# or "tfidf", the per-tenant scikit-learn fallback), the size from which a tenant's
# vectors are searched through an HNSW graph instead of exactly, the graph's search
# breadth, and the memory all loaded tenant indexes of one process may use.
METADATA_SEARCH_ENCODER = env.str("METADATA_SEARCH_ENCODER", default="minilm")
# The TF-IDF fallback encoder keeps the most frequent terms only: its registry artifact
# is terms + a 128 x terms projection (float64), about 20 MB at the default.
METADATA_TFIDF_MAX_TERMS = env.int("METADATA_TFIDF_MAX_TERMS", default=20_000)
METADATA_SEARCH_THREADS = env.int("METADATA_SEARCH_THREADS", default=1)
METADATA_SEARCH_ANN_MIN = env.int("METADATA_SEARCH_ANN_MIN", default=5000)
METADATA_SEARCH_EF = env.int("METADATA_SEARCH_EF", default=128)
METADATA_SEARCH_INDEX_BUDGET_BYTES = env.int(
    "METADATA_SEARCH_INDEX_BUDGET_BYTES", default=512 * 1024 * 1024
)
# Scale-out backends (docs/metadata.md, "Backends"), the database by default: search in
# Elasticsearch ("elasticsearch": one shared index, the tenant as routing key and as a
# filter inside every query) and record content in MongoDB ("mongodb"). The database
# stays the source of truth; the search indexer mirrors every change into them.
METADATA_SEARCH_BACKEND = env.str("METADATA_SEARCH_BACKEND", default="database")
METADATA_DOCUMENT_STORE = env.str("METADATA_DOCUMENT_STORE", default="database")
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
METADATA_ELASTICSEARCH_INDEX = env.str("METADATA_ELASTICSEARCH_INDEX", default="dim-metadata")
# The seed's variable: primary shards of the index when the backend creates it.
ELASTICSEARCH_SHARDS = env.int("ELASTICSEARCH_SHARDS", default=5)
MONGODB_URL = env.str("MONGODB_URL", default="")
METADATA_MONGODB_DATABASE = env.str("METADATA_MONGODB_DATABASE", default="dim_metadata")
PERIODIC_TASKS["metadata-search-index"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("METADATA_SEARCH_INDEX_INTERVAL", default=5.0),
    "args": ("metadata_mgr.tasks.index_search_task",),
}

# --- Security manager -----------------------------------------------------------------
# The master key-encryption key: 32 bytes in base64, from the environment or a file.
# A KMS/HSM plugs in through SECURITY_MASTER_KEY_PROVIDER (a dotted factory path).
SECURITY_MASTER_KEY = env.str("SECURITY_MASTER_KEY", default="")
SECURITY_MASTER_KEY_FILE = env.str("SECURITY_MASTER_KEY_FILE", default="")
SECURITY_MASTER_KEY_PROVIDER = env.str("SECURITY_MASTER_KEY_PROVIDER", default="")
# Wrap every new data key with hybrid X25519 + ML-KEM-768, whatever the tenant's level.
QUANTUM_CRYPTO_ENABLED = env.bool("QUANTUM_CRYPTO_ENABLED", default=False)
# WebAuthn relying party; empty: the request's host (and scheme://host as the origin).
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="")
WEBAUTHN_ORIGIN = env.str("WEBAUTHN_ORIGIN", default="")
# The name authenticators show for the relying party when a passkey is registered.
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="Data Isolation Managers")
# Key-ring cache: trusted this long while the Redis invalidation listener is healthy,
# only SECURITY_KEY_CACHE_UNCONFIRMED_SECONDS otherwise (see security_mgr/keyring.py).
SECURITY_KEY_CACHE_SECONDS = env.float("SECURITY_KEY_CACHE_SECONDS", default=30.0)
SECURITY_KEY_CACHE_UNCONFIRMED_SECONDS = env.float(
    "SECURITY_KEY_CACHE_UNCONFIRMED_SECONDS", default=1.0
)
SECURITY_KEY_LISTENER = env.bool("SECURITY_KEY_LISTENER", default=True)
# Threat policy of the platform scope (sign-ins that name no tenant and no known user);
# tenants set theirs in the `security.threat_policy` setting. Keys as in
# security_mgr.threats.DEFAULT_POLICY.
SECURITY_THREAT_POLICY = env.json("SECURITY_THREAT_POLICY", default={})
# Signed tree heads bound the tail that only the head row's seal vouches for
# (docs/audit.md): a log whose head moved is signed every minute; an idle one is not signed
# again.
SECURITY_TREE_HEAD_INTERVAL = env.float("SECURITY_TREE_HEAD_INTERVAL", default=60.0)
# Tier retention (lifecycle_mgr.retention): one purge per data kind, daily, per tenant.
for _kind in ("jobs", "workflow_runs", "alert_notifications"):
    PERIODIC_TASKS[f"lifecycle-retention-{_kind.replace('_', '-')}"] = {
        "task": "tenancy.tasks.fan_out_task",
        "schedule": 86400.0,
        "args": (f"lifecycle_mgr.tasks.purge_{_kind}_retention_task",),
    }
# GDPR archives whose download link expired unused lose their pieces (lifecycle_mgr.exports).
PERIODIC_TASKS["lifecycle-sweep-expired-exports"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("LIFECYCLE_EXPORT_SWEEP_INTERVAL", default=3600.0),
    "args": ("lifecycle_mgr.tasks.sweep_expired_exports_task",),
}
PERIODIC_TASKS["security-sign-tree-heads"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": SECURITY_TREE_HEAD_INTERVAL,
    "args": ("audit_mgr.tasks.sign_tree_head_task",),
}
PERIODIC_TASKS["security-sign-platform-tree-head"] = {
    "task": "audit_mgr.tasks.sign_platform_tree_head_task",
    "schedule": SECURITY_TREE_HEAD_INTERVAL,
}
PERIODIC_TASKS["security-verify-audit-logs"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("SECURITY_VERIFY_INTERVAL", default=86400.0),
    "args": ("audit_mgr.tasks.verify_audit_task",),
}
# `deferred`: an audited transaction only queues its entries and a worker numbers them
# within about a second; `commit`: the committing process numbers them before it
# returns (audit_mgr/sequencer.py). Either way the sweep below sequences
# whatever a failed sequencer left pending (verify_audit and the dashboard show its age).
SECURITY_AUDIT_SEQUENCING = env.str("SECURITY_AUDIT_SEQUENCING", default="deferred")
PERIODIC_TASKS["security-sequence-audit-logs"] = {
    "task": "audit_mgr.tasks.sweep_pending_audit_task",  # every tenant, any state
    "schedule": env.float("SECURITY_AUDIT_SWEEP_INTERVAL", default=60.0),
}
PERIODIC_TASKS["security-sequence-platform-audit-log"] = {
    "task": "audit_mgr.tasks.sequence_platform_pending_audit_task",
    "schedule": env.float("SECURITY_AUDIT_SWEEP_INTERVAL", default=60.0),
}
PERIODIC_TASKS["security-rotate-due-keys"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("SECURITY_ROTATION_CHECK_INTERVAL", default=3600.0),
    "args": ("security_mgr.tasks.rotate_due_keys_task",),
}

# --- Performance and monitoring (perf_mgr; docs/performance.md) ------------------------
# Recorded samples wait in a bounded per-process buffer (full: dropped and counted) and
# are flushed in batches: `thread` (a background thread), `inline` (at the end of a
# request or task) or `manual` (flush() only: tests and the bench).
PERFORMANCE_BUFFER_MAX = env.int("PERFORMANCE_BUFFER_MAX", default=100_000)
PERFORMANCE_FLUSH_INTERVAL = env.float("PERFORMANCE_FLUSH_INTERVAL", default=1.0)
PERFORMANCE_FLUSH_MODE = env.str("PERFORMANCE_FLUSH_MODE", default="thread")
PERFORMANCE_COLLECT_REQUESTS = env.bool("PERFORMANCE_COLLECT_REQUESTS", default=True)
# Series (name + labels) a tenant may hold, per tier; new ones beyond are refused.
PERFORMANCE_SERIES_LIMITS = env.json(
    "PERFORMANCE_SERIES_LIMITS", default={"free": 1000, "standard": 10_000, "enterprise": 100_000}
)
# Days kept per tier: raw samples, minute roll-ups, hour roll-ups.
PERFORMANCE_RETENTION = env.json(
    "PERFORMANCE_RETENTION",
    default={
        "free": {"raw": 1, "minute": 7, "hour": 31},
        "standard": {"raw": 3, "minute": 14, "hour": 90},
        "enterprise": {"raw": 7, "minute": 31, "hour": 400},
    },
)
PERFORMANCE_BOTTLENECKS = {
    "min_requests": 20,
    "slow_p95_seconds": 0.5,
    "error_rate": 0.05,
    "queries_per_request": 20,
    "min_cache_reads": 50,
    "cache_hit_ratio": 0.5,
    "queue_wait_p95_seconds": 5.0,
    **env.json("PERFORMANCE_BOTTLENECKS", default={}),
}
# /metrics (Prometheus): platform operators' sessions, or this bearer token (empty: none).
PERFORMANCE_METRICS_TOKEN = env.str("PERFORMANCE_METRICS_TOKEN", default="")
# A `tenant` label (the slug) on the Prometheus metrics: one series per tenant.
PERFORMANCE_PROMETHEUS_TENANT_LABELS = env.bool(
    "PERFORMANCE_PROMETHEUS_TENANT_LABELS", default=False
)
PERIODIC_TASKS["perf-roll-up-metrics"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("PERFORMANCE_ROLLUP_INTERVAL", default=60.0),
    "args": ("perf_mgr.tasks.roll_up_metrics_task",),
}
PERIODIC_TASKS["perf-purge-expired-metrics"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": 3600.0,
    "args": ("perf_mgr.tasks.purge_expired_metrics_task",),
}
# Alert rules (perf_mgr/alerting; docs/performance.md, "Alerting"): evaluated per tenant
# every ALERTING_EVALUATION_INTERVAL; the outbox is delivered per tenant, at most
# ALERTING_DELIVERY_BATCH per tenant and run (the per-tenant rate limit of the fair queue),
# failed attempts retried from ALERTING_RETRY_BASE_S doubling up to ALERTING_RETRY_MAX_S.
# Webhooks may target private, loopback and link-local addresses (development only: a
# tenant's webhook could otherwise reach the platform's internal services).
ALERTING_WEBHOOK_ALLOW_PRIVATE = env.bool("ALERTING_WEBHOOK_ALLOW_PRIVATE", default=False)
# Grouping defaults of a tenant without an AlertRoute (Alertmanager's route settings).
ALERTING_GROUP_BY = env.list("ALERTING_GROUP_BY", default=["alertname"])
ALERTING_GROUP_WAIT_S = env.float("ALERTING_GROUP_WAIT_S", default=30.0)
ALERTING_GROUP_INTERVAL_S = env.float("ALERTING_GROUP_INTERVAL_S", default=300.0)
ALERTING_REPEAT_INTERVAL_S = env.float("ALERTING_REPEAT_INTERVAL_S", default=4 * 3600.0)
ALERTING_DELIVERY_BATCH = env.int("ALERTING_DELIVERY_BATCH", default=50)
ALERTING_RETRY_BASE_S = env.float("ALERTING_RETRY_BASE_S", default=30.0)
ALERTING_RETRY_MAX_S = env.float("ALERTING_RETRY_MAX_S", default=3600.0)
PERIODIC_TASKS["perf-evaluate-alert-rules"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("ALERTING_EVALUATION_INTERVAL", default=30.0),
    "args": ("perf_mgr.tasks.evaluate_alert_rules_task",),
}
PERIODIC_TASKS["perf-deliver-alert-notifications"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": env.float("ALERTING_DELIVERY_INTERVAL", default=15.0),
    "args": ("perf_mgr.tasks.deliver_alert_notifications_task",),
}
PERIODIC_TASKS["perf-sample-queue-depth"] = {
    "task": "perf_mgr.tasks.sample_queue_depth_task",
    "schedule": PERFORMANCE_MONITORING_INTERVAL,
}

# Insights (issue 15, items 4-6; docs/performance.md, "Anomalies, forecasts, advice"):
# robust anomaly detection per tenant every ANOMALY_DETECTION_INTERVAL (the last
# ANOMALY_OBSERVE_S against the same hour of the week over ANOMALY_HISTORY_WEEKS); a score
# at or above ANOMALY_DETECTION_THRESHOLD is stored as an anomaly. Forecast backtests are
# compared with PREDICTION_ACCURACY_TARGET (accuracy = 1 - MAPE). Recommendations are
# applied (by hand or automatically) only when ENABLE_AI_OPTIMIZATION (cache TTLs) or
# AUTO_SCALING_ENABLED (rate limits) allows; applied ones are watched for
# OPTIMIZATION_WATCH_S and rolled back when their metric worsens by more than
# OPTIMIZATION_ROLLBACK_TOLERANCE.
ANOMALY_DETECTION_THRESHOLD = env.float("ANOMALY_DETECTION_THRESHOLD", default=0.95)
ANOMALY_DETECTION_INTERVAL = env.float("ANOMALY_DETECTION_INTERVAL", default=300.0)
ANOMALY_OBSERVE_S = env.float("ANOMALY_OBSERVE_S", default=900.0)
ANOMALY_HISTORY_WEEKS = env.int("ANOMALY_HISTORY_WEEKS", default=4)
ANOMALY_MAX_METRICS = env.int("ANOMALY_MAX_METRICS", default=20)
PREDICTION_ACCURACY_TARGET = env.float("PREDICTION_ACCURACY_TARGET", default=0.85)
ENABLE_AI_OPTIMIZATION = env.bool("ENABLE_AI_OPTIMIZATION", default=False)
AUTO_SCALING_ENABLED = env.bool("AUTO_SCALING_ENABLED", default=False)
OPTIMIZATION_WATCH_S = env.float("OPTIMIZATION_WATCH_S", default=3600.0)
OPTIMIZATION_ROLLBACK_TOLERANCE = env.float("OPTIMIZATION_ROLLBACK_TOLERANCE", default=0.2)
PERIODIC_TASKS["perf-detect-anomalies"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": ANOMALY_DETECTION_INTERVAL,
    "args": ("perf_mgr.tasks.detect_anomalies_task",),
}
PERIODIC_TASKS["perf-watch-applied-recommendations"] = {
    "task": "tenancy.tasks.fan_out_task",
    "schedule": 60.0,
    "args": ("perf_mgr.tasks.watch_applied_recommendations_task",),
}

# --- Auth, i18n, static -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# The console speaks English, German and French (docs/operations.md#translations): the
# user's saved preference, else the language cookie, else the browser's Accept-Language,
# else English. The API answers in English whatever the request asks (tenancy/language.py).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("de", _("German")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]  # first: our catalog also translates unfold's strings
# The language form's cookie (tenancy/language_views.py): no script reads it.
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
LOGIN_URL = "/admin/login/"

# --- The console shell (django-unfold; tenancy/console_site.py) --------------------------
# The sidebar is built per request from tenancy.console_registry, which every manager
# fills in its AppConfig.ready(); nothing here names a manager's page.
UNFOLD = {
    "SITE_TITLE": "Data Isolation Managers",
    "SITE_HEADER": "Data Isolation Managers",
    "SITE_SUBHEADER": _("Tenant isolation console"),
    "SITE_URL": "/",
    "SITE_SYMBOL": "shield_lock",
    "SITE_FAVICONS": [
        {
            "rel": "icon",
            "type": "image/svg+xml",
            "href": lambda request: static("console/favicon.svg"),
        },
    ],
    "STYLES": [lambda request: static("console/console.css")],
    "ACCOUNT": {
        # A developer's page (Swagger UI, third-party markup): from the account menu, not
        # the sidebar, whose pages the browser crawl audits (docs/console.md).
        "navigation": [
            {
                "title": _("Change password"),
                "link": lambda request: reverse("admin:password_change"),
            },
            {"title": _("API documentation"), "link": lambda request: reverse("api-docs")},
        ],
    },
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_BACK_BUTTON": False,
    "SIDEBAR": {
        "show_search": True,
        "command_search": True,
        "show_all_applications": False,
        "navigation": "tenancy.console_site.sidebar_navigation",
    },
    "COMMAND": {"search_models": True, "show_history": False},
    # The account menu's language choice posts to our form, which also saves the signed-in
    # user's preference (tenancy/language_views.py), not to Django's set_language.
    "SHOW_LANGUAGES": True,
    "LANGUAGES": {"action": lambda request: reverse("console-language")},
}
# Threat detection answers first: a user+source or a source that is backing off is
# refused before its password is checked (security_mgr/login_guard.py).
AUTHENTICATION_BACKENDS = ["security_mgr.login_guard.ThrottledModelBackend"]

# --- Mail and onboarding ----------------------------------------------------------------
# Owners are invited by email (tenancy/onboarding.py). The embedded default prints mail
# to the console; `EMAIL_URL=smtp+tls://user:password@host:587` sends it for real.
_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_FILE_PATH = _email["EMAIL_FILE_PATH"] or str(VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="webmaster@localhost")
# The console's public address for links in mail; unset, the request's (or localhost).
DIM_PUBLIC_URL = env.str("DIM_PUBLIC_URL", default="")
# How long an invitation's set-password link works (Django's password-reset timeout).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 24 * 3600)

# --- API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "sessions_mgr.authentication.SessionTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "security_mgr.login_guard.ThrottledBasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tenancy.api.permissions.IsTenantMember"],
    "DEFAULT_PAGINATION_CLASS": "tenancy.api.pagination.TenantPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tenancy.api.errors.api_exception_handler",
    # Bodies beyond DATA_UPLOAD_MAX_MEMORY_SIZE, deeper than API_JSON_MAX_DEPTH, or with
    # NUL characters or lone surrogates are a 4xx (tenancy/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "tenancy.api.parsers.StrictJSONParser",
        "tenancy.api.parsers.CheckedFormParser",
        "tenancy.api.parsers.CheckedMultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "tenancy.api.openapi.TenantAutoSchema",
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
}
# Paths that answer errors in the API's JSON format (tenancy/api/middleware.py): the API
# and the seed's aliases at the site root (POST /sessions/create, ...).
API_PATH_PREFIXES = ["/api/", "/sessions/", "/performance/", "/metadata/"]
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=64)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("API_MAX_BODY_BYTES", default=2_621_440)
SPECTACULAR_SETTINGS = {
    "TITLE": "Data Isolation Managers API",
    "DESCRIPTION": (
        "Every endpoint is bound to one tenant. Choose it with the X-Tenant header "
        "(a tenant slug) when your user belongs to several tenants. Another tenant's "
        "objects answer 404 exactly like missing ones."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the API's error format and statuses (tenancy/api/openapi.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tenancy.api.openapi.document_errors",
    ],
    # Bodies are documented as JSON, the API's format; forms are accepted for DRF's
    # browsable pages but not described (a JSON field in a form is a JSON string).
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Choice sets that share a field name with another's ("state" of jobs and tenants).
    "ENUM_NAME_OVERRIDES": {
        "TenantStateEnum": "tenancy.models.tenant.TenantState",
        "CompatibilityModeEnum": "metadata_mgr.models.registry.CompatibilityMode",
        "VersionOpEnum": "metadata_mgr.models.records.VersionOp",
        "ChangeOpEnum": ["added", "changed", "removed"],
        "AlertSeverityEnum": "perf_mgr.models.alerting.Severity",
        "WorkflowRunStateEnum": "workflow_mgr.models.RunState",
        "StepRunStateEnum": "workflow_mgr.models.StepState",
        # A tenant's isolation mode: `mode` (isolation/) and `to` (move/) share it.
        "IsolationModeEnum": ["pooled", "dedicated"],
        "ExportStateEnum": "lifecycle_mgr.gdpr_models.ExportState",
        # What a tenant runs in today (a tier may promise more: IsolationModeEnum).
        "TenantIsolationModeEnum": "tenancy.models.tenant.IsolationMode",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    # No deep links: Swagger UI draws them as a link inside the operation's button, which
    # assistive technology cannot reach (axe-core: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False, "persistAuthorization": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: structured (JSON) records for audit-relevant events ----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "pythonjsonlogger.json.JsonFormatter", "timestamp": True},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "loggers": {
        "dim": {"handlers": ["console"], "level": env.str("DIM_LOG_LEVEL", default="INFO")},
    },
}

# --- Probes (config/health.py; docs/deployment.md#probes) -------------------------------
# The checks whose failure makes /readyz answer 503. Also reported: "workers" (the queue
# sampler's heartbeat) and "audit_lag" (the platform log's oldest unnumbered entry older
# than READINESS_AUDIT_LAG_MAX_S); add them here to fail readiness on them too.
READINESS_REQUIRED = env.list(
    "READINESS_REQUIRED", default=["database", "redis", "broker", "migrations"]
)
READINESS_AUDIT_LAG_MAX_S = env.float("READINESS_AUDIT_LAG_MAX_S", default=300.0)

# --- Production hardening ---------------------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
