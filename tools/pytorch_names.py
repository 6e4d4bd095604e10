"""How much of PyTorch's everyday surface a PyTorch user finds in tinyquant.

A fixed list of public PyTorch names that an introductory course uses (``torch.X``,
``Tensor.X``, ``nn.X``, ``nn.functional.X``, ``nn.init.X``, ``optim.X``,
``utils.data.X``), and a few calls whose *keywords* matter (``x.sum(dim=1, keepdim=True)``).
Each entry is looked up on ``import tinyquant as tq`` alone -- ``torch.utils.data`` maps to
``tq.data`` -- with no other import, so a name behind a forgotten submodule import counts
as missing, as it would for the user. Prints the names found and missing and the count::

    python tools/pytorch_names.py            # summary
    python tools/pytorch_names.py --list     # every name, found or missing

The list is fixed (written once, 2026-12-01) so counts before and after a change compare.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

NAMES = {
    "torch": ["Tensor", "tensor", "no_grad", "manual_seed", "nn", "optim", "utils.data",
              "cat", "where", "zeros", "ones", "randn", "arange", "float32", "float64",
              "is_grad_enabled", "__version__"],
    "Tensor": ["shape", "dtype", "ndim", "size", "dim", "numel", "item", "numpy", "detach",
               "backward", "grad", "requires_grad", "requires_grad_", "is_leaf", "retain_grad",
               "reshape", "view", "flatten", "unsqueeze", "squeeze", "permute", "transpose", "T",
               "sum", "mean", "max", "min", "argmax", "argmin", "exp", "log", "abs", "sqrt",
               "relu", "tanh", "sigmoid", "softmax", "log_softmax", "clamp", "clip", "pow",
               "matmul", "zero_", "float", "double", "to", "clone"],
    "nn": ["Module", "Parameter", "Linear", "Conv1d", "Conv2d", "BatchNorm1d", "BatchNorm2d",
           "ReLU", "Tanh", "Sigmoid", "Dropout", "Flatten", "Identity", "Sequential", "ModuleList",
           "MaxPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "CrossEntropyLoss",
           "functional", "init"],
    "nn.functional": ["linear", "conv1d", "conv2d", "relu", "softmax", "log_softmax",
                      "cross_entropy", "batch_norm", "dropout", "max_pool2d", "avg_pool2d",
                      "max_pool1d"],
    "nn.init": ["kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
                "uniform_", "normal_", "zeros_", "ones_", "constant_", "calculate_gain"],
    "nn.Module": ["parameters", "named_parameters", "buffers", "named_buffers", "children",
                  "named_children", "modules", "named_modules", "train", "eval", "training",
                  "zero_grad", "state_dict", "load_state_dict", "register_buffer", "apply",
                  "forward"],
    "optim": ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"],
    "utils.data": ["DataLoader", "Dataset", "TensorDataset", "random_split"],
}


def _probe_calls(tq):
    """Keyword conventions, each a thunk that raises if tinyquant refuses the call."""
    x = tq.Tensor(np.ones((2, 3), dtype=np.float32))
    return {
        "Tensor.sum(dim=, keepdim=)": lambda: x.sum(dim=1, keepdim=True),
        "Tensor.mean(dim=, keepdim=)": lambda: x.mean(dim=1, keepdim=True),
        "Tensor.max(dim=)": lambda: x.max(dim=1),
        "Tensor.size(dim)": lambda: x.size(1),
        "Tensor.view(*shape)": lambda: x.view(3, 2),
        "Module.load_state_dict(strict=False)":
            lambda: tq.nn.Linear(2, 2).load_state_dict({}, strict=False),
        "DataLoader(dataset, batch_size)":
            lambda: iter(tq.data.DataLoader(list(zip(np.ones((4, 2)), range(4))), batch_size=2)),
    }


def _lookup(root, dotted: str):
    obj = root
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def survey(tq) -> dict[str, bool]:
    """{qualified name: found?} for every name of the fixed list and every probe call."""
    found = {}
    where = {"torch": tq, "nn": "nn", "nn.functional": "nn.functional", "nn.init": "nn.init",
             "optim": "optim", "utils.data": "data"}
    for space, names in NAMES.items():
        for name in names:
            try:
                if space == "Tensor":
                    obj = tq.Tensor(np.ones((2, 3), dtype=np.float32))
                elif space == "nn.Module":
                    obj = tq.nn.Linear(2, 2)
                else:
                    obj = where[space] if space == "torch" else _lookup(tq, where[space])
                if space == "torch" and name == "utils.data":
                    _lookup(tq, "data")
                else:
                    _lookup(obj, name)
                found[f"{space}.{name}"] = True
            except Exception:           # AttributeError, or a missing submodule on the way
                found[f"{space}.{name}"] = False
    try:
        probes = _probe_calls(tq)
    except Exception:
        probes = {}
    for label, call in probes.items():
        try:
            call()
            found[label] = True
        except Exception:
            found[label] = False
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every name, found or not")
    args = parser.parse_args(argv)
    import tinyquant as tq

    found = survey(tq)
    total = sum(len(v) for v in NAMES.values()) + 7
    if args.list:
        for name, ok in found.items():
            print(f"{'found  ' if ok else 'MISSING'} {name}")
    missing = [n for n, ok in found.items() if not ok]
    print(f"{sum(found.values())} of {total} PyTorch names found; missing: {', '.join(missing) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
