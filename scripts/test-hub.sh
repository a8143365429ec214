#!/usr/bin/env bash
# The class-hub test (issue 19, hub/test.sh): builds the course's container image on a debootstrap base and
# smoke-tests JupyterHub with it (two users, 00_setup, an nbgrader release -> submit -> autograde round trip).
# Opt-in: it needs root, a container engine (podman; hub/test.sh installs it with apt-get) and ~10-14 min.
# .ci/run turns it on with NLU_HUB_TEST=1; elsewhere `npm test` says it was skipped and how to run it.
set -euo pipefail
if [ "${NLU_HUB_TEST:-}" != 1 ]; then
  echo "test:hub: skipped (opt-in: NLU_HUB_TEST=1 npm run test:hub, as root; builds the hub image, ~10-14 min; .ci/run runs it)"
  exit 0
fi
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/hub/test.sh"
