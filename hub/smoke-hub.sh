#!/usr/bin/env bash
# Smoke test of a class on one hub (after hub/build.sh): JupyterHub from the course image (hub/Containerfile.hub,
# hub/jupyterhub_config.py) starting each user's server as a container of the course image through podman's
# Docker-compatible API, then, as an instructor and a student would:
#   1. the student logs in through the hub (login form, API token from the hub's API) and the hub starts their
#      server, with notebooks/ on a named volume seeded from the image; through the hub's proxy it lists the
#      TypeScript kernel as the default and the notebooks, and has no formgrader (the instructor's has);
#   2. notebooks/00_setup.ipynb executes headless in the student's server (./course run in that container);
#   3. the instructor's server starts (admin API token); only it has the homework's solutions;
#   4. nbgrader: the instructor releases hw_attention to the exchange, the student fetches it, answers it (the
#      solution cells of the source notebook) and submits it, the instructor collects and autogrades it: 20 of 20.
#
# Before the hub starts, hub/check_z2jh.py checks the Kubernetes values file (no cluster here).
#
#   hub/smoke-hub.sh [IMAGE]          (default localhost/nlu-course-hub:latest; needs podman, as root)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
IMAGE="${1:-localhost/nlu-course-hub:latest}"
HUB_IMAGE="${IMAGE%:*}-jupyterhub:latest"
ENGINE=podman
command -v podman >/dev/null 2>&1 || { echo "hub/smoke-hub: needs podman (apt-get install -y podman)" >&2; exit 1; }
# shellcheck source=hub/engine.sh
. "$ROOT/hub/engine.sh"

say() { printf 'hub/smoke-hub: %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
T0="$(now)"

W="$(mktemp -d /var/tmp/nlu-hub-smoke.XXXXXX)"
PREFIX="nlu-smoke-$$"
SERVICE_PID=""
cleanup() {
  podman rm -f -t 5 "$PREFIX-hub" >/dev/null 2>&1 || true
  for u in student instructor; do
    podman rm -f -t 5 "$PREFIX-$u" >/dev/null 2>&1 || true
    podman volume rm -f "$PREFIX-notebooks-$u" >/dev/null 2>&1 || true
  done
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
fail() {
  printf 'hub/smoke-hub: FAILED: %s\n' "$*" >&2
  podman logs --tail 30 "$PREFIX-hub" >&2 2>&1 || true
  exit 1
}

# ---------------------------------------------------------------------------------------------- the hub
t="$(now)"
podman build -q --format docker -f hub/Containerfile.hub --build-arg "COURSE_IMAGE=$IMAGE" -t "$HUB_IMAGE" hub/ >/dev/null ||
  fail "building the hub image ($HUB_IMAGE)"
say "hub image $HUB_IMAGE ready in $(since "$t") s"

# The Kubernetes values, as far as this machine can check them (YAML, the hook's Python, names): in the image, which
# has PyYAML.
podman run --rm --network none -v "$ROOT/hub:/hub:ro" "$IMAGE" python3 /hub/check_z2jh.py /hub ||
  fail "hub/z2jh-values.yaml, hub/z2jh-volumes.yaml"

podman system service --time=0 "unix://$W/podman.sock" >"$W/service.log" 2>&1 &
SERVICE_PID=$!
for _ in $(seq 50); do [ -S "$W/podman.sock" ] && break; sleep 0.2; done
[ -S "$W/podman.sock" ] || fail "podman system service did not open $W/podman.sock"

# nbgrader's exchange, and the instructor's course folder (a scratch copy of homework/, owned by the image's user)
mkdir -m 1777 "$W/exchange"
mkdir "$W/homework" && cp -a homework/source homework/nbgrader_config.py homework/lib "$W/homework/" && chown -R 1000:100 "$W/homework"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
secret() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }
PASSWORD="$(secret)"; ADMIN_TOKEN="$(secret)"
t="$(now)"
podman run -d --name "$PREFIX-hub" --network host -v "$W/podman.sock:/var/run/docker.sock" \
  -e NLU_HUB_IMAGE="$IMAGE" -e NLU_HUB_PORT="$PORT" -e NLU_HUB_API_PORT="$(free_port)" \
  -e NLU_HUB_PROXY_API_PORT="$(free_port)" -e NLU_HUB_EXCHANGE="$W/exchange" -e NLU_HUB_PASSWORD="$PASSWORD" \
  -e NLU_HUB_ADMIN_TOKEN="$ADMIN_TOKEN" -e NLU_HUB_INSTRUCTOR_HOMEWORK="$W/homework" -e NLU_HUB_NAME_PREFIX="$PREFIX" \
  -e NLU_HUB_PERSIST=1 \
  "$HUB_IMAGE" >/dev/null
URL="http://127.0.0.1:$PORT"
for _ in $(seq 120); do curl -fsS "$URL/hub/api/" >/dev/null 2>&1 && break; sleep 0.5; done
curl -fsS "$URL/hub/api/" >/dev/null 2>&1 || fail "the hub did not answer at $URL in 60 s"
say "JupyterHub $(curl -fsS "$URL/hub/api/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])') up at $URL in $(since "$t") s"

