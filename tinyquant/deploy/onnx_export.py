"""``export_onnx(model, path, input_shape)``: a standard ONNX graph (opset 17) built with
``onnx.helper`` from the lowered nodes (:mod:`tinyquant.deploy.graph`), no torch involved.

Weights travel as their integer levels with their scales and are dequantized in the graph:

* k-bit:   DequantizeLinear(int8 codes c, scale s) = s·c
* binary:  DequantizeLinear(int8 levels ±1, per-output-channel scale α_o, axis 0)
* ternary: DequantizeLinear(int8 levels −1/0/+1, scale p_o) when p = n; with TTQ's two
  scales, DequantizeLinear(P, p) − DequantizeLinear(N, n) over the two 0/1 planes
* float:   float32

Inputs are quantized as the layer's activation quantizer does: k-bit through
QuantizeLinear/DequantizeLinear (uint8, zero point 0, round half to even as ``np.round``)
and a Clip to the top level; sign as Where(x ≥ 0, 1, −1) (ONNX's Sign has sign(0) = 0,
tinyquant's is +1), times ReduceMean(|x|) for XNOR-Net's scaled variant. Then Conv or Gemm,
and the folded batch norm and bias as y = bn_scale[o]·(·) + add[o] (Mul, Add).

``onnx`` is an optional dependency (the ``[deploy]`` extra); it is imported when called.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .graph import lower

OPSET = 17


class _Builder:
    def __init__(self, helper, numpy_helper):
        self.h, self.nh = helper, numpy_helper
        self.nodes, self.inits, self.count = [], [], 0

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, array, base="c") -> str:
        name = self.name(base)
        self.inits.append(self.nh.from_array(np.asarray(array), name))
        return name

    def op(self, op_type, inputs, base=None, **attrs) -> str:
        out = self.name(base or op_type.lower())
        self.nodes.append(self.h.make_node(op_type, list(inputs), [out], **attrs))
        return out

    # ------------------------------------------------------------ pieces
    def channel(self, array, rank) -> str:
        """A per-channel constant shaped (1, C, 1, …) for broadcasting against rank ``rank``."""
        return self.const(np.asarray(array, np.float32).reshape((1, -1) + (1,) * (rank - 2)))

    def weight(self, w) -> str:
        """The float weight (O, …) as a graph value, dequantized from its levels."""
        if w.kind == "float":
            return self.const(w.values.astype(np.float32), "w")
        if w.kind == "kbit":
            return self.op("DequantizeLinear", [self.const(w.codes.astype(np.int8), "levels"),
                                                self.const(np.float32(w.scale), "scale")])
        if w.kind == "binary" or np.array_equal(w.scale, w.scale_neg):
            return self.op("DequantizeLinear", [self.const(w.codes.astype(np.int8), "levels"),
                                                self.const(w.scale.astype(np.float32), "scale")], axis=0)
        plus = self.op("DequantizeLinear", [self.const((w.codes > 0).astype(np.int8), "plane"),
                                            self.const(w.scale.astype(np.float32), "scale")], axis=0)
        minus = self.op("DequantizeLinear", [self.const((w.codes < 0).astype(np.int8), "plane"),
                                             self.const(w.scale_neg.astype(np.float32), "scale")], axis=0)
        return self.op("Sub", [plus, minus])

    def quantize_input(self, act, x, rank) -> tuple[str, str | None]:
        """(quantized input, per-sample K or None)."""
        if act.kind == "binary":
            positive = self.op("GreaterOrEqual", [x, self.const(np.float32(0))])
            s = self.op("Where", [positive, self.const(np.float32(1)), self.const(np.float32(-1))])
            if not act.scaled:
                return s, None
            k = self.op("ReduceMean", [self.op("Abs", [x])], axes=list(range(1, rank)), keepdims=1)
            return s, k
        if act.kind == "kbit":
            step, zero = self.const(np.float32(act.step)), self.const(np.uint8(0))
            q = self.op("QuantizeLinear", [x, step, zero])
            dq = self.op("DequantizeLinear", [q, step, zero])
            top = self.const(np.float32(np.float32(act.step) * act.high))
            return self.op("Clip", [dq, self.const(np.float32(0)), top]), None
        return x, None

    def layer(self, node, x, rank) -> str:
        w, act = node["weight"], node["act"]
        xq, k = self.quantize_input(act, x, rank)
        wv = self.weight(w)
        if node["op"] in ("conv2d", "conv1d"):         # ONNX's Conv takes either: pads begin…, end…
            y = self.op("Conv", [xq, wv], kernel_shape=node["kernel"], strides=node["stride"],
                        pads=list(node["padding"]) * 2)
            out_rank = 2 + len(node["kernel"])
        else:
            y = self.op("Gemm", [xq, wv], transB=1)
            out_rank = 2
        if k is not None:
            y = self.op("Mul", [y, k])
        y = self.op("Mul", [y, self.channel(node["bn_scale"], out_rank)])
        return self.op("Add", [y, self.channel(node["add"], out_rank)]), out_rank


def to_onnx(model, input_shape, name: str = "tinyquant"):
    """The ONNX ModelProto of ``model`` for per-sample inputs ``input_shape`` (batch dynamic)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    b = _Builder(helper, numpy_helper)
    values, ranks = {"x": "input"}, {"x": len(input_shape) + 1}
    for node in lower(model):
        x, rank = values[node["inputs"][0]], ranks[node["inputs"][0]]
        op = node["op"]
        if op in ("conv2d", "conv1d", "linear"):
            y, rank = b.layer(node, x, rank)
        elif op == "affine":
            y = b.op("Add", [b.op("Mul", [x, b.channel(node["scale"], rank)]), b.channel(node["shift"], rank)])
        elif op == "relu":
            y = b.op("Relu", [x])
        elif op == "flatten":
            y, rank = b.op("Flatten", [x], axis=1), 2
        elif op in ("maxpool2d", "avgpool2d", "maxpool1d"):
            attrs = {"kernel_shape": node["kernel"], "strides": node["stride"], "pads": list(node["padding"]) * 2}
            if op == "avgpool2d":
                attrs["count_include_pad"] = 1
            y = b.op("AveragePool" if op == "avgpool2d" else "MaxPool", [x], **attrs)
        elif op == "global_avgpool2d":
            y, rank = b.op("Flatten", [b.op("GlobalAveragePool", [x])], axis=1), 2
        elif op == "add":
            y = b.op("Add", [x, values[node["inputs"][1]]])
        elif op == "shortcut":
            y = x
            if node["stride"] != 1:
                s = node["stride"]
                y = b.op("Slice", [y, b.const(np.array([0, 0], np.int64)),
                                   b.const(np.array([2**62, 2**62], np.int64)),
                                   b.const(np.array([2, 3], np.int64)), b.const(np.array([s, s], np.int64))])
            if node["extra"]:
                pads = np.array([0, 0, 0, 0, 0, node["extra"], 0, 0], np.int64)
                y = b.op("Pad", [y, b.const(pads)], mode="constant")
        else:
            raise NotImplementedError(f"to_onnx: no ONNX lowering for node {op!r}")
        values[node["output"]], ranks[node["output"]] = y, rank
    graph = helper.make_graph(
        b.nodes, name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", *map(int, input_shape)])],
        [helper.make_tensor_value_info(values[node["output"]], TensorProto.FLOAT, ["N", None])],
        initializer=b.inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="tinyquant")
    proto.ir_version = min(proto.ir_version, 9)      # readable by older ONNX Runtime releases too
    onnx.checker.check_model(proto, full_check=True)
    return proto


def export_onnx(model, path, input_shape) -> Path:
    """Write ``model`` as ONNX to ``path`` (checked by ``onnx.checker``); returns the path."""
    import onnx

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(to_onnx(model, input_shape), str(path))
    return path


__all__ = ["OPSET", "export_onnx", "to_onnx"]
