#!/usr/bin/env bash
# Runs the kernel tests (this folder) against tslab 1.0.22 as an older revision of the course shipped it: stock
# tslab from npm plus that revision's patches/tslab+1.0.22.patch. Used to check that the protocol tests fail
# there (they were written against issue 10's list); not part of npm test.
#
#   test/kernel/against-old-kernel.sh [REV] [unittest args...]   # REV: a git revision (default 775bbb2, before
#                                                                # the kernel rework); "stock": no patch at all
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REV="${1:-775bbb2}"
[ $# -gt 0 ] && shift
OLD="$ROOT/node_modules/.tslab-old" # inside node_modules: tslab's own dependencies resolve from there
SPECS="$(mktemp -d)"
trap 'rm -rf "$SPECS" "$OLD"' EXIT

rm -rf "$OLD"
mkdir -p "$OLD"
(cd "$SPECS" && npm pack tslab@1.0.22 --silent >/dev/null)
tar -xzf "$SPECS"/tslab-1.0.22.tgz -C "$OLD" --strip-components=1
if [ "$REV" != stock ]; then
  git -C "$ROOT" show "$REV:patches/tslab+1.0.22.patch" | patch -s -d "$OLD" -p3
fi
# tslab hands over to a node_modules/tslab it finds above the notebook's folder (this checkout's, the new one):
# switch that off in the old copy.
sed -i 's/enableFindLocal = true,/enableFindLocal = false,/' "$OLD/dist/main.js"
mkdir -p "$SPECS/kernels/tslab"
cat >"$SPECS/kernels/tslab/kernel.json" <<EOF
{"argv": ["$(command -v node)", "$OLD/bin/tslab", "kernel", "--config-path", "{connection_file}"],
 "display_name": "TypeScript (tslab 1.0.22, $REV)", "language": "typescript"}
EOF
cd "$ROOT/test/kernel"
[ $# -gt 0 ] || set -- test_conformance test_protocol
JUPYTER_PATH="$SPECS" JUPYTER_PREFER_ENV_PATH=1 "$ROOT/.venv/bin/python" -m unittest -v "$@"
