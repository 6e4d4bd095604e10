"""Benchmark: tinyquant conv2d forward+backward on ResNet-20's layers, and a ResNet-20 step.

    python benchmarks/bench_conv.py            # full run (a few minutes)
    python benchmarks/bench_conv.py --quick    # fewer repetitions, a smoke test

For each ResNet-20 convolution shape at batch 128, float32 (3×3, padding 1), side by side
in one run: forward + backward (dx and dW) by each of conv2d's paths forced (im2col, kernel
rows, Winograd; the last two at stride 1 only), which one ``auto`` takes and its GFLOP/s, the
ratio of that path to PyTorch with the same number of threads, and the share of im2col's time
its three GEMMs alone take (np.matmul on the same shapes). tinyquant and PyTorch are timed
alternately, repetition by repetition, after waiting for the CPUs to be idle, each in a short
burst whose first call is not counted (``alternate``), because these machines are shared and
absolute times drift (PERF.md). Then one full ResNet-20 training step (forward,
cross-entropy, backward, SGD step) and ResNet-20 inference (eval, batch 256, with and without
batch norm folded, and exported to ONNX Runtime when onnx and onnxruntime are installed) against
PyTorch's own ResNet-20 written below.
Targets (issue 16): every stride-1 3×3 layer ≤ 1.3× PyTorch, the step ≤ 1.3×, inference ≤ 1.2×.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinyquant as tq  # noqa: E402
from tinyquant.nn.convolution import conv2d  # noqa: E402
from tinyquant.nn.fold import fold_batchnorm  # noqa: E402
from tinyquant.nn.parallel import ConvRuntime  # noqa: E402
from tinyquant.nn.convolution import conv_algorithm  # noqa: E402
from timing import OtherLoad, alternate, wait_until_idle  # noqa: E402

THREADS = 2
BATCH = 128
# (name, in channels, out channels, input size, stride)
LAYERS = [
    ("stem 3→16, 32×32", 3, 16, 32, 1),
    ("16→16, 32×32", 16, 16, 32, 1),
    ("16→32, 32→16, s2", 16, 32, 32, 2),
    ("32→32, 16×16", 32, 32, 16, 1),
    ("32→64, 16→8, s2", 32, 64, 16, 2),
    ("64→64, 8×8", 64, 64, 8, 1),
]

try:
    import torch

    torch.set_num_threads(THREADS)
except ImportError:  # the comparison is optional; tinyquant never imports torch
    torch = None


def matmul_peak(reps: int) -> float:
    """GFLOP/s of a 2048² float32 np.matmul, the machine's ceiling."""
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    t = alternate({"mm": lambda: a @ a}, reps)["mm"]
    return 2 * 2048**3 / t / 1e9


# ------------------------------------------------------------------- conv layers


def conv_case(c_in, c_out, size, stride, rng):
    """tinyquant and torch closures for one layer's forward + backward, and its GEMM closure."""
    x = rng.standard_normal((BATCH, c_in, size, size), dtype=np.float32)
    w = (rng.standard_normal((c_out, c_in, 3, 3)) * np.sqrt(2 / (9 * c_in))).astype(np.float32)
    out = (size + 2 - 3) // stride + 1
    g = rng.standard_normal((BATCH, c_out, out, out), dtype=np.float32)
    X, W = tq.Tensor(x, requires_grad=True), tq.Tensor(w, requires_grad=True)

    def path(algorithm):
        runtime = ConvRuntime(algorithm=algorithm)

        def run():
            X.grad = W.grad = None
            conv2d(X, W, stride=stride, padding=1, runtime=runtime).backward(g)
        return run

    # the three GEMMs im2col's path makes (forward, dW, dx), alone, on the same shapes and layouts
    k, hw, ho_wo = c_in * 9, size * size, out * out
    wm = w.reshape(c_out, k)
    cols = rng.standard_normal((BATCH, k, ho_wo), dtype=np.float32)
    gm = g.reshape(BATCH, c_out, ho_wo)
    gcols = rng.standard_normal((BATCH, c_out * 9, hw), dtype=np.float32) if stride == 1 else None
    flipped = rng.standard_normal((c_in, c_out * 9), dtype=np.float32)

    def gemms():
        wm @ cols                                   # forward  (O, CKK)·(N, CKK, HoWo)
        np.matmul(cols, gm.transpose(0, 2, 1))      # dWᵀ      (N, CKK, HoWo)·(N, HoWo, O)
        if stride == 1:
            flipped @ gcols                         # dx       (C, O·k·k)·(N, O·k·k, HW)
        else:
            wm.T @ gm                               # dx cols  (CKK, O)·(N, O, HoWo)

    fns = {"im2col": path("im2col"), "matmul": gemms}
    if stride == 1:
        fns["rows"], fns["winograd"] = path("rows"), path("winograd")
    if torch is not None:
        tx, tw, tg = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True), torch.tensor(g)

        def theirs():
            tx.grad = tw.grad = None
            torch.nn.functional.conv2d(tx, tw, stride=stride, padding=1).backward(tg)

        fns["torch"] = theirs
    flops = 3 * 2 * BATCH * c_out * k * ho_wo  # forward, dW and dx: one GEMM's worth each
    return fns, flops


