#!/usr/bin/env bash
# Make @tensorflow/tfjs-node (native "tensorflow" backend) work WITHOUT its install script's
# download of libtensorflow from Google storage: take the TensorFlow C library out of a PyPI
# `tensorflow-cpu` wheel and build tfjs-node's N-API binding against it with node-gyp.
#
# Usage:  bash scripts/native-tensorflow.sh PROJECT_DIR [VENV_DIR]   (scripts/setup.sh runs it)
#   PROJECT_DIR  has node_modules/@tensorflow/tfjs-node installed WITHOUT its install script having run
#                (it fails here anyway: see Caveats for allowScripts / --ignore-scripts).
#   VENV_DIR     optional Python venv whose pip downloads the wheel (default: python3 on PATH).
#                Nothing is pip-installed: the wheel is only downloaded (--no-deps) and unzipped.
# Env:
#   TF_WHEEL_VERSION  tensorflow-cpu version (default 2.18.1, the one tested with tfjs-node 4.22.0)
#   TF_WHEEL_CACHE    where the wheel is kept (default ~/.cache/tfjs-node-wheel; ~230 MB)
#   FORCE=1           rebuild even if a working binding for this version is present
#
# Idempotent: a second run checks the stamp + a smoke test and exits 0 in ~1.5 s.
#
# Measured here (2-core VM, Node 20.20.2, npm 11.19.1, g++ 12, glibc 2.36):
#   tensorflow-cpu 2.18.1: wheel 230 MB (pip ~3 s at ~95 MB/s), unzip ~10 s, compile ~50-80 s;
#     whole script from scratch 63 s. deps/ = 652 MB (libtensorflow_cc.so.2 604 MB, framework 48 MB,
#     67 headers); wheel cache 230 MB (delete it afterwards if disk matters). RSS after require ~340 MB.
#   tensorflow-cpu 2.20.0 also works (259 MB wheel, deps 745 MB). 2.21.0 has no manylinux_2_17 wheel
#     (pip refuses with the platform tags used below). TF 2.12-2.17 untested.
#   Binding only uses the stable C API (TF_*, TFE_*; TF_TString_* are inline header functions), all
#     exported (versioned @@tensorflow) by libtensorflow_cc.so.2. Python is never imported, so the
#     wheel's numpy/protobuf/keras pins do not matter.
# Caveats:
#   - npm 11.19 STILL RUNS tfjs-node's install script by default and it fails (getaddrinfo ENOTFOUND
#     storage.googleapis.com), rolling back the whole `npm install`. Either put
#       "allowScripts": { "@tensorflow/tfjs-node": false }
#     in the project's package.json (npm 11.19 then skips it; tested) or use `npm install --ignore-scripts`.
#   - `npm ci` / removing node_modules wipes deps/ and lib/: rerun this script (e.g. from postinstall).
#     A plain `npm install other-pkg` keeps them (tested).
#   - TF logs to stderr on load (oneDNN notice, cpu_feature_guard); set TF_CPP_MIN_LOG_LEVEL=2.
#     oneDNN is on: float results differ from cpu/wasm in the last digits (TF_ENABLE_ONEDNN_OPTS=0 to turn off).
#   - The binding's NEEDED entry is libtensorflow_cc.so.2 (RUNPATH $ORIGIN/../../deps/lib), so deps/lib
#     must hold real files or valid links; this script copies, so deleting the cache is safe.
set -euo pipefail

die() { echo "native-tensorflow: ERROR: $*" >&2; exit 1; }
say() { echo "native-tensorflow: $*" >&2; }

PROJECT_DIR=${1:-}
VENV_DIR=${2:-}
TF_VERSION=${TF_WHEEL_VERSION:-2.18.1}
CACHE=${TF_WHEEL_CACHE:-$HOME/.cache/tfjs-node-wheel}

[ -n "$PROJECT_DIR" ] || die "usage: $0 PROJECT_DIR [VENV_DIR]"
[ -d "$PROJECT_DIR" ] || die "PROJECT_DIR '$PROJECT_DIR' is not a directory"
PROJECT_DIR=$(cd "$PROJECT_DIR" && pwd)
PKG="$PROJECT_DIR/node_modules/@tensorflow/tfjs-node"
[ -f "$PKG/package.json" ] || die "$PKG not found: run 'npm install @tensorflow/tfjs-node@4.22.0 --ignore-scripts' in $PROJECT_DIR first"

