// WebGPU in Node: the GPU path for machines where CUDA is not an option (AMD and Intel GPUs on Vulkan, Apple's
// Metal, Windows' D3D12). Browsers ship WebGPU; Node does not, so the `webgpu` npm package brings Dawn (Chrome's
// WebGPU implementation) as a native addon, and @tensorflow/tfjs-backend-webgpu runs tfjs's kernels on it as WGSL
// compute shaders.
//
//   const found = await loadWebGpu({ explicit: false, env: process.env });
//   // { ok: true, note: "nvidia (NVIDIA: 580.159.04 580.159.4.0)" } on an H200 (Vulkan), or { ok: false, note: why }
//
// tfjs-backend-webgpu looks for `navigator.gpu` (the browser's entry point) and the GPU* constants
// (GPUBufferUsage, ...) on globalThis, so the loader installs Dawn's under those names before requiring it.
// An adapter is asked for first: with no GPU driver (CI, most laptops without Vulkan) Dawn finds none, and the
// backend is simply absent. Software adapters (SwiftShader, Mesa's lavapipe/llvmpipe, Dawn's null backend) run
// WGSL on the CPU far slower than native TensorFlow, so `auto` skips them; NLU_BACKEND=webgpu takes them anyway.
// Measured (bench/gpu_check_h200.txt): on an H200 the course's models train with the CPU's losses, but at their
// batch sizes no faster than native TensorFlow on 2 cores — each of a step's ~1,500 kernels costs ~100 µs of tfjs
// JavaScript — so the backend pick tries this after native TensorFlow and before wasm (backend.ts).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** Same shape as backend.ts's LoadResult (kept separate so the two files do not import each other). */
export interface WebGpuLoad {
  ok: boolean;
  note: string;
  absent?: boolean;
}

/** Extra Dawn toggles, comma-separated (e.g. `backend=vulkan`, or `backend=null` in tests: no GPU, junk numbers). */
export const DAWN_OPTIONS_ENV = "NLU_DAWN_OPTIONS";

/** What a WebGPU adapter says about itself (GPUAdapterInfo; any field may be empty: on an H200 Dawn gave the vendor and a driver description only). */
export interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

/** One short phrase naming the GPU: "nvidia hopper (NVIDIA H200)"; "unnamed adapter" when it says nothing. */
export function describeAdapter(info: AdapterInfo): string {
  const family = [info.vendor, info.architecture].filter((x) => x && x.trim()).join(" ");
  const name = (info.description ?? "").trim();
  const text = family && name ? `${family} (${name})` : family || name;
  return text || "unnamed adapter";
}

/** Whether the adapter runs shaders on the CPU (slower than native TensorFlow there): skipped by `auto`. */
export function isSoftwareAdapter(info: AdapterInfo): boolean {
  if (info.isFallbackAdapter) return true;
  const text = `${info.vendor ?? ""} ${info.architecture ?? ""} ${info.description ?? ""}`;
  if (/swiftshader|llvmpipe|lavapipe|software rasterizer|microsoft basic render/i.test(text)) return true;
  return text.trim() === ""; // Dawn's null backend says nothing at all
}

/** `NLU_DAWN_OPTIONS` -> Dawn's create() toggles. */
export function parseDawnOptions(raw: string | undefined): string[] {
  const items = (raw ?? "").split(",").map((x) => x.trim()).filter(Boolean);
  for (const item of items) {
    if (!/^[a-z-]+=[\w.-]+$/i.test(item)) {
      throw new Error(`${DAWN_OPTIONS_ENV}="${raw}": "${item}" is not a Dawn toggle: use key=value pairs separated by commas, e.g. backend=vulkan.`);
    }
  }
  return items;
}

interface DawnModule {
  create(options: string[]): { requestAdapter(o?: object): Promise<{ info?: AdapterInfo } | null> };
  globals: Record<string, unknown>;
}

