#!/usr/bin/env bash
# Build the course's JupyterHub image (hub/Containerfile) and say how long it took and how big it is.
#
#   hub/build.sh [--base IMAGE | --debootstrap] [--mirror DIR] [--ca-cert FILE]... [--tag NAME] [-- ENGINE-ARGS...]
#
#   --base IMAGE     the Debian 12 base to build on (default: docker.io/library/debian:bookworm, from a registry)
#   --debootstrap    no image registry reachable (CI, air-gapped networks): make the base here, a minimal Debian 12
#                    root file system from the same Debian mirror apt uses (debootstrap, as root), imported as
#                    localhost/debian-base:bookworm (kept; rebuilt only when missing)
#   --mirror DIR     corpora from a local mirror (<DIR>/<name>/<file>; default: $NLU_DATA_MIRROR if set), else the
#                    build downloads them
#   --ca-cert FILE   an extra certificate authority to trust in the build and the image (copied to hub/certs/)
#   --host-ca-certs  the same for each CA this machine added to its own trust store (/usr/local/share/ca-certificates/
#                    *.crt): on a network whose HTTPS proxy this machine already trusts, the build then does too
#   --tag NAME       default localhost/nlu-course-hub:latest
# Env: ENGINE=podman|docker (default: podman if present). Extra arguments after -- go to `ENGINE build`.
#
# Where the machine cannot raise resource limits (no CAP_SYS_RESOURCE: some VMs and nested containers), podman's
# default limits for a container (nofile 1048576) cannot be applied and every RUN step fails with "setrlimit
# RLIMIT_NOFILE: Operation not permitted"; this script then points podman at hub/podman-containers.conf (lower
# limits, runc). See that file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BASE=""; DEBOOTSTRAP=""; MIRROR="${NLU_DATA_MIRROR:-}"; TAG="localhost/nlu-course-hub:latest"; CERTS=(); EXTRA=()
DEBIAN_BASE_TAG="localhost/debian-base:bookworm"
while [ $# -gt 0 ]; do
  case "$1" in
    --base) BASE="$2"; shift 2 ;;
    --debootstrap) DEBOOTSTRAP=1; shift ;;
    --mirror) MIRROR="$2"; shift 2 ;;
    --ca-cert) CERTS+=("$2"); shift 2 ;;
    --host-ca-certs) for c in /usr/local/share/ca-certificates/*.crt /usr/local/share/ca-certificates/*/*.crt; do
                       [ -f "$c" ] && CERTS+=("$c"); done; shift ;;
    --tag) TAG="$2"; shift 2 ;;
    --) shift; EXTRA=("$@"); break ;;
    -h | --help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "hub/build.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf 'hub/build: %s\n' "$*"; }
die() { printf 'hub/build: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}'; }

ENGINE="${ENGINE:-$(command -v podman >/dev/null 2>&1 && echo podman || echo docker)}"
command -v "$ENGINE" >/dev/null 2>&1 || die "no container engine: install podman (Debian/Ubuntu: apt-get install -y podman) or docker"
# shellcheck source=hub/engine.sh
. "$ROOT/hub/engine.sh"

# ----------------------------------------------------------------------------------------------- the base
if [ -n "$DEBOOTSTRAP" ]; then
  [ -z "$BASE" ] || die "--base and --debootstrap exclude each other"
  BASE="$DEBIAN_BASE_TAG"
  if "$ENGINE" image exists "$BASE" 2>/dev/null || "$ENGINE" image inspect "$BASE" >/dev/null 2>&1; then
    say "base $BASE: already there"
  else
    [ "$(id -u)" = 0 ] || die "--debootstrap needs root (debootstrap makes device nodes and chroots)"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing: apt-get install -y debootstrap"
    # The same Debian mirror apt uses here (a proxy or local mirror keeps working), else Debian's CDN.
    DEB_MIRROR="$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
      awk '{print $2}' | head -1 || true)"
    DEB_MIRROR="${DEB_MIRROR:-http://deb.debian.org/debian}"
    t="$(now)"
    tmp="$(mktemp -d /var/tmp/nlu-debian-base.XXXXXX)"
    say "base: debootstrap --variant=minbase bookworm from $DEB_MIRROR (about a minute) ..."
    debootstrap --variant=minbase bookworm "$tmp/rootfs" "$DEB_MIRROR" >"$tmp/debootstrap.log" 2>&1 ||
      { tail -20 "$tmp/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
    # Debian's official images ship this too: no downloaded .deb kept in the image.
    rm -rf "$tmp/rootfs/var/cache/apt/archives/"*.deb "$tmp/rootfs/var/lib/apt/lists/"*
    tar -C "$tmp/rootfs" -c . | "$ENGINE" import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
    rm -rf "$tmp"
    say "base $BASE: made in $(since "$t") s"
  fi
fi
BASE="${BASE:-docker.io/library/debian:bookworm}"

# ----------------------------------------------------------------------------------------------- the build
for c in ${CERTS[@]+"${CERTS[@]}"}; do
  [ -f "$c" ] || die "--ca-cert $c: no such file"
  grep -q 'BEGIN CERTIFICATE' "$c" || die "--ca-cert $c: not a PEM certificate (-----BEGIN CERTIFICATE-----)"
  name="$(basename "$c")"; cp "$c" "hub/certs/${name%.*}.crt"
  say "trusting the extra CA $c (hub/certs/${name%.*}.crt)"
done

args=(-f hub/Containerfile -t "$TAG" --build-arg "BASE_IMAGE=$BASE")
# podman: docker's image format (the OCI one drops SHELL, HEALTHCHECK), and the ignore file docker finds itself.
[ "$ENGINE" = podman ] && args+=(--format docker --ignorefile hub/Containerfile.dockerignore)
if [ -n "$MIRROR" ]; then
  [ -f "$MIRROR/MANIFEST.json" ] || [ -n "$(ls -A "$MIRROR" 2>/dev/null)" ] || die "--mirror $MIRROR: empty or missing"
  MIRROR="$(cd "$MIRROR" && pwd -P)"  # the real folder: a symlinked mirror (CI: ../shared) as a build context
  key="$( (cat "$MIRROR/MANIFEST.json" 2>/dev/null || ls -lR "$MIRROR") | sha256sum | cut -c1-16)"
  args+=(--build-context "corpora=$MIRROR" --build-arg "CORPORA_KEY=$key")
  say "corpora: from the mirror $MIRROR"
fi
say "$ENGINE build ${args[*]} ${EXTRA[*]:-} ."
t="$(now)"
"$ENGINE" build "${args[@]}" "${EXTRA[@]}" .
secs="$(since "$t")"
size="$("$ENGINE" image inspect --format '{{.Size}}' "$TAG")"
say "built $TAG in ${secs} s; image size $(awk -v b="$size" 'BEGIN{printf "%.2f GB (%.0f bytes)", b/1e9, b}')"
