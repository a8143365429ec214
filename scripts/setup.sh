#!/usr/bin/env bash
# Sets the course up in this checkout, idempotently: npm dependencies (node_modules/), Jupyter in a project-local
# Python virtual environment (.venv/, from PyPI with pip), and the tslab kernelspec registered into that
# environment only. Nothing global is touched. A step whose inputs did not change since it last ran is skipped,
# so a second run takes about a second.
#
#   scripts/setup.sh                    # what ./course setup runs (./course start and ./course test run it too)
#   scripts/setup.sh --install-python   # also let the system package manager install Python's venv/pip if missing
#   scripts/setup.sh --tests            # also what the tests need (requirements-test.txt); ./course test passes it
#
# Environment: NLU_PYTHON=/path/to/python3 picks the Python used to create .venv/ (3.10 or newer);
# NLU_NATIVE_TF=off skips building the native TensorFlow backends (tfjs-node, tfjs-node-gpu) from the PyPI wheels;
# NLU_GPU=off skips only the GPU one (built only where an NVIDIA driver answers nvidia-smi).
# Plain bash 3.2 (macOS) compatible on purpose: no associative arrays, no mapfile.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
REQS="$ROOT/requirements-jupyter.txt"
TEST_REQS="$ROOT/requirements-test.txt"
NPM_STAMP="$ROOT/node_modules/.nlu-course-setup"
PIP_STAMP="$VENV/.nlu-course-requirements"
TEST_PIP_STAMP="$VENV/.nlu-course-test-requirements"
KERNEL_DIR="$VENV/share/jupyter/kernels/tslab"
MIN_PY="3.10" # jupyterlab 4.6 / notebook 7.6 need it

INSTALL_PYTHON="${NLU_INSTALL_PYTHON:-}"
WITH_TESTS=""
for arg in "$@"; do
  case "$arg" in
    --install-python) INSTALL_PYTHON=1 ;;
    --tests) WITH_TESTS=1 ;;
    -h | --help) sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup: unknown option '$arg' (known: --install-python, --tests)" >&2; exit 2 ;;
  esac
done

say() { printf 'setup: %s\n' "$*"; }
die() { printf '\nsetup: %s\n' "$*" >&2; exit 1; }

# Seconds with a fraction where the shell can (bash 5's EPOCHREALTIME), whole seconds otherwise (bash 3.2).
now() { if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s; fi; }
T_ALL="$(now)"
T_STEP="$T_ALL"
step_done() { # step_done "what happened"
  local t; t="$(now)"
  LC_ALL=C printf 'setup: %-72s %6.1f s\n' "$1" "$(awk -v a="$T_STEP" -v b="$t" 'BEGIN{print b-a}')"
  T_STEP="$t"
}

# sha256 over the named files (path + content) and a context string; node is needed anyway, and it is the one
# hashing tool that is the same on Linux and macOS.
fingerprint() { # fingerprint CONTEXT FILE...
  node -e '
    const fs = require("fs"), h = require("crypto").createHash("sha256");
    const [ctx, ...files] = process.argv.slice(1);
    h.update(ctx);
    for (const f of files) { h.update("\0" + f + "\0"); h.update(fs.existsSync(f) ? fs.readFileSync(f) : "(missing)"); }
    console.log(h.digest("hex"));' "$@"
}

# ---------------------------------------------------------------------------------------------------- Node + npm
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
  die "Node.js 20 or newer (with npm) is needed and was not found on PATH.
  Debian/Ubuntu: see https://nodejs.org/en/download (or: sudo apt-get install -y nodejs npm, if it is >= 20)
  macOS:         brew install node
