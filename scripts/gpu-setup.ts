// Set-up's GPU decisions, for scripts/setup.sh and scripts/native-tensorflow.sh (NATIVE_TF_VARIANT=gpu):
// whether this machine gets a tfjs-node-gpu build, which NVIDIA wheels that build needs, the stamp it leaves,
// and the library path that lets the binding find CUDA. The facts about drivers and stamps live in
// lib/engine/gpu_info.ts; this file adds what only set-up needs (the wheel list from TensorFlow's METADATA).
//
//   node --import tsx scripts/gpu-setup.ts detect                 # exit 0 build, 10 skip, 11 GPU unusable; one line
//   node --import tsx scripts/gpu-setup.ts wheels METADATA         # the NVIDIA wheels to download, one pin a line
//   node --import tsx scripts/gpu-setup.ts stamp METADATA DEPS TF  # write DEPS/gpu-build.json, print it
//   node --import tsx scripts/gpu-setup.ts detail [PKG_DIR]        # "NVIDIA H200, 140 GiB, CUDA 12.5, cuDNN 9.3"
//   node --import tsx scripts/gpu-setup.ts ld-path [PKG_DIR]       # LD_LIBRARY_PATH for the GPU build ("" if none)
//   node --import tsx scripts/gpu-setup.ts exec [--pkg PKG_DIR] -- CMD [ARGS...]
//                                                 # run CMD with that LD_LIBRARY_PATH (npm run bench)
//
// Environment: NLU_GPU=off skips the GPU build; NLU_NVIDIA_SMI names the nvidia-smi binary (tests point it at
// a simulated one).
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
  GPU_STAMP_FILE, GpuBuildStamp, NVIDIA_SMI_QUERY, NvidiaGpu, driverProblem, gpuLibraryPath, gpuStampPath,
  nodeGpuDetail, parseDriverCudaVersion, parseNvidiaSmiQuery, readGpuBuildStamp,
} from "../lib/engine/gpu_info";

/** One `Requires-Dist` pin of the wheel's METADATA, e.g. { name: "nvidia-cudnn-cu12", version: "9.3.0.75" }. */
export interface WheelPin {
  name: string;
  version: string;
}

/**
 * The NVIDIA wheels TensorFlow pins for its `and-cuda` extra, from the wheel's METADATA lines such as
 *   Requires-Dist: nvidia-cudnn-cu12 ==9.3.0.75 ; extra == 'and-cuda'
 * (the versions TensorFlow was built and tested against). Throws when there are none (a CPU-only wheel, or a
 * METADATA layout this parser does not know) or a pin is not exact.
 */
export function parseCudaPins(metadata: string): WheelPin[] {
  const pins: WheelPin[] = [];
  for (const line of metadata.split(/\r?\n/)) {
    const m = /^Requires-Dist:\s*(nvidia-[A-Za-z0-9_.-]+)\s*(?:\(([^)]*)\)\s*|([^;]*));\s*extra\s*==\s*["']and-cuda["']\s*$/.exec(line);
    if (!m) continue;
    const spec = (m[2] ?? m[3]).trim();
    const exact = /^==\s*([0-9][0-9A-Za-z.+-]*)$/.exec(spec);
    if (!exact) throw new Error(`METADATA pins ${m[1]} as "${spec}", not an exact "==version": cannot pick a wheel`);
    pins.push({ name: m[1], version: exact[1] });
  }
  if (pins.length === 0) {
    throw new Error(`METADATA has no "Requires-Dist: nvidia-... ; extra == 'and-cuda'" lines: not TensorFlow's GPU wheel?`);
  }
  return pins;
}

/**
 * Wheels the TensorFlow C library does not load for tfjs, with the reason. Its libraries' RUNPATH names
 * cublas, cudnn, cufft, cusolver, cusparse, cuda_cupti and cuda_runtime (readelf -d, TF 2.18.1); cusparse and
 * cusolver link nvJitLink, cuDNN 9 loads nvrtc for its runtime-compiled kernels. These three are never loaded.
 */
export const UNNEEDED_WHEELS: Record<string, string> = {
  "nvidia-cuda-nvcc-cu12": "the CUDA compiler, for XLA's JIT, which tfjs does not use",
  "nvidia-nccl-cu12": "multi-GPU collectives (tfjs uses one GPU)",
  "nvidia-curand-cu12": "cuRAND (TensorFlow's random ops use their own Philox generator)",
};

