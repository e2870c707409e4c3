"""The second-order degradation pipeline: settings, shapes, and what each stage does to the statistics."""

from typing import Any, Dict

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.data.degradations import bivariate_Gaussian
from basicsr.utils import set_random_seed
from basicsr.utils.img_process_util import filter2D
from helpers import KERNEL_SIZE, QUIET, REPO_ROOT, pulses
from torch.nn import functional as F

from realesrgan.metrics import psnr
from realesrgan.models.degradation_pipeline import (
    FIRST_ORDER_DEFAULTS,
    RESIZE_MODES,
    SECOND_ORDER_DEFAULTS,
    DegradationSettings,
    SecondOrderDegradation,
)

OPTIONS = REPO_ROOT / 'options'


def make_pipeline(**options: Any) -> SecondOrderDegradation:
    """A CPU pipeline at scale 4 with gt_size 64, plus the given top-level options."""
    opt: Dict[str, Any] = {'scale': 4, 'gt_size': 64}
    opt.update(options)
    return SecondOrderDegradation(DegradationSettings.from_options(opt), torch.device('cpu'))


def gaussian_kernels(batch: int, sigma: float) -> torch.Tensor:
    """Isotropic Gaussian kernels, (batch, 21, 21)."""
    kernel = bivariate_Gaussian(KERNEL_SIZE, sigma, sigma, 0, isotropic=True)
    return torch.from_numpy(kernel).float().expand(batch, -1, -1).contiguous()


def to_tensor(img_bgr: np.ndarray, size: int = 0) -> torch.Tensor:
    """BGR uint8 image to a (1, 3, h, w) RGB float tensor, optionally resized (bicubic) to size x size."""
    if size:
        img_bgr = cv2.resize(img_bgr, (size, size), interpolation=cv2.INTER_CUBIC)
    rgb = cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).contiguous()


def gradient_energy(img: torch.Tensor) -> float:
    """Mean absolute horizontal plus vertical difference."""
    return float((img[..., 1:, :] - img[..., :-1, :]).abs().mean() + (img[..., 1:] - img[..., :-1]).abs().mean())


def test_defaults_are_the_official_values_and_match_the_configs():
    settings = DegradationSettings.from_options({'scale': 4})
    assert settings.gt_size == 256 and settings.second_blur_prob == 0.8
    assert settings.first.resize_prob == (0.2, 0.7, 0.1) and settings.second.resize_prob == (0.3, 0.4, 0.3)
    assert settings.first.resize_range == (0.15, 1.5) and settings.second.resize_range == (0.3, 1.2)
    assert settings.first.noise_range == (1, 30) and settings.second.noise_range == (1, 25)
    assert settings.first.poisson_scale_range == (0.05, 3) and settings.second.poisson_scale_range == (0.05, 2.5)
    assert settings.first.jpeg_range == settings.second.jpeg_range == (30, 95)
    assert settings.first.gray_noise_prob == settings.second.gray_noise_prob == 0.4
    for name in ('train_realesrnet_x4plus', 'train_realesrgan_x2plus', 'finetune_realesrgan_x4plus'):
        opt = yaml.safe_load((OPTIONS / f'{name}.yml').read_text())
        for key, value in FIRST_ORDER_DEFAULTS.items():
            assert opt[key] == value, (name, key)
        for key, value in SECOND_ORDER_DEFAULTS.items():
            assert opt[f'{key}2'] == value, (name, key)
        assert DegradationSettings.from_options(opt) == DegradationSettings.from_options({'scale': opt['scale']})


@pytest.mark.parametrize(
    'options, message',
    [
        ({'jpeg_range': [30, 100]}, 'jpeg_range'),
        ({'resize_prob2': [0.5, 0.5]}, 'resize_prob2'),
        ({'gaussian_noise_prob': 1.5}, 'gaussian_noise_prob'),
        ({'noise_range': [30, 1]}, 'noise_range'),
        ({'gt_size': 250}, 'multiple of scale'),
    ],
)
def test_bad_settings_are_rejected_with_the_key_named(options, message):
    with pytest.raises(ValueError, match=message):
        make_pipeline(**options)
    with pytest.raises(ValueError, match='scale'):
        DegradationSettings.from_options({'gt_size': 64})


def test_default_degradation_shapes_levels_and_crops(sample_bgr):
    set_random_seed(0)
    gt = torch.cat([to_tensor(sample_bgr), to_tensor(sample_bgr[:, ::-1])])
    pipeline = make_pipeline()
    pair = pipeline(gt, gaussian_kernels(2, 1.5), gaussian_kernels(2, 1.0), pulses(2))

    assert pair.lq.shape == (2, 3, 16, 16) and pair.gt.shape == pair.gt_usm.shape == (2, 3, 64, 64)
    assert pair.lq.dtype == torch.float32 and pair.lq.device.type == 'cpu'
    assert 0 <= pair.lq.min() and pair.lq.max() <= 1
    assert torch.allclose(pair.lq * 255, (pair.lq * 255).round(), atol=1e-4)  # 8-bit levels
    # the GT patch is a crop of the input at a position on the LQ grid, the sharpened patch the same crop of USM(gt)
    sharpened = pipeline.sharpen(gt)
    matches = [
        (top, left)
        for top in range(0, 65, 4)
        for left in range(0, 65, 4)
        if torch.equal(pair.gt, gt[:, :, top : top + 64, left : left + 64])
    ]
    assert len(matches) == 1
    top, left = matches[0]
    assert torch.equal(pair.gt_usm, sharpened[:, :, top : top + 64, left : left + 64])
    assert not torch.equal(pair.gt, pair.gt_usm)


