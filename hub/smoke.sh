#!/usr/bin/env bash
# Smoke test of the course's hub image (built by hub/build.sh), first steps:
#   1. a Jupyter server starts from the image as its non-root user, with the course's configuration: the
#      TypeScript kernel (tslab) is the default and only kernelspec, nbgrader's server extensions are loaded;
#   2. notebooks/00_setup.ipynb executes headless inside that container (./course run: every cell must pass).
# Not yet: JupyterHub itself with two users, nbgrader's exchange (see hub/README.md).
#
#   hub/smoke.sh [IMAGE]          (default localhost/nlu-course-hub:latest; ENGINE=podman|docker)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${1:-localhost/nlu-course-hub:latest}"
ENGINE="${ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}"
# shellcheck source=hub/engine.sh
. "$ROOT/hub/engine.sh"

say() { printf 'hub/smoke: %s\n' "$*"; }
fail() { printf 'hub/smoke: FAILED: %s\n' "$*" >&2; [ -n "${NAME:-}" ] && "$ENGINE" logs --tail 40 "$NAME" >&2 2>&1; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }

# A free port and a fresh token; the container shares the host's network (no port mapping to go wrong).
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
NAME="nlu-hub-smoke-$$"
trap '"$ENGINE" rm -f "$NAME" >/dev/null 2>&1 || true' EXIT

t="$(now)"
"$ENGINE" run -d --name "$NAME" --network host "$IMAGE" \
  jupyter server --ServerApp.ip=127.0.0.1 --ServerApp.port="$PORT" --IdentityProvider.token="$TOKEN" >/dev/null
api() { curl -fsS -H "Authorization: token $TOKEN" "http://127.0.0.1:$PORT/api/$1"; }
for _ in $(seq 1 120); do
  api status >/dev/null 2>&1 && break
  "$ENGINE" inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null | grep -q true || fail "the server's container exited"
  sleep 0.5
done
api status >/dev/null || fail "no answer from the server on port $PORT after 60 s"
say "1. server up in $(since "$t") s (port $PORT)"

user="$("$ENGINE" exec "$NAME" id -un)"
[ "$user" = jovyan ] || fail "the server runs as '$user', expected jovyan (docker-stacks convention)"
api kernelspecs | python3 -c '
import json, sys
k = json.load(sys.stdin)
names = sorted(k["kernelspecs"])
assert k["default"] == "tslab", "default kernel is %r, expected tslab" % k["default"]
assert names == ["tslab"], f"kernelspecs {names}, expected only tslab"
print("hub/smoke:    kernelspecs:", names, "default:", k["default"], "-", k["kernelspecs"]["tslab"]["spec"]["display_name"])' ||
  fail "kernelspecs"
ext="$("$ENGINE" exec "$NAME" jupyter server extension list 2>&1 | sed 's/\x1b\[[0-9;]*m//g')"
grep -q 'nbgrader.server_extensions.formgrader.*enabled' <<<"$ext" || fail "nbgrader's formgrader server extension is not enabled: $ext"
api contents | python3 -c '
import json, sys
names = [f["name"] for f in json.load(sys.stdin)["content"]]
assert "00_setup.ipynb" in names, "the server root does not hold the notebooks: %s" % names' ||
  fail "the server's root is not notebooks/ (hub/jupyter_server_config.py)"
say "   user jovyan, TypeScript default kernel, nbgrader extensions enabled, notebooks/ as the root"

t="$(now)"
say "2. executing notebooks/00_setup.ipynb inside the container (./course run) ..."
"$ENGINE" exec "$NAME" ./course run notebooks/00_setup.ipynb || fail "notebooks/00_setup.ipynb failed inside the image"
say "   00_setup passed in $(since "$t") s"
say "OK"
