#!/usr/bin/env bash
# Production-shape smoke test, run by .ci/run after the tests: gunicorn (the Dockerfile's own CMD),
# a Celery worker and beat as separate processes with DEBUG off, against this machine's PostgreSQL
# (127.0.0.1:5432, user postgres, trust auth) and Redis (127.0.0.1:6379, db 14, which it empties).
# Checks /healthz, a static file served by WhiteNoise, a task round trip, a Charge now invoice paid by the
# worker through the sandbox gateway, and a beat heartbeat.
#
#   bash scripts/smoke.sh          # SMOKE_KEEP_DB=1 keeps the invoicing_smoke database afterwards
set -euo pipefail

cd "$(dirname "$0")/.."
PY=.venv/bin/python
BIN=.venv/bin
LOGS=.data/smoke
PORT=8765
BASE_URL="http://127.0.0.1:${PORT}"
PG_SERVER=postgresql://postgres@127.0.0.1:5432
SMOKE_DB=invoicing_smoke
PROCESSES=(gunicorn worker beat)
declare -A PIDS=()

say() { echo "smoke: $*"; }
fail() {
    echo "smoke: FAILED: $*" >&2
    exit 1
}

stop_processes() {
    local name pid
    for name in "${PROCESSES[@]}"; do
        pid=${PIDS[$name]:-}
        [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null || true
    done
    for name in "${PROCESSES[@]}"; do
        pid=${PIDS[$name]:-}
        [[ -z $pid ]] && continue
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        # Each process leads its own process group (setsid), so this also reaches its children
        # (gunicorn and Celery pool workers) and nothing this script did not start.
        if kill -0 "$pid" 2>/dev/null || pgrep -g "$pid" >/dev/null; then
            say "$name ($pid) did not stop within 10 s; killing its process group"
            kill -KILL -- "-$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

on_exit() {
    local status=$?
    trap - EXIT INT TERM
    stop_processes
    if ((status != 0)); then
        for name in "${PROCESSES[@]}"; do
            if [[ -s $LOGS/$name.log ]]; then
                echo "----- last lines of $LOGS/$name.log -----" >&2
                tail -n 30 "$LOGS/$name.log" >&2
            fi
        done
    fi
    if [[ ${SMOKE_KEEP_DB:-} != 1 ]]; then
        sql "DROP DATABASE IF EXISTS $SMOKE_DB WITH (FORCE)" >/dev/null 2>&1 || say "could not drop $SMOKE_DB"
    fi
    exit "$status"
}

sql() {  # one statement against the server's `postgres` database; prints the first column of row 1
    "$PY" - "$PG_SERVER/postgres" "$1" <<'EOF'
import sys

import psycopg

with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5) as conn:
    cursor = conn.execute(sys.argv[2])
    row = cursor.fetchone() if cursor.description else None
    print(row[0] if row else "")
EOF
}

fetch() {  # GET a path from the smoke web process; prints "<status> <first 300 bytes of the body>" on one line
    "$PY" - "$BASE_URL$1" <<'EOF'
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as response:
        print(response.status, response.read(300).decode(errors="replace").replace("\n", " "))
except urllib.error.HTTPError as error:
    print(error.code, error.read(300).decode(errors="replace").replace("\n", " "))
except OSError as error:
    print(0, error)
EOF
}

start() {  # start NAME COMMAND...: in its own process group, output to $LOGS/NAME.log
    local name=$1
    shift
    setsid "$@" </dev/null >"$LOGS/$name.log" 2>&1 &
    PIDS[$name]=$!
    echo "${PIDS[$name]}" >"$LOGS/$name.pid"
    say "started $name (pid ${PIDS[$name]})"
}

alive() {  # alive NAME: fail at once, rather than at the timeout, when a process has died
    kill -0 "${PIDS[$1]}" 2>/dev/null || fail "$1 exited early; see $LOGS/$1.log"
}

# ---------------------------------------------------------------------------------------------------
[[ -x $PY ]] || fail "no virtualenv at .venv: run \`make test\` once to create it"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    fail "port $PORT is already in use; stop whatever listens there first"
fi
mkdir -p "$LOGS"
rm -f "$LOGS"/*.log "$LOGS"/*.pid "$LOGS"/celerybeat-schedule*
trap on_exit EXIT
trap 'exit 130' INT TERM

sql "SELECT 1" >/dev/null || fail "PostgreSQL does not answer at $PG_SERVER"
if [[ -z $(sql "SELECT 1 FROM pg_database WHERE datname = '$SMOKE_DB'") ]]; then
    sql "CREATE DATABASE $SMOKE_DB" >/dev/null
    say "created database $SMOKE_DB"
fi

export DATABASE_URL="$PG_SERVER/$SMOKE_DB"
export REDIS_URL=redis://127.0.0.1:6379/14
export SECRET_KEY
SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
export DEBUG=false
export ALLOWED_HOSTS=127.0.0.1,localhost
export SECURE_COOKIES=false
export EMAIL_ESP=console
export SITE_URL=$BASE_URL
export DJANGO_SETTINGS_MODULE=config.settings.base
export PYTHONUNBUFFERED=1

# db 14 belongs to this smoke: a stale heartbeat or queued task from an earlier run would fake a pass.
"$PY" -c 'import os, redis; redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5).flushdb()' ||
    fail "Redis does not answer at $REDIS_URL"

say "migrate and collectstatic"
"$PY" manage.py migrate --no-input -v 0 || fail "migrate failed"
"$PY" manage.py collectstatic --no-input -v 0 || fail "collectstatic failed"

# The image's own CMD, bound to a local port, so that a bad gunicorn flag in the Dockerfile fails here.
mapfile -t WEB_COMMAND < <("$PY" - "127.0.0.1:$PORT" <<'EOF'
import json
import re
import sys
from pathlib import Path

(cmd,) = re.findall(r"^CMD\s+(\[.*\])\s*$", Path("Dockerfile").read_text(), re.MULTILINE)
cmd = json.loads(cmd)
cmd[cmd.index("--bind") + 1] = sys.argv[1]
print("\n".join(cmd))
EOF
)
[[ ${WEB_COMMAND[0]:-} == gunicorn ]] || fail "could not read a gunicorn CMD from the Dockerfile"
start gunicorn "$BIN/gunicorn" "${WEB_COMMAND[@]:1}" --pid "$LOGS/gunicorn.master.pid"
start worker "$BIN/celery" -A config worker -l info -c 2 -n smoke@%h --without-gossip --without-mingle
start beat "$BIN/celery" -A config beat -l info --schedule "$LOGS/celerybeat-schedule"

say "waiting up to 60 s for $BASE_URL/healthz"
for attempt in $(seq 1 120); do
    alive gunicorn
    read -r status body < <(fetch /healthz) || true
    [[ $status == 200 ]] && break
    ((attempt == 120)) && fail "/healthz did not return 200 within 60 s (last: $status $body)"
    sleep 0.5
done
say "/healthz: $body"

read -r status _ < <(fetch /static/css/app.css) || true
[[ $status == 200 ]] || fail "/static/css/app.css returned $status, expected 200 from WhiteNoise"
hashed=$("$PY" -c 'import json; print(json.load(open(".data/staticfiles/staticfiles.json"))["paths"]["css/app.css"])')
read -r status _ < <(fetch "/static/$hashed") || true
[[ $status == 200 ]] || fail "/static/$hashed (the manifest's name) returned $status, expected 200"
say "static files served: /static/css/app.css and /static/$hashed"

say "task round trip through the worker"
alive worker
result=$("$PY" -c '
import django

django.setup()
from config.health import heartbeat

print(heartbeat.delay().get(timeout=30))
') || fail "config.health.heartbeat did not come back from the worker within 30 s"
[[ $result =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "heartbeat returned ${result@Q}, expected a number"
say "heartbeat task returned $result"

say "Charge now through the worker: an invoice charged by the sandbox gateway"
"$PY" - <<'EOF' || fail "a Charge now invoice was not paid by the worker within 30 s"
import datetime
import time

import django

django.setup()
from django_scopes import scope

from customers.services import customer_create
from invoicing.models import Invoice, PaymentOption
from invoicing.services import InvoiceInput, LineInput, invoice_create
from partners.models import Partner
from payments.gateways.base import CardDetails
from payments.services import payment_method_add

partner = Partner.objects.create(name="Smoke Partner")
with scope(partner=partner):
    customer = customer_create(partner=partner, data={"name": "Smoke", "email": "smoke@example.com"})
    card = CardDetails(number="4242424242424242", exp_month=12, exp_year=2035, cvc="123")
    payment_method_add(customer=customer, details=card, make_default=True)
    data = InvoiceInput(
        customer=customer,
        due_date=partner.today() + datetime.timedelta(days=7),
        currency="USD",
        lines=[LineInput("Smoke test", 1, 1_000)],
        payment_option=PaymentOption.CHARGE_NOW,
    )
    invoice = invoice_create(partner=partner, data=data, created_by=None, finalize=True)
    deadline = time.monotonic() + 30
    while Invoice.objects.get(pk=invoice.pk).status != "paid":
        if time.monotonic() > deadline:
            raise SystemExit(1)
        time.sleep(0.3)
print(f"smoke: invoice {invoice.number} paid by the worker")
EOF

# Beat's first send comes one interval (30 s) after it starts. The worker that runs it writes a heartbeat
# newer than the round trip's, and /healthz then reports its age.
say "waiting up to 45 s for beat to send a heartbeat"
for attempt in $(seq 1 90); do
    alive beat
    grep -q "Sending due task heartbeat" "$LOGS/beat.log" && break
    ((attempt == 90)) && fail "beat sent no heartbeat within 45 s"
    sleep 0.5
done
"$PY" - "$result" <<'EOF' || fail "beat sent a heartbeat but no worker recorded it within 35 s"
import os
import sys
import time

import redis

client = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=5)
deadline = time.monotonic() + 35
while float(client.get("invoicing:heartbeat") or 0) <= float(sys.argv[1]):
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.5)
EOF
read -r status body < <(fetch /healthz) || true
[[ $status == 200 && $body =~ \"worker_heartbeat_age_s\":\ [0-9] ]] || fail "/healthz after beat: $status $body"
say "beat -> worker heartbeat, seen by /healthz: $body"

say "passed"
