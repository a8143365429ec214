// Picking the compute backend: the fastest one this machine can load, or the one NLU_BACKEND names.
//
//   await useBestBackend();   // once, before any tensor work; prints one banner line the first time
//   engineInfo();             // { backend: "wasm", reason: "...", kernelPack: ["BatchMatMul", ...], ... }
//
// Order: node-gpu (tfjs-node-gpu, CUDA) -> node (tfjs-node, native CPU) -> webgpu (Dawn: Vulkan, Metal or D3D12,
// any vendor) -> wasm (XNNPACK, SIMD) -> cpu (JS). WebGPU comes after native TensorFlow on the CPU because it was
// measured slower there at the course's sizes (an H200 took 138-176 ms per reference transformer step, 2 CPU cores
// 120 ms: a step is ~1,500 small kernels, each paying tfjs's per-dispatch JavaScript; bench/gpu_check_h200.txt),
// and ahead of wasm, which it beats 4-7x (where native TensorFlow cannot be built: macOS, Windows, ARM).
// tfjs-node(-gpu) are optional dependencies whose install downloads libtensorflow and often fails; npm then
// drops them silently, or leaves a folder whose native binding is missing. So each candidate is `require`d
// inside try/catch, and `tf.setBackend`'s boolean is checked: after a failed setBackend, tf.getBackend() may
// still report the name that failed. The wasm package registers itself as the preferred backend merely by
// being imported, so it is required here, lazily, only when it is the candidate being tried.
//
// The decisions are pure functions over injected loaders (`activateBackend`), so tests can simulate a
// missing package, a broken binding or a failed setBackend without installing anything.
import * as tf from "@tensorflow/tfjs";
import * as fs from "fs";
import * as path from "path";
import { installKernelPack, kernelPackFor, removeKernelPack } from "./kernels";
import { markDisplayed } from "../viz/display";
import { leaveGpuCallback, loadWebGpu } from "./webgpu";
import { nodeGpuDetail, nodeGpuUnusableReason } from "./gpu_info";

export const BACKEND_NAMES = ["node-gpu", "node", "webgpu", "wasm", "cpu"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_ENV = "NLU_BACKEND";
/** NLU_KERNEL_PACK=off runs wasm/cpu with stock tfjs kernels only (to compare, or to rule the pack out). */
export const KERNEL_PACK_ENV = "NLU_KERNEL_PACK";

/** The name each choice registers under in tfjs (both node packages register "tensorflow"). */
export const TFJS_BACKEND: Record<BackendName, string> = {
  "node-gpu": "tensorflow",
  webgpu: "webgpu",
  node: "tensorflow",
  wasm: "wasm",
  cpu: "cpu",
};

const PACKAGE: Record<BackendName, string> = {
  "node-gpu": "@tensorflow/tfjs-node-gpu",
  webgpu: "@tensorflow/tfjs-backend-webgpu",
  node: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs",
};

/** What runs, in words (the banner's middle). */
const WHAT: Record<BackendName, string> = {
  "node-gpu": "TensorFlow on a CUDA GPU",
  webgpu: "WebGPU (Dawn) on the GPU",
  node: "native TensorFlow on the CPU",
  wasm: "WebAssembly on the CPU",
  cpu: "plain JavaScript on the CPU",
};

/** How to get something faster than `name` (the banner's last clause). */
const FASTER: Record<BackendName, string> = {
  "node-gpu": "this is the fastest backend tfjs offers",
  webgpu: "native TensorFlow (tfjs-node, which `./course setup` builds on Linux x86_64) is faster at the course's sizes; tfjs-node-gpu on an NVIDIA GPU",
  node: "an NVIDIA GPU with tfjs-node-gpu (`./course setup` builds it when it finds an NVIDIA driver)",
  wasm: "native TensorFlow (tfjs-node), which `./course setup` builds on Linux x86_64 from the PyPI tensorflow-cpu wheel (see its output for why it could not)",
  cpu: "wasm trains 10-100x faster: unset NLU_BACKEND, or reinstall @tensorflow/tfjs-backend-wasm if it failed",
};

/** What to do when an explicitly requested backend cannot be used (the error's last sentence). */
const FIX: Record<BackendName, string> = {
  "node-gpu":
    "Run `./course setup` on a machine where `nvidia-smi` works: it builds tfjs-node-gpu against PyPI's tensorflow wheel and NVIDIA's CUDA wheels",
  webgpu: "Check the GPU's driver (on Linux `vulkaninfo --summary` must list the GPU; macOS uses Metal, Windows D3D12)",
  node: "Install it (npm i @tensorflow/tfjs-node) and run `./course setup`, which builds its binding",
  wasm: "Install it (npm i @tensorflow/tfjs-backend-wasm)",
  cpu: "Install @tensorflow/tfjs (npm install)",
};

export type BackendRequest = BackendName | "auto";

/** NLU_BACKEND -> request. Unset, empty or "auto" means auto; anything else must be a backend name. */
export function parseBackendRequest(raw: string | undefined): BackendRequest {
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "" || value === "auto") return "auto";
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new Error(
    `${BACKEND_ENV}="${raw}" is not a backend: use one of auto, ${BACKEND_NAMES.join(", ")} ` +
      `(unset means auto: the fastest that loads).`,
  );
}

