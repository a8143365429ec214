// The dataset registry and the one function that puts verified corpus files on disk.
//
// datasets/registry.json names every file a corpus needs with its public URL, size and sha256 (derived from
// the collection's MANIFEST.json). ensureDataset() makes a verified copy of each file in the cache
// (datasets/cache/<name>/, ignored by git), taking it from, in order:
//   1. the cache itself, trusted without re-hashing while a stamp says size+mtime are unchanged;
//   2. a local mirror folder laid out as <mirror>/<name>/<file> (option `mirror`, else env NLU_DATA_MIRROR);
//   3. the public URL (redirects followed, gzip undone where the registry says `transform: "gunzip"`).
// Every new copy is written to a temp file, checked, then renamed, so a bad or half-written file is never used.
//
//   await ensureDataset("sst2");                          // all files
//   const p = await ensureFile("sst2", "train.tsv");      // one file -> absolute path
//   NLU_DATA_MIRROR=../shared/datasets npm run fetch-data -- sst2 cogs

import * as fs from "fs";
import * as path from "path";
import { pipeline } from "stream/promises";
import * as zlib from "zlib";
import { download } from "./http";
import { buildFromArchive } from "./aclimdb";
import { ChecksumError, check, sha256File, stampPath, stampSays, tempName, verifyOrDelete, writeStamp } from "./verify";

export { ChecksumError, sha256File };

export interface DatasetFile {
  /** Relative to the dataset folder, e.g. "train.tsv". */
  path: string;
  /** Size and sha256 of the file as stored (for gzip downloads: after gunzip). */
  bytes: number;
  sha256: string;
  /** Public URL. Absent for the committed samples, which come only from a folder. */
  url?: string;
  /** "gunzip": the URL serves a .gz whose size and hash are sourceBytes/sourceSha256. */
  transform?: "gunzip";
  sourceBytes?: number;
  sourceSha256?: string;
  lines?: number;
  /** How many records the loader in lib/data/corpora.ts returns for this file. */
  examples?: number;
  /** Where the bytes come from (owner/repo:path, or for samples the file they were drawn from). */
  source?: string;
  /** For a stored .gz: size and sha256 of its decompressed text (a copy gzipped elsewhere is checked by these). */
  contentBytes?: number;
  contentSha256?: string;
  /**
   * The file is not one download: `url` is a template over many upstream files. Without cache or mirror it is
   * built from `archive` (downloaded and checked first) by `recipe` (lib/data/aclimdb.ts).
   */
  assembled?: { recipe: string; archive: { url: string; bytes: number; sha256: string }; note?: string };
}

export interface DatasetEntry {
  title: string;
  description: string;
  licence: string;
  citation: string;
  homepage?: string;
  files: DatasetFile[];
}

export interface Registry {
  version: number;
  about?: string;
  datasets: Record<string, DatasetEntry>;
}

export interface EnsureOptions {
  /** Folder laid out as <mirror>/<name>/<file>. undefined: env NLU_DATA_MIRROR; null or "": no mirror. */
  mirror?: string | null;
  /** Where verified copies live. Default: env NLU_DATA_CACHE, else <repo>/datasets/cache. */
  cacheDir?: string;
  /** Allow downloads from the public URLs (default true). */
  download?: boolean;
  /** Which registry to resolve names in (default: datasets/registry.json). */
  registry?: Registry;
  /** Only these files of the dataset (default: all). */
  files?: string[];
  /** Where progress and notices go (default: stderr). Pass () => {} for silence. */
  log?: (line: string) => void;
  /** Give up on a connection silent for this long (default 30 s). */
  timeoutMs?: number;
}

export type FileOrigin = "cache" | "mirror" | "download";
export interface FileReport {
  path: string;
  /** Absolute path of the verified copy. */
  file: string;
  origin: FileOrigin;
  /** "stamp": trusted from the size+mtime stamp; "sha256": hashed this time. */
  check: "stamp" | "sha256";
}
export interface DatasetReport {
  name: string;
  dir: string;
  files: FileReport[];
}

/** A file that is not cached and could not be fetched. The message says which command fetches it. */
export class MissingDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MissingDataError";
  }
}

// ---------------------------------------------------------------------------------------------- locations

