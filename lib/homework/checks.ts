// The checks that homework test cells run (homework/source/*): compare a student's answer with the expected
// one and, when it differs, throw an Error that says WHERE and HOW it differs — the student reads that message in
// the notebook, and nbgrader (which scores a test cell by whether it raised) records it in the feedback.
//
//   expectShape(out, [2, 4, 3], "attention output");
//   expectClose(out, reference, { what: "attention output", atol: 1e-5 });
//   expectThrows(() => splitHeads(x, 3), { what: "splitHeads(x, 3)", message: /heads \(3\).*width \(8\)/ });
//   expectSameHypotheses(mine, refBeamSearch(model, [src], opts)[0], { what: "beam search, k = 3" });
//   passed("Task 1: scaled dot-product attention");   // prints one ✓ line
//
// Every check only reads its inputs (nothing is disposed or kept), so a test cell can call them inside tf.tidy.
import * as tf from "@tensorflow/tfjs";

type Numeric = tf.Tensor | number | ArrayLike<number> | NestedNumbers;
interface NestedNumbers extends ReadonlyArray<number | NestedNumbers> {}

export interface CloseOptions {
  /** What is being checked, for the message ("attention weights"). */
  what?: string;
  /** |actual - expected| <= atol + rtol·|expected| per element (defaults 1e-5 and 1e-4: float32 arithmetic). */
  atol?: number;
  rtol?: number;
}

/** The numbers of a tensor or (nested) array, flattened, with its shape. Validates that values are numbers. */
function numbersOf(x: Numeric, what: string): { shape: number[]; values: number[] } {
  if (x instanceof tf.Tensor) {
    if (x.isDisposed) throw new Error(`${what}: the tensor was already disposed (return it from tf.tidy, do not dispose it).`);
    return { shape: [...x.shape], values: Array.from(x.dataSync()) };
  }
  if (typeof x === "number") return { shape: [], values: [x] };
  if (x === null || x === undefined) throw new Error(`${what}: got ${x}, expected a tensor, a number or an array of numbers.`);
  const shape: number[] = [];
  const values: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === "number") {
      if (depth !== shape.length) throw new Error(`${what}: the nested array is ragged (a number at depth ${depth}, expected depth ${shape.length}).`);
      values.push(v);
      return;
    }
    if (v === null || typeof v !== "object" || typeof (v as ArrayLike<unknown>).length !== "number") {
      throw new Error(`${what}: found ${JSON.stringify(v)} where a number or an array was expected.`);
    }
    const arr = Array.from(v as ArrayLike<unknown>);
    if (depth === shape.length) shape.push(arr.length);
    else if (shape[depth] !== arr.length) throw new Error(`${what}: the nested array is ragged (lengths ${shape[depth]} and ${arr.length} at depth ${depth}).`);
    arr.forEach((e) => walk(e, depth + 1));
  };
  walk(x, 0);
  return { shape, values };
}

/** Row-major index -> "[i, j, k]" for a shape. */
function indexOf(flat: number, shape: number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(flat % shape[d]);
    flat = Math.floor(flat / shape[d]);
  }
  return `[${idx.join(", ")}]`;
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(6));

/** Throws unless `actual` has exactly `shape` (a tensor's shape, or a nested array's). */
export function expectShape(actual: tf.Tensor | NestedNumbers, shape: readonly number[], what = "result"): void {
  if (actual === undefined || actual === null) throw new Error(`${what}: got ${actual}, expected a tensor of shape [${shape.join(", ")}] (did you forget to return it?).`);
  const got = actual instanceof tf.Tensor ? actual.shape : numbersOf(actual, what).shape;
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new Error(`${what}: shape is [${got.join(", ")}], expected [${shape.join(", ")}].`);
  }
}

/**
 * Throws unless actual and expected have the same shape and agree elementwise within atol + rtol·|expected|.
 * NaN never agrees (a NaN in the answer is a bug, e.g. a softmax over a fully masked row computed unstably).
 * The message names the worst element, its index, both values and how many elements disagree.
 */
export function expectClose(actual: Numeric, expected: Numeric, opts: CloseOptions = {}): void {
  const what = opts.what ?? "result";
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-4;
  if (!(atol >= 0) || !(rtol >= 0)) throw new Error(`expectClose: atol (${atol}) and rtol (${rtol}) must be >= 0.`);
  const a = numbersOf(actual, what);
  const e = numbersOf(expected, `${what} (expected)`);
  if (a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape[i])) {
    throw new Error(`${what}: shape is [${a.shape.join(", ")}], expected [${e.shape.join(", ")}].`);
  }
  let bad = 0;
  let worst = -1;
  let worstGap = -1;
  for (let i = 0; i < a.values.length; i++) {
    const gap = Math.abs(a.values[i] - e.values[i]);
    const ok = gap <= atol + rtol * Math.abs(e.values[i]);
    if (!ok) {
      bad++;
      const g = Number.isNaN(gap) ? Infinity : gap;
      if (g > worstGap) (worstGap = g), (worst = i);
    }
  }
  if (bad > 0) {
    const where = a.shape.length ? ` at ${indexOf(worst, a.shape)}` : "";
    throw new Error(
      `${what}: ${bad} of ${a.values.length} value(s) differ; the largest difference is${where}: got ` +
        `${fmt(a.values[worst])}, expected ${fmt(e.values[worst])} (tolerance ${atol} + ${rtol}·|expected|).`,
    );
  }
}