/** NLU_KERNEL_PACK -> whether to install the pack on wasm/cpu (default on). */
export function parseKernelPackSwitch(raw: string | undefined): boolean {
  const value = (raw ?? "").trim().toLowerCase();
  if (value === "" || value === "on" || value === "1") return true;
  if (value === "off" || value === "0") return false;
  throw new Error(`${KERNEL_PACK_ENV}="${raw}" is not a switch: use on or off (unset means on).`);
}

/** Candidates in the order they are tried: all four for auto, just the named one for an override. */
export function candidateOrder(request: BackendRequest): BackendName[] {
  return request === "auto" ? [...BACKEND_NAMES] : [request];
}

/** Result of trying to load one candidate's package. */
export interface LoadResult {
  ok: boolean;
  /** Why not (when !ok), or details worth printing (e.g. "SIMD, 1 thread"). */
  note: string;
  /** The optional package is simply not there (not installed, native part not built): normal, not a fault. */
  absent?: boolean;
}

/** Everything activateBackend touches, injectable for tests. */
export interface BackendDeps {
  env: Record<string, string | undefined>;
  /** `explicit`: the request named this backend (NLU_BACKEND), rather than auto trying it. */
  load(name: BackendName, explicit: boolean): Promise<LoadResult>;
  setBackend(tfjsName: string): Promise<boolean>;
  installPack(tfjsName: string): string[];
  removePack(tfjsName: string): void;
}

export interface EngineInfo {
  backend: BackendName;
  /** tfjs's name for it ("tensorflow", "wasm", "cpu"). */
  tfjsBackend: string;
  /** Why this one: the override, or what was skipped and why. */
  reason: string;
  /** Kernels the nlu kernel pack replaced or added on this backend (empty when none). */
  kernelPack: string[];
  /** Details of the loaded backend, e.g. "SIMD, 1 thread". */
  detail: string;
  /** How to get a faster backend. */
  faster: string;
  /** Backends tried first that FAILED (not merely absent), for the banner; empty when none. */
  failed: string;
  /** The one-line banner printed on first use. */
  banner: string;
}

/**
 * One line: what runs, and how to get faster. Optional backends that are simply absent (no GPU build) are not
 * news and are left out; a backend that is there but failed is named, since that is worth fixing.
 */
export function formatBanner(info: Omit<EngineInfo, "banner">): string {
  const detail = info.detail ? ` (${info.detail})` : "";
  const pack = info.kernelPack.length > 0 ? ` + nlu kernel pack [${info.kernelPack.join(", ")}]` : "";
  const override = info.reason.startsWith(BACKEND_ENV) ? ` (${info.reason})` : "";
  const failed = info.failed ? ` (${info.failed})` : "";
  return `[nlu] backend: ${info.backend}${detail}${pack} — ${WHAT[info.backend]}${override}${failed}. Faster: ${info.faster}.`;
}

/**
 * Try the candidates in order; the first that loads AND whose setBackend returns true wins. An explicit
 * request that fails is an error (never a silent fallback to something slower than asked for).
 */