# ---------------------------------------------------------------------------------------------- 1-3
say "1. the student logs in through the hub"
python3 hub/hub_api.py login-and-spawn "$URL" student "$PASSWORD" || fail "student login/spawn"
in_student() { podman exec "$PREFIX-student" bash -c "$1"; }
in_instructor() { podman exec "$PREFIX-instructor" bash -c "$1"; }
in_student '[ "$JUPYTERHUB_USER" = student ]' || fail "the student's container is not the student's server"
podman volume exists "$PREFIX-notebooks-student" && in_student 'grep -q " /home/jovyan/nlu-course/notebooks " /proc/mounts' ||
  fail "the student's notebooks are not on their volume $PREFIX-notebooks-student"
say "   the student's notebooks/ is the volume $PREFIX-notebooks-student, seeded from the image"

say "2. notebooks/00_setup.ipynb in the student's server"
t="$(now)"
in_student './course run notebooks/00_setup.ipynb' || fail "00_setup failed in the student's server"
say "   00_setup passed in $(since "$t") s"

say "3. the instructor's server"
python3 hub/hub_api.py spawn "$URL" instructor "$ADMIN_TOKEN" || fail "instructor spawn"
in_instructor 'test -f homework/source/hw_attention/hw_attention.ipynb' || fail "the instructor's server lacks homework/source"
in_student 'test ! -e homework/source' || fail "the student's server has the homework's solutions (homework/source)"
say "   the solutions are in the instructor's server only"

# ---------------------------------------------------------------------------------------------- 4. nbgrader
say "4. nbgrader: release, fetch, submit, collect, autograde"
t="$(now)"
in_instructor './course release hw_attention >/dev/null && cd homework && nbgrader release_assignment hw_attention 2>&1 | grep -F "Released as"' ||
  fail "release"
in_student 'cd notebooks && nbgrader fetch_assignment hw_attention 2>&1 | grep -F "Fetched as" && test -f hw_attention/hw_attention.ipynb' ||
  fail "fetch"
# The student's answers: the solution cells of the source notebook (markers dropped), into the fetched notebook.
podman cp homework/source/hw_attention/hw_attention.ipynb "$PREFIX-student:/tmp/solutions.ipynb"
in_student 'cd notebooks && python3 - <<"EOF"
import re, nbformat
meta = lambda c: c.metadata.get("nbgrader", {})
src = nbformat.read("/tmp/solutions.ipynb", as_version=4)
answers = {meta(c)["grade_id"]: re.sub(r"^[ \t]*// (BEGIN|END) SOLUTION[ \t]*\n?", "", c.source, flags=re.M)
           for c in src.cells if meta(c).get("solution")}
nb = nbformat.read("hw_attention/hw_attention.ipynb", as_version=4)
n = 0
for c in nb.cells:
    if meta(c).get("solution") and meta(c).get("grade_id") in answers:
        c.source = answers[meta(c)["grade_id"]]; n += 1
assert n > 0, "no solution cell to answer"
nbformat.write(nb, "hw_attention/hw_attention.ipynb")
print("hub/smoke-hub:    the student answered", n, "cells")
EOF
nbgrader submit hw_attention 2>&1 | grep -F "Submitted as"' || fail "answer + submit"
in_instructor 'cd homework && mkdir -p submitted autograded && ln -sfn ../lib submitted/lib && ln -sfn ../lib autograded/lib &&
  nbgrader collect hw_attention 2>&1 | grep -F "Collecting submission: student" &&
  nbgrader autograde hw_attention --student student >autograde.log 2>&1 || { tail -20 autograde.log; exit 1; }' ||
  fail "collect + autograde"
score="$(in_instructor 'cd homework && python3 -c "
from nbgrader.api import Gradebook
with Gradebook(\"sqlite:///gradebook.db\") as gb:
    s = gb.find_submission(\"hw_attention\", \"student\")
    print(\"%g/%g\" % (s.score, s.max_score))"')"
say "   hw_attention: student scored $score ($(since "$t") s for release .. autograde)"
[ "$score" = "20/20" ] || fail "the solved homework scored $score, expected 20/20"
say "OK in $(since "$T0") s"