/** Throws unless actual deep-equals expected (numbers, strings, booleans, arrays, plain objects). */
export function expectEqual<T>(actual: T, expected: T, what = "result"): void {
  const show = (x: unknown): string => {
    const s = JSON.stringify(x);
    return s === undefined ? String(x) : s.length > 200 ? s.slice(0, 197) + "..." : s;
  };
  const same = (x: unknown, y: unknown): boolean => {
    if (Object.is(x, y)) return true;
    if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => same(v, y[i]));
    if (x && y && typeof x === "object" && typeof y === "object" && !Array.isArray(x) && !Array.isArray(y)) {
      const kx = Object.keys(x).sort();
      const ky = Object.keys(y).sort();
      return same(kx, ky) && kx.every((k) => same((x as Record<string, unknown>)[k], (y as Record<string, unknown>)[k]));
    }
    return false;
  };
  if (!same(actual, expected)) throw new Error(`${what}: got ${show(actual)}, expected ${show(expected)}.`);
}

/** Throws unless `condition` holds; `message` says what was expected. */
export function expectTrue(condition: boolean, message: string): void {
  if (condition !== true) throw new Error(message);
}

export interface ThrowsOptions {
  what?: string;
  /** The error message must match (a RegExp, or a substring). */
  message?: RegExp | string;
}

/** Throws unless fn() throws an Error whose message matches `message`. Returns the caught Error. */
export function expectThrows(fn: () => unknown, opts: ThrowsOptions = {}): Error {
  const what = opts.what ?? "the call";
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (caught === undefined) throw new Error(`${what} should throw an Error, but it returned normally.`);
  if (!(caught instanceof Error)) throw new Error(`${what} threw ${JSON.stringify(caught)}; throw an Error object (throw new Error("...")) instead.`);
  const m = opts.message;
  const ok = m === undefined || (typeof m === "string" ? caught.message.includes(m) : m.test(caught.message));
  if (!ok) throw new Error(`${what} threw "${caught.message}", but the message should match ${String(m)}.`);
  return caught;
}

/** An output of a decoder, as lib/decode's Hypothesis (only the fields compared). */
export interface RankedOutput {
  tokens: readonly number[];
  logProb: number;
  score: number;
  finished: boolean;
}

/**
 * Throws unless two ranked lists of decoder outputs (best first) agree: the same length, and at each rank the same
 * tokens, finished flag, logProb and score (within atol, default 1e-4: the library computes in float32). Where
 * hypotheses' scores are within atol of each other (a near tie that float32 and float64 may order either way), an
 * output may sit at any rank of its tie. The message names the rank and shows both outputs.
 */
export function expectSameHypotheses(actual: readonly RankedOutput[], expected: readonly RankedOutput[], opts: { what?: string; atol?: number } = {}): void {
  const what = opts.what ?? "hypotheses";
  const atol = opts.atol ?? 1e-4;
  if (!Array.isArray(actual)) throw new Error(`${what}: got ${JSON.stringify(actual)}, expected an array of hypotheses (best first).`);
  const show = (h: RankedOutput): string =>
    `[${h.tokens.join(" ")}]${h.finished ? " EOS" : " (unfinished)"} logProb ${fmt(h.logProb)} score ${fmt(h.score)}`;
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} hypotheses, expected ${expected.length}; expected ${expected.map(show).join("; ")}.`);
  }
  const same = (a: RankedOutput, e: RankedOutput): boolean =>
    a.tokens.length === e.tokens.length && a.tokens.every((t, i) => t === e.tokens[i]) && a.finished === e.finished &&
    Math.abs(a.logProb - e.logProb) <= atol && Math.abs(a.score - e.score) <= atol;
  actual.forEach((a, i) => {
    if (same(a, expected[i])) return;
    const tied = expected.some((e) => Math.abs(e.score - expected[i].score) <= atol && same(a, e));
    if (!tied) throw new Error(`${what}: rank ${i + 1} (best first) is ${show(a)}, expected ${show(expected[i])}.`);
  });
}

/** Prints the one line a passing check cell shows. */
export function passed(what: string): void {
  console.log(`✓ ${what}`);
}