export async function activateBackend(deps: BackendDeps): Promise<EngineInfo> {
  const request = parseBackendRequest(deps.env[BACKEND_ENV]);
  const usePack = parseKernelPackSwitch(deps.env[KERNEL_PACK_ENV]);
  const skipped: string[] = [];
  const failed: string[] = [];
  for (const name of candidateOrder(request)) {
    const loaded = await deps.load(name, request !== "auto");
    let failure = loaded.ok ? "" : loaded.note;
    if (loaded.ok) {
      let ok = false;
      try {
        ok = await deps.setBackend(TFJS_BACKEND[name]);
      } catch (err) {
        failure = `tf.setBackend("${TFJS_BACKEND[name]}") threw: ${firstLine(err)}`;
      }
      if (!ok && !failure) failure = `tf.setBackend("${TFJS_BACKEND[name]}") returned false`;
      if (ok) {
        const tfjsName = TFJS_BACKEND[name];
        let kernelPack: string[] = [];
        if (usePack) kernelPack = deps.installPack(tfjsName);
        else deps.removePack(tfjsName);
        const why =
          request !== "auto"
            ? `${BACKEND_ENV}=${request}`
            : skipped.length > 0
              ? `chosen because ${skipped.join("; ")}`
              : "the fastest backend, and it loaded";
        const packNote = !usePack && kernelPackFor(tfjsName).length > 0 ? ` (${KERNEL_PACK_ENV}=off)` : "";
        const info = {
          backend: name,
          tfjsBackend: tfjsName,
          reason: why + packNote,
          kernelPack,
          detail: loaded.note,
          // Asked for by name: the way to something faster is to let auto choose (unless this is the fastest).
          faster: request !== "auto" && name !== "node-gpu" ? `unset ${BACKEND_ENV}: auto picks the fastest backend that loads` : FASTER[name],
          failed: failed.length ? `${failed.join("; ")}` : "",
        };
        return { ...info, banner: formatBanner(info) };
      }
    }
    if (request !== "auto") {
      throw new Error(
        `${BACKEND_ENV}=${request} but ${PACKAGE[name]} could not be used: ${failure}. ` +
          `${FIX[name]}, or unset ${BACKEND_ENV} to pick the fastest that loads.`,
      );
    }
    skipped.push(`${name}: ${failure}`);
    if (!(loaded.absent && !loaded.ok)) failed.push(`${name} failed: ${failure}`);
  }
  throw new Error(`No tfjs backend could be activated (${skipped.join("; ")}).`);
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split("\n")[0];
}