PATHS = ("im2col", "rows", "winograd")


def bench_layers(reps: int, rng) -> list[dict]:
    rows = []
    for name, c_in, c_out, size, stride in LAYERS:
        fns, flops = conv_case(c_in, c_out, size, stride, rng)
        wait_until_idle()
        with OtherLoad() as load:
            t = alternate(fns, reps, burst=4)
        auto = conv_algorithm("auto", (BATCH, c_in, size, size), (c_out, c_in, 3, 3), (stride, stride))
        row = dict(name=name, auto=auto, ms=t[auto] * 1e3, gflops=flops / t[auto] / 1e9,
                   of_matmul=t["matmul"] / t["im2col"], busy=load.fraction,
                   **{f"{p}_ms": t[p] * 1e3 for p in PATHS if p in t})
        if "torch" in t:
            row.update(torch_ms=t["torch"] * 1e3, ratio=t[auto] / t["torch"])
        rows.append(row)
        print(_layer_line(row), flush=True)
    return rows


LAYER_HEADER = ("| layer (batch 128, 3×3, pad 1) | im2col ms | rows ms | winograd ms | auto takes | "
                "GFLOP/s | torch ms | auto / torch | im2col's GEMMs | other load |")


def _layer_line(r) -> str:
    paths = " | ".join(f"{r[p + '_ms']:7.1f}" if p + "_ms" in r else "–" for p in PATHS)
    torch_part = f"{r['torch_ms']:7.1f} | {r['ratio']:5.2f}×" if "torch_ms" in r else "– | –"
    return (f"| {r['name']:<18} | {paths} | {r['auto']} | {r['gflops']:6.1f} | {torch_part} | "
            f"{r['of_matmul']:5.0%} | {r['busy']:4.0%} |")


# ------------------------------------------------------------------- ResNet-20 step


def torch_resnet20():
    """PyTorch ResNet-20 (He et al. 2016, CIFAR, option-A shortcuts), as tinyquant.nn.models builds it."""
    return torch_resnet(3)


