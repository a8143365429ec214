// A 'same'-padded, dilated 1-D convolution with its gradients, as one kernel each way on every backend.
//
// tfjs runs conv1d forward with any dilation, but its gradient refuses dilation > 1, so lib/nn/conv.ts wrote
// the convolution as im2col from k slices + one matmul: correct everywhere, but a dozen small ops per layer
// forward and more backward. Here the same math runs as the backend's own convolution kernels, wired into
// autodiff with tf.customGrad:
//   native TensorFlow  Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter, all with `dilations`
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

const nativeAttrs = (dilation: number) => [
  typeAttr("T"),
  intAttr("strides", [1, 1, 1, 1]),
  stringAttr("padding", "SAME"),
  stringAttr("data_format", "NHWC"),
  intAttr("dilations", [1, 1, dilation, 1]),
  boolAttr("use_cudnn_on_gpu", true),
];

const native: { conv: Conv } & ConvGrads = {
  conv: (x, f, d) => runNativeOp("Conv2D", [x, f], nativeAttrs(d), 1)[0] as tf.Tensor4D,
  input: (dy, f, xShape, d) => runNativeOp("Conv2DBackpropInput", [tf.tensor1d(xShape, "int32"), f, dy], nativeAttrs(d), 1)[0] as tf.Tensor4D,
  filter: (x, dy, fShape, d) => runNativeOp("Conv2DBackpropFilter", [x, tf.tensor1d(fShape, "int32"), dy], nativeAttrs(d), 1)[0] as tf.Tensor4D,
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
