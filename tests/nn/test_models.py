"""Models: output shapes, parameter counts, BN placements, gradients reach every parameter."""

import numpy as np
import pytest

import tinyquant as tq
from tinyquant import nn
from tinyquant.nn.models import build_model, resnet20, vgg_small


def test_resnet20_has_the_cifar_papers_parameter_count():
    # He et al. (2016) Table 6: ResNet-20, 0.27 M parameters (option A shortcuts).
    # 19 conv layers: 16·3·9 + 6·(16·16·9) + (16·32·9 + 5·32·32·9) + (32·64·9 + 5·64·64·9)
    convs = 16 * 3 * 9 + 6 * 16 * 16 * 9 + 16 * 32 * 9 + 5 * 32 * 32 * 9 + 32 * 64 * 9 + 5 * 64 * 64 * 9
    bns = 2 * (16 * 7 + 32 * 6 + 64 * 6)
    fc = 64 * 10 + 10
    model = resnet20(rng=0)
    assert model.num_parameters() == convs + bns + fc
    assert 265_000 < model.num_parameters() < 275_000


@pytest.mark.parametrize("bn", ["post", "pre", "none"])
def test_resnet20_bn_placements_run_and_backpropagate(bn):
    model = resnet20(in_channels=1, bn=bn, rng=0)
    x = tq.Tensor(np.random.default_rng(0).standard_normal((2, 1, 8, 8)).astype(np.float32))
    out = model(x)
    assert out.shape == (2, 10)
    tq.cross_entropy(out, np.array([1, 2])).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert missing == []
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert has_bn == (bn != "none")


def test_resnet20_post_block_order_is_conv_bn_relu():
    model = resnet20(rng=0, bn="post")
    block = model.blocks[0]
    assert isinstance(block.bn1, nn.BatchNorm2d) and block.bn1.num_features == 16


@pytest.mark.parametrize("name, shape", [("mlp", (1, 8, 8)), ("digits_cnn", (1, 8, 8)),
                                         ("mnist1d_cnn", (1, 40)), ("vgg_small", (3, 32, 32))])
def test_every_model_maps_a_batch_to_logits(name, shape):
    kwargs = {"widths": (8, 16, 16)} if name == "vgg_small" else {}
    model = build_model(name, shape, 10, rng=0, **kwargs)
    x = tq.Tensor(np.zeros((3,) + shape, dtype=np.float32))
    assert model(x).shape == (3, 10)


def test_vgg_small_default_widths_match_the_literature():
    convs = [m for m in vgg_small(rng=0).modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [128, 128, 256, 256, 512, 512]


def test_build_model_rejects_unknown_names_and_wrong_inputs():
    with pytest.raises(ValueError, match="available: .*resnet20"):
        build_model("resnet18", (3, 32, 32), 10)
    with pytest.raises(ValueError, match="8×8"):
        build_model("digits_cnn", (1, 28, 28), 10)
