"""The models: an MLP, a small CNN for 8×8 digits, a 1-D CNN for MNIST-1D, ResNet-20
(CIFAR form) and a VGG-small.

Each model is built from the layers of :mod:`tinyquant.nn.layers`; every Linear and
convolution is a :class:`~tinyquant.nn.layers.QuantizableLayer`, so
:func:`~tinyquant.nn.quantize_model` turns any of them binary, ternary or k-bit
without touching the code below. Models take ``rng`` (a seed or Generator) for their
initialization.
"""

from __future__ import annotations

from ..rng import as_generator
from ..tensor import Tensor
from .layers import (
    BatchNorm1d,
    BatchNorm2d,
    Conv1d,
    Conv2d,
    Flatten,
    GlobalAvgPool2d,
    Identity,
    Linear,
    MaxPool1d,
    MaxPool2d,
    ReLU,
    Sequential,
    zero_pad_channels,
)
from .module import Module

BN_PLACEMENTS = ("post", "pre", "none")


def mlp(in_features: int = 64, hidden=(256, 128), num_classes: int = 10,
        batch_norm: bool = True, rng=None) -> Sequential:
    """Flatten → [Linear → BatchNorm1d → ReLU] × len(hidden) → Linear."""
    rng = as_generator(rng)
    layers, width = [Flatten()], in_features
    for h in hidden:
        layers += [Linear(width, h, bias=not batch_norm, rng=rng)]
        layers += [BatchNorm1d(h)] if batch_norm else []
        layers += [ReLU()]
        width = h
    layers.append(Linear(width, num_classes, rng=rng))
    return Sequential(*layers)


def _conv_bn_relu(cin, cout, rng, kernel_size=3, padding=1, stride=1):
    return [Conv2d(cin, cout, kernel_size, stride, padding, bias=False, rng=rng),
            BatchNorm2d(cout), ReLU()]


def digits_cnn(in_channels: int = 1, num_classes: int = 10, width: int = 32,
               rng=None) -> Sequential:
    """A small CNN for 8×8 images (≈ 30K parameters at width 32).

    conv3×3(w) → BN → ReLU → conv3×3(w) → BN → ReLU → maxpool 2 (→ 4×4)
    → conv3×3(2w) → BN → ReLU → maxpool 2 (→ 2×2) → flatten → Linear(8w → classes).
    """
    rng = as_generator(rng)
    return Sequential(
        *_conv_bn_relu(in_channels, width, rng),
        *_conv_bn_relu(width, width, rng),
        MaxPool2d(2),
        *_conv_bn_relu(width, 2 * width, rng),
        MaxPool2d(2),
        Flatten(),
        Linear(2 * width * 2 * 2, num_classes, rng=rng),
    )