function isInstalled(pkg: string): boolean {
  try {
    require.resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** Whether an installed tfjs-node(-gpu) has its compiled binding (lib/napi-vN/tfjs_binding.node). Absent: true. */
function nativeBindingBuilt(pkg: string): boolean {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return true; // not installed: let require() report that
  }
  const lib = path.join(dir, "lib");
  return fs.existsSync(lib) && fs.readdirSync(lib).some((d) => fs.existsSync(path.join(lib, d, "tfjs_binding.node")));
}

/** Each package's require, spelled out so a bundler (scripts/gpu-check.sh's esbuild) sees and includes it. */
const REQUIRE: Record<string, () => unknown> = {
  "@tensorflow/tfjs-node-gpu": () => require("@tensorflow/tfjs-node-gpu"),
  "@tensorflow/tfjs-node": () => require("@tensorflow/tfjs-node"),
  "@tensorflow/tfjs-backend-wasm": () => require("@tensorflow/tfjs-backend-wasm"),
};

/** require() that reports "not installed" separately from "installed but broken". */
function tryRequire(pkg: string): LoadResult {
  // libtensorflow prints CPU-feature and oneDNN notices to stderr on load; keep only warnings and errors.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
  if (pkg.startsWith("@tensorflow/tfjs-node") && !nativeBindingBuilt(pkg)) {
    // npm installs tfjs-node(-gpu) without running its download script (package.json allowScripts); the binding
    // is built only by scripts/native-tensorflow.sh. Requiring a package without one would still register its
    // kernels before failing, and the next candidate would then re-register them all with a warning each.
    return { ok: false, note: `${pkg.replace("@tensorflow/", "")} present but its native binding is not built`, absent: true };
  }
  try {
    REQUIRE[pkg]();
    return { ok: true, note: "" };
  } catch (err) {
    const code = (err as { code?: string }).code;
    const missing = code === "MODULE_NOT_FOUND" && firstLine(err).includes(`'${pkg}'`);
    const short = pkg.replace("@tensorflow/", "");
    return missing ? { ok: false, note: `${short} not installed`, absent: true } : { ok: false, note: `${short} failed to load (${firstLine(err)})` };
  }
}

/**
 * Load a candidate for real: require its package and, for wasm, point it at its .wasm files; for webgpu, find
 * an adapter first (lib/engine/webgpu.ts). `explicit`: NLU_BACKEND named this one.
 */
export async function loadBackendPackage(name: BackendName, explicit = false): Promise<LoadResult> {
  if (name === "cpu") return { ok: true, note: "" };
  if (name === "webgpu") return loadWebGpu({ explicit, env: process.env });
  if (name === "node-gpu" && isInstalled(PACKAGE[name]) && nativeBindingBuilt(PACKAGE[name])) {
    // A GPU binding needs the CUDA libraries set-up unpacked beside it (lib/engine/gpu_info.ts).
    const unusable = nodeGpuUnusableReason();
    if (unusable) return { ok: false, note: unusable };
  }
  const result = tryRequire(PACKAGE[name]);
  if (!result.ok) return result;
  if (name === "node" || name === "node-gpu") {
    // A copy of tfjs-node built against another tfjs-core registers with that copy's engine, not ours.
    if (tf.findBackendFactory("tensorflow") == null) {
      return { ok: false, note: `${PACKAGE[name]} loaded but registered with another copy of @tensorflow/tfjs-core` };
    }
    return { ok: true, note: name === "node-gpu" ? nodeGpuDetail() : "libtensorflow" };
  }
  // wasm. In Node the .wasm binaries are read from disk: name their folder explicitly (bundlers and tslab
  // can move the JS file the default lookup is relative to). SIMD is used when the runtime has it (Node
  // 16+); multithreading is off in Node.
  const wasm = require("@tensorflow/tfjs-backend-wasm") as typeof import("@tensorflow/tfjs-backend-wasm");
  const dist = path.join(path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + path.sep;
  try {
    wasm.setWasmPaths(dist);
  } catch (err) {
    return { ok: false, note: `setWasmPaths failed (${firstLine(err)})` };
  }
  const simd = Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"));
  return { ok: true, note: simd ? "SIMD" : "no SIMD: slow; use Node 16+" };
}

function realDeps(env: Record<string, string | undefined>): BackendDeps {
  return {
    env,
    load: loadBackendPackage,
    setBackend: async (n) => {
      const ok = await tf.setBackend(n);
      if (ok && n === "webgpu") await leaveGpuCallback(); // the caller's next dataSync must not run inside Dawn's tick
      // The cpu backend prints a multi-line "install tfjs-node" notice on first write; our banner says it.
      if (ok && n === "cpu") (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      return ok;
    },
    installPack: installKernelPack,
    removePack: removeKernelPack,
  };
}

let best: Promise<EngineInfo> | null = null;
let current: EngineInfo | null = null;

/**
 * Activate the best backend (or NLU_BACKEND's) once per process and print the banner; later calls return
 * the same promise. Call before any tensor work: `await useBestBackend()`. The info it resolves to is marked as
 * already shown (the banner said it), so a cell ending in `await useBestBackend();` prints only the banner;
 * `engineInfo()` gives the same info to print or read.
 */
export function useBestBackend(): Promise<EngineInfo> {
  if (best === null) {
    best = activateBackend(realDeps(process.env)).then((info) => {
      current = info;
      console.log(info.banner);
      return markDisplayed({ ...info });
    });
    best.catch(() => {
      best = null; // a fixed environment may succeed on the next call
    });
  }
  return best;
}

/**
 * Switch to a specific backend now, with or without the kernel pack (benchmarks and tests compare them).
 * No banner. Throws like an NLU_BACKEND override when the backend cannot be used.
 */
export async function useBackend(name: BackendName, opts: { kernelPack?: boolean } = {}): Promise<EngineInfo> {
  const env = { [BACKEND_ENV]: name, [KERNEL_PACK_ENV]: opts.kernelPack === false ? "off" : "on" };
  current = await activateBackend(realDeps(env));
  return current;
}

/** What is active: backend, why, which kernels the pack replaced. Throws before the first activation. */
export function engineInfo(): EngineInfo {
  if (current === null) {
    throw new Error("No backend chosen yet: run `await useBestBackend()` first (lib/engine).");
  }
  return current;
}
