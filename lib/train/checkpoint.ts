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

/** Read and verify a checkpoint directory without touching any model. */
export function readCheckpoint(dir: string): Checkpoint {
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

function configDiff(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).map((k) => `${k}: saved ${JSON.stringify(a[k])}, model ${JSON.stringify(b[k])}`);
}

/** Load a verified checkpoint into `model`; the model's config (if given) must match the saved one. */
export function loadCheckpoint(dir: string, model: Module, opts: { config?: Record<string, unknown> } = {}): Checkpoint {
  const ck = readCheckpoint(dir);
  if (ck.model !== model.constructor.name) {
    throw new Error(`checkpoint ${dir} holds a ${ck.model}, not a ${model.constructor.name}: build the matching model first.`);
  }
  if (opts.config) {
    const diff = configDiff(ck.config, opts.config);
    if (diff.length) throw new Error(`checkpoint ${dir} config does not match the model: ${diff.join("; ")}. Build the model with the saved config (readCheckpoint(dir).config).`);
  }
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
