#!/usr/bin/env bash
# Make @tensorflow/tfjs-node (native "tensorflow" backend) work WITHOUT its install script's
# download of libtensorflow from Google storage: take the TensorFlow C library out of a PyPI
# `tensorflow-cpu` wheel and build tfjs-node's N-API binding against it with node-gyp.
# NATIVE_TF_VARIANT=gpu does the same for @tensorflow/tfjs-node-gpu with PyPI's GPU-enabled `tensorflow`
# wheel, plus the NVIDIA CUDA/cuDNN wheels that TensorFlow release pins (its METADATA's `and-cuda` extra;
# scripts/gpu-setup.ts picks them): no system CUDA needed, only the NVIDIA driver.
#
# Usage:  bash scripts/native-tensorflow.sh PROJECT_DIR [VENV_DIR]   (scripts/setup.sh runs it)
#   PROJECT_DIR  has node_modules/@tensorflow/tfjs-node(-gpu) installed WITHOUT its install script having run
#                (it fails here anyway: see Caveats for allowScripts / --ignore-scripts).
#   VENV_DIR     optional Python venv whose pip downloads the wheel (default: python3 on PATH).
#                Nothing is pip-installed: the wheel is only downloaded (--no-deps) and unzipped.
# Env:
#   NATIVE_TF_VARIANT cpu (default: tfjs-node + tensorflow-cpu) or gpu (tfjs-node-gpu + tensorflow + nvidia-*)
#   TF_WHEEL_VERSION  tensorflow(-cpu) version (default 2.18.1, the one tested with tfjs-node 4.22.0)
#   TF_WHEEL_CACHE    where the wheels are kept (default ~/.cache/tfjs-node-wheel; cpu ~230 MB, gpu 616 MB
#                     plus the NVIDIA wheels)
#   NLU_CUDA_WHEELS   gpu only: comma-separated names, download only these NVIDIA wheels (for testing the
#                     unpacking without GBs of downloads; default: every wheel gpu-setup.ts selects)
#   EXPECT_GPU=1      gpu only: fail unless TensorFlow creates a GPU device (set-up sets it when nvidia-smi works)
#   FORCE=1           rebuild even if a working binding for this version is present
#
# Idempotent: a second run checks the stamp + a smoke test and exits 0 in ~1.5 s.
#
# Measured here (2-core VM, Node 20.20.2, npm 11.19.1, g++ 12, glibc 2.36):
#   tensorflow-cpu 2.18.1: wheel 230 MB (pip ~3 s at ~95 MB/s), unzip ~10 s, compile ~50-80 s;
#     whole script from scratch 63 s. deps/ = 652 MB (libtensorflow_cc.so.2 604 MB, framework 48 MB,
#     67 headers); wheel cache 230 MB (delete it afterwards if disk matters). RSS after require ~340 MB.
#   tensorflow 2.18.1 (gpu variant): wheel 616 MB (pip ~8 s); deps/lib 1.2 GB (libtensorflow_cc.so.2 1.1 GB,
#     framework 152 MB); compile + unpack ~75 s under load; loads and runs on a machine without a GPU (CPU
#     kernels; TF prints 3-4 "Unable to register cu* factory" / "failed call to cuInit" lines at level 2).
#     The NVIDIA wheels add several GB (only cuda_runtime 0.9 MB and nvjitlink 21 MB were tried here).
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
VARIANT=${NATIVE_TF_VARIANT:-cpu}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)   # this repository (scripts/gpu-setup.ts, tsx)
case "$VARIANT" in
  # npm package, PyPI project, wheel file prefix, download size for the log
  cpu) NPM_PKG=@tensorflow/tfjs-node; PIP_NAME=tensorflow-cpu; WHEEL_PREFIX=tensorflow_cpu; WHEEL_SIZE="~230 MB" ;;
  gpu) NPM_PKG=@tensorflow/tfjs-node-gpu; PIP_NAME=tensorflow; WHEEL_PREFIX=tensorflow; WHEEL_SIZE="~616 MB" ;;
  *) die "NATIVE_TF_VARIANT=$VARIANT: use cpu (tfjs-node) or gpu (tfjs-node-gpu)" ;;
esac

[ -n "$PROJECT_DIR" ] || die "usage: $0 PROJECT_DIR [VENV_DIR]"
[ -d "$PROJECT_DIR" ] || die "PROJECT_DIR '$PROJECT_DIR' is not a directory"
PROJECT_DIR=$(cd "$PROJECT_DIR" && pwd)
PKG="$PROJECT_DIR/node_modules/$NPM_PKG"
[ -f "$PKG/package.json" ] || die "$PKG not found: run 'npm install $NPM_PKG@4.22.0 --ignore-scripts' in $PROJECT_DIR first"

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
[ "$TFJS_NODE_VERSION" = 4.22.0 ] || say "WARNING: tested with $NPM_PKG 4.22.0, found $TFJS_NODE_VERSION"

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

