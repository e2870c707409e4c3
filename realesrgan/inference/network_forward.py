"""Forward passes with bounded memory: RRDBNet's upsampling tail runs in horizontal bands.

In RRDBNet most activation memory sits in the tail, at 2x and 4x the body's resolution: for a 256 px input each
64-channel feature map of ``conv_up2`` / ``conv_hr`` is 1024 x 1024 x 64 floats (268 MB), two or three alive at
once, while the body's maps are 17 MB. The tail's convolutions reach only a few pixels, so it can run on bands
of rows with a small halo and give exactly the same numbers (every output pixel sees the same inputs and the
same zero border; ``tests/inference/test_network_forward.py`` checks equality). Peak memory then depends on the
band, not the image, and a tiled run's peak stays close to an untiled run of one tile.
"""

import torch
import torch.nn.functional as F
from basicsr.archs.arch_util import pixel_unshuffle
from basicsr.archs.rrdbnet_arch import RRDBNet
from torch import nn

__all__ = ['BAND_PIXELS', 'TAIL_HALO', 'forward_network']

# Body-resolution pixels per tail band (rows x width): each 64-channel 4x feature map of a band is 50 MB, under
# the 64 MiB that glibc's per-thread heaps can hold and reuse (see heap_reuse).
BAND_PIXELS = 96 * 128
# The fewest rows in a band: thinner bands spend more on the halo than they save.
MIN_BAND_ROWS = 8
# Rows of context above and below a band, in body pixels. conv_up1 reaches 1 px at 2x (2 px at 4x), conv_up2,
# conv_hr and conv_last 1 px each at 4x: 5 output rows in all, covered by 2 body rows (8 output rows).
TAIL_HALO = 2
# The tail upsamples twice by 2.
TAIL_SCALE = 4


def _rrdbnet_tail(model: RRDBNet, feat: torch.Tensor) -> torch.Tensor:
    """RRDBNet's layers after the body, exactly as ``RRDBNet.forward`` runs them."""
    feat = model.lrelu(model.conv_up1(F.interpolate(feat, scale_factor=2, mode='nearest')))
    feat = model.lrelu(model.conv_up2(F.interpolate(feat, scale_factor=2, mode='nearest')))
    return model.conv_last(model.lrelu(model.conv_hr(feat)))


def _band_rows(width: int, band_pixels: int) -> int:
    return max(MIN_BAND_ROWS, band_pixels // max(1, width))


def _rrdbnet_forward(model: RRDBNet, x: torch.Tensor, band_pixels: int) -> torch.Tensor:
    """``RRDBNet.forward`` with the tail run band by band (same output)."""
    if model.scale == 2:
        feat = pixel_unshuffle(x, scale=2)
    elif model.scale == 1:
        feat = pixel_unshuffle(x, scale=4)
    else:
        feat = x
    feat = model.conv_first(feat)
    feat = model.conv_body(model.body(feat)).add_(feat)  # = feat + body_feat, without a third map
    batch, _, height, width = feat.shape
    rows = _band_rows(width, band_pixels)
    if height <= rows + 2 * TAIL_HALO:
        return _rrdbnet_tail(model, feat)

    output = None
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        first, last = max(0, top - TAIL_HALO), min(height, bottom + TAIL_HALO)
        band = _rrdbnet_tail(model, feat[:, :, first:last])
        if output is None:  # dtype and layout of the band (autocast may give bf16/fp16)
            memory_format = (
                torch.channels_last
                if band.is_contiguous(memory_format=torch.channels_last)
                else torch.contiguous_format
            )
            output = torch.empty(
                (batch, band.shape[1], height * TAIL_SCALE, width * TAIL_SCALE),
                dtype=band.dtype,
                device=band.device,
                memory_format=memory_format,
            )
        skip = (top - first) * TAIL_SCALE
        output[:, :, top * TAIL_SCALE : bottom * TAIL_SCALE] = band[:, :, skip : skip + (bottom - top) * TAIL_SCALE]
    return output


def forward_network(model: nn.Module, x: torch.Tensor, band_pixels: int = BAND_PIXELS) -> torch.Tensor:
    """Run ``model`` on ``x`` with the same result as ``model(x)``, in less memory where the network allows.

    Args:
        model: The upscaling network. BasicSR's ``RRDBNet`` itself (not a subclass, whose forward may differ) runs
            its tail in bands; any other network runs as ``model(x)``.
        x: Input batch (N, C, H, W).
        band_pixels: Body-resolution pixels per tail band.

    Returns:
        The network output.
    """
    if type(model) is RRDBNet:
        return _rrdbnet_forward(model, x, band_pixels)
    return model(x)
