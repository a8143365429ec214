// Checkpoints: a model's weights + config (+ vocabulary) in one directory, written atomically, verified on load.
//
//   dir/manifest.json   format, model class, config, tensor table, sha256 and size of every file
//   dir/weights.bin     every parameter's raw little-endian data, back to back
//   dir/vocab.json      the vocabulary, when one is given
//
// Atomic: everything goes to a sibling temp directory that is renamed into place, so a crash mid-save never
// leaves a half-written checkpoint where a good one was. Verified: sizes and hashes are checked before any
// weight is touched, so a truncated or edited file is an error, never silently-wrong weights.
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Module } from "../nn/module";
import { Vocab, VocabJSON } from "../data/vocab";

const FORMAT = "nlu-course/checkpoint@1";

interface TensorEntry {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
  offset: number;
  bytes: number;
}

interface Manifest {
  format: string;
  model: string;
  config: Record<string, unknown>;
  tensors: TensorEntry[];
  files: Record<string, { bytes: number; sha256: string }>;
  savedAt: string;
}

export interface SaveOptions {
  config?: Record<string, unknown>;
  vocab?: Vocab;
}

const sha256 = (buf: Buffer): string => createHash("sha256").update(buf).digest("hex");

function writeFileSynced(file: string, data: Buffer | string): void {
  const fd = fs.openSync(file, "w");
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Save `model` to `dir` (created or atomically replaced). */
export function saveCheckpoint(dir: string, model: Module, opts: SaveOptions = {}): void {
  const params = model.namedParameters();
  const chunks: Buffer[] = [];
  const tensors: TensorEntry[] = [];
  let offset = 0;
  for (const [name, v] of params) {
    if (v.dtype !== "float32" && v.dtype !== "int32") throw new Error(`cannot save ${name}: dtype ${v.dtype} is not float32/int32.`);
    const data = v.dataSync() as Float32Array | Int32Array;
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    chunks.push(Buffer.from(buf));
    tensors.push({ name, shape: v.shape, dtype: v.dtype, offset, bytes: buf.byteLength });
    offset += buf.byteLength;
  }
  const files: Record<string, Buffer> = { "weights.bin": Buffer.concat(chunks) };
  if (opts.vocab) files["vocab.json"] = Buffer.from(JSON.stringify(opts.vocab.toJSON()));
  const manifest: Manifest = {
    format: FORMAT,
    model: model.constructor.name,
    config: opts.config ?? {},
    tensors,
    files: Object.fromEntries(Object.entries(files).map(([f, b]) => [f, { bytes: b.byteLength, sha256: sha256(b) }])),
    savedAt: new Date().toISOString(),
  };

  const target = path.resolve(dir);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(tmp);
  try {
    for (const [f, b] of Object.entries(files)) writeFileSynced(path.join(tmp, f), b);
    writeFileSynced(path.join(tmp, "manifest.json"), JSON.stringify(manifest, null, 1)); // manifest last: it vouches for the rest
    const old = fs.existsSync(target) ? `${target}.old-${process.pid}-${Date.now()}` : null;
    if (old) fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    if (old) fs.rmSync(old, { recursive: true, force: true });
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

export interface Checkpoint {
  model: string;
  config: Record<string, unknown>;
  vocab?: Vocab;
  /** name -> {shape, dtype, data}; plain arrays, no tensors, so reading leaks nothing. */
  weights: Map<string, { shape: number[]; dtype: "float32" | "int32"; data: Float32Array | Int32Array }>;
}

/** The manifest of `dir`, its files read and verified against it (sizes and sha256); throws naming the fix. */
function readVerified(dir: string): { manifest: Manifest; bufs: Record<string, Buffer> } {
  const mf = path.join(dir, "manifest.json");
  if (!fs.existsSync(mf)) throw new Error(`no checkpoint at ${dir} (missing manifest.json): save one with saveCheckpoint or trainer.save.`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(mf, "utf8"));
  } catch (e) {
    throw new Error(`checkpoint ${dir} is corrupt: manifest.json is not valid JSON (${(e as Error).message}). Re-save it.`);
  }
  if (manifest.format !== FORMAT) throw new Error(`checkpoint ${dir} has format "${manifest.format}", expected "${FORMAT}".`);
  const bufs: Record<string, Buffer> = {};
  for (const [f, want] of Object.entries(manifest.files)) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) throw new Error(`checkpoint ${dir} is incomplete: ${f} is missing. Re-save it.`);
    const b = fs.readFileSync(p);
    if (b.byteLength !== want.bytes) {
      throw new Error(`checkpoint ${dir} is corrupt: ${f} has ${b.byteLength} bytes, the manifest says ${want.bytes} (truncated?). Re-save it.`);
    }
    const got = sha256(b);
    if (got !== want.sha256) throw new Error(`checkpoint ${dir} is corrupt: ${f} sha256 ${got} != manifest ${want.sha256}. Re-save it.`);
    bufs[f] = b;
  }
  return { manifest, bufs };
}

