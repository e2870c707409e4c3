"""A model's size rules (multiple-of, minimum, square-only) applied by the engine to whole images and to tiles."""

import numpy as np
import pytest
import torch
from torch import nn

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.inference.tiling import plan_tiles, tiled_input_size
from realesrgan.metrics import psnr
from realesrgan.zoo import ModelTraits


def test_padded_sizes_follow_every_rule():
    assert ModelTraits(multiple_of=8, minimum=20).minimum == 24  # rounded up to the multiple
    assert ModelTraits().padded_size(13, 7) == (13, 7)
    assert ModelTraits(multiple_of=8).padded_size(13, 7) == (16, 8)
    assert ModelTraits(minimum=16).padded_size(13, 70) == (16, 70)
    assert ModelTraits(multiple_of=4, square=True).padded_size(13, 30) == (32, 32)
    with pytest.raises(ValueError, match='multiple_of >= 1'):
        ModelTraits(multiple_of=0)


@pytest.mark.parametrize(
    'height, width, rules',
    [
        (45, 29, ModelTraits(multiple_of=8)),
        (45, 29, ModelTraits(minimum=40)),
        (30, 100, ModelTraits(square=True)),
        (30, 300, ModelTraits(multiple_of=16, square=True)),
        (100, 20, ModelTraits(multiple_of=4, minimum=32, square=True)),
    ],
)
def test_tiles_follow_the_rules(height, width, rules):
    tile, context = 8, 4
    padded = tiled_input_size(height, width, tile, context, rules.multiple_of, rules.minimum, rules.square)
    assert padded[0] >= height and padded[1] >= width
    plan = plan_tiles(*padded, tile, context, rules.multiple_of, 1, rules.minimum, rules.square)
    for one in plan:
        assert one.height % rules.multiple_of == 0 and one.width % rules.multiple_of == 0
        assert min(one.height, one.width) >= rules.minimum
        assert one.height == one.width or not rules.square
        assert one.top + one.height <= padded[0] and one.left + one.width <= padded[1]
    assert len(plan) > 1


def test_square_tiles_need_a_padded_input():
    with pytest.raises(ValueError, match='pad it to tiled_input_size'):
        plan_tiles(10, 100, 8, 4, square=True)  # square windows of 16 px do not fit 10 rows


class StrictNetwork(nn.Module):
    """A small x2 network that refuses inputs breaking its rules, and records the sizes it was given."""

    def __init__(self, rules: ModelTraits) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2)
        self.rules = rules
        self.sizes = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[2:]
        if (height, width) != self.rules.padded_size(height, width):
            raise ValueError(f'{height}x{width} breaks the rules {self.rules}')
        self.sizes.append((height, width))
        return self.net(x)


@pytest.mark.parametrize(
    'rules',
    [ModelTraits(multiple_of=8), ModelTraits(minimum=40), ModelTraits(multiple_of=4, minimum=24, square=True)],
    ids=['multiple', 'minimum', 'square'],
)
def test_the_engine_pads_whole_images_and_tiles_by_the_rules(rules):
    network = StrictNetwork(rules)
    upsampler = RealESRGANer(2, None, model=network, tile_pad=4, tile_blend=4, pre_pad=3, device='cpu')
    upsampler.traits = rules
    img = np.random.default_rng(0).integers(0, 256, (29, 75, 3), dtype=np.uint8)
    whole, _ = upsampler.enhance(img)
    upsampler.tile_size = 8
    tiled, _ = upsampler.enhance(img)
    assert whole.shape == tiled.shape == (58, 150, 3)
    assert psnr(whole, tiled) >= 40
    assert len(set(network.sizes)) == 2 and len(network.sizes) > 2  # the whole image, then equal tiles

    upsampler.pre_process(img[:, :, ::-1] / 255.0)  # the original's step-by-step interface follows them too
    upsampler.process()
    assert upsampler.post_process().shape == (1, 3, 58, 150)
