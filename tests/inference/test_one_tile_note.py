"""``-t`` larger than the image: one line says that the image fits in one tile and runs untiled (same pixels)."""

import logging

import numpy as np
import torch

from realesrgan.archs.srvgg_arch import SRVGGNetCompact
from realesrgan.utils import RealESRGANer

NOTE = 'fits in one tile'


def upscaler(tile: int) -> RealESRGANer:
    torch.manual_seed(0)
    network = SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4).eval()
    return RealESRGANer(scale=4, model_path=None, model=network, tile=tile, tile_pad=2, half=False, device='cpu')


def notes(caplog) -> list:
    return [record.getMessage() for record in caplog.records if NOTE in record.getMessage()]


def test_an_image_that_fits_one_tile_is_said_once_and_runs_untiled(caplog):
    image = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    tiled = upscaler(64)
    with caplog.at_level(logging.WARNING, logger='realesrgan'):
        first, _ = tiled.enhance(image)
        again, _ = tiled.enhance(image)
    assert notes(caplog) == [
        'A 30x20 image fits in one tile of 64 px (-t): it is upscaled whole, untiled (the same pixels).'
    ]
    untiled, _ = upscaler(0).enhance(image)
    assert np.array_equal(first, untiled) and np.array_equal(again, untiled)


def test_an_image_larger_than_the_tile_gets_no_note(caplog):
    image = np.random.default_rng(0).integers(0, 256, (40, 60, 3), dtype=np.uint8)
    tiles = []
    with caplog.at_level(logging.WARNING, logger='realesrgan'):
        upscaler(16).enhance(image, on_tile=lambda done, total: tiles.append(total))
    assert notes(caplog) == [] and tiles[-1] > 1