interface StagingBuffer {
  size: number;
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend that a synchronous read uses (its own getBufferData's steps). */
interface WebGpuBackendInternals {
  tensorMap: { get(dataId: object): { values: unknown; dtype: string; resource: StagingBuffer } };
  bufferManager: { acquireBuffer(size: number, usage: number): StagingBuffer; releaseBuffer(b: StagingBuffer): void };
  commandEncoder: { copyBufferToBuffer(src: StagingBuffer, so: number, dst: StagingBuffer, d: number, size: number): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(dataId: object, values: unknown): unknown;
  readSync(dataId: object): unknown;
  nluSyncRead?: boolean;
}

/** How long a synchronous read may wait for the GPU before it is called stuck (ms). */
const SYNC_READ_TIMEOUT_MS = 120_000;

/** Continue on a timer, outside Dawn's event-processing tick (see installSyncRead). */
export function leaveGpuCallback(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * `dataSync()` on WebGPU in Node. WebGPU has no synchronous read-back: a GPU buffer is mapped with `mapAsync`. In a
 * browser tfjs-backend-webgpu reads synchronously through an OffscreenCanvas; Node has none, so its readSync throws
 * "OffscreenCanvas is not defined". The course reads losses and samples synchronously (Trainer.trainBatch,
 * ELECTRA's generator), so here readSync does what the backend's asynchronous read does — copy the tensor's buffer
 * into a mappable staging buffer, submit, map — and then turns the event loop (deasync: libuv's run-once) until
 * the buffer's `mapState` says "mapped". It watches that state rather than awaiting the promise because code after
 * an `await` runs as a microtask, and promise callbacks cannot run inside one; Dawn updates `mapState` from its
 * own event tick, a `setImmediate`, which the loop does run. Other callbacks may run during the wait, as around an
 * `await`. If the wait is made from inside Dawn's tick itself (a continuation of a Dawn promise that no `await`
 * has moved on), nothing can answer: a deadline turns that into an error naming the fix instead of a hang.
 */
function installSyncRead(proto: WebGpuBackendInternals): void {
  if (proto.nluSyncRead) return;
  let deasync: { loopWhile(pred: () => boolean): void } | null = null;
  try {
    deasync = require("deasync");
  } catch {
    deasync = null;
  }
  const g = globalThis as unknown as { GPUBufferUsage: Record<string, number>; GPUMapMode: Record<string, number> };
  proto.readSync = function (this: WebGpuBackendInternals, dataId: object) {
    const data = this.tensorMap.get(dataId);
    if (data.values != null || data.dtype === "string") return data.values;
    if (data.dtype === "complex64") throw new Error("dataSync of a complex64 tensor is not supported on WebGPU in Node: use `await tensor.data()`.");
    if (deasync === null) {
      throw new Error(
        "Reading a WebGPU tensor synchronously (dataSync, arraySync, a loss) in Node needs the optional package deasync: run `npm install`, or use `await tensor.data()`.",
      );
    }
    const size = data.resource.size;
    const staging = this.bufferManager.acquireBuffer(size, g.GPUBufferUsage.COPY_DST | g.GPUBufferUsage.MAP_READ);
    this.ensureCommandEncoderReady();
    this.endComputePassEncoder();
    this.commandEncoder.copyBufferToBuffer(data.resource, 0, staging, 0, size);
    this.submitQueue();
    let failure: unknown;
    staging.mapAsync(g.GPUMapMode.READ).catch((e) => (failure = e ?? "mapAsync failed"));
    const deadline = Date.now() + SYNC_READ_TIMEOUT_MS;
    deasync.loopWhile(() => staging.mapState !== "mapped" && failure === undefined && Date.now() < deadline);
    if (staging.mapState !== "mapped") {
      this.bufferManager.releaseBuffer(staging);
      throw failure !== undefined
        ? failure
        : new Error(
            `A synchronous WebGPU read (dataSync) got no answer in ${SYNC_READ_TIMEOUT_MS / 1000} s: it was probably made inside a WebGPU callback. ` +
              "Insert `await new Promise((r) => setTimeout(r))` before it, or read with `await tensor.data()`.",
          );
    }
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    this.bufferManager.releaseBuffer(staging);
    const values = data.dtype === "float32" ? new Float32Array(bytes) : new Int32Array(bytes); // int32 and bool are stored as 32-bit ints
    return this.convertAndCacheOnCPU(dataId, values);
  };
  proto.nluSyncRead = true;
}

function privateRuntimeDir(): string {
  const dir = path.join(os.tmpdir(), `nlu-runtime-${process.getuid?.() ?? "user"}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** `import()` that tsc's CommonJS output leaves alone: `webgpu` is an ES module. */
const importEsm = new Function("specifier", "return import(specifier)") as (s: string) => Promise<DawnModule>;

/**
 * Load Dawn, find an adapter, expose it as `navigator.gpu` and register tfjs's webgpu backend.
 * `explicit`: NLU_BACKEND=webgpu asked for it, so a software adapter is accepted (with a warning note).
 * Never throws: every failure is a WebGpuLoad with the reason (absent = nothing to fix: no package or no GPU).
 */
export async function loadWebGpu(opts: { explicit: boolean; env: Record<string, string | undefined> }): Promise<WebGpuLoad> {
  let dawn: DawnModule;
  try {
    dawn = await importEsm("webgpu");
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    const missing = /Cannot find (package|module) 'webgpu'/.test(text);
    return missing ? { ok: false, note: "webgpu (Dawn) not installed", absent: true } : { ok: false, note: `webgpu (Dawn) failed to load (${text.split("\n")[0]})` };
  }
  let options: string[];
  try {
    options = parseDawnOptions(opts.env[DAWN_OPTIONS_ENV]);
  } catch (err) {
    return { ok: false, note: (err as Error).message };
  }
  // Vulkan's window-system code prints "XDG_RUNTIME_DIR is invalid" twice when it is unset (servers, containers):
  // give it a private folder, as a desktop session would.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = privateRuntimeDir();
  const gpu = dawn.create(options);
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) {
    return { ok: false, note: "no WebGPU adapter (needs a GPU with a Vulkan, Metal or D3D12 driver)", absent: true };
  }
  const info: AdapterInfo = adapter.info ?? {};
  const software = isSoftwareAdapter(info);
  if (software && !opts.explicit) {
    return { ok: false, note: `only a software WebGPU adapter (${describeAdapter(info)}), slower than the CPU backends`, absent: true };
  }
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, "navigator", { value: { ...(globalThis as { navigator?: object }).navigator, gpu }, configurable: true, writable: true });
  try {
    const mod = require("@tensorflow/tfjs-backend-webgpu") as { WebGPUBackend: { prototype: WebGpuBackendInternals } };
    if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas === "undefined") installSyncRead(mod.WebGPUBackend.prototype);
  } catch (err) {
    return { ok: false, note: `tfjs-backend-webgpu failed to load (${(err as Error).message.split("\n")[0]})`, absent: (err as { code?: string }).code === "MODULE_NOT_FOUND" };
  }
  return { ok: true, note: software ? `${describeAdapter(info)}: a software adapter, slow` : describeAdapter(info) };
}
