#!/usr/bin/env bash
# The hub image's whole test, as CI would run it on a bare Debian machine as root: install podman (+ debootstrap,
# runc) when missing, build the image on a debootstrap base (no image registry needed), with the corpora from
# $NLU_DATA_MIRROR when set and this machine's own extra CAs, then hub/smoke.sh and hub/smoke-hub.sh.
# Opt-in locally (nothing else runs it); measured time in hub/README.md.
#
#   hub/test.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}'; }
T0="$(now)"

missing=()
for t in podman:podman debootstrap:debootstrap runc:runc; do command -v "${t%%:*}" >/dev/null 2>&1 || missing+=("${t#*:}"); done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 ||
    { echo "hub/test: needs ${missing[*]} (apt-get install -y ${missing[*]}) and root" >&2; exit 1; }
  t="$(now)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" uidmap >/dev/null
  echo "hub/test: installed ${missing[*]} in $(since "$t") s"
fi

args=(--debootstrap --host-ca-certs)
[ -n "${NLU_DATA_MIRROR:-}" ] && args+=(--mirror "$NLU_DATA_MIRROR")
hub/build.sh "${args[@]}"
hub/smoke.sh
hub/smoke-hub.sh
echo "hub/test: image built and both smoke tests passed in $(since "$T0") s"
