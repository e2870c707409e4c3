"""PSNR of two images of any bit depth, on BasicSR's ``calculate_psnr`` (the MATLAB-matching reference)."""

from typing import Optional

import numpy as np
from basicsr.metrics.psnr_ssim import calculate_psnr

from realesrgan.metrics.image_range import peak_of, to_255

__all__ = ['psnr']


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
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f'Cannot compare images of shapes {reference.shape} and {other.shape}.')
    # BasicSR measures against a peak of 255: both images are brought to that range with the reference's peak
    peak = peak_of(reference, data_range)
    return float(
        calculate_psnr(to_255(reference, peak), to_255(other, peak), crop_border=crop_border, test_y_channel=y_channel)
    )