Then run ./course setup again."
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]')"
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js $(node --version) is too old: the course needs Node.js 20 or newer (see https://nodejs.org)."

cd "$ROOT"
npm_inputs=(package.json package-lock.json)
for p in patches/*.patch; do [ -e "$p" ] && npm_inputs+=("$p"); done
# The native addon tslab uses (zeromq) is per Node ABI and platform, so those are part of the fingerprint.
npm_ctx="$(node -p 'process.versions.modules + " " + process.platform + " " + process.arch')"
npm_want="$(fingerprint "$npm_ctx" "${npm_inputs[@]}")"
if [ -d node_modules/tslab ] && [ -f "$NPM_STAMP" ] && [ "$(cat "$NPM_STAMP")" = "$npm_want" ]; then
  step_done "npm dependencies: up to date"
else
  if [ -f package-lock.json ]; then
    say "installing npm dependencies (npm ci; patch-package applies patches/) ..."
    npm ci --no-audit --no-fund || die "npm ci failed (see above). Check that the npm registry is reachable, then run ./course setup again."
  else
    say "installing npm dependencies (npm install; patch-package applies patches/) ..."
    npm install --no-audit --no-fund || die "npm install failed (see above)."
  fi
  printf '%s\n' "$npm_want" >"$NPM_STAMP"
  step_done "npm dependencies: installed"
fi
# tslab must carry the rootDir patch (notebooks import "../lib/..."); patch-package runs on npm's postinstall.
grep -q "nlu-course patch" node_modules/tslab/dist/converter.js ||
  die "node_modules/tslab is not patched (patches/tslab+*.patch): run 'npx patch-package' or 'rm -rf node_modules && ./course setup'."

# ---------------------------------------------------------------------------------------------------- Python
python_ok() { # python_ok PY -> 0 when PY is >= MIN_PY
  "$1" -c "import sys; sys.exit(0 if sys.version_info >= tuple(map(int, '$MIN_PY'.split('.'))) else 1)" 2>/dev/null
}
venv_ok() { "$1" -c "import venv, ensurepip" 2>/dev/null; } # Debian strips ensurepip out until python3-venv

fix_commands() { # what to run to get a Python that can make a virtual environment
  if [ "$(uname -s)" = Darwin ]; then
    echo "brew install python@3.12"
    echo "# (or the installer from https://www.python.org/downloads/; Apple's python3 is 3.9, too old)"
  elif command -v apt-get >/dev/null 2>&1; then
    local ver=""
    [ -n "${PY_FOUND:-}" ] && ver="$("$PY_FOUND" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true)"
    echo "sudo apt-get update && sudo apt-get install -y python3 python3-venv python3-pip${ver:+ python$ver-venv}"
  elif command -v dnf >/dev/null 2>&1; then
    echo "sudo dnf install -y python3 python3-pip"
  elif command -v pacman >/dev/null 2>&1; then
    echo "sudo pacman -S --needed python python-pip"
  elif command -v zypper >/dev/null 2>&1; then
    echo "sudo zypper install -y python3 python3-pip"
  else
    echo "# install Python $MIN_PY or newer with venv and pip from https://www.python.org/downloads/"
  fi
}

find_python() { # sets PY (usable) or PY_FOUND (new enough but without venv/ensurepip)
  PY=""; PY_FOUND=""
  local c
  for c in ${NLU_PYTHON:-} python3 python3.13 python3.12 python3.11 python3.10 python3.14; do
    command -v "$c" >/dev/null 2>&1 || continue
    python_ok "$c" || continue
    if venv_ok "$c"; then PY="$(command -v "$c")"; return 0; fi
    [ -n "$PY_FOUND" ] || PY_FOUND="$(command -v "$c")"
  done
  return 1
}

venv_python_ok() { [ -x "$VENV/bin/python" ] && python_ok "$VENV/bin/python" && "$VENV/bin/python" -m pip --version >/dev/null 2>&1; }

if venv_python_ok; then
  step_done "python virtual environment: .venv/ exists"
else
  if ! find_python; then
    if [ -n "$INSTALL_PYTHON" ]; then
      cmd="$(fix_commands | grep -v '^#' | head -1)"
      [ -n "$cmd" ] || die "no package manager known here: install Python $MIN_PY+ with venv and pip by hand."
      [ "$(id -u)" = 0 ] && cmd="${cmd//sudo /}"
      say "installing Python's venv/pip with the system package manager: $cmd"
      bash -c "$cmd" || die "the package manager command failed: $cmd"
      find_python || die "still no Python $MIN_PY+ with venv and pip after: $cmd"
    else
      what="Python $MIN_PY or newer was not found on PATH"
      [ -n "$PY_FOUND" ] && what="$PY_FOUND cannot create virtual environments (its venv/ensurepip module is missing)"
      die "$what.
The course installs Jupyter into a project-local virtual environment (.venv/), which needs Python $MIN_PY+ with
venv and pip. Run:

    $(fix_commands | sed '2,$s/^/    /')

then run this command again. (Or let set-up call the system package manager for you:
./course setup --install-python.) NLU_PYTHON=/path/to/python3 picks a specific Python."
    fi
  fi
  rm -rf "$VENV"
  "$PY" -m venv "$VENV" || die "'$PY -m venv $VENV' failed (see above); try: $(fix_commands | head -1)"
  step_done "python virtual environment: created .venv/ ($("$VENV/bin/python" --version 2>&1))"
fi

# ---------------------------------------------------------------------------------------------------- Jupyter
pip_step() { # pip_step WHAT STAMP REQS_FILE [MORE_FINGERPRINTED_FILES...]: pip install -r REQS_FILE unless unchanged
  local what="$1" stamp="$2" reqs="$3" want
  want="$(fingerprint "$("$VENV/bin/python" --version 2>&1)" "${@:3}")"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    step_done "$what ($(basename "$reqs")): up to date"
    return
  fi
  say "installing $what into .venv/ from PyPI (pip, pins in $(basename "$reqs")) ..."
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PIP_NO_INPUT=1 \
    "$VENV/bin/python" -m pip install --quiet -r "$reqs" ||
    die "pip could not install $(basename "$reqs") into .venv/ (see above). Check that PyPI is reachable
(a proxy or mirror goes in PIP_INDEX_URL), then run ./course setup again."
  printf '%s\n' "$want" >"$stamp"
  step_done "$what ($(basename "$reqs")): installed"
}
pip_step jupyter "$PIP_STAMP" "$REQS"
[ -z "$WITH_TESTS" ] || pip_step "test tools" "$TEST_PIP_STAMP" "$TEST_REQS" "$REQS"

# ---------------------------------------------------------------------------------- native TensorFlow backend
# tfjs-node's own install downloads libtensorflow from Google's storage, which many networks (and this course's
# CI) cannot reach. scripts/native-tensorflow.sh builds its binding against the TensorFlow C library inside the
# PyPI tensorflow-cpu wheel instead (~230 MB download, ~1 min compile, once). Optional: when it cannot be built
# (not Linux x86_64 with AVX, no compiler, ...) the course runs on the wasm backend, only slower.
case "${NLU_NATIVE_TF:-auto}" in
  0 | off | no) step_done "native TensorFlow backend: skipped (NLU_NATIVE_TF=${NLU_NATIVE_TF})" ;;
  *)
    if bash "$ROOT/scripts/native-tensorflow.sh" "$ROOT" "$VENV"; then
      step_done "native TensorFlow backend: ready (tfjs-node)"
    else
      say "WARNING: the native TensorFlow backend could not be built (see above); the course will use the wasm"
      say "         backend, which works everywhere but trains slower. NLU_NATIVE_TF=off skips this step."
      step_done "native TensorFlow backend: not available"
    fi
    ;;
esac

# --------------------------------------------------------------------------------- GPU backend (tfjs-node-gpu)
# Where an NVIDIA driver answers nvidia-smi, the same build for tfjs-node-gpu: PyPI's GPU-enabled `tensorflow`
# wheel (616 MB) and the NVIDIA CUDA/cuDNN wheels that TensorFlow release pins (several GB), downloaded once into
# the wheel cache, so no system CUDA is needed. scripts/gpu-setup.ts decides (and tests simulate nvidia-smi).
# Without a driver nothing GPU-related is downloaded.
GPU_STAMP="$ROOT/node_modules/@tensorflow/tfjs-node-gpu/deps/gpu-build.json"
gpu_setup() { node --import tsx "$ROOT/scripts/gpu-setup.ts" "$@"; }
case "${NLU_NATIVE_TF:-auto}:${NLU_GPU:-auto}" in
  0:* | off:* | no:*) step_done "GPU backend: skipped (NLU_NATIVE_TF=${NLU_NATIVE_TF})" ;;
  *:0 | *:off | *:no) step_done "GPU backend: skipped (NLU_GPU=${NLU_GPU})" ;;
  *)
    if ! command -v "${NLU_NVIDIA_SMI:-nvidia-smi}" >/dev/null 2>&1; then
      step_done "GPU backend: no NVIDIA driver (nvidia-smi not found), nothing GPU-related downloaded"
    else
      gpu_rc=0
      gpu_line="$(gpu_setup detect)" || gpu_rc=$?
      if [ "$gpu_rc" = 0 ]; then
        say "GPU: $gpu_line"
        if EXPECT_GPU=1 NATIVE_TF_VARIANT=gpu bash "$ROOT/scripts/native-tensorflow.sh" "$ROOT" "$VENV"; then
          step_done "GPU backend: ready (tfjs-node-gpu: $(gpu_setup detail))"
        else
          say "WARNING: the GPU backend (tfjs-node-gpu) could not be built (see above); the course runs on the CPU."
          say "         NLU_GPU=off skips this step."
          step_done "GPU backend: not available"
        fi
      elif [ "$gpu_rc" = 10 ]; then
        step_done "GPU backend: $gpu_line"
      else
        say "WARNING: $gpu_line"
        step_done "GPU backend: not available (the course runs on the CPU)"
      fi
    fi
    ;;
esac

# ---------------------------------------------------------------------------------------------------- kernel
# Written on every run (only when its content changes): it holds absolute paths to this checkout and to this
# node, both of which move when the repo or Node.js does. With a GPU build, the kernel's LD_LIBRARY_PATH names
# its CUDA/cuDNN folders (Jupyter's kernelspec "env"; ${LD_LIBRARY_PATH} is filled in from the server's).
gpu_ld=""
[ -f "$GPU_STAMP" ] && gpu_ld="$(gpu_setup ld-path)"
changed="$(node -e '
  const fs = require("fs"), path = require("path");
  require(path.join(process.argv[1], "node_modules", "zeromq")); // tslab talks to Jupyter through it
  const [root, dir, gpuLd] = process.argv.slice(1);
  const spec = {
    argv: [process.execPath, path.join(root, "node_modules", "tslab", "bin", "tslab"),
           "kernel", "--config-path", "{connection_file}"],
    display_name: "TypeScript (nlu-course)",
    language: "typescript",
    metadata: { "nlu-course": root },
  };
  if (gpuLd) spec.env = { LD_LIBRARY_PATH: gpuLd + ":${LD_LIBRARY_PATH}" };
  const text = JSON.stringify(spec, null, 2) + "\n", file = path.join(dir, "kernel.json");
  if (fs.existsSync(file) && fs.readFileSync(file, "utf8") === text) { console.log("unchanged"); process.exit(0); }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, text);
  console.log("written");' "$ROOT" "$KERNEL_DIR" "$gpu_ld")" ||
  die "could not load node_modules/zeromq (tslab's link to Jupyter): rm -rf node_modules && ./course setup"
if [ "$changed" = written ]; then
  # Check Jupyter itself sees it (~1 s, so only after a change).
  JUPYTER_PREFER_ENV_PATH=1 "$VENV/bin/jupyter" kernelspec list 2>/dev/null | grep -q "$KERNEL_DIR" ||
    die "Jupyter in .venv/ does not list the tslab kernel at $KERNEL_DIR (jupyter kernelspec list)."
  step_done "tslab kernelspec: registered in .venv/ (display name 'TypeScript (nlu-course)')"
else
  step_done "tslab kernelspec: up to date"
fi

# ------------------------------------------------------------------------------------- the course's Jupyter
# scripts/jupyter/ holds the course's Jupyter configuration; copied into .venv/ so that every `jupyter` from
# .venv/ (./course start, the tests) uses it:
#   jupyter_server_config.json  TypeScript is the default kernel and the only one listed (File > New > Notebook
#                               must not preselect the Python kernel that comes with JupyterLab)
#   nbgrader_config.py          empty: nbgrader's server extension warns at every start when it finds no config
#                               (the homework's settings are homework/nbgrader_config.py)
#   labextensions/nlu-course-run-all + page_config.json  the notebook cell executor that keeps [*] on cells
#                               queued behind a raises-exception cell during Run All (see its remoteEntry.js)
install_if_changed() { # install_if_changed SRC DEST: copy a file or folder when its content differs
  if [ -d "$1" ]; then
    diff -r -q "$1" "$2" >/dev/null 2>&1 && return 1
    rm -rf "$2" && mkdir -p "$(dirname "$2")" && cp -R "$1" "$2"
  else
    cmp -s "$1" "$2" && return 1
    mkdir -p "$(dirname "$2")" && cp "$1" "$2"
  fi
}
jconf="$ROOT/scripts/jupyter"
changed=""
install_if_changed "$jconf/jupyter_server_config.json" "$VENV/etc/jupyter/jupyter_server_config.json" && changed=1
install_if_changed "$jconf/nbgrader_config.py" "$VENV/etc/jupyter/nbgrader_config.py" && changed=1
# page_config.json is shared (`jupyter labextension disable` writes there too): merge ours into it.
merged="$(node -e '
  const fs = require("fs");
  const [ours, file] = process.argv.slice(1);
  const read = (f) => { try { return JSON.parse(fs.readFileSync(f, "utf8")); } catch { return {}; } };
  const cur = read(file), want = read(ours);
  const before = JSON.stringify(cur);
  cur.disabledExtensions = { ...(cur.disabledExtensions || {}), ...want.disabledExtensions };
  if (JSON.stringify(cur) === before && fs.existsSync(file)) { console.log("unchanged"); process.exit(0); }
  fs.mkdirSync(require("path").dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(cur, null, 2) + "\n");
  console.log("written");' "$jconf/page_config.json" "$VENV/etc/jupyter/labconfig/page_config.json")"
[ "$merged" = written ] && changed=1
install_if_changed "$jconf/labextensions/nlu-course-run-all" "$VENV/share/jupyter/labextensions/nlu-course-run-all" && changed=1
if [ -n "$changed" ]; then
  step_done "course Jupyter configuration: installed in .venv/ (TypeScript default kernel, Run All executor)"
else
  step_done "course Jupyter configuration: up to date"
fi

T_STEP="$T_ALL"
step_done "ready"
