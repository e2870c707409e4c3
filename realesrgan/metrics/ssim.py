"""SSIM of two images of any bit depth, on BasicSR's ``calculate_ssim`` (matches the authors' MATLAB code)."""

from typing import Optional

import numpy as np
from basicsr.metrics.psnr_ssim import calculate_ssim

from realesrgan.metrics.image_range import peak_of, to_255

__all__ = ['ssim']


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
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f'Cannot compare images of shapes {reference.shape} and {other.shape}.')
    height, width = reference.shape[0] - 2 * crop_border, reference.shape[1] - 2 * crop_border
    if min(height, width) < 11:
        raise ValueError(
            f'SSIM needs images of at least 11x11 pixels (its window), this one is {width}x{height} after '
            f'crop_border {crop_border}.'
        )
    peak = peak_of(reference, data_range)
    return float(
        calculate_ssim(to_255(reference, peak), to_255(other, peak), crop_border=crop_border, test_y_channel=y_channel)
    )
