// A 'same'-padded, dilated 1-D convolution with its gradients, as one kernel each way on every backend.
//
// tfjs runs conv1d forward with any dilation, but its gradient refuses dilation > 1, so lib/nn/conv.ts wrote
// the convolution as im2col from k slices + one matmul: correct everywhere, but a dozen small ops per layer
// forward and more backward. Here the same math runs as the backend's own convolution kernels, wired into
// autodiff with tf.customGrad:
//   native TensorFlow  Conv2D with `dilations`; its gradients Conv2DBackpropInput/Filter for dilation 1, and for
//                      dilation > 1 a padded VALID Conv2D (input) and k matmuls (filter), see nativeDilatedGrads
//   wasm / cpu         tfjs's Conv2D forward (XNNPACK on wasm), and the kernel pack's im2col backprop kernels
//                      (lib/engine/kernels/conv.ts), which take the dilation the stock ones ignore
// A conv1d is a conv2d of height 1: x [b, t, w] is viewed as [b, 1, t, w], filters [k, w, out] as [1, k, w, out].
// 'same' padding puts floor(span/2) zeros on the left, span = (k − 1)·dilation (TensorFlow's and PyTorch's rule).
import * as tf from "@tensorflow/tfjs";
import { installedKernelPack } from "../kernels";
import { fusedOp, intAttr, onNativeBackend, runNativeOp, stringAttr, typeAttr, boolAttr } from "./native";

type Conv = (x: tf.Tensor4D, f: tf.Tensor4D, dilation: number) => tf.Tensor4D;
type ConvGrads = {
  input: (dy: tf.Tensor4D, f: tf.Tensor4D, xShape: number[], dilation: number) => tf.Tensor4D;
  filter: (x: tf.Tensor4D, dy: tf.Tensor4D, fShape: number[], dilation: number) => tf.Tensor4D;
};

const nativeAttrs = (dilation: number, padding: "SAME" | "VALID" = "SAME") => [
  typeAttr("T"),
  intAttr("strides", [1, 1, 1, 1]),
  stringAttr("padding", padding),
  stringAttr("data_format", "NHWC"),
  intAttr("dilations", [1, 1, dilation, 1]),
  boolAttr("use_cudnn_on_gpu", true),
];

// TensorFlow's CPU backprop kernels refuse dilation > 1 ("Current CPU implementations do not yet support dilation
// rates larger than 1") unless oneDNN runs them, which TensorFlow turns on by default only on CPUs with AVX512-VNNI,
// AVX512-BF16 or AMX: an AVX2-only machine (many AMD and older Intel ones) failed here. So for dilation > 1 both
// gradients are written with ops every CPU runs. With span = (k − 1)·d and left = floor(span / 2), forward is
// y[t] = Σ_j x[t − left + j·d] · f[j], hence
//   dx[s] = Σ_j dy[s + left − span + j·d] · flip(f)[j]ᵀ   a VALID dilated Conv2D of dy padded by (span − left, left)
//   df[j] = Σ_{b,t} x[t − left + j·d]ᵀ · dy[t]            one matmul per tap, x padded by (left, span − left)
const nativeDilatedGrads: ConvGrads = {
  input: (dy, f, _xShape, d) => {
    const [, k] = f.shape;
    const span = (k - 1) * d;
    const left = Math.floor(span / 2);
    const dyPad = tf.pad(dy, [[0, 0], [0, 0], [span - left, left], [0, 0]]);
    const flipped = tf.transpose(tf.reverse(f, 1), [0, 1, 3, 2]); // [1, k, out, w]: taps reversed, in/out swapped
    return runNativeOp("Conv2D", [dyPad, flipped], nativeAttrs(d, "VALID"), 1)[0] as tf.Tensor4D;
  },
  filter: (x, dy, fShape, d) => {
    const [, k, w, out] = fShape;
    const [b, , t] = x.shape;
    const span = (k - 1) * d;
    const left = Math.floor(span / 2);
    const xPad = tf.pad(x, [[0, 0], [0, 0], [left, span - left], [0, 0]]);
    const dy2 = tf.reshape(dy, [b * t, out]);
    const taps = Array.from({ length: k }, (_, j) => tf.matMul(tf.reshape(tf.slice(xPad, [0, 0, j * d, 0], [b, 1, t, w]), [b * t, w]), dy2, true, false));
    return tf.reshape(tf.stack(taps), [1, k, w, out]) as tf.Tensor4D;
  },
};

