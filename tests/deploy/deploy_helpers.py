"""Trained quantized models shared by the deploy tests (one short epoch each, cached)."""

import functools

import numpy as np

from tinyquant.quant import ACTIVATION_QUANTIZERS, QUANTIZERS

WEIGHT_QUANTIZERS = [n for n in QUANTIZERS if n not in ACTIVATION_QUANTIZERS]
#: quantized activations: W1A1 (binary and ternary weights with sign inputs) and k-bit pairs
ACTIVATION_CASES = [("binary_connect", 1, "sign_activation"), ("xnor", 1, "sign_activation"),
                    ("ttq", 1, "sign_activation"), ("uniq", 2, "uniq_activation"),
                    ("lsq", 3, "lsq_activation"), ("dorefa", 2, "dorefa_activation")]


@functools.lru_cache(maxsize=None)
def digits():
    from tinyquant.data import get_dataset

    return get_dataset("digits")


@functools.lru_cache(maxsize=None)
def trained(model_name: str, quantizer: str = "none", act_bits: int = 0, act_quantizer: str = "auto",
            epochs: int = 1, keep_first: bool = True):
    """A model trained for ``epochs`` on the digits with ``tinyquant train``'s quantization glue,
    in eval mode."""
    from tinyquant.cli import train_namespace
    from tinyquant.data import DataLoader
    from tinyquant.nn.models import build_model
    from tinyquant.optim import SGD
    from tinyquant.quant.config import configure_quantization
    from tinyquant.train import Trainer

    data = digits()
    args = train_namespace(model=model_name, quantizer=quantizer, act_bits=act_bits,
                           act_quantizer=act_quantizer, keep_first=keep_first, no_progress=True)
    model = build_model(model_name, data.input_shape, data.num_classes, rng=0)
    model, callbacks, regime, groups = configure_quantization(model, args)
    optimizer = SGD(groups if groups is not None else model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(data.x_train, data.y_train, 64, shuffle=True, seed=0)
    Trainer(model, optimizer, loader, epochs=epochs, callbacks=callbacks, regime=regime,
            show_progress=False).fit()
    return model.eval()


def float_logits(model, x):
    from tinyquant import Tensor, no_grad

    with no_grad():
        return model(Tensor(x)).data


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