def mnist1d_cnn(in_channels: int = 1, length: int = 40, num_classes: int = 10,
                width: int = 32, rng=None) -> Sequential:
    """A 1-D CNN for MNIST-1D sequences of 40 samples.

    [conv5(w) → BN → ReLU → maxpool 2] → [conv3(w) → BN → ReLU → maxpool 2]
    → conv3(w) → BN → ReLU → flatten → Linear(w·L/4 → classes).
    Position matters in MNIST-1D, so the head flattens rather than pooling globally.
    """
    rng = as_generator(rng)
    return Sequential(
        Conv1d(in_channels, width, 5, padding=2, bias=False, rng=rng), BatchNorm1d(width), ReLU(),
        MaxPool1d(2),
        Conv1d(width, width, 3, padding=1, bias=False, rng=rng), BatchNorm1d(width), ReLU(),
        MaxPool1d(2),
        Conv1d(width, width, 3, padding=1, bias=False, rng=rng), BatchNorm1d(width), ReLU(),
        Flatten(),
        Linear(width * (length // 4), num_classes, rng=rng),
    )


class BasicBlock(Module):
    """ResNet's two-convolution block with an identity shortcut.

    bn="post": x → conv → BN → ReLU → conv → BN → (+ shortcut) → ReLU   (He et al. 2016a)
    bn="pre":  x → BN → ReLU → conv → BN → ReLU → conv → (+ shortcut)   (He et al. 2016b)
    bn="none": as "post" without the BN layers (convolutions get a bias).
    When the block halves the resolution and doubles the channels, the shortcut
    subsamples by 2 and appends zero channels (the CIFAR paper's option A: no
    parameters, which is what keeps ResNet-20 at ≈ 0.27 M parameters).
    """

    def __init__(self, cin: int, cout: int, stride: int, bn: str, rng):
        super().__init__()
        self.bn, self.stride, self.extra = bn, stride, cout - cin
        use_bias = bn == "none"
        self.conv1 = Conv2d(cin, cout, 3, stride, 1, bias=use_bias, rng=rng)
        self.conv2 = Conv2d(cout, cout, 3, 1, 1, bias=use_bias, rng=rng)
        norm_channels = (cin, cout) if bn == "pre" else (cout, cout)
        self.bn1 = BatchNorm2d(norm_channels[0]) if bn != "none" else Identity()
        self.bn2 = BatchNorm2d(norm_channels[1]) if bn != "none" else Identity()
        self.act = ReLU()   # a module, so that sign activations can replace it (quant.sign_activation)

    def conv_bn_pairs(self) -> tuple[tuple[str, str], ...]:
        """The (conv, batch norm) children where the norm reads the conv's output directly
        (for :func:`tinyquant.nn.fold.fold_batchnorm`)."""
        return (("conv1", "bn1"), ("conv2", "bn2")) if self.bn == "post" else ()

    def shortcut(self, x: Tensor) -> Tensor:
        if self.stride != 1:
            x = x[:, :, :: self.stride, :: self.stride]
        return zero_pad_channels(x, self.extra)

    def forward(self, x: Tensor) -> Tensor:
        if self.bn == "pre":
            out = self.conv1(self.act(self.bn1(x)))
            out = self.conv2(self.act(self.bn2(out)))
            return out + self.shortcut(x)
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class ResNet(Module):
    """ResNet for CIFAR (He et al. 2016, §4.2): 6n + 2 layers, stages of 16, 32, 64 channels.

    stem conv3×3(16) → 3 stages × n BasicBlocks (stride 2 at the start of stages 2 and 3)
    → global average pool → Linear(64 → classes). ``bn`` places batch norm ("post",
    "pre" or "none", see :class:`BasicBlock`).
    """

    def __init__(self, n: int = 3, in_channels: int = 3, num_classes: int = 10,
                 bn: str = "post", widths=(16, 32, 64), rng=None):
        super().__init__()
        if bn not in BN_PLACEMENTS:
            raise ValueError(f"ResNet: bn must be one of {BN_PLACEMENTS}, got {bn!r}")
        rng = as_generator(rng)
        self.bn = bn
        self.conv1 = Conv2d(in_channels, widths[0], 3, 1, 1, bias=bn == "none", rng=rng)
        self.bn1 = BatchNorm2d(widths[0]) if bn == "post" else Identity()
        blocks, cin = [], widths[0]
        for stage, cout in enumerate(widths):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                blocks.append(BasicBlock(cin, cout, stride, bn, rng))
                cin = cout
        self.blocks = Sequential(*blocks)
        self.final_bn = BatchNorm2d(cin) if bn == "pre" else Identity()
        self.act = ReLU()
        self.pool = GlobalAvgPool2d()
        self.fc = Linear(cin, num_classes, rng=rng)

    def conv_bn_pairs(self) -> tuple[tuple[str, str], ...]:
        """The stem's (conv, batch norm) pair when the norm reads the conv's output directly."""
        return (("conv1", "bn1"),) if self.bn == "post" else ()

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv1(x)
        if self.bn == "post":
            out = self.act(self.bn1(out))
        out = self.blocks(out)
        if self.bn == "pre":
            out = self.act(self.final_bn(out))
        return self.fc(self.pool(out))


def resnet20(in_channels: int = 3, num_classes: int = 10, bn: str = "post", rng=None) -> ResNet:
    """ResNet-20 (n = 3): 19 convolutions and one linear layer, ≈ 0.27 M parameters."""
    return ResNet(3, in_channels, num_classes, bn, rng=rng)


def vgg_small(in_channels: int = 3, num_classes: int = 10, widths=(128, 256, 512),
              image_size: int = 32, rng=None) -> Sequential:
    """VGG-small of the low-bit literature (LQ-Nets, UniQ's CIFAR-10 model):
    (2×conv3×3(w₁)) → maxpool → (2×conv(w₂)) → maxpool → (2×conv(w₃)) → maxpool → Linear.
    Narrower ``widths`` make it laptop-sized.
    """
    rng = as_generator(rng)
    layers, cin = [], in_channels
    for w in widths:
        layers += _conv_bn_relu(cin, w, rng) + _conv_bn_relu(w, w, rng) + [MaxPool2d(2)]
        cin = w
    side = image_size // 2 ** len(widths)
    layers += [Flatten(), Linear(cin * side * side, num_classes, rng=rng)]
    return Sequential(*layers)


MODELS = {
    "mlp": mlp,
    "digits_cnn": digits_cnn,
    "mnist1d_cnn": mnist1d_cnn,
    "resnet20": resnet20,
    "vgg_small": vgg_small,
}


def build_model(name: str, input_shape: tuple[int, ...], num_classes: int, rng=None,
                **kwargs) -> Module:
    """A model by name, sized for per-sample ``input_shape`` (C, H, W) or (C, L)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(sorted(MODELS))}")
    channels = input_shape[0]
    if name == "mlp":
        size = 1
        for d in input_shape:
            size *= d
        return mlp(size, num_classes=num_classes, rng=rng, **kwargs)
    if name == "mnist1d_cnn":
        if len(input_shape) != 2:
            raise ValueError(f"mnist1d_cnn needs (C, L) inputs, got per-sample shape {input_shape}")
        return mnist1d_cnn(channels, input_shape[1], num_classes, rng=rng, **kwargs)
    if len(input_shape) != 3:
        raise ValueError(f"{name} needs (C, H, W) inputs, got per-sample shape {input_shape}")
    if name == "vgg_small":
        return vgg_small(channels, num_classes, image_size=input_shape[1], rng=rng, **kwargs)
    if name == "digits_cnn" and input_shape[1:] != (8, 8):
        raise ValueError(f"digits_cnn needs 8×8 images, got per-sample shape {input_shape}")
    return MODELS[name](channels, num_classes, rng=rng, **kwargs)
