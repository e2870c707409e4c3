"""PSNR, SSIM and NIQE equal BasicSR's functions called directly, on the inputs/ samples and made images."""

import math

import cv2
import numpy as np
import pytest
from basicsr.metrics import calculate_niqe, calculate_psnr, calculate_ssim
from helpers import DISTORTIONS as KINDS
from helpers import distorted

from realesrgan.metrics import niqe, psnr, ssim


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('crop_border', [0, 4])
@pytest.mark.parametrize('y_channel', [False, True])
def test_psnr_and_ssim_equal_basicsr(samples, kind, crop_border, y_channel):
    for name, gt in samples.items():
        if y_channel and gt.ndim == 2:
            continue
        out = distorted(gt, kind)
        expected_psnr = calculate_psnr(gt, out, crop_border, test_y_channel=y_channel)
        expected_ssim = calculate_ssim(gt, out, crop_border, test_y_channel=y_channel)
        assert psnr(gt, out, crop_border=crop_border, y_channel=y_channel) == pytest.approx(expected_psnr, abs=1e-6)
        assert ssim(gt, out, crop_border=crop_border, y_channel=y_channel) == pytest.approx(expected_ssim, abs=1e-6)
        assert 15 < expected_psnr < 45 and 0.3 < expected_ssim < 1, name  # real distortions, not degenerate


def test_16_bit_and_float_images_measure_as_their_8_bit_content(samples):
    gt = samples['astronaut']
    out = distorted(gt, 'noise')
    for scaled in (lambda img: img.astype(np.uint16) * 257, lambda img: img / 255.0):
        for y_channel in (False, True):
            assert psnr(scaled(gt), scaled(out), y_channel=y_channel) == pytest.approx(
                psnr(gt, out, y_channel=y_channel), abs=1e-6
            )
            assert ssim(scaled(gt), scaled(out), y_channel=y_channel) == pytest.approx(
                ssim(gt, out, y_channel=y_channel), abs=1e-6
            )
    # a real 16-bit image (values between the 8-bit levels) equals BasicSR's call on the 0-255 scale
    rng = np.random.default_rng(1)
    deep = np.clip(gt.astype(np.float64) * 257 + rng.normal(0, 40, gt.shape), 0, 65535).astype(np.uint16)
    other = cv2.GaussianBlur(deep, (5, 5), 1.0)
    expected = calculate_ssim(deep / 257.0, other / 257.0, 0, test_y_channel=True)
    assert ssim(deep, other, y_channel=True) == pytest.approx(expected, abs=1e-6)
    assert psnr(deep, other) == pytest.approx(calculate_psnr(deep / 257.0, other / 257.0, 0), abs=1e-6)


def test_identical_images_and_bad_pairs(samples):
    gt = samples['chelsea']
    assert psnr(gt, gt) == math.inf and ssim(gt, gt) == pytest.approx(1.0)
    with pytest.raises(ValueError, match='shapes'):
        ssim(gt, gt[:50])
    with pytest.raises(ValueError, match='at least 11x11'):
        ssim(gt[:20, :20], gt[:20, :20], crop_border=5)


@pytest.mark.parametrize('kind', [None, *KINDS])
def test_niqe_equals_basicsr(large_photo, samples, kind):
    images = [large_photo[:256, 128:448], cv2.resize(samples['chelsea'], (300, 200), interpolation=cv2.INTER_CUBIC)]
    for img in images:
        img = img if kind is None else distorted(img, kind)
        for crop_border in (0, 4):
            expected = calculate_niqe(img, crop_border)
            assert niqe(img, crop_border=crop_border) == pytest.approx(expected, abs=1e-6)
            assert 2 < expected < 30
    gray = cv2.resize(samples['camera'], (288, 192))
    assert niqe(gray) == pytest.approx(calculate_niqe(gray, 0), abs=1e-6)
    assert niqe(gray.astype(np.uint16) * 257) == pytest.approx(calculate_niqe(gray, 0), abs=1e-6)


@pytest.mark.filterwarnings('ignore:Degrees of freedom')  # BasicSR's own call, on the image it fails on
def test_niqe_says_why_an_image_is_too_small_or_flat(large_photo):
    # BasicSR fails with "SVD did not converge" on a 160x160 image (a single 96x96 block)
    with pytest.raises(np.linalg.LinAlgError):
        calculate_niqe(large_photo[:160, :160], 0)
    with pytest.raises(ValueError, match=r'at least 2 blocks of 96x96 .* 160x160 after crop_border 0 \(1 block\)'):
        niqe(large_photo[:160, :160])
    with pytest.raises(ValueError, match=r'191x96 after crop_border 4 \(1 block\)'):
        niqe(large_photo[:104, :199], crop_border=4)
    assert niqe(large_photo[:96, :192]) == pytest.approx(calculate_niqe(large_photo[:96, :192], 0), abs=1e-6)
    with pytest.raises(ValueError, match='too flat'):
        niqe(np.full((256, 256, 3), 128, np.uint8))
    with pytest.raises(ValueError, match="convert_to is 'y' or 'gray'"):
        niqe(large_photo, convert_to='rgb')
