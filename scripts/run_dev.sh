#!/usr/bin/env bash
# `make run`: Celery worker and beat, and the development server, until Ctrl-C or TERM.
#
# Each of the three runs in its own process group (job control, `set -m`), so the only
# signals they get come from `stop` below, once each, and a whole group (Django's
# autoreloader child, Celery's pool processes) goes at once. The worker gets one TERM
# (warm shutdown: running tasks finish), then QUIT (cold shutdown) after
# STOP_TIMEOUT seconds, then KILL for its whole group: nothing is left behind.
# (The old `trap 'kill 0' ... TERM` signalled its own shell too, re-entered itself and
# sent the worker TERM after TERM until Celery's handler overflowed the stack.)
set -u -m
VENV=${VENV:-.venv}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
STOP_TIMEOUT=${STOP_TIMEOUT:-20}

alive() { kill -0 "$1" 2>/dev/null; }

wait_gone() {  # pid seconds: true once the pid is gone
  local pid=$1 ticks=$(($2 * 10))
  while alive "$pid" && ((ticks-- > 0)); do sleep 0.1; done
  ! alive "$pid"
}

stop() {
  trap '' INT TERM  # a second Ctrl-C while stopping changes nothing
  trap - EXIT
  echo "Stopping: server, beat, then the worker (warm shutdown, at most ${STOP_TIMEOUT}s)..."
  kill -TERM -- "-$server" "-$beat" 2>/dev/null
  kill -TERM "$worker" 2>/dev/null
  if ! wait_gone "$worker" "$STOP_TIMEOUT"; then
    echo "Worker still busy: cold shutdown."
    kill -QUIT "$worker" 2>/dev/null
    wait_gone "$worker" 3 || kill -KILL -- "-$worker" 2>/dev/null
  fi
  wait_gone "$server" 3 || kill -KILL -- "-$server" 2>/dev/null
  wait_gone "$beat" 3 || kill -KILL -- "-$beat" 2>/dev/null
  kill -KILL -- "-$worker" 2>/dev/null  # pool processes the worker did not reap
  wait 2>/dev/null
  exit "${1:-0}"
}

"$VENV/bin/celery" -A config worker --loglevel=INFO --concurrency=2 --hostname=worker@%h &
worker=$!
# Beat reads its schedules from the database, where the console edits them
# (tenancy/schedules.py seeds them at migrate; CELERY_BEAT_SCHEDULER says the same).
"$VENV/bin/celery" -A config beat --loglevel=INFO \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler &
beat=$!
"$VENV/bin/python" manage.py runserver "$HOST:$PORT" &
server=$!
trap 'stop 130' INT
trap 'stop 143' TERM
trap 'stop 0' EXIT
# Any of the three ending on its own stops the others.
wait -n
stop $?
