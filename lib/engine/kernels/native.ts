// Kernel-pack entries for the native backend (tfjs-node): two stock kernels that cost far more than their work.
//
//   Reshape  tfjs-node builds the target shape as a tfjs tensor (through the engine: registered, written,
//            disposed) on every call, ~60 µs for what TensorFlow does without touching the data. The shape is
//            now made directly as a TensorFlow tensor and deleted after the call (~12 µs). A model step reshapes
//            70-500 times (heads, the fused kernels' 4-D views, the flat Adam).
//   Step     the gradient of ReLU (dy · step(x)) ran as isNaN, greater, ones, fill, where and select, with two
//            full-size allocations: ~0.9 ms for a [32, 32, 128] activation, more than the layer's forward pass.
//            Now four TensorFlow ops on the binding (Greater, SelectV2, IsNan, SelectV2) with scalar operands,
//            the same values: 1 where x > 0, alpha elsewhere, NaN where x is NaN.
//
// Both call the binding that tfjs-node's own kernels call (lib/engine/fused/native.ts names it); other dtypes
// go to the stock kernel. Every TensorFlow handle made here is deleted before the kernel returns (tests count
// them). test/engine-kernels.test.ts checks both against the stock kernels.
import * as tf from "@tensorflow/tfjs";
import { nativeParts, NativeParts } from "../fused/native";
import { KernelArgs, StockKernel } from "./wasm_heap";

/** TensorFlow's dtype code for a tfjs dtype the replacements handle, or null (then the stock kernel runs). */
function tfType(p: NativeParts, dtype: tf.DataType): number | null {
  const b = p.binding;
  return dtype === "float32" ? b.TF_FLOAT : dtype === "int32" ? b.TF_INT32 : dtype === "bool" ? b.TF_BOOL : null;
}

/** Reshape, the shape made directly as a TensorFlow tensor (not through the tfjs engine). */
export function nativeReshape(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const p = nativeParts();
  const x = args.inputs.x;
  const type = tfType(p, x.dtype);
  if (type === null) return stock(args) as tf.TensorInfo;
  const b = p.binding;
  const shape = args.attrs!.shape as number[];
  const shapeId = b.createTensor([shape.length], b.TF_INT32, Int32Array.from(shape));
  const attrs = [
    { name: "T", type: b.TF_ATTR_TYPE, value: type },
    { name: "Tshape", type: b.TF_ATTR_TYPE, value: b.TF_INT32 },
  ];
  try {
    const [out] = b.executeOp("Reshape", attrs, [p.inputId(x), shapeId], 1);
    return p.output(out);
  } finally {
    b.deleteTensor(shapeId);
  }
}

/** step(x) = 1 where x > 0, alpha elsewhere, NaN where x is NaN (tfjs's Step), float32 only. */
export function nativeStep(args: KernelArgs, stock: StockKernel): tf.TensorInfo {
  const p = nativeParts();
  const x = args.inputs.x;
  if (x.dtype !== "float32") return stock(args) as tf.TensorInfo;
  const b = p.binding;
  const alpha = Number((args.attrs ?? {}).alpha ?? 0);
  const f32 = { name: "T", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT };
  const xId = p.inputId(x);
  const temporary: number[] = [];
  const scalar = (v: number) => {
    const id = b.createTensor([], b.TF_FLOAT, new Float32Array([v]));
    temporary.push(id);
    return id;
  };
  try {
    const [positive] = b.executeOp("Greater", [f32], [xId, scalar(0)], 1);
    temporary.push(positive.id);
    const [stepped] = b.executeOp("SelectV2", [f32], [positive.id, scalar(1), scalar(alpha)], 1);
    temporary.push(stepped.id);
    const [nan] = b.executeOp("IsNan", [f32], [xId], 1);
    temporary.push(nan.id);
    const [out] = b.executeOp("SelectV2", [f32], [nan.id, xId, stepped.id], 1);
    return p.output(out);
  } finally {
    for (const id of temporary) b.deleteTensor(id);
  }
}
