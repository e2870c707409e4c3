"""Memory bounded by the tile for any image shape, and a size check before the work that counts every buffer."""

import tracemalloc

import numpy as np
import pytest
import torch

from realesrgan import RealESRGANer
from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.inference import host_memory
from realesrgan.inference.tiling import plan_axis


def tiny_upsampler(**kwargs) -> RealESRGANer:
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval()
    return RealESRGANer(4, None, model=net, device='cpu', **kwargs)


def test_blend_weights_of_a_long_axis_take_memory_linear_in_its_length():
    tracemalloc.start()
    try:
        plan = plan_axis(20000, 24, 20, 1, 4)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert plan.weights.shape == (len(plan.starts), plan.size * 4)
    # the weights themselves are 0.7 MB; a (windows x axis) array would be 530 MB
    assert peak < 20 * 2**20, peak
    covered = np.zeros(20000 * 4)
    for start, weights in zip(plan.starts, plan.weights):
        covered[start * 4 : (start + plan.size) * 4] += weights
    np.testing.assert_allclose(covered, 1.0, rtol=1e-5)  # still a partition of unity


def test_a_long_strip_is_upscaled_in_tiles_with_memory_bounded_by_the_tile():
    strip = np.random.default_rng(0).integers(0, 256, (1, 6000, 3), dtype=np.uint8)
    upsampler = tiny_upsampler(tile=24, pre_pad=0)
    tracemalloc.start()
    try:
        output, mode = upsampler.enhance(strip)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert output.shape == (4, 24000, 3) and mode == 'RGB'
    assert peak < 64 * 2**20, peak  # the (windows x width) blend arrays alone were 280 MB


def test_the_size_check_counts_pre_pad(monkeypatch):
    monkeypatch.setattr(host_memory, 'available_memory', lambda: 100 * 2**20)
    image = np.zeros((32, 32, 3), np.uint8)
    tiny_upsampler(pre_pad=0).enhance(image)  # fits easily
    with pytest.raises(MemoryError, match=r'Upscaling the 32x32 image to 128x128 needs about 0\.\d GiB.*--pre_pad'):
        tiny_upsampler(pre_pad=600).enhance(image)  # a 632x632 network input