gpu_setup() { (cd "$HERE" && node --import tsx scripts/gpu-setup.ts "$@"); }
# The CUDA/cuDNN folders unpacked under deps/nvidia/<lib>/lib. libtensorflow's RUNPATH already names
# $ORIGIN/../nvidia/<lib>/lib for most of them; LD_LIBRARY_PATH covers the rest (and is what the kernelspec sets).
nvidia_lib_path() { ls -d "$PKG"/deps/nvidia/*/lib 2>/dev/null | paste -sd: - || true; }

# ---- smoke test: the native backend loads and multiplies correctly (gpu: and says whether it saw a GPU) ----
smoke() {
  local ld="" level=2 errlog
  if [ "$VARIANT" = gpu ]; then ld=$(nvidia_lib_path); level=0; fi   # level 0: TF logs the devices it creates
  errlog=$(mktemp)
  (cd "$PROJECT_DIR" && LD_LIBRARY_PATH="$ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" TF_CPP_MIN_LOG_LEVEL=$level node -e '
    const tf = require(process.argv[1]);
    const got = Array.from(tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());
    if (tf.getBackend() !== "tensorflow") throw new Error("backend is " + tf.getBackend());
    if (got.join() !== "2,2,2,2") throw new Error("matMul gave " + got);
    console.log("backend=tensorflow libtensorflow=" + tf.backend().binding.TF_Version);' "$NPM_PKG") 2>"$errlog" ||
    { grep -v '^[0-9 :.-]*I ' "$errlog" >&2; rm -f "$errlog"; return 1; }
  if [ "$VARIANT" = gpu ]; then
    # Without its CUDA libraries TensorFlow says "Cannot dlopen some GPU libraries" and runs on the CPU.
    if grep -q "Created device .*GPU" "$errlog"; then
      echo "gpu=$(grep -o 'name: [^,]*' "$errlog" | head -1 | cut -c7-)"
    elif [ "${EXPECT_GPU:-0}" = 1 ]; then
      cp "$errlog" "$PKG/deps/smoke.log" 2>/dev/null || true
      grep -iE "dlopen|could not load|cuda|driver" "$errlog" | head -20 >&2; rm -f "$errlog"
      echo "TensorFlow created no GPU device although nvidia-smi lists one (see the lines above)" >&2; return 1
    else
      echo "gpu=none (no GPU visible: ran on the CPU)"
    fi
  fi
  rm -f "$errlog"
}

STAMP="$PKG/deps/.from-wheel"
WANT="$PIP_NAME==$TF_VERSION ${NPM_PKG#@tensorflow/}==$TFJS_NODE_VERSION node-abi=$(node -p process.versions.modules)"
[ "$VARIANT" = gpu ] && WANT="$WANT cuda-wheels=${NLU_CUDA_WHEELS:-all}"
if [ "${FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT failed" ]; then
  # A GPU build whose smoke test found no GPU is not retried on every set-up (it takes minutes).
  die "the $NPM_PKG build with $PIP_NAME==$TF_VERSION failed before (TensorFlow's log: $PKG/deps/smoke.log). FORCE=1 retries it; NLU_GPU=off stops trying"
fi
if [ "${FORCE:-0}" != 1 ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] &&
   { [ "$VARIANT" = cpu ] || [ -f "$PKG/deps/gpu-build.json" ]; } && out=$(smoke 2>/dev/null); then
  echo "native-tensorflow: already done ($(echo $out))"; exit 0  # stdout: news, not a warning (run/export hide it)
fi

# ---- 1. download the wheel (no deps, nothing installed) ----
mkdir -p "$CACHE"
PIP_PLATFORM=(--only-binary=:all: --implementation cp --python-version 3.11
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64)
WHEEL=$(ls "$CACHE"/"$WHEEL_PREFIX"-"$TF_VERSION"-*manylinux*x86_64*.whl 2>/dev/null | head -1 || true)
if [ -z "$WHEEL" ]; then
  say "downloading $PIP_NAME==$TF_VERSION wheel ($WHEEL_SIZE) into $CACHE"
  "$PY" -m pip download --no-deps "${PIP_PLATFORM[@]}" -d "$CACHE" "$PIP_NAME==$TF_VERSION" >&2 ||
    die "pip download $PIP_NAME==$TF_VERSION failed (PyPI unreachable? version without a cp311 manylinux x86_64 wheel?)"
  WHEEL=$(ls "$CACHE"/"$WHEEL_PREFIX"-"$TF_VERSION"-*manylinux*x86_64*.whl | head -1) || die "wheel not found in $CACHE after download"
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
    # The wheel's METADATA pins the NVIDIA wheels of its GPU build (read by scripts/gpu-setup.ts).
    meta = [n for n in names if n.endswith(".dist-info/METADATA")]
    if meta:
        with z.open(meta[0]) as src, open(os.path.join(deps, "METADATA"), "wb") as out: shutil.copyfileobj(src, out)
    print(f"extracted 2 libraries and {n} headers", file=sys.stderr)
EOF
# binding.gyp links -ltensorflow -ltensorflow_framework with rpath $ORIGIN/../../deps/lib;
# the linker records the SONAMEs (libtensorflow_cc.so.2, libtensorflow_framework.so.2).
ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so"
ln -sfn libtensorflow_framework.so.2 "$PKG/deps/lib/libtensorflow_framework.so"
# tfjs-node's own install script skips its download (and does not wipe deps/) when this exists.
ln -sfn libtensorflow_cc.so.2 "$PKG/deps/lib/libtensorflow.so.2.9.1"

# ---- 2b. gpu: the NVIDIA CUDA/cuDNN libraries, from the wheels TensorFlow pins, under deps/nvidia/<lib>/lib ----
if [ "$VARIANT" = gpu ]; then
  PINS=$(gpu_setup wheels "$PKG/deps/METADATA") || die "could not read the NVIDIA wheel pins from $PKG/deps/METADATA"
  if [ -n "${NLU_CUDA_WHEELS:-}" ]; then
    PINS=$(printf '%s\n' $PINS | grep -E "^($(echo "$NLU_CUDA_WHEELS" | tr ',' '|'))==" || true)
    [ -n "$PINS" ] || die "NLU_CUDA_WHEELS=$NLU_CUDA_WHEELS matches none of the pinned NVIDIA wheels"
  fi
  NV_WHEELS=()
  for pin in $PINS; do
    name=${pin%%==*}; ver=${pin#*==}
    whl=$(ls "$CACHE"/"${name//-/_}"-"$ver"-*.whl 2>/dev/null | head -1 || true)
    if [ -z "$whl" ]; then
      say "downloading $pin into $CACHE"
      "$PY" -m pip download --no-deps "${PIP_PLATFORM[@]}" -d "$CACHE" "$pin" >&2 || die "pip download $pin failed"
      whl=$(ls "$CACHE"/"${name//-/_}"-"$ver"-*.whl | head -1) || die "$pin not found in $CACHE after download"
    fi
    NV_WHEELS+=("$whl")
  done
  "$PY" - "$PKG/deps" "${NV_WHEELS[@]}" <<'EOF' || die "unpacking the NVIDIA wheels failed"
import os, re, shutil, sys, zipfile
deps, wheels = sys.argv[1], sys.argv[2:]
n = 0
for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        # Keep the wheels' own layout (nvidia/<lib>/lib/*.so*): their RUNPATHs ($ORIGIN/../../nvjitlink/lib, ...)
        # and libtensorflow's ($ORIGIN/../nvidia/cudnn/lib, ...) then resolve inside deps/.
        for name in z.namelist():
            if re.fullmatch(r"nvidia/[^/]+/lib/[^/]+\.so(\.[0-9]+)*", name):
                dst = os.path.join(deps, name)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                with z.open(name) as src, open(dst, "wb") as out: shutil.copyfileobj(src, out, 1 << 24)
                os.chmod(dst, 0o755)
                n += 1
print(f"extracted {n} NVIDIA libraries from {len(wheels)} wheels", file=sys.stderr)
EOF
fi

# ---- 3. build the N-API binding (lands in lib/napi-v*/tfjs_binding.node) ----
LOG="$PKG/deps/build.log"
say "compiling the binding (about 1-2 minutes); log: $LOG"
(cd "$PKG" && npm_config_node_gyp="$NODE_GYP" JOBS=$(nproc) \
   node "$PRE_GYP" rebuild --build-from-source --nodedir="$NODEDIR") >"$LOG" 2>&1 ||
  { tail -n 30 "$LOG" >&2; die "binding build failed; full log in $LOG"; }
rm -rf "$PKG/build"   # intermediate objects only

# ---- 4. verify ----
if ! out=$(smoke); then
  # gpu: leave no binding behind, so the backend pick falls back to tfjs-node instead of a GPU build without GPU.
  [ "$VARIANT" = gpu ] && { rm -rf "$PKG/lib"; echo "$WANT failed" >"$STAMP"; }
  die "binding built but the smoke test failed (see the error above)"
fi
echo "$WANT" > "$STAMP"
if [ "$VARIANT" = gpu ]; then
  gpu_setup stamp "$PKG/deps/METADATA" "$PKG/deps" "$TF_VERSION" >/dev/null || die "writing $PKG/deps/gpu-build.json failed"
  out="$(echo $out); CUDA libraries $(du -sh "$PKG/deps/nvidia" 2>/dev/null | cut -f1)"
fi
say "OK: $out; deps size $(du -sh "$PKG/deps" | cut -f1)"
