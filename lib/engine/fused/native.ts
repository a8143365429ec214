// Running a TensorFlow op by name on the native backend (tfjs-node), for the fused kernels in this folder.
//
// tfjs-node implements each tfjs kernel by executing the TensorFlow op of the same name through its binding;
// the binding itself can execute ANY op the TensorFlow C library registers, including fused ones tfjs never
// exposes (BlockLSTMV2, LSTMBlockCell, Conv2D with dilations and its backprop ops). One call crosses the N-API
// boundary once, where the same computation as tfjs ops crosses it a thousand times.
//
//   runNativeOp("BlockLSTMV2", [seqLenMax(T), x, ...], [typeAttr("T"), boolAttr("use_peephole", false)], 7)
//
// Only meaningful while the "tensorflow" backend is active (`onNativeBackend()`); attribute names and input
// orders are TensorFlow's (tensorflow/core/ops/*.cc), validated by TensorFlow with its own message.
import * as tf from "@tensorflow/tfjs";

interface OpAttr {
  name: string;
  type: number;
  value: boolean | number | string | number[];
}

interface Binding {
  TF_FLOAT: number;
  TF_INT32: number;
  TF_INT64: number;
  TF_BOOL: number;
  TF_ATTR_TYPE: number;
  TF_ATTR_FLOAT: number;
  TF_ATTR_BOOL: number;
  TF_ATTR_INT: number;
  TF_ATTR_STRING: number;
  createTensor(shape: number[], dtype: number, values: Int32Array | Float32Array): number;
  deleteTensor(id: number): void;
  executeOp(name: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): OutputMetadata[];
}

/** What the binding says of each output of an executed op. */
type OutputMetadata = { id: number; shape: number[]; dtype: number };

/** tfjs-node's NodeJSKernelBackend, as far as this file relies on it (tfjs-node 4.22). */
interface NodeBackend {
  binding: Binding;
  getInputTensorIds(tensors: tf.Tensor[]): number[];
  createOutputTensor(metadata: OutputMetadata): tf.Tensor;
}

/** Whether the active backend is native TensorFlow (tfjs-node or tfjs-node-gpu). */
export function onNativeBackend(): boolean {
  return tf.getBackend() === "tensorflow";
}

function nodeBackend(): NodeBackend {
  if (!onNativeBackend()) throw new Error(`native TensorFlow ops need the "tensorflow" backend; the active one is "${tf.getBackend()}".`);
  return tf.backend() as unknown as NodeBackend;
}

/**
 * The binding and the two conversions a kernel written against it needs (lib/engine/kernels/native.ts):
 * a tfjs tensor's TensorFlow handle, and an op's output as a tfjs tensor. Throws off the native backend.
 */
export interface NativeParts {
  binding: Binding;
  inputId(t: tf.TensorInfo): number;
  output(m: OutputMetadata): tf.Tensor;
}

export function nativeParts(): NativeParts {
  const backend = nodeBackend();
  return {
    binding: backend.binding,
    inputId: (t) => backend.getInputTensorIds([t as tf.Tensor])[0],
    output: (m) => backend.createOutputTensor(m),
  };
}

/** An int64 scalar input (TensorFlow wants int64 for lengths such as BlockLSTM's seq_len_max; tfjs has none). */
export class Int64Scalar {
  constructor(readonly value: number) {
    if (!(Number.isInteger(value) && Math.abs(value) < 2 ** 31)) throw new Error(`Int64Scalar(${value}): use an integer below 2^31 in size.`);
  }
}

export type AttrSpec =
  | { kind: "type"; name: string; dtype: "float32" | "int32" }
  | { kind: "float"; name: string; value: number }
  | { kind: "bool"; name: string; value: boolean }
  | { kind: "int"; name: string; value: number | number[] }
  | { kind: "string"; name: string; value: string };

export const typeAttr = (name: string, dtype: "float32" | "int32" = "float32"): AttrSpec => ({ kind: "type", name, dtype });
export const floatAttr = (name: string, value: number): AttrSpec => ({ kind: "float", name, value });
export const boolAttr = (name: string, value: boolean): AttrSpec => ({ kind: "bool", name, value });
export const intAttr = (name: string, value: number | number[]): AttrSpec => ({ kind: "int", name, value });
export const stringAttr = (name: string, value: string): AttrSpec => ({ kind: "string", name, value });

