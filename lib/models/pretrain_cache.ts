// Cached pre-training for notebooks: re-running a notebook loads the pre-trained weights from an ignored
// folder (`checkpoints/` at the repository root) instead of training again — unless asked to (force).
//
// The checkpoint (lib/train/checkpoint: atomic, hash-verified) stores the model's config plus a `key` the
// caller chooses (steps, learning rate, corpus size, mode...): change either and the cache no longer fits,
// so the model is retrained and the cache replaced. What the training returned (e.g. loss curves, as JSON)
// is kept beside it in result.json, so the plots come back too.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Module } from "../nn/module";
import { checkpointStatus, loadCheckpoint, saveCheckpoint } from "../train/checkpoint";
import { writeFileAtomic } from "../data/verify";

/** `checkpoints/<name>` under the repository root (found upward from the working directory), else under cwd. */
export function checkpointDir(name: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`checkpoint name "${name}" must use letters, digits, ".", "_" or "-".`);
  let dir = process.cwd();
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg) && fs.existsSync(path.join(dir, "lib"))) return path.join(dir, "checkpoints", name);
    const up = path.dirname(dir);
    if (up === dir) return path.join(process.cwd(), "checkpoints", name);
    dir = up;
  }
}

export interface PretrainCachedOptions<M extends Module & { config?(): Record<string, unknown> }, R> {
  /** Where the checkpoint lives, e.g. checkpointDir("electra-quick-s0"). */
  dir: string;
  /** Builds the (untrained) model; called again if a stale cache was found. */
  make: () => M;
  /** Trains the model; what it returns (JSON-able: curves, timings) is cached with the weights. */
  train: (model: M) => R | Promise<R>;
  /** Training settings that, when changed, must invalidate the cache (steps, lr, data size...). */
  key?: Record<string, unknown>;
  /** What else the cache needs besides the weights (e.g. a run's snapshot checkpoints): not cached -> retrain. */
  alsoNeeds?: (main: { savedAt?: string }) => CacheStatus;
  /** Retrain even if a fitting checkpoint exists (default false). */
  force?: boolean;
  /** Where to say what happened (default console.log). */
  log?: (message: string) => void;
}

export interface PretrainCachedResult<M, R> {
  model: M;
  /** true when the weights came from the cache. */
  loaded: boolean;
  /** train()'s return value (from result.json when loaded). */
  result: R;
  /** Seconds spent training now (0 when loaded). */
  seconds: number;
}

// What a cached checkpoint is saved with: the model's own config plus the caller's key.
const keyedConfig = (config: Record<string, unknown>, key?: Record<string, unknown>) => ({ ...config, cacheKey: key ?? {} });

/** Whether a cache would load rather than train, and why (not), in words a notebook can print. */
export interface CacheStatus {
  cached: boolean;
  why: string;
}

/**
 * Whether pretrainCached would load `dir` rather than train, without building a model: a verified checkpoint of
 * class `model` (a constructor's name, e.g. ElectraModel.name) saved with the model's `config` and this `key`,
 * its result.json readable, and whatever `alsoNeeds` asks for (it gets the checkpoint's save time). pretrainCached
 * decides with this same function, so asking first (to warn before an hour of training, say) gives the answer it
 * will act on. `why` names the checkpoint and what is missing or different.
 */
export function cacheStatus(o: { dir: string; model: string; config: Record<string, unknown>; key?: Record<string, unknown>; alsoNeeds?: (main: { savedAt?: string }) => CacheStatus }): CacheStatus {
  const where = path.relative(process.cwd(), o.dir) || o.dir; // short in notes: ../checkpoints/<name> from a notebook
  const ck = checkpointStatus(o.dir, { model: o.model, config: keyedConfig(o.config, o.key) });
  if (!ck.found) return { cached: false, why: `nothing is cached at ${where}` };
  if (ck.differences.length) return { cached: false, why: `${where} was made with a different configuration (${ck.differences.join("; ")})` };
  if (!ck.ok) return { cached: false, why: `${where} cannot be loaded: ${ck.why}` };
  try {
    JSON.parse(fs.readFileSync(path.join(o.dir, "result.json"), "utf8"));
  } catch (e) {
    return { cached: false, why: `${where} has no readable result.json (${(e as Error).message.slice(0, 120)})` };
  }
  return o.alsoNeeds?.({ savedAt: ck.savedAt }) ?? { cached: true, why: `cached at ${where}` };
}

/** Load `dir` if it holds this model (same config and key, and what `alsoNeeds` asks; see cacheStatus); otherwise train, save and return it. */
export async function pretrainCached<M extends Module & { config?(): Record<string, unknown> }, R>(
  opts: PretrainCachedOptions<M, R>,
): Promise<PretrainCachedResult<M, R>> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const resultFile = path.join(opts.dir, "result.json");
  const where = path.relative(process.cwd(), opts.dir) || opts.dir;
  let model = opts.make();
  const status = opts.force ? { cached: false, why: "force: true" } : cacheStatus({ dir: opts.dir, model: model.constructor.name, config: model.config?.() ?? {}, key: opts.key, alsoNeeds: opts.alsoNeeds });
  if (status.cached) {
    try {
      const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as R;
      loadCheckpoint(opts.dir, model, { config: keyedConfig(model.config?.() ?? {}, opts.key) });
      log(`loaded pre-trained weights from ${where} (pass force: true to retrain)`);
      return { model, loaded: true, result, seconds: 0 };
    } catch (e) {
      // Only parameter names or shapes can fail here (code changed without a key change: see sourceFingerprint).
      log(`cache at ${where} does not fit (${(e as Error).message.slice(0, 200)}); training again`);
      model.dispose(); // a failed load may have assigned some weights: start from a clean model
      model = opts.make();
    }
  } else if (!opts.force && fs.existsSync(path.join(opts.dir, "manifest.json"))) {
    log(`cache does not fit: ${status.why}; training again`);
  }
  const t0 = Date.now();
  const result = await opts.train(model);
  const seconds = (Date.now() - t0) / 1000;
  saveCheckpoint(opts.dir, model, { config: keyedConfig(model.config?.() ?? {}, opts.key) });
  writeFileAtomic(resultFile, JSON.stringify(result ?? null));
  log(`saved pre-trained weights to ${where} (${seconds.toFixed(1)} s of training)`);
  return { model, loaded: false, result, seconds };
}

/** This checkout's lib/ (beside this file; else found upward from the working directory). */
function libDir(): string {
  if (fs.existsSync(path.join(__dirname, "..", "models", "pretrain_cache.ts"))) return path.join(__dirname, "..");
  return path.join(path.dirname(path.dirname(checkpointDir("x"))), "lib");
}

/**
 * A hash of the code that defines a model's computation (comment-only lines ignored), for a cache `key`: a
 * checkpoint trained by older code (renamed parameters, a changed gate) then no longer fits and is retrained
 * instead of being loaded silently. `files` are paths relative to lib/, e.g. ["nn/rnn.ts", "models/rnn_classifier.ts"].
 */
export function sourceFingerprint(files: string[]): string {
  const hash = createHash("sha256");
  for (const f of [...files].sort()) {
    const file = path.join(libDir(), f);
    if (!fs.existsSync(file)) throw new Error(`sourceFingerprint: lib/${f} does not exist; name files relative to lib/, e.g. "nn/rnn.ts".`);
    const code = fs
      .readFileSync(file, "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .split("\n")
      .filter((line) => !/^\s*(\/\/.*)?$/.test(line))
      .join("\n");
    hash.update(`${f}\n${code}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}
