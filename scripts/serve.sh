#!/usr/bin/env bash
# Serves the admin and API on HOST:PORT; with Redis reachable, also a Celery worker with beat.
set -euo pipefail
host=${1:-127.0.0.1}; port=${2:-8000}
py=.venv/bin/python
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
if $py -c "import redis,sys; sys.exit(0 if redis.Redis.from_url('$redis_url', socket_connect_timeout=1).ping() else 1)" 2>/dev/null; then
  echo "Redis is reachable at $redis_url: starting a Celery worker (queues jobs, alerts, webhooks, payments, default) with beat."
  export REDIS_URL=$redis_url
  .venv/bin/celery -A creditsite worker --beat --loglevel=INFO --concurrency=2 -Q jobs,alerts,webhooks,payments,default \
    -s var/celerybeat-schedule &
  pids+=($!)
else
  echo "Redis is not reachable: no worker or beat runs. Run the scheduled jobs by hand with:"
  echo "    .venv/bin/python manage.py run_jobs"
fi
# A metrics token for this run, unless one is set: the scrape command is printed below.
export METRICS_TOKEN=${METRICS_TOKEN:-$($py -c "import secrets; print(secrets.token_urlsafe(24))")}
echo "Admin: http://$host:$port/admin/   API: http://$host:$port/api/v1/docs"
echo "Metrics: curl -H 'Authorization: Bearer $METRICS_TOKEN' http://$host:$port/metrics"
$py manage.py runserver "$host:$port" --noreload
