"""Trained quantized models shared by the deploy tests (one short epoch each, cached)."""

import functools

import numpy as np

from tinyquant.quant import ACTIVATION_QUANTIZERS, QUANTIZERS

WEIGHT_QUANTIZERS = [n for n in QUANTIZERS if n not in ACTIVATION_QUANTIZERS]
#: quantized activations: W1A1 (binary and ternary weights with sign inputs) and k-bit pairs
ACTIVATION_CASES = [("binary_connect", 1, "sign_activation"), ("xnor", 1, "sign_activation"),
                    ("ttq", 1, "sign_activation"), ("uniq", 2, "uniq_activation"),
                    ("lsq", 3, "lsq_activation"), ("dorefa", 2, "dorefa_activation")]


#: the 1-D CNN on MNIST-1D (Conv1d, MaxPool1d, BatchNorm1d): float, binary, ternary of both kinds,
#: k-bit weights, W1A1 (the XNOR path) and k-bit inputs (the integer GEMM)
MNIST1D_CASES = [("none", 0, "auto"), ("xnor", 0, "auto"), ("twn", 0, "auto"), ("ttq", 0, "auto"),
                 ("uniq", 0, "auto"), ("xnor", 1, "sign_activation"), ("lsq", 3, "lsq_activation")]


@functools.lru_cache(maxsize=None)
def dataset(name: str):
    from tinyquant.data import get_dataset

    return get_dataset(name)


def digits():
    return dataset("digits")


@functools.lru_cache(maxsize=None)
def trained(model_name: str, quantizer: str = "none", act_bits: int = 0, act_quantizer: str = "auto",
            epochs: int = 1, data: str = "digits"):
    """A model trained for ``epochs`` on ``data`` (the digits) through the training API
    (:func:`tinyquant.run.build_run`), in eval mode."""
    from tinyquant.config import TrainConfig
    from tinyquant.run import build_run

    config = TrainConfig.from_dict({"model": model_name, "dataset": data, "quantizer": quantizer,
                                    "act_bits": act_bits, "act_quantizer": act_quantizer,
                                    "epochs": epochs, "no_progress": True})
    run = build_run(config)
    run.trainer().fit()
    return run.model.eval()


def float_logits(model, x):
    """The float model's logits, its convolutions by the plain im2col path: the packed runtime
    computes the same sums in im2col's order, and Winograd's transforms round differently
    (on the TTQ ResNet-20 the share of samples within 1e-4 was 0.989 with ``auto``'s Winograd
    layers, 0.997 with im2col; the largest relative error 1.8e-4 and 1.7e-4)."""
    from tinyquant import Tensor, no_grad
    from tinyquant.nn.parallel import ConvRuntime, set_default_runtime

    previous = set_default_runtime(ConvRuntime(algorithm="im2col"))
    try:
        with no_grad():
            return model(Tensor(x)).data
    finally:
        set_default_runtime(previous)


def relative_errors(out, ref):
    """Per sample: max |out − ref| / max |ref|."""
    return np.max(np.abs(out - ref), axis=1) / np.max(np.abs(ref), axis=1)


def onnx_runtime_logits(proto, x):
    """Run an ONNX ModelProto in ONNX Runtime (CPU, one thread) on ``x``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


class scaled_sign_inputs:
    """Context: every sign activation of ``model`` multiplied by XNOR-Net's K while inside."""

    def __init__(self, model):
        self.quantizers = [m for m in model.modules() if getattr(m, "name", "") == "sign_activation"]

    def __enter__(self):
        for q in self.quantizers:
            q.scaled = True

    def __exit__(self, *exc):
        for q in self.quantizers:
            q.scaled = False