let rootCache: string | undefined;
/** The repository root: the nearest folder above this file (or the working directory) holding datasets/registry.json. */
export function repoRoot(): string {
  if (rootCache) return rootCache;
  for (const start of [__dirname, process.cwd()]) {
    for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
      if (fs.existsSync(path.join(dir, "datasets", "registry.json"))) return (rootCache = dir);
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error(`cannot find datasets/registry.json above ${__dirname} or ${process.cwd()}: run from inside the repository.`);
}

export const registryPath = (): string => path.join(repoRoot(), "datasets", "registry.json");
export const samplesDir = (): string => path.join(repoRoot(), "datasets", "samples");
export const defaultCacheDir = (): string =>
  process.env.NLU_DATA_CACHE ? path.resolve(repoRoot(), process.env.NLU_DATA_CACHE) : path.join(repoRoot(), "datasets", "cache");

/** The command that fetches a dataset, as error messages quote it. */
export const fetchCommand = (name: string): string => `npm run fetch-data -- ${name}`;

/**
 * The mirror folder to use: the option if given (null or "" = none), else env NLU_DATA_MIRROR.
 * A relative path is taken relative to the repository root, so notebooks (cwd notebooks/) and scripts agree.
 */
export function resolveMirror(option?: string | null): string | null {
  const raw = option === undefined ? process.env.NLU_DATA_MIRROR : option;
  if (raw === null || raw === undefined || raw.trim() === "") return null;
  const dir = path.resolve(repoRoot(), raw);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    const from = option === undefined ? `NLU_DATA_MIRROR="${raw}"` : `mirror "${raw}"`;
    throw new Error(`${from} is not a folder (resolved to ${dir}): point it at a folder laid out as <mirror>/<name>/<file>, or unset it to download.`);
  }
  return dir;
}

// ---------------------------------------------------------------------------------------------- registry

const registries = new Map<string, Registry>();
/** Read and validate a registry file (cached per path). */
export function readRegistry(file: string): Registry {
  const hit = registries.get(file);
  if (hit) return hit;
  const reg = JSON.parse(fs.readFileSync(file, "utf8")) as Registry;
  if (!reg || typeof reg.datasets !== "object") throw new Error(`${file} has no "datasets" object: is it a dataset registry?`);
  for (const [name, d] of Object.entries(reg.datasets)) {
    if (!Array.isArray(d.files) || d.files.length === 0) throw new Error(`${file}: dataset "${name}" lists no files.`);
    for (const f of d.files) {
      if (!/^[0-9a-f]{64}$/.test(f.sha256) || !(f.bytes >= 0) || !f.path || f.path.includes("..")) {
        throw new Error(`${file}: ${name}/${f.path} needs a relative path, a byte count and a 64-hex-digit sha256.`);
      }
    }
  }
  registries.set(file, reg);
  return reg;
}

/** The committed registry, datasets/registry.json. */
export const registry = (): Registry => readRegistry(registryPath());
/** The registry of the committed samples, datasets/samples/samples.json (same names, small files, no URLs). */
export const sampleRegistry = (): Registry => readRegistry(path.join(samplesDir(), "samples.json"));

export const datasetNames = (reg: Registry = registry()): string[] => Object.keys(reg.datasets);

/** A dataset's entry; an unknown name throws, listing the valid ones. */
export function getDataset(name: string, reg: Registry = registry()): DatasetEntry {
  const d = Object.prototype.hasOwnProperty.call(reg.datasets, name) ? reg.datasets[name] : undefined;
  if (!d) {
    const names = datasetNames(reg);
    const near = names.find((n) => n.startsWith(name.toLowerCase().slice(0, 4)));
    throw new Error(`unknown dataset "${name}": valid names are ${names.join(", ")}${near ? ` (did you mean "${near}"?)` : ""}.`);
  }
  return d;
}

/** One file's entry; an unknown file throws, listing the dataset's files. */
export function getFile(name: string, file: string, reg: Registry = registry()): DatasetFile {
  const d = getDataset(name, reg);
  const f = d.files.find((x) => x.path === file);
  if (!f) throw new Error(`dataset "${name}" has no file "${file}": it has ${d.files.map((x) => x.path).join(", ")}.`);
  return f;
}

// ---------------------------------------------------------------------------------------------- verification

// ---------------------------------------------------------------------------------------------- fetching

