#!/usr/bin/env bash
# The docker-compose.yml stack for real: build the images, bring it up with two workers and
# throwaway secrets, check the API's basic auth, run two small studies through the `study`
# deployment at once, check their rows in PostgreSQL and that both workers took one, run both
# again (every variant Cached, from the shared volume), check the server logged no traceback,
# then `down -v`.
# Prints the time of each step. Needs what docker/build-images.sh needs; ~2.5 min once built.
#   bash docker/compose-smoke.sh        (KEEP=1 leaves the stack up for a look; then `down -v`)
set -euo pipefail
cd "$(dirname "$0")/.."

PROJECT=${SMOKE_PROJECT:-epbatch-smoke-$$}  # unique: two runs at once do not meet
PYTHON=${PYTHON:-.venv/bin/python}
compose() { bash docker/compose.sh -p "$PROJECT" --env-file "$env_file" "$@"; }
t0=$SECONDS
step() { echo "compose-smoke: [$((SECONDS - t0)) s] $*"; }
fail() { echo "compose-smoke: FAILED: $*" >&2; compose logs --no-color --tail 40 >&2 || true; exit 1; }

step "building images"
bash docker/build-images.sh stack

# Secrets of this run only: random passwords, a free loopback port.
env_file=$(mktemp /tmp/epbatch-smoke-env.XXXXXX)
work=$(mktemp -d /tmp/epbatch-smoke.XXXXXX)
cleanup() {
    if [[ "${KEEP:-0}" == 1 ]]; then
        echo "compose-smoke: left up; stop with: bash docker/compose.sh -p $PROJECT --env-file $env_file down -v"
    else
        compose down -v --remove-orphans > /dev/null 2>&1 || true
        rm -f "$env_file"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
"$PYTHON" - "$env_file" <<'PY'
import re, secrets, socket, sys
from pathlib import Path

def token() -> str:
    return secrets.token_urlsafe(18)

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
values = {
    "POSTGRES_PREFECT_PASSWORD": token(),
    "POSTGRES_EPBATCH_PASSWORD": token(),
    "PREFECT_API_AUTH_STRING": f"smoke:{token()}",
    "ENERGYPLUS_SLOTS": "2",
    "WORKER_FLOW_RUN_LIMIT": "1",
    # a run takes ~10 s: the idle worker must ask for the second one before the first ends
    "WORKER_QUERY_SECONDS": "2",
    "PREFECT_UI_PORT": str(port),
}
text = Path(".env.example").read_text()
for key, value in values.items():  # .env.example must name every key the stack needs
    text, n = re.subn(rf"^{key}=.*$", f"{key}={value}", text, flags=re.M)
    assert n == 1, key
Path(sys.argv[1]).write_text(text)
PY
port=$(sed -n 's/^PREFECT_UI_PORT=//p' "$env_file")
auth=$(sed -n 's/^PREFECT_API_AUTH_STRING=//p' "$env_file")

step "up -d --wait --scale worker=2"
up_start=$SECONDS
compose up -d --wait --wait-timeout 300 --scale worker=2 > "$work/up.log" 2>&1 \
    || { cat "$work/up.log" >&2; fail "the stack did not become healthy"; }
step "healthy after $((SECONDS - up_start)) s"

api=http://127.0.0.1:$port/api
code() { curl -s -o /dev/null -w "%{http_code}" "$@"; }
[[ $(code "$api/health") == 200 ]] || fail "/api/health is not open"
[[ $(code -X POST "$api/deployments/filter") == 401 ]] || fail "the API answers without auth"
[[ $(code -u "$auth" -X POST -H "content-type: application/json" -d "{}" "$api/deployments/filter") == 200 ]] \
    || fail "the API refuses the auth string"
step "auth: /api/health open, the API 401 without credentials, 200 with them"

# Two studies: the demo (annual; `study=demo`, the flow writes it) and a design-days one copied
# in from here, as the README shows, on the demo's model written by the project's own code.
mkdir "$work/smoke"
"$PYTHON" -c "import sys, pathlib; from epbatch.study.demo_model import write_demo_model; \
write_demo_model(pathlib.Path(sys.argv[1]))" "$work/smoke/shoebox.idf"
cat > "$work/smoke/study.yaml" <<'YAML'
name: smoke
models: [shoebox.idf]
weather: [USA_IL_Chicago-OHare.Intl.AP.725300_TMY3.epw]
run_period: design-days
construction_sets:
  baseline: {}
  triple-glazing:
    window: {u_factor: 0.8, shgc: 0.5, visible_transmittance: 0.7}
  r-value-roof:
    roof:
      layers: [{material: Roof board, thermal_resistance: 5.0}]
YAML
chmod -R a+rX "$work/smoke"
# Into one worker only: the studies volume is shared, and a copy into every replica at once
# races on the same folder ("mkdir /app/studies/smoke: file exists").
compose cp --index 1 "$work/smoke" worker:/app/studies/smoke > "$work/cp.log" 2>&1 \
    || { cat "$work/cp.log" >&2; fail "could not copy the study in"; }
# Both studies at once (one per worker: WORKER_FLOW_RUN_LIMIT=1); $1 names the round.
# `demo` names the demo study (the flow writes it); smoke was copied into the studies volume.
study_param() { if [[ $1 == demo ]]; then echo demo; else echo "studies/$1/study.yaml"; fi; }
run_both() {
    local pids=() study
    for study in demo smoke; do
        compose exec -T worker prefect deployment run run-energyplus-batch/study \
            --param "study=$(study_param "$study")" --watch --watch-timeout 600 \
            > "$work/$1-$study.log" 2>&1 &
        pids+=($!)
    done
    wait "${pids[0]}" && wait "${pids[1]}" || { cat "$work/$1"-*.log >&2; fail "$1: a flow run failed"; }
    for study in demo smoke; do
        grep -q "Flow run finished successfully in 'Completed'" "$work/$1-$study.log" \
            || { cat "$work/$1-$study.log" >&2; fail "$1: $study not Completed"; }
    done
}
rows() {
    compose exec -T postgres psql -U postgres -d epbatch -tA -F ' ' -c \
        "SELECT b.study_name, count(*), count(*) FILTER (WHERE r.status = 'succeeded')
         FROM results r JOIN batches b USING (batch_id) GROUP BY 1 ORDER BY 1"
}

step "running studies/demo and studies/smoke through run-energyplus-batch/study"
run_start=$SECONDS
run_both first
step "both flow runs Completed in $((SECONDS - run_start)) s"
[[ "$(rows)" == $'demo 3 3\nsmoke 3 3' ]] || fail "expected 3 succeeded rows per study: $(rows)"
step "PostgreSQL: 3 succeeded rows for each study"

busy=$(compose logs --no-color worker | grep -o "^[a-z-]*-[0-9]* *| .*submitting flow run" \
    | cut -d' ' -f1 | sort -u | wc -l)
[[ "$busy" == 2 ]] || fail "expected both workers to take a flow run, $busy did"
step "both workers ran a flow run"

# Again: every variant comes from the cache (task results on the shared volume, whichever
# worker made them), and each run still stores its rows.
run_start=$SECONDS
run_both again
for study in demo smoke; do
    cached=$(grep -c "prefect.task-run.Cached" "$work/again-$study.log" || true)
    [[ "$cached" == 3 ]] || { cat "$work/again-$study.log" >&2; fail "again: $study $cached Cached, not 3"; }
done
[[ "$(rows)" == $'demo 6 6\nsmoke 6 6' ]] || fail "expected 6 succeeded rows per study: $(rows)"
step "again: all 6 variants Cached, rows stored, in $((SECONDS - run_start)) s"

# The server's services (scheduler, event persister, ...) fail in the background, never in a
# flow run: a traceback in its log is a failure (SQLAlchemy 2.1 once broke the scheduler so).
if compose logs --no-color prefect-server | grep -q "Traceback"; then
    compose logs --no-color prefect-server | grep -B2 -A30 -m1 "Traceback" >&2
    fail "the Prefect server logged a traceback"
fi
step "no traceback in the Prefect server's log"

if [[ "${KEEP:-0}" == 1 ]]; then
    step "passed"
    exit 0
fi
down_start=$SECONDS
compose down -v --remove-orphans > /dev/null 2>&1
step "down -v in $((SECONDS - down_start)) s; passed"
