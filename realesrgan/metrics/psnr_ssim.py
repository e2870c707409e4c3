"""PSNR and SSIM of two images of any bit depth, on BasicSR's ``calculate_psnr`` and ``calculate_ssim``.

Both are BasicSR's reference implementations (PSNR matches MATLAB's, SSIM the authors' MATLAB code); they measure
against a peak of 255, so both images are brought to that range with the reference's peak first.
"""

from typing import Optional, Tuple

import numpy as np
from basicsr.metrics.psnr_ssim import calculate_psnr, calculate_ssim

from realesrgan.metrics.image_range import peak_of, to_255

__all__ = ['psnr', 'ssim']


def _on_255_scale(
    reference: np.ndarray, other: np.ndarray, data_range: Optional[float]
) -> Tuple[np.ndarray, np.ndarray]:
    """Both images on the 0-255 scale of the reference's peak; a ValueError when their shapes differ."""
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f'Cannot compare images of shapes {reference.shape} and {other.shape}.')
    peak = peak_of(reference, data_range)
    return to_255(reference, peak), to_255(other, peak)


def psnr(
    reference: np.ndarray,
    other: np.ndarray,
    data_range: Optional[float] = None,
    crop_border: int = 0,
    y_channel: bool = False,
) -> float:
    """PSNR in dB of ``other`` against ``reference``.

    Args:
        reference: The reference image, any layout (H, W, C), (C, H, W) or batched; uint8, uint16 or float.
        other: The image to compare, same shape.
        data_range: The peak value; by default 255 for uint8, 65535 for uint16 and 1 for float images.
        crop_border: Pixels cut from each border of (H, W, C) images before measuring (BasicSR's ``crop_border``).
        y_channel: Measure on the Y channel of YCbCr (BasicSR's ``test_y_channel``); needs (H, W, 3) BGR images.

    Returns:
        The PSNR; ``inf`` for identical images.

    Raises:
        ValueError: The shapes differ.
    """
    reference, other = _on_255_scale(reference, other, data_range)
    return float(calculate_psnr(reference, other, crop_border=crop_border, test_y_channel=y_channel))


def ssim(
    reference: np.ndarray,
    other: np.ndarray,
    data_range: Optional[float] = None,
    crop_border: int = 0,
    y_channel: bool = False,
) -> float:
    """SSIM of ``other`` against ``reference``: an 11x11 Gaussian window (sigma 1.5), per channel, averaged.

    Args:
        reference: The reference image, (H, W) or (H, W, C), BGR order for ``y_channel``; uint8, uint16 or float.
        other: The image to compare, same shape.
        data_range: The peak value; by default 255 for uint8, 65535 for uint16 and 1 for float images.
        crop_border: Pixels cut from each border before measuring (BasicSR's ``crop_border``).
        y_channel: Measure on the Y channel of YCbCr (BasicSR's ``test_y_channel``).

    Returns:
        The SSIM, 1 for identical images.

    Raises:
        ValueError: The shapes differ, or the image (after ``crop_border``) is smaller than the 11x11 window.
    """
    reference, other = _on_255_scale(reference, other, data_range)
    height, width = reference.shape[0] - 2 * crop_border, reference.shape[1] - 2 * crop_border
    if min(height, width) < 11:
        raise ValueError(
            f'SSIM needs images of at least 11x11 pixels (its window), this one is {width}x{height} after '
            f'crop_border {crop_border}.'
        )
    return float(calculate_ssim(reference, other, crop_border=crop_border, test_y_channel=y_channel))