function toOpAttr(b: Binding, a: AttrSpec): OpAttr {
  switch (a.kind) {
    case "type":
      return { name: a.name, type: b.TF_ATTR_TYPE, value: a.dtype === "float32" ? b.TF_FLOAT : b.TF_INT32 };
    case "float":
      return { name: a.name, type: b.TF_ATTR_FLOAT, value: a.value };
    case "bool":
      return { name: a.name, type: b.TF_ATTR_BOOL, value: a.value };
    case "int":
      return { name: a.name, type: b.TF_ATTR_INT, value: a.value };
    case "string":
      return { name: a.name, type: b.TF_ATTR_STRING, value: a.value };
  }
}

/** The TensorFlow call itself: inputs by id (int64 scalars made for the call and deleted after it). */
function execute(name: string, inputs: (tf.TensorInfo | Int64Scalar)[], attrs: AttrSpec[], numOutputs: number): tf.Tensor[] {
  const backend = nodeBackend();
  const b = backend.binding;
  const temporary: number[] = [];
  const ids = inputs.map((t) => {
    if (!(t instanceof Int64Scalar)) return backend.getInputTensorIds([t as tf.Tensor])[0];
    const id = b.createTensor([], b.TF_INT64, new Int32Array([t.value, t.value < 0 ? -1 : 0])); // little-endian int64
    temporary.push(id);
    return id;
  });
  try {
    const outputs = b.executeOp(name, attrs.map((a) => toOpAttr(b, a)), ids, numOutputs);
    return outputs.map((m) => backend.createOutputTensor(m));
  } finally {
    for (const id of temporary) b.deleteTensor(id);
  }
}

/**
 * Execute TensorFlow op `name` on the native backend; returns its first `numOutputs` outputs as tfjs tensors
 * (tracked by the enclosing tf.tidy like any other). Each op runs as a tfjs kernel named "TF.<name>", registered
 * on first use, so that tf.profile and memory accounting see it like any other kernel.
 */
export function runNativeOp(name: string, inputs: (tf.Tensor | Int64Scalar)[], attrs: AttrSpec[], numOutputs: number): tf.Tensor[] {
  nodeBackend(); // the error for another backend, before any registration
  const kernelName = `TF.${name}`;
  if (!tf.getKernel(kernelName, "tensorflow")) {
    tf.registerKernel({
      kernelName,
      backendName: "tensorflow",
      kernelFunc: (({ inputs: named, attrs: a }: { inputs: Record<string, tf.TensorInfo>; attrs: { args: (number | Int64Scalar)[]; specs: AttrSpec[]; n: number } }) =>
        execute(name, a.args.map((x) => (x instanceof Int64Scalar ? x : named[x])), a.specs, a.n)) as unknown as tf.KernelFunc,
    });
  }
  // Tensors go in the input map (by position); int64 scalars, which are not tensors, ride along in the attrs.
  const named: Record<string, tf.Tensor> = {};
  const args = inputs.map((t, i) => (t instanceof Int64Scalar ? t : ((named[i] = t), i)));
  const out = tf.engine().runKernel(kernelName, named, { args, specs: attrs, n: numOutputs } as unknown as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out];
}

/** What a fused op's forward returns: its one output, and the gradient for each input in order. */
export interface FusedResult {
  value: tf.Tensor;
  gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
}

/** Names of the fused ops that have run (profiles list each under its name). */
export const FUSED_OP_NAMES = new Set<string>();

/**
 * tf.customGrad with typed inputs: `forward(inputs, save)` runs the op and says how to differentiate it. The
 * forward's inner ops are not recorded on the gradient tape; `save` keeps tensors for the backward pass. The op
 * runs in a scope called `name`, which is how tf.profile (and `npm run bench -- --profile`) lists it.
 */
export function fusedOp(name: string, forward: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => FusedResult): (...inputs: tf.Tensor[]) => tf.Tensor {
  FUSED_OP_NAMES.add(name);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return forward(args.slice(0, -1) as tf.Tensor[], save);
  });
  return (...inputs) => tf.tidy(name, () => op(...inputs));
}
