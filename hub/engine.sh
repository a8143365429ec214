# Sourced by hub/build.sh and hub/smoke.sh: settings for the container engine in $ENGINE.
#
# podman, as root on a machine that lacks CAP_SYS_RESOURCE (a VM or container that may not raise resource
# limits, like the course's CI machine): podman asks the OCI runtime for nofile=1048576 in every container and
# build step, which fails there ("crun: setrlimit `RLIMIT_NOFILE`: Operation not permitted", runc: "error setting
# rlimit type 7"). hub/podman-containers.conf asks for limits under the machine's own, and runc (crun 1.8 also
# refuses cgroups v1 + v2 hybrid mounts such as this one's). Elsewhere podman keeps its own configuration.
if [ "$ENGINE" = podman ] && [ -z "${CONTAINERS_CONF:-}" ]; then
  capeff="$(awk '/^CapEff:/ {print $2}' /proc/self/status 2>/dev/null || true)"
  if [ -n "$capeff" ] && [ $(( 0x$capeff >> 24 & 1 )) = 0 ]; then
    CONTAINERS_CONF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/podman-containers.conf"
    export CONTAINERS_CONF
    echo "hub: no CAP_SYS_RESOURCE here: podman uses $CONTAINERS_CONF (lower limits, runc)" >&2
  fi
fi
