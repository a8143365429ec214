// What the course knows about an NVIDIA GPU: what `nvidia-smi` reports, whether that driver can run the CUDA
// release TensorFlow's GPU wheel was built for, and what set-up recorded after building tfjs-node-gpu (the
// "GPU build stamp"). The backend pick (backend.ts) uses the stamp for its banner and for a clear message when
// node-gpu is asked for but cannot work; set-up (scripts/gpu-setup.ts) uses the parsers and the driver check.
//
//   nodeGpuDetail(readGpuBuildStamp())      // "NVIDIA H200, 140 GiB, CUDA 12.5, cuDNN 9.3"
//   nodeGpuUnusableReason({ stamp })        // undefined, or what is wrong and the command that fixes it
//
// Plain functions over strings and an injectable file check, so tests feed simulated nvidia-smi output.
import * as fs from "fs";
import * as path from "path";

/** One GPU as `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader` lists it. */
export interface NvidiaGpu {
  name: string;
  /** Total device memory, MiB (nvidia-smi's unit). */
  memoryMiB: number;
  /** Kernel driver version, e.g. "580.65.06". */
  driverVersion: string;
}

/** The query set-up runs; one CSV line per GPU. */
export const NVIDIA_SMI_QUERY = ["--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"];

/**
 * Parse the CSV of {@link NVIDIA_SMI_QUERY}: "NVIDIA H200, 143771 MiB, 580.65.06" per line.
 * Throws an Error quoting the first line that does not have that shape (a driver that prints a message
 * instead, "[N/A]" memory, an unexpected format).
 */
export function parseNvidiaSmiQuery(text: string): NvidiaGpu[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length === 0) throw new Error("nvidia-smi listed no GPU (empty output)");
  return lines.map((line) => {
    // The name may itself hold commas in principle; memory and driver are the last two fields.
    const fields = line.split(",").map((f) => f.trim());
    const m = fields.length >= 3 ? /^(\d+(?:\.\d+)?)\s*MiB$/i.exec(fields[fields.length - 2]) : null;
    const driverVersion = fields[fields.length - 1];
    const name = fields.slice(0, -2).join(", ");
    if (!m || !/^\d+(\.\d+)+$/.test(driverVersion) || name === "") {
      throw new Error(
        `nvidia-smi printed an unexpected line "${line}" (expected "name, memory MiB, driver version", ` +
          `e.g. "NVIDIA H200, 143771 MiB, 580.65.06")`,
      );
    }
    return { name, memoryMiB: Number(m[1]), driverVersion };
  });
}

/** The highest CUDA version the driver supports, from plain `nvidia-smi`'s header ("CUDA Version: 13.0"). */
export function parseDriverCudaVersion(text: string): string | undefined {
  return /CUDA Version:\s*(\d+\.\d+)/.exec(text)?.[1];
}

/** Compare dotted numeric versions: negative when a < b ("525.60.13" < "580.65.06"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number), pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Oldest Linux driver that runs any CUDA release of a major version, through CUDA's minor-version
 * compatibility (NVIDIA, CUDA Toolkit release notes, table "CUDA Toolkit and Minimum Required Driver Version
 * for CUDA Minor Version Compatibility": 11.x >= 450.80.02, 12.x >= 525.60.13).
 */
export const MIN_LINUX_DRIVER: Record<number, string> = { 11: "450.80.02", 12: "525.60.13" };

/**
 * Why this driver cannot run CUDA `cuda` ("12.5"), or undefined when it can. `driverCuda` is what plain
 * nvidia-smi reports the driver supports, when known. The message names the fix.
 */
export function driverProblem(opts: { driverVersion: string; cuda: string; driverCuda?: string }): string | undefined {
  const major = Number(opts.cuda.split(".")[0]);
  const min = MIN_LINUX_DRIVER[major];
  const fix =
    `Update the NVIDIA driver (https://www.nvidia.com/Download/index.aspx, or your distribution's ` +
    `nvidia-driver package), or use the CPU: NLU_GPU=off ./course setup.`;
  if (min === undefined) return `no minimum driver is known for CUDA ${opts.cuda} (known: CUDA ${Object.keys(MIN_LINUX_DRIVER).join(", ")})`;
  if (compareVersions(opts.driverVersion, min) < 0) {
    return `NVIDIA driver ${opts.driverVersion} is too old for CUDA ${opts.cuda}: CUDA ${major}.x needs driver >= ${min} on Linux. ${fix}`;
  }
  if (opts.driverCuda !== undefined && Number(opts.driverCuda.split(".")[0]) < major) {
    return `NVIDIA driver ${opts.driverVersion} supports CUDA up to ${opts.driverCuda}, older than CUDA ${opts.cuda}. ${fix}`;
  }
  return undefined;
}

/** What set-up writes after building tfjs-node-gpu (deps/gpu-build.json inside the package). */
export interface GpuBuildStamp {
  /** GPUs nvidia-smi listed at build time (empty when built without a driver, e.g. to test the build). */
  gpus: NvidiaGpu[];
  /** The PyPI `tensorflow` wheel whose C library the binding links, e.g. "2.18.1". */
  tensorflow: string;
  /** CUDA and cuDNN major.minor of the NVIDIA wheels TensorFlow pins ("12.5", "9.3"). */
  cuda: string;
  cudnn: string;
  /** The NVIDIA wheels unpacked, "nvidia-cudnn-cu12==9.3.0.75", ... */
  wheels: string[];
  /** Absolute folders holding the CUDA/cuDNN shared libraries; they go on LD_LIBRARY_PATH. */
  libraryDirs: string[];
}

