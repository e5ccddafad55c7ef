#!/bin/sh
# The image's roles: web (gunicorn), worker (Celery), beat (Celery beat), migrate (the
# migration job, run as the owner role: DATABASE_URL is the owner's URL there).
# Each refuses to start when a production setting is missing (config/preflight.py).
set -eu
role="${1:-web}"
[ "$#" -gt 0 ] && shift
python -m config.preflight
case "$role" in
  web)
    exec gunicorn --config config/gunicorn.py config.asgi:application "$@" ;;
  worker)
    # SIGTERM: warm shutdown (running tasks finish; jobs_mgr leases cover a kill).
    exec celery -A config worker --loglevel=INFO \
      --concurrency="${CELERY_CONCURRENCY:-2}" --hostname="worker@%h" "$@" ;;
  beat)
    # Several beats are safe: one leader sends (config/beat_lock.py, CELERY_BEAT_SCHEDULER).
    exec celery -A config beat --loglevel=INFO --pidfile= "$@" ;;
  migrate)
    exec python manage.py migrate --no-input "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
