// Checks at the library's entry points, so that bad input fails HERE, with the shapes or ids and the fix, and
// never reaches tfjs as something it either misreads or reports badly:
//   - shapes: tfjs's own errors name neither our function nor the fix, and on the native backend they arrive
//     as `Invalid TF_Status: 3 / Message: Matrix size-incompatible: In[0]: [2,3], In[1]: [2,3]` plus binding
//     frames;
//   - ids that index a table (class ids into logits, token ids into an embedding): an out-of-range id is not
//     always an error downstream — a gather on a flattened matrix reads another row's entry, tf.oneHot gives a
//     zero row, TensorFlow's GPU gather returns zeros — so the result is a finite, wrong number.
import * as tf from "@tensorflow/tfjs";

/** A tensor's shape as it reads in messages and doc comments: [2, 3, 5]. */
export function shapeText(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? "?" : String(d))).join(", ")}]`;
}

/**
 * Check several tensors against named shapes in one go. A dimension given as a number must be exactly that; a
 * dimension given as a name ("batch", "time", "width") takes its size from the first tensor that has it, and
 * every later tensor must agree. Undefined tensors (optional arguments) are skipped. Returns the sizes bound.
 *
 *   checkShapes("maskedSequenceLoss", { logits: [logits, ["batch", "time", "classes"]], targets: [targets, ["batch", "time"]] });
 *   // -> maskedSequenceLoss: targets [2, 4] does not fit: it must be [batch, time] = [2, 3] (batch and time from logits [2, 3, 5]).
 */
export function checkShapes(
  where: string,
  specs: Record<string, [tf.Tensor | undefined, readonly (number | string)[]]>,
  fix = "",
): Record<string, number> {
  const sizes: Record<string, number> = {};
  const from: Record<string, string> = {};
  const seen: Record<string, tf.Tensor> = {};
  const tail = fix ? ` ${fix}` : "";
  for (const [name, [t, dims]] of Object.entries(specs)) {
    if (t === undefined) continue;
    if (!(t instanceof tf.Tensor)) throw new Error(`${where}: ${name} must be a tensor of shape ${shapeText(dims)}, got ${describe(t)}.${tail}`);
    const want = dims.map((d) => (typeof d === "number" ? d : sizes[d] ?? d));
    const badRank = t.rank !== dims.length;
    const bad = badRank ? -1 : dims.findIndex((d, i) => (typeof d === "number" ? t.shape[i] !== d : d in sizes && sizes[d] !== t.shape[i]));
    if (badRank || bad >= 0) {
      const names = dims.filter((d): d is string => typeof d === "string" && d in sizes);
      const sources = [...new Set(names.map((d) => from[d]))].map((n) => `${n} ${shapeText(seen[n].shape)}`);
      const known = names.length && sources.length ? ` (${[...new Set(names)].join(" and ")} from ${sources.join(", ")})` : "";
      const pattern = dims.some((d) => typeof d === "string") ? `${shapeText(dims)} = ${shapeText(want)}` : shapeText(dims);
      throw new Error(`${where}: ${name} has shape ${shapeText(t.shape)}; it must be ${pattern}${known}.${tail}`);
    }
    dims.forEach((d, i) => {
      if (typeof d === "string" && !(d in sizes)) (sizes[d] = t.shape[i] as number), (from[d] = name);
    });
    seen[name] = t;
  }
  return sizes;
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return `a JS array (make a tensor with tf.tensor(...))`;
  return x === null ? "null" : typeof x;
}

/** [i, j, ...] of flat index k in a tensor of `shape` (row-major). */
function position(k: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(k % shape[d]);
    k = Math.floor(k / shape[d]);
  }
  return shapeText(idx);
}

/**
 * Every value of `ids` must be an integer in [0, size): class ids into `size` logits, token ids into a
 * vocabulary of `size`. Reads the ids back (they are small int tensors), so call it outside hot inner loops.
 * Throws, naming the first bad id, where it sits, the valid range and `fix`.
 */
export function checkIds(where: string, what: string, ids: tf.Tensor | readonly number[], size: number, fix: string): void {
  const values = ids instanceof tf.Tensor ? ids.dataSync() : ids;
  const shape = ids instanceof tf.Tensor ? ids.shape : [ids.length];
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    if (!(Number.isInteger(v) && v >= 0 && v < size)) {
      const range = size > 0 ? `0..${size - 1}` : "nothing (the table is empty)";
      throw new Error(`${where}: ${what} ${v} at ${position(k, shape)} is outside ${range}: ${fix}`);
    }
  }
}