const native: { conv: Conv } & ConvGrads = {
  conv: (x, f, d) => runNativeOp("Conv2D", [x, f], nativeAttrs(d), 1)[0] as tf.Tensor4D,
  input: (dy, f, xShape, d) =>
    d > 1 ? nativeDilatedGrads.input(dy, f, xShape, d) : (runNativeOp("Conv2DBackpropInput", [tf.tensor1d(xShape, "int32"), f, dy], nativeAttrs(1), 1)[0] as tf.Tensor4D),
  filter: (x, dy, fShape, d) =>
    d > 1 ? nativeDilatedGrads.filter(x, dy, fShape, d) : (runNativeOp("Conv2DBackpropFilter", [x, tf.tensor1d(fShape, "int32"), dy], nativeAttrs(1), 1)[0] as tf.Tensor4D),
};

const packAttrs = (dilation: number) => ({ strides: [1, 1], pad: "same", dataFormat: "NHWC", dilations: [1, dilation] });

const packed: { conv: Conv } & ConvGrads = {
  conv: (x, f, d) => tf.conv2d(x, f, 1, "same", "NHWC", [1, d]),
  input: (dy, f, xShape, d) => tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: f }, { ...packAttrs(d), inputShape: xShape }) as tf.Tensor4D,
  filter: (x, dy, fShape, d) => tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, { ...packAttrs(d), filterShape: fShape }) as tf.Tensor4D,
};

/** The kernels for the active backend, or null when it has none that handle dilation (then use im2col ops). */
function kernelsHere(): ({ conv: Conv } & ConvGrads) | null {
  if (onNativeBackend()) return native;
  const backend = tf.getBackend();
  const pack = installedKernelPack(backend);
  return pack.includes("Conv2DBackpropInput") && pack.includes("Conv2DBackpropFilter") ? packed : null;
}

/**
 * y[b, t] = Σ_j x[b, t − left + j·dilation] · filters[j] ('same' padding, zeros outside the sequence), computed by
 * the backend's convolution kernels. x: [b, t, w], filters: [k, w, out] -> [b, t, out]; differentiable in both.
 * Returns null when the active backend has no such kernels (the caller then uses its im2col formulation).
 */
export function fusedConv1d(x: tf.Tensor3D, filters: tf.Tensor3D, dilation: number): tf.Tensor3D | null {
  const kernels = kernelsHere();
  if (!kernels) return null;
  const [b, t, w] = x.shape;
  const [k, , out] = filters.shape;
  const xShape = [b, 1, t, w];
  const fShape = [1, k, w, out];
  const op = fusedOp("FusedConv1d", ([x_, f_], save) => {
    const x4 = x_.reshape(xShape) as tf.Tensor4D;
    const f4 = f_.reshape(fShape) as tf.Tensor4D;
    save([x4, f4]);
    return {
      value: kernels.conv(x4, f4, dilation).reshape([b, t, out]),
      gradFunc: (dy, [sx, sf]) => {
        const dy4 = dy.reshape([b, 1, t, out]) as tf.Tensor4D;
        return [
          kernels.input(dy4, sf as tf.Tensor4D, xShape, dilation).reshape([b, t, w]),
          kernels.filter(sx as tf.Tensor4D, dy4, fShape, dilation).reshape([k, w, out]),
        ];
      },
    };
  });
  return op(x, filters) as tf.Tensor3D;
}