export interface CudaSelection {
  download: WheelPin[];
  skipped: { pin: WheelPin; why: string }[];
  /** major.minor of CUDA (from nvidia-cuda-runtime) and of cuDNN (from nvidia-cudnn). */
  cuda: string;
  cudnn: string;
}

/** Which pinned wheels set-up downloads, and the CUDA/cuDNN versions they imply. Throws if either is missing. */
export function selectCudaWheels(pins: WheelPin[]): CudaSelection {
  const majorMinor = (prefix: string): string => {
    const pin = pins.find((p) => p.name.startsWith(prefix));
    if (!pin) throw new Error(`TensorFlow's METADATA pins no ${prefix}* wheel (have: ${pins.map((p) => p.name).join(", ")})`);
    return pin.version.split(".").slice(0, 2).join(".");
  };
  const cuda = majorMinor("nvidia-cuda-runtime-cu");
  const cudnn = majorMinor("nvidia-cudnn-cu");
  const download = pins.filter((p) => !(p.name in UNNEEDED_WHEELS));
  const skipped = pins.filter((p) => p.name in UNNEEDED_WHEELS).map((pin) => ({ pin, why: UNNEEDED_WHEELS[pin.name] }));
  return { download, skipped, cuda, cudnn };
}

/** CUDA of the wheel set-up builds against (tensorflow 2.18.1 pins nvidia-cuda-runtime-cu12 12.5.82). */
export const DEFAULT_CUDA = "12.5";

/** What running nvidia-smi gave: stdout and exit status, or the spawn error (ENOENT: not installed). */
export interface SmiRun {
  stdout: string;
  status: number | null;
  error?: Error;
}

export interface GpuDecision {
  action: "build" | "skip" | "unusable";
  /** One line for set-up's log. */
  message: string;
  gpus: NvidiaGpu[];
  driverCuda?: string;
}

/**
 * Set-up's decision. skip: NLU_GPU=off, or no driver (nothing GPU-related is downloaded); unusable: a driver
 * answers but its output cannot be read or it is too old for `cuda` (the message names the fix); build: go.
 */
export function decideGpu(opts: { env: Record<string, string | undefined>; query: SmiRun; plain?: SmiRun; cuda: string }): GpuDecision {
  const off = switchedOff(opts.env);
  if (off) return off;
  const q = opts.query;
  if (q.error && (q.error as NodeJS.ErrnoException).code === "ENOENT") {
    return { action: "skip", message: "no NVIDIA driver (nvidia-smi not found): CPU only, nothing GPU-related downloaded", gpus: [] };
  }
  if (q.error || q.status !== 0) {
    const why = (q.error?.message ?? q.stdout.trim().split("\n")[0]) || `exit status ${q.status}`;
    return { action: "skip", message: `nvidia-smi failed (${why}): CPU only, nothing GPU-related downloaded`, gpus: [] };
  }
  let gpus: NvidiaGpu[];
  try {
    gpus = parseNvidiaSmiQuery(q.stdout);
  } catch (err) {
    return { action: "unusable", message: `${(err as Error).message}; GPU build skipped (NLU_GPU=off silences this)`, gpus: [] };
  }
  const driverCuda = opts.plain && opts.plain.status === 0 ? parseDriverCudaVersion(opts.plain.stdout) : undefined;
  const problem = driverProblem({ driverVersion: gpus[0].driverVersion, cuda: opts.cuda, driverCuda });
  const what = `${gpus.length > 1 ? `${gpus.length}× ` : ""}${gpus[0].name} (driver ${gpus[0].driverVersion}${driverCuda ? `, CUDA ${driverCuda}` : ""})`;
  if (problem) return { action: "unusable", message: `${what}: ${problem}`, gpus, driverCuda };
  return { action: "build", message: `${what}: building tfjs-node-gpu against CUDA ${opts.cuda}`, gpus, driverCuda };
}

/** NLU_GPU=off (skip) or a value set-up does not understand (unusable); undefined: go on and look for a GPU. */
function switchedOff(env: Record<string, string | undefined>): GpuDecision | undefined {
  const sw = (env.NLU_GPU ?? "auto").toLowerCase();
  if (["off", "0", "no", "false"].includes(sw)) return { action: "skip", message: `skipped (NLU_GPU=${env.NLU_GPU})`, gpus: [] };
  if (["auto", "on", "1", "yes", "true", ""].includes(sw)) return undefined;
  return { action: "unusable", message: `NLU_GPU=${env.NLU_GPU} is not understood: NLU_GPU=off skips the GPU build; unset, set-up looks for a GPU`, gpus: [] };
}