export const GPU_STAMP_FILE = "gpu-build.json";

/** The stamp's path inside an installed tfjs-node-gpu, or undefined when the package is not installed. */
export function gpuStampPath(pkgDir?: string): string | undefined {
  if (pkgDir === undefined) {
    try {
      pkgDir = path.dirname(require.resolve("@tensorflow/tfjs-node-gpu/package.json"));
    } catch {
      return undefined;
    }
  }
  return path.join(pkgDir, "deps", GPU_STAMP_FILE);
}

/** Read and check a stamp; undefined when the file does not exist. Throws naming the file when malformed. */
export function readGpuBuildStamp(file: string | undefined = gpuStampPath()): GpuBuildStamp | undefined {
  if (file === undefined || !fs.existsSync(file)) return undefined;
  let raw: Partial<GpuBuildStamp>;
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); rebuild it with ./course setup`);
  }
  for (const key of ["gpus", "wheels", "libraryDirs"] as const) {
    if (!Array.isArray(raw[key])) throw new Error(`${file} lacks the list "${key}"; rebuild it with ./course setup`);
  }
  for (const key of ["tensorflow", "cuda", "cudnn"] as const) {
    if (typeof raw[key] !== "string") throw new Error(`${file} lacks "${key}"; rebuild it with ./course setup`);
  }
  return raw as GpuBuildStamp;
}

/** The banner's detail for node-gpu: "NVIDIA H200, 140 GiB, CUDA 12.5, cuDNN 9.3" (several GPUs: "2× ..."). */
export function nodeGpuDetail(stamp: GpuBuildStamp | undefined = readGpuBuildStamp()): string {
  if (stamp === undefined) return "no GPU build (run ./course setup on a machine with an NVIDIA driver)";
  const versions = `CUDA ${stamp.cuda}, cuDNN ${stamp.cudnn}`;
  if (stamp.gpus.length === 0) return `no GPU seen at build time, ${versions}`;
  const g = stamp.gpus[0];
  const count = stamp.gpus.length > 1 ? `${stamp.gpus.length}× ` : "";
  return `${count}${g.name}, ${Math.round(g.memoryMiB / 1024)} GiB, ${versions}`;
}

/** LD_LIBRARY_PATH with the stamp's library folders first (unchanged when there is no GPU build). */
export function gpuLibraryPath(stamp: GpuBuildStamp | undefined, current: string | undefined): string | undefined {
  const dirs = stamp?.libraryDirs ?? [];
  if (dirs.length === 0) return current;
  const rest = (current ?? "").split(":").filter((d) => d !== "" && !dirs.includes(d));
  return [...dirs, ...rest].join(":");
}

export interface GpuUsableOptions {
  /** The build stamp (default: read from the installed tfjs-node-gpu); undefined = never built. */
  stamp?: GpuBuildStamp;
  /** Output of `nvidia-smi` with NVIDIA_SMI_QUERY now, or an Error when it could not run. Omitted: not checked. */
  nvidiaSmi?: string | Error;
  /** File check, injectable for tests. */
  exists?: (p: string) => boolean;
}

/**
 * Why the node-gpu backend cannot work here, with the fix; undefined when nothing is known to be wrong.
 * Checks, in order: a GPU build exists; its CUDA/cuDNN folders are still there; a driver answers now; it is
 * new enough for the stamp's CUDA.
 */
export function nodeGpuUnusableReason(opts: GpuUsableOptions = {}): string | undefined {
  const stamp = "stamp" in opts ? opts.stamp : readGpuBuildStamp();
  const exists = opts.exists ?? fs.existsSync;
  const setup = "run ./course setup on a machine with an NVIDIA driver (nvidia-smi works)";
  if (stamp === undefined) return `tfjs-node-gpu has no GPU build: ${setup}; NLU_BACKEND=node uses the CPU meanwhile`;
  if (stamp.libraryDirs.length === 0) return `the GPU build lists no CUDA library folders: ${setup}`;
  const missing = stamp.libraryDirs.filter((d) => !exists(d));
  if (missing.length > 0) {
    return `the GPU build's CUDA libraries are missing (${missing.join(", ")}; removed node_modules?): ${setup}`;
  }
  if (opts.nvidiaSmi === undefined) return undefined;
  if (opts.nvidiaSmi instanceof Error) {
    return `no NVIDIA driver answers (nvidia-smi: ${opts.nvidiaSmi.message.split("\n")[0]}): install the driver, or use NLU_BACKEND=node`;
  }
  let gpus: NvidiaGpu[];
  try {
    gpus = parseNvidiaSmiQuery(opts.nvidiaSmi);
  } catch (err) {
    return `${(err as Error).message}: cannot tell whether the GPU is usable; NLU_BACKEND=node uses the CPU`;
  }
  return driverProblem({ driverVersion: gpus[0].driverVersion, cuda: stamp.cuda });
}
