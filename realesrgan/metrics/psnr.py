"""PSNR of two images of any bit depth, on BasicSR's ``calculate_psnr`` (the MATLAB-matching reference)."""

from typing import Optional

import numpy as np
from basicsr.metrics.psnr_ssim import calculate_psnr

__all__ = ['psnr']

_PEAK_OF_DTYPE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def psnr(reference: np.ndarray, other: np.ndarray, data_range: Optional[float] = None, crop_border: int = 0) -> float:
    """PSNR in dB of ``other`` against ``reference``.

    Args:
        reference: The reference image, any layout (H, W, C), (C, H, W) or batched; uint8, uint16 or float.
        other: The image to compare, same shape.
        data_range: The peak value; by default 255 for uint8, 65535 for uint16 and 1 for float images.
        crop_border: Pixels cut from each border of (H, W, C) images before measuring (BasicSR's ``crop_border``).

    Returns:
        The PSNR; ``inf`` for identical images.

    Raises:
        ValueError: The shapes differ.
    """
    reference, other = np.asarray(reference), np.asarray(other)
    if reference.shape != other.shape:
        raise ValueError(f'Cannot compare images of shapes {reference.shape} and {other.shape}.')
    peak = data_range if data_range is not None else _PEAK_OF_DTYPE.get(reference.dtype, 1.0)
    # BasicSR measures against a peak of 255: bring both images to that range.
    to_255 = 255.0 / peak
    return float(
        calculate_psnr(
            reference.astype(np.float64) * to_255, other.astype(np.float64) * to_255, crop_border=crop_border
        )
    )