/** Read and verify a checkpoint directory without touching any model. */
export function readCheckpoint(dir: string): Checkpoint {
  const { manifest, bufs } = readVerified(dir);
  const w = bufs["weights.bin"];
  const weights: Checkpoint["weights"] = new Map();
  for (const t of manifest.tensors) {
    const slice = w.subarray(t.offset, t.offset + t.bytes);
    const copy = new Uint8Array(slice).buffer; // aligned copy
    weights.set(t.name, { shape: t.shape, dtype: t.dtype, data: t.dtype === "int32" ? new Int32Array(copy) : new Float32Array(copy) });
  }
  const vocab = bufs["vocab.json"] ? Vocab.fromJSON(JSON.parse(bufs["vocab.json"].toString("utf8")) as VocabJSON) : undefined;
  return { model: manifest.model, config: manifest.config, vocab, weights };
}

// One level into nested objects (a cache key inside the config), so a difference names the setting that changed.
function configDiff(a: Record<string, unknown>, b: Record<string, unknown>, prefix = ""): string[] {
  const plain = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => {
    const [x, y] = [a[k], b[k]];
    if (!prefix && plain(x) && plain(y)) return configDiff(x, y, `${k}.`);
    return JSON.stringify(x) !== JSON.stringify(y) ? [`${prefix}${k}: saved ${JSON.stringify(x)}, model ${JSON.stringify(y)}`] : [];
  });
}

/** Why a saved checkpoint does not hold this model class with this config (and the config's differences), or null when it does. */
function mismatch(dir: string, saved: { model: string; config: Record<string, unknown> }, want: { model?: string; config?: Record<string, unknown> }): { why: string; differences: string[] } | null {
  if (want.model !== undefined && saved.model !== want.model) return { why: `checkpoint ${dir} holds a ${saved.model}, not a ${want.model}: build the matching model first.`, differences: [] };
  const differences = want.config ? configDiff(saved.config, want.config) : [];
  if (!differences.length) return null;
  return { why: `checkpoint ${dir} config does not match the model: ${differences.join("; ")}. Build the model with the saved config (readCheckpoint(dir).config).`, differences };
}

/** What checkpointStatus finds. */
export interface CheckpointStatus {
  /** loadCheckpoint would accept it for this class and config. */
  ok: boolean;
  /** A manifest.json is there (it may still be corrupt or not fit). */
  found: boolean;
  /** What is wrong, as loadCheckpoint would say it, or "fits". */
  why: string;
  /** The config's differences, "key: saved X, model Y" (a cache key's settings as "cacheKey.steps: ..."). */
  differences: string[];
  /** When it was saved (ISO time), when its manifest could be read. */
  savedAt?: string;
}

/**
 * Whether `dir` holds a verified checkpoint (files present, sizes and sha256 as its manifest says) of model class
 * `model` (a constructor's name) with exactly `config`, without building or touching a model: what loadCheckpoint
 * would accept, short of the parameter names and shapes (fixed by the class and config in the course's models).
 */
export function checkpointStatus(dir: string, want: { model?: string; config?: Record<string, unknown> } = {}): CheckpointStatus {
  const found = fs.existsSync(path.join(dir, "manifest.json"));
  let manifest: Manifest;
  try {
    manifest = readVerified(dir).manifest;
  } catch (e) {
    return { ok: false, found, why: (e as Error).message, differences: [] };
  }
  const wrong = mismatch(dir, manifest, want);
  return { ok: wrong === null, found, why: wrong?.why ?? "fits", differences: wrong?.differences ?? [], savedAt: manifest.savedAt };
}

/** Load a verified checkpoint into `model`; the model's config (if given) must match the saved one. */
export function loadCheckpoint(dir: string, model: Module, opts: { config?: Record<string, unknown> } = {}): Checkpoint {
  const ck = readCheckpoint(dir);
  const wrong = mismatch(dir, ck, { model: model.constructor.name, config: opts.config });
  if (wrong) throw new Error(wrong.why);
  const params = model.namedParameters();
  const missing = [...params.keys()].filter((n) => !ck.weights.has(n));
  const extra = [...ck.weights.keys()].filter((n) => !params.has(n));
  if (missing.length || extra.length) {
    throw new Error(`checkpoint ${dir} does not fit the model: missing [${missing.join(", ")}], unexpected [${extra.join(", ")}].`);
  }
  for (const [name, v] of params) {
    const t = ck.weights.get(name)!;
    if (JSON.stringify(t.shape) !== JSON.stringify(v.shape)) {
      throw new Error(`checkpoint ${dir}: ${name} has shape [${t.shape}], the model has [${v.shape}].`);
    }
    tf.tidy(() => v.assign(tf.tensor(t.data, t.shape, t.dtype)));
  }
  return ck;
}