function runSmi(args: string[], env: Record<string, string | undefined>): SmiRun {
  const r = spawnSync(env.NLU_NVIDIA_SMI || "nvidia-smi", args, { encoding: "utf8", timeout: 20_000 });
  return { stdout: r.stdout ?? "", status: r.status, error: r.error };
}

/** Decide for this machine: runs nvidia-smi (the query, then the plain header for the driver's CUDA version). */
export function detectGpu(env: Record<string, string | undefined> = process.env, cuda = DEFAULT_CUDA): GpuDecision {
  const off = switchedOff(env); // NLU_GPU=off: nvidia-smi is not even run
  if (off) return off;
  const query = runSmi(NVIDIA_SMI_QUERY, env);
  const plain = query.status === 0 ? runSmi([], env) : undefined;
  return decideGpu({ env, query, plain, cuda });
}

/** The stamp for a finished build: library folders are DEPS/nvidia/<lib>/lib that hold shared libraries. */
export function makeStamp(opts: { metadata: string; depsDir: string; tensorflow: string; gpus: NvidiaGpu[] }): GpuBuildStamp {
  const sel = selectCudaWheels(parseCudaPins(opts.metadata));
  const root = path.join(opts.depsDir, "nvidia");
  const libraryDirs = fs.existsSync(root)
    ? fs.readdirSync(root).sort().map((d) => path.join(root, d, "lib"))
        .filter((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => /\.so(\.|$)/.test(f)))
    : [];
  return {
    gpus: opts.gpus, tensorflow: opts.tensorflow, cuda: sel.cuda, cudnn: sel.cudnn,
    wheels: sel.download.map((p) => `${p.name}==${p.version}`), libraryDirs,
  };
}

/** The stamp inside PKG_DIR (a tfjs-node-gpu folder), or the installed package's. */
const stampIn = (pkgDir?: string) => (pkgDir ? path.join(pkgDir, "deps", GPU_STAMP_FILE) : gpuStampPath());

function main(argv: string[]): number {
  const [cmd, ...args] = argv;
  const env = process.env;
  switch (cmd) {
    case "detect": {
      const d = detectGpu(env, args[0] ?? DEFAULT_CUDA);
      console.log(d.message);
      return d.action === "build" ? 0 : d.action === "skip" ? 10 : 11;
    }
    case "wheels": {
      const sel = selectCudaWheels(parseCudaPins(fs.readFileSync(args[0], "utf8")));
      for (const p of sel.download) console.log(`${p.name}==${p.version}`);
      for (const s of sel.skipped) console.error(`gpu-setup: not downloading ${s.pin.name} (${s.why})`);
      return 0;
    }
    case "stamp": {
      const [metadata, depsDir, tensorflow] = args;
      if (!metadata || !depsDir || !tensorflow) throw new Error("usage: gpu-setup.ts stamp METADATA DEPS_DIR TF_VERSION");
      const d = detectGpu(env);
      const stamp = makeStamp({ metadata: fs.readFileSync(metadata, "utf8"), depsDir: path.resolve(depsDir), tensorflow, gpus: d.gpus });
      const text = JSON.stringify(stamp, null, 2) + "\n";
      fs.writeFileSync(path.join(depsDir, GPU_STAMP_FILE), text);
      process.stdout.write(text);
      return 0;
    }
    case "detail": {
      console.log(nodeGpuDetail(readGpuBuildStamp(stampIn(args[0]))));
      return 0;
    }
    case "ld-path": {
      console.log(gpuLibraryPath(readGpuBuildStamp(stampIn(args[0])), undefined) ?? "");
      return 0;
    }
    case "exec": {
      const pkg = args[0] === "--pkg" ? args[1] : undefined;
      let rest = pkg === undefined ? args : args.slice(2);
      if (rest[0] === "--") rest = rest.slice(1);
      if (rest.length === 0) throw new Error("usage: gpu-setup.ts exec [--pkg PKG_DIR] -- COMMAND [ARGS...]");
      const ld = gpuLibraryPath(readGpuBuildStamp(stampIn(pkg)), env.LD_LIBRARY_PATH);
      const r = spawnSync(rest[0], rest.slice(1), { stdio: "inherit", env: { ...env, ...(ld ? { LD_LIBRARY_PATH: ld } : {}) } });
      if (r.error) throw r.error;
      return r.status ?? 1;
    }
    default:
      console.error("usage: gpu-setup.ts detect [CUDA] | wheels METADATA | stamp METADATA DEPS TF | detail [PKG] | ld-path [PKG] | exec -- CMD...");
      return 2;
  }
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`gpu-setup: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