# ---- platform checks: the wheel is manylinux2014 x86_64, built for AVX CPUs ----
[ "$(uname -s)" = Linux ] || die "only Linux is supported (got $(uname -s))"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 is supported (got $(uname -m)); tensorflow-cpu wheels for aarch64 differ"
GLIBC=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}') || true
[ -n "$GLIBC" ] || die "glibc not found (musl/Alpine?): the manylinux wheel needs glibc >= 2.17"
[ "$(printf '2.17\n%s\n' "$GLIBC" | sort -V | head -1)" = 2.17 ] || die "glibc $GLIBC < 2.17 (manylinux2014 wheel)"
grep -qw avx /proc/cpuinfo || die "this CPU lacks AVX; PyPI TensorFlow wheels need it (fall back to the wasm backend)"
for t in node g++ make; do command -v $t >/dev/null || die "'$t' not on PATH (apt-get install build-essential / nodejs)"; done

if [ -n "$VENV_DIR" ]; then
  PY="$VENV_DIR/bin/python"; [ -x "$PY" ] || die "VENV_DIR '$VENV_DIR' has no bin/python"
else
  PY=$(command -v python3) || die "python3 not on PATH (needed for pip download and node-gyp)"
fi
"$PY" -m pip --version >/dev/null 2>&1 || die "$PY has no pip"
command -v python3 >/dev/null || export PATH="$(dirname "$PY"):$PATH"   # node-gyp runs gyp with python3

TFJS_NODE_VERSION=$(node -p "require('$PKG/package.json').version")
[ "$TFJS_NODE_VERSION" = 4.22.0 ] || say "WARNING: tested with tfjs-node 4.22.0, found $TFJS_NODE_VERSION"

# node-gyp must find Node's headers locally; otherwise it downloads them from nodejs.org.
NODE_PREFIX=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
NODEDIR=${NODEDIR:-$NODE_PREFIX}
[ -f "$NODEDIR/include/node/common.gypi" ] && [ -f "$NODEDIR/include/node/node_api.h" ] ||
  die "Node headers not found under $NODEDIR/include/node (common.gypi, node_api.h); set NODEDIR to a Node install/source tree that has them"
NODE_GYP=${npm_config_node_gyp:-}
if [ -z "$NODE_GYP" ]; then
  NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")   # .../lib/node_modules/npm
  NODE_GYP="$NPM_DIR/node_modules/node-gyp/bin/node-gyp.js"