def torch_resnet(n: int):
    """PyTorch's CIFAR ResNet-(6n + 2), option-A shortcuts, as tinyquant.nn.models.ResNet(n) builds it."""
    nn, F = torch.nn, torch.nn.functional

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.stride, self.extra = stride, cout - cin
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            short = x[:, :, :: self.stride, :: self.stride] if self.stride != 1 else x
            if self.extra:
                short = F.pad(short, (0, 0, 0, 0, 0, self.extra))  # zero channels appended
            return F.relu(out + short)

    class ResNetCifar(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            blocks, cin = [], 16
            for stage, cout in enumerate((16, 32, 64)):
                for i in range(n):
                    blocks.append(Block(cin, cout, 2 if stage > 0 and i == 0 else 1))
                    cin = cout
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            out = self.blocks(F.relu(self.bn1(self.conv1(x))))
            return self.fc(out.mean(dim=(2, 3)))

    return ResNetCifar()


def resnet20_step_fns(rng):
    """Closures for one training step of tinyquant's and (if importable) PyTorch's ResNet-20.

    Returns None while ``tinyquant.nn.models.resnet20`` does not exist.
    """
    try:
        from tinyquant.nn.models import resnet20
        from tinyquant.optim import SGD
    except ImportError:
        return None
    x = rng.standard_normal((BATCH, 3, 32, 32), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    model = resnet20(rng=0)
    model.train()
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    X = tq.Tensor(x)

    def ours():
        opt.zero_grad()
        loss = tq.cross_entropy(model(X), y)
        loss.backward()
        opt.step()

    fns = {"tinyquant": ours}
    if torch is not None:
        tmodel = torch_resnet20().train()
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.tensor(x), torch.tensor(y)

        def theirs():
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tmodel(tx), ty).backward()
            topt.step()

        fns["torch"] = theirs
    return fns


def resnet20_eval_fns(rng, batch: int = 256):
    """Closures for ResNet-20 inference (eval mode, no graph) at ``batch``: tinyquant's model as
    trained, and PyTorch's under ``torch.inference_mode()``."""
    from tinyquant.nn.models import resnet20

    x = rng.standard_normal((batch, 3, 32, 32), dtype=np.float32)
    model = resnet20(rng=0)
    model.eval()
    X = tq.Tensor(x)

    def ours():
        with tq.no_grad():
            model(X)

    fns = {"tinyquant": ours}
    folded = fold_batchnorm(model)   # batch norm folded into the convolutions

    def ours_folded():
        with tq.no_grad():
            folded(X)

    fns["folded"] = ours_folded
    try:                           # the same model exported (tinyquant.deploy), run by ONNX Runtime
        import onnxruntime

        from tinyquant.deploy.onnx_export import to_onnx

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = THREADS, 1
        session = onnxruntime.InferenceSession(to_onnx(model, x.shape[1:]).SerializeToString(), options,
                                               providers=["CPUExecutionProvider"])
        fns["onnxruntime"] = lambda: session.run(None, {"input": x})
    except ImportError:
        pass
    if torch is not None:
        tmodel = torch_resnet20().eval()
        tx = torch.tensor(x)

        def theirs():
            with torch.inference_mode():
                tmodel(tx)

        fns["torch"] = theirs
    return fns


def bench_eval(reps: int, rng) -> None:
    fns = resnet20_eval_fns(rng)
    wait_until_idle()
    with OtherLoad() as load:
        t = alternate(fns, reps, pause=0.5, burst=3)
    line = f"ResNet-20 inference, eval, batch 256: tinyquant {t['tinyquant'] * 1e3:.0f} ms"
    if "torch" in t:
        line += f", torch {t['torch'] * 1e3:.0f} ms, ratio {t['tinyquant'] / t['torch']:.2f}×"
    if "folded" in t:
        line += f"; batch norm folded (tinyquant.nn.fold) {t['folded'] * 1e3:.0f} ms"
        if "torch" in t:
            line += f", ratio {t['folded'] / t['torch']:.2f}×"
    if "onnxruntime" in t:
        line += f"; exported and run by ONNX Runtime {t['onnxruntime'] * 1e3:.0f} ms"
        if "torch" in t:
            line += f", ratio {t['onnxruntime'] / t['torch']:.2f}×"
    print(line + f" (other processes' load while timing {load.fraction:.0%})", flush=True)


def bench_step(reps: int, rng) -> dict | None:
    fns = resnet20_step_fns(rng)
    if fns is None:
        print("ResNet-20 step: tinyquant.nn.models.resnet20 is not available yet; skipped")
        return None
    wait_until_idle()
    with OtherLoad() as load:
        t = alternate(fns, reps, pause=0.5, burst=3)
    row = dict(ms=t["tinyquant"] * 1e3, busy=load.fraction)
    line = f"ResNet-20 training step, batch {BATCH}: tinyquant {row['ms']:.0f} ms ({BATCH / t['tinyquant']:.0f} img/s)"
    if "torch" in t:
        row.update(torch_ms=t["torch"] * 1e3, ratio=t["tinyquant"] / t["torch"])
        line += f", torch {row['torch_ms']:.0f} ms ({BATCH / t['torch']:.0f} img/s), ratio {row['ratio']:.2f}×"
    print(line + f" (other processes' load while timing {row['busy']:.0%})", flush=True)
    return row


# ------------------------------------------------------------------- main


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions instead of 11 (smoke test)")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per measurement")
    args = parser.parse_args(argv)
    reps = args.reps or (3 if args.quick else 11)
    rng = np.random.default_rng(0)
    torch_info = f"torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else "torch not installed"
    print(f"{time.strftime('%Y-%m-%d %H:%M')} | {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs | numpy {np.__version__} | {torch_info} | {reps} reps, median")
    wait_until_idle()
    print(f"np.matmul 2048² float32: {matmul_peak(reps):.0f} GFLOP/s")
    print(LAYER_HEADER)
    print("|" + "---|" * (LAYER_HEADER.count("|") - 1))
    bench_layers(reps, rng)
    bench_step(max(3, reps // 2), rng)
    bench_eval(max(3, reps // 2), rng)


if __name__ == "__main__":
    main()
