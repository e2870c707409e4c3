"""Our PSNR and SSIM against pyiqa's, where pyiqa documents the same definition, and the residual explained.

pyiqa computes in float32 with an ``eps`` of 1e-8 in the MSE: its PSNR differs from BasicSR's float64 one by about
1e-4 dB. Its RGB SSIM (``ssimc``) is BasicSR's to 1e-6. Its Y-channel SSIM rounds Y to 8-bit levels first, as
MATLAB's ``rgb2ycbcr`` does for uint8 images, while BasicSR keeps Y fractional: up to about 1e-3 apart, and the
same to 1e-6 once our Y is rounded too.
"""

import numpy as np
import pytest
import torch
from basicsr.metrics.metric_util import to_y_channel
from basicsr.metrics.psnr_ssim import _ssim
from helpers import DISTORTIONS as KINDS
from helpers import distorted

from realesrgan.metrics import get_metric, psnr, ssim

pyiqa = pytest.importorskip('pyiqa')


def as_tensor(img: np.ndarray) -> torch.Tensor:
    """BGR uint8 -> pyiqa's RGB float (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))).float().unsqueeze(0) / 255


def pyiqa_value(name: str, out: np.ndarray, gt: np.ndarray, **options) -> float:
    return pyiqa.create_metric(name, device='cpu', **options)(as_tensor(out), as_tensor(gt)).item()


@pytest.mark.parametrize('kind', KINDS)
def test_psnr_and_rgb_ssim_agree_with_pyiqa(samples, kind):
    for name in ('astronaut', 'chelsea', 'coffee'):
        gt = samples[name]
        out = distorted(gt, kind)
        for crop_border in (0, 4):
            for y_channel in (False, True):
                # pyiqa's Y is that of YCbCr (BT.601) with color_space='ycbcr'; its default is YIQ
                options = dict(test_y_channel=y_channel, crop_border=crop_border)
                if y_channel:
                    options['color_space'] = 'ycbcr'
                ours = psnr(gt, out, crop_border=crop_border, y_channel=y_channel)
                assert ours == pytest.approx(pyiqa_value('psnr', out, gt, **options), abs=0.01), (name, options)
            theirs = pyiqa_value('ssim', out, gt, test_y_channel=False, crop_border=crop_border)
            assert ssim(gt, out, crop_border=crop_border) == pytest.approx(theirs, abs=1e-3)


@pytest.mark.parametrize('kind', KINDS)
def test_y_channel_ssim_differs_from_pyiqa_by_the_rounding_of_y(samples, kind):
    gt = samples['astronaut']
    out = distorted(gt, kind)
    theirs = pyiqa_value('ssim', out, gt, test_y_channel=True, color_space='ycbcr')
    ours = ssim(gt, out, y_channel=True)
    assert abs(ours - theirs) < 2e-3
    y_gt, y_out = (to_y_channel(img)[..., 0].astype(np.float64).round() for img in (gt, out))
    rounded = _ssim(y_gt, y_out)
    assert rounded == pytest.approx(theirs, abs=1e-6)


def test_pyiqa_metrics_by_name(large_photo):
    gt = large_photo[:256, :256]  # MS-SSIM's five scales need more than 176 pixels a side
    out = distorted(gt, 'blur')
    assert get_metric('pyiqa:psnr')(out, gt) == pytest.approx(pyiqa_value('psnr', out, gt), abs=1e-5)
    ms_ssim = get_metric('ms_ssim')  # a pyiqa metric without weights, by its plain name
    assert ms_ssim.full_reference and not ms_ssim.lower_better
    assert ms_ssim(out, gt) == pytest.approx(pyiqa_value('ms_ssim', out, gt), abs=1e-6)
    assert 0.5 < ms_ssim(out, gt) < 1
    cropped = get_metric('pyiqa:psnr', crop_border=8)(out, gt)
    assert cropped == pytest.approx(pyiqa_value('psnr', out[8:-8, 8:-8], gt[8:-8, 8:-8]), abs=1e-5)