fi
[ -f "$NODE_GYP" ] || die "node-gyp not found at $NODE_GYP (set npm_config_node_gyp to node-gyp/bin/node-gyp.js)"
PRE_GYP=$(cd "$PKG" && node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp')" 2>/dev/null) ||
  die "@mapbox/node-pre-gyp (a tfjs-node dependency) is not installed"

# ---- smoke test: the native backend loads and multiplies correctly ----
smoke() {
  (cd "$PROJECT_DIR" && TF_CPP_MIN_LOG_LEVEL=2 node -e '
    const tf = require("@tensorflow/tfjs-node");
    const got = Array.from(tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());
    if (tf.getBackend() !== "tensorflow") throw new Error("backend is " + tf.getBackend());
    if (got.join() !== "2,2,2,2") throw new Error("matMul gave " + got);
    console.log("backend=tensorflow libtensorflow=" + tf.backend().binding.TF_Version);')
}

STAMP="$PKG/deps/.from-wheel"
WANT="tensorflow-cpu==$TF_VERSION tfjs-node==$TFJS_NODE_VERSION node-abi=$(node -p process.versions.modules)"
if [ "${FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && out=$(smoke 2>/dev/null); then
  echo "native-tensorflow: already done ($out)"; exit 0  # stdout: news, not a warning (run/export hide it)
fi

# ---- 1. download the wheel (no deps, nothing installed) ----
mkdir -p "$CACHE"
WHEEL=$(ls "$CACHE"/tensorflow_cpu-"$TF_VERSION"-*manylinux*x86_64*.whl 2>/dev/null | head -1 || true)
if [ -z "$WHEEL" ]; then
  say "downloading tensorflow-cpu==$TF_VERSION wheel (~230 MB) into $CACHE"
  "$PY" -m pip download --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$CACHE" "tensorflow-cpu==$TF_VERSION" >&2 ||
    die "pip download tensorflow-cpu==$TF_VERSION failed (PyPI unreachable? version without a cp311 manylinux x86_64 wheel?)"
  WHEEL=$(ls "$CACHE"/tensorflow_cpu-"$TF_VERSION"-*manylinux*x86_64*.whl | head -1) || die "wheel not found in $CACHE after download"
fi
say "using $WHEEL"

# ---- 2. unpack the two libraries + the C API headers into tfjs-node's deps/ ----
rm -rf "$PKG/deps" "$PKG/build" "$PKG/lib"
mkdir -p "$PKG/deps/lib" "$PKG/deps/include"
"$PY" - "$WHEEL" "$PKG/deps" <<'EOF' || die "extracting from the wheel failed (layout changed in this TF version?)"
import os, shutil, sys, zipfile
wheel, deps = sys.argv[1], sys.argv[2]
# Libraries: the C API (TF_*/TFE_*) is exported by libtensorflow_cc.so.2; it needs the framework lib.
libs = ["tensorflow/libtensorflow_cc.so.2", "tensorflow/libtensorflow_framework.so.2"]
# Headers: what binding/*.cc include, transitively (c/, ctstring forwarders, tsl ctstring, tsl_status).
inc = "tensorflow/include/"
dirs = ["tensorflow/c/", "tensorflow/core/platform/ctstring", "tsl/platform/ctstring", "xla/tsl/c/", "tsl/c/"]
with zipfile.ZipFile(wheel) as z:
    names = set(z.namelist())
    for lib in libs:
        if lib not in names: sys.exit(f"{lib} missing from {wheel}")
        dst = os.path.join(deps, "lib", os.path.basename(lib))
        with z.open(lib) as src, open(dst, "wb") as out: shutil.copyfileobj(src, out, 1 << 24)
        os.chmod(dst, 0o755)
    n = 0
    for name in names:
        rel = name[len(inc):] if name.startswith(inc) else None
        if rel and not name.endswith("/") and any(rel.startswith(d) for d in dirs):
            dst = os.path.join(deps, "include", rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with z.open(name) as src, open(dst, "wb") as out: shutil.copyfileobj(src, out)
            n += 1
    if not os.path.exists(os.path.join(deps, "include/tensorflow/c/eager/c_api.h")):
        sys.exit("tensorflow/include/tensorflow/c/eager/c_api.h missing from the wheel")
    print(f"extracted 2 libraries and {n} headers", file=sys.stderr)
EOF
# binding.gyp links -ltensorflow -ltensorflow_framework with rpath $ORIGIN/../../deps/lib;
# the linker records the SONAMEs (libtensorflow_cc.so.2, libtensorflow_framework.so.2).
ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -sfn libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
# tfjs-node's own install script skips its download (and does not wipe deps/) when this exists.
ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.2.9.1"

# ---- 3. build the N-API binding (lands in lib/napi-v*/tfjs_binding.node) ----
LOG="$PKG/deps/build.log"
say "compiling the binding (about 1-2 minutes); log: $LOG"
(cd "$PKG" && npm_config_node_gyp="$NODE_GYP" JOBS=$(nproc) \
   node "$PRE_GYP" rebuild --build-from-source --nodedir="$NODEDIR") >"$LOG" 2>&1 ||
  { tail -n 30 "$LOG" >&2; die "binding build failed; full log in $LOG"; }
rm -rf "$PKG/build"   # intermediate objects only

# ---- 4. verify ----
out=$(smoke) || die "binding built but the smoke test failed (see the error above)"
echo "$WANT" > "$STAMP"
say "OK: $out; deps size $(du -sh "$PKG/deps" | cut -f1)"