// Progress notes go to stdout: they are news, not errors (stderr is a pink error box in Jupyter).
const defaultLog = (line: string): void => {
  console.log(line);
};
async function fromUrl(name: string, f: DatasetFile, dest: string, opts: Required<Pick<EnsureOptions, "log" | "timeoutMs">>): Promise<void> {
  const label = `${name}/${f.path}`;
  const url = f.url as string;
  const tmp = tempName(dest);
  const hint = `The download from ${url} was deleted; the upstream file may have changed. Retry with \`${fetchCommand(name)}\`, or report it.`;
  try {
    if (f.transform === "gunzip") {
      const gz = `${tmp}.gz`;
      try {
        await download(url, gz, label, f.sourceBytes ?? 0, opts);
        if (f.sourceSha256) await verifyOrDelete(gz, { sha256: f.sourceSha256, bytes: f.sourceBytes ?? fs.statSync(gz).size }, url, hint);
        await pipeline(fs.createReadStream(gz), zlib.createGunzip(), fs.createWriteStream(tmp));
      } finally {
        fs.rmSync(gz, { force: true });
      }
    } else {
      await download(url, tmp, label, f.bytes, opts);
    }
    await verifyOrDelete(tmp, f, label, hint);
    fs.renameSync(tmp, dest);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

async function fromMirror(name: string, f: DatasetFile, src: string, dest: string): Promise<void> {
  const tmp = tempName(dest);
  try {
    await fs.promises.copyFile(src, tmp);
    fs.chmodSync(tmp, 0o644); // copyFile keeps the mirror's read-only mode; the cache must stay ours to replace
    await verifyOrDelete(tmp, f, `${name}/${f.path} (copied from mirror file ${src})`, "The copy was deleted; fix or re-create the mirror file.");
    fs.renameSync(tmp, dest);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * A committed sample file, datasets/samples/<name>/<file>, checked against datasets/samples/samples.json.
 * Samples are read in place (never copied or deleted); they let unit tests run without the corpora.
 */
export async function sampleFile(name: string, file: string): Promise<string> {
  const f = getFile(name, file, sampleRegistry());
  const p = path.join(samplesDir(), name, f.path);
  if (!fs.existsSync(p)) throw new MissingDataError(`${p} is missing: restore it from git, or rebuild the samples with \`npx tsx scripts/make-samples.ts\`.`);
  const actual = { sha256: await sha256File(p), bytes: fs.statSync(p).size };
  if (actual.sha256 !== f.sha256 || actual.bytes !== f.bytes) {
    throw new ChecksumError(p, f, actual, "The committed sample was changed: restore it from git, or rebuild the samples with `npx tsx scripts/make-samples.ts`.");
  }
  return p;
}

/** Make sure one verified file of a dataset is in the cache; returns where it is and how it got there. */
export async function ensureFileReport(name: string, file: string, options: EnsureOptions = {}): Promise<FileReport> {
  const reg = options.registry ?? registry();
  const f = getFile(name, file, reg);
  const log = options.log ?? defaultLog;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = path.join(path.resolve(options.cacheDir ?? defaultCacheDir()), name);
  const dest = path.join(dir, f.path);
  const label = `${name}/${f.path}`;
  const mirror = resolveMirror(options.mirror); // a bad mirror setting fails even when the cache would do
  fs.mkdirSync(dir, { recursive: true });

  let note = "";
  if (fs.existsSync(dest)) {
    const st = fs.statSync(dest);
    if (stampSays(dest, st, f)) return { path: f.path, file: dest, origin: "cache", check: "stamp" };
    const checked = st.size === f.bytes || f.contentSha256 ? await check(dest, f) : undefined;
    const actual = checked ? checked.sha256 : "(not hashed: wrong size)";
    if (checked?.ok) {
      writeStamp(dest, f);
      return { path: f.path, file: dest, origin: "cache", check: "sha256" };
    }
    // A cached copy that no longer matches is never used: move it aside (for inspection) and fetch again.
    fs.renameSync(dest, `${dest}.bad`);
    fs.rmSync(stampPath(dest), { force: true });
    note = `the cached copy had sha256 ${actual} (${st.size} bytes), expected ${f.sha256} (${f.bytes} bytes); it was moved to ${dest}.bad. `;
    log(`${label}: ${note}fetching it again`);
  }

  const tried: string[] = [];
  if (mirror) {
    const src = path.join(mirror, name, f.path);
    if (fs.existsSync(src)) {
      await fromMirror(name, f, src, dest);
      writeStamp(dest, f);
      log(`${label}: copied from the data mirror, checksum OK`);
      return { path: f.path, file: dest, origin: "mirror", check: "sha256" };
    }
    tried.push(`the mirror has no ${src}`);
  }
  if (options.download === false) tried.push("downloads are off (--offline or download: false)");
  else if (f.assembled) {
    try {
      await buildFromArchive(name, getDataset(name, reg).files, dir, { log, timeoutMs });
      return { path: f.path, file: dest, origin: "download", check: "sha256" };
    } catch (e) {
      if (e instanceof ChecksumError) throw e;
      tried.push(`building it from ${f.assembled.archive.url} failed (${(e as Error).message})`);
    }
  } else if (!f.url) tried.push("the registry gives no URL for it");
  else {
    try {
      await fromUrl(name, f, dest, { log, timeoutMs });
      writeStamp(dest, f);
      return { path: f.path, file: dest, origin: "download", check: "sha256" };
    } catch (e) {
      if (e instanceof ChecksumError) throw e;
      tried.push(`downloading ${f.url} failed (${(e as Error).message})`);
    }
  }
  if (!mirror) tried.push("NLU_DATA_MIRROR is not set");
  throw new MissingDataError(
    `${label} is not in the cache (${dir}) and could not be fetched: ${note}${tried.join("; ")}. ` +
      `Fetch it with \`${fetchCommand(name)}\` (needs internet), or set NLU_DATA_MIRROR to a folder holding ${name}/${f.path}.`,
  );
}

/** Make sure one verified file is in the cache; returns its absolute path. */
export async function ensureFile(name: string, file: string, options: EnsureOptions = {}): Promise<string> {
  return (await ensureFileReport(name, file, options)).file;
}

/** Make sure every file of a dataset (or options.files) is cached and verified. */
export async function ensureDataset(name: string, options: EnsureOptions = {}): Promise<DatasetReport> {
  const d = getDataset(name, options.registry ?? registry());
  const wanted = options.files ?? d.files.map((f) => f.path);
  const files: FileReport[] = [];
  for (const file of wanted) files.push(await ensureFileReport(name, file, options));
  return { name, dir: path.join(path.resolve(options.cacheDir ?? defaultCacheDir()), name), files };
}
