"""gunicorn's configuration for `make serve` and the container (docs/deployment.md).

Uvicorn workers run the ASGI application (config/asgi.py): the async paths stay async,
the sync views run in Django's thread pool. Everything comes from the environment.

Graceful shutdown: on SIGTERM gunicorn stops accepting, lets each worker finish its
in-flight requests for up to GUNICORN_GRACEFUL_TIMEOUT seconds, then exits; Kubernetes'
terminationGracePeriodSeconds (deploy/k8s) is longer than that.
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND") or (
    f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
)
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 8))
worker_class = "uvicorn.workers.UvicornWorker"
# A worker silent this long is killed and replaced (a stuck request, not a slow one).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak cannot grow without bound; jittered so
# they do not all restart together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = max_requests // 10
# The load balancer / ingress sets X-Forwarded-*; trust it from these addresses only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Heartbeat files in memory: a container's overlay filesystem can stall fsync.
_SHM = "/dev/shm"  # noqa: S108  (gunicorn's own advice for containers)
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or (
    _SHM if os.path.isdir(_SHM) else None
)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "dim-web"

# /metrics merges every worker's values (prometheus-client's multi-process mode,
# perf_mgr/prometheus.py): a directory per server, emptied when it starts.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"dim-prometheus-{bind.rsplit(':', 1)[-1]}"),
)


def on_starting(server):
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