def test_no_degradation_is_exactly_a_plain_downscale(sample_bgr, monkeypatch):
    gt = to_tensor(sample_bgr)
    pipeline = make_pipeline(gt_size=128, **QUIET)
    monkeypatch.setattr(pipeline, 'jpeger', lambda img, quality: img)  # the only stage options cannot switch off
    for sharpen in (False, True):
        set_random_seed(1)
        pair = pipeline(gt, pulses(1), pulses(1), pulses(1), sharpen=sharpen)
        source = pipeline.sharpen(gt) if sharpen else gt
        errors = [
            (pair.lq - (F.interpolate(source, size=(32, 32), mode=mode) * 255).round().clamp(0, 255) / 255)
            .abs()
            .max()
            .item()
            for mode in RESIZE_MODES
        ]
        assert min(errors) < 1e-6, errors
        assert torch.equal(pair.gt, gt)


def test_mildest_jpeg_stays_close_to_a_plain_downscale(sample_bgr):
    gt = to_tensor(sample_bgr)
    set_random_seed(2)
    pair = make_pipeline(gt_size=128, **QUIET)(gt, pulses(1), pulses(1), pulses(1), sharpen=False)
    best = max(
        psnr(F.interpolate(gt, size=(32, 32), mode=mode).clamp(0, 1).numpy(), pair.lq.numpy())  # peak 1.0
        for mode in RESIZE_MODES
    )
    assert best > 30


def test_blur_makes_the_lq_blurrier_than_a_bicubic_downscale(sample_bgr):
    gt = to_tensor(sample_bgr)
    options = dict(QUIET, second_blur_prob=1)
    set_random_seed(3)
    pair = make_pipeline(gt_size=128, **options)(
        gt, gaussian_kernels(1, 3.0), gaussian_kernels(1, 1.5), pulses(1), sharpen=False
    )
    bicubic = F.interpolate(gt, size=(32, 32), mode='bicubic').clamp(0, 1)
    assert gradient_energy(pair.lq) < 0.75 * gradient_energy(bicubic)


def test_noise_makes_the_lq_noisier_than_a_bicubic_downscale():
    ramp = torch.linspace(0.2, 0.8, 128).view(1, 1, 1, 128).expand(1, 3, 128, 128).contiguous()
    options = dict(QUIET, gaussian_noise_prob2=1, noise_range2=[20, 20], gray_noise_prob2=0)
    set_random_seed(4)
    pair = make_pipeline(gt_size=128, **options)(ramp, pulses(1), pulses(1), pulses(1), sharpen=False)
    bicubic = F.interpolate(ramp, size=(32, 32), mode='bicubic')
    residual = (pair.lq - bicubic)[..., 2:-2, 2:-2]  # away from the borders, where resize modes differ
    assert 0.05 < residual.std().item() < 0.09  # sigma 20 / 255 = 0.078, slightly smoothed by JPEG
    assert gradient_energy(pair.lq) > 5 * gradient_energy(bicubic)


def block_boundary_ratio(img: torch.Tensor) -> float:
    """Mean absolute step across 8x8 block boundaries (columns and rows) over the mean step inside blocks."""
    col_steps = (img[..., 1:] - img[..., :-1]).abs().mean(dim=(0, 1, 2))
    row_steps = (img[..., 1:, :] - img[..., :-1, :]).abs().mean(dim=(0, 1, 3))
    steps = col_steps + row_steps
    on_boundary = torch.zeros_like(steps, dtype=torch.bool)
    on_boundary[7::8] = True  # the step between pixel 8k-1 and 8k
    return float(steps[on_boundary].mean() / steps[~on_boundary].mean())


def test_jpeg_at_quality_30_leaves_8x8_block_artefacts(sample_bgr):
    gt = to_tensor(sample_bgr, size=256)
    options = dict(QUIET, jpeg_range=[30, 30], jpeg_range2=[30, 30])
    set_random_seed(5)
    pair = make_pipeline(gt_size=256, **options)(gt, pulses(1), pulses(1), pulses(1), sharpen=False)
    bicubic = F.interpolate(gt, size=(64, 64), mode='bicubic').clamp(0, 1)
    assert block_boundary_ratio(bicubic) < 1.05
    assert block_boundary_ratio(pair.lq) > 1.2


def test_second_blur_right_after_jpeg_does_not_crash(sample_bgr):
    """Regression: DiffJPEG returns a non-contiguous tensor, on which BasicSR 1.4.2's filter2D fails."""
    gt = torch.cat([to_tensor(sample_bgr), to_tensor(sample_bgr[::-1])])
    pipeline = make_pipeline()
    jpeg_out = pipeline.jpeger(gt, quality=gt.new_tensor([50.0, 70.0]))
    assert not jpeg_out.is_contiguous()
    with pytest.raises(RuntimeError, match='view'):
        filter2D.__wrapped__(jpeg_out, gaussian_kernels(2, 1.0))
    set_random_seed(6)
    pair = make_pipeline(second_blur_prob=1)(gt, gaussian_kernels(2, 2.0), gaussian_kernels(2, 1.0), pulses(2))
    assert pair.lq.shape == (2, 3, 16, 16) and torch.isfinite(pair.lq).all()


def test_too_small_ground_truth_gets_a_clear_error():
    pipeline = make_pipeline(gt_size=32)
    with pytest.raises(ValueError, match=r'at least 74 pixels.*crop_pad_size'):
        pipeline(torch.rand(1, 3, 64, 64), pulses(1), pulses(1), pulses(1))
    with pytest.raises(ValueError, match='multiples of the scale'):
        pipeline(torch.rand(1, 3, 98, 98), pulses(1), pulses(1), pulses(1))
