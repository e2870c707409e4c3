"""NIQE, the no-reference quality score of the Real-ESRGAN paper, on BasicSR's ``calculate_niqe``.

NIQE (lower is better) fits a Gaussian model to the statistics of an image's 96x96 blocks and measures its distance
to the model of pristine natural images whose parameters ship with BasicSR (those of the MATLAB release). With
fewer than two blocks the covariance of the block features is undefined and BasicSR fails deep inside NumPy
("SVD did not converge" for a 160 px image): such images, and images without texture, get a clear message here.
"""

import warnings
from typing import Optional

import numpy as np
from basicsr.metrics.niqe import calculate_niqe

from realesrgan.metrics.image_range import to_255

__all__ = ['NIQE_BLOCK', 'niqe', 'niqe_size_problem']

NIQE_BLOCK = 96  # side of the blocks NIQE's pristine model was fitted on (BasicSR's block_size_h/w)
MIN_BLOCKS = 2  # a covariance needs two samples


def niqe_size_problem(height: int, width: int, crop_border: int = 0) -> Optional[str]:
    """Why NIQE cannot measure an image of this size, or None when it can.

    Args:
        height: Image height.
        width: Image width.
        crop_border: Pixels cut from each border before measuring.
    """
    inner_height, inner_width = height - 2 * crop_border, width - 2 * crop_border
    blocks = max(inner_height // NIQE_BLOCK, 0) * max(inner_width // NIQE_BLOCK, 0)
    if blocks >= MIN_BLOCKS:
        return None
    return (
        f'NIQE needs at least {MIN_BLOCKS} blocks of {NIQE_BLOCK}x{NIQE_BLOCK} pixels, e.g. an image of '
        f'{2 * NIQE_BLOCK}x{NIQE_BLOCK}; this one is {inner_width}x{inner_height} after crop_border {crop_border} '
        f'({blocks} block{"" if blocks == 1 else "s"})'
    )


def niqe(img: np.ndarray, data_range: Optional[float] = None, crop_border: int = 0, convert_to: str = 'y') -> float:
    """NIQE of an image (lower is better).

    Args:
        img: (H, W) gray or (H, W, 3) BGR image; uint8, uint16 or float.
        data_range: The peak value; by default 255 for uint8, 65535 for uint16 and 1 for float images.
        crop_border: Pixels cut from each border before measuring.
        convert_to: ``'y'`` (Y of YCbCr, as the MATLAB code) or ``'gray'``, for colour images.

    Returns:
        The NIQE score.

    Raises:
        ValueError: The image holds fewer than two 96x96 blocks after ``crop_border``, or its blocks have no
            texture to measure.
    """
    if convert_to not in ('y', 'gray'):
        raise ValueError(f"NIQE's convert_to is 'y' or 'gray', not {convert_to!r}")
    img = np.asarray(img)
    problem = niqe_size_problem(img.shape[0], img.shape[1], crop_border)
    if problem:
        raise ValueError(problem)
    height, width = img.shape[0] - 2 * crop_border, img.shape[1] - 2 * crop_border
    try:
        with warnings.catch_warnings():  # NumPy's warnings about flat blocks: the error below says it once
            warnings.simplefilter('ignore', RuntimeWarning)
            return float(calculate_niqe(to_255(img, data_range), crop_border=crop_border, convert_to=convert_to))
    except np.linalg.LinAlgError:
        raise ValueError(
            f'NIQE cannot be computed for this {width}x{height} image: its {NIQE_BLOCK}x{NIQE_BLOCK} blocks are '
            'too flat (no texture statistics to fit)'
        ) from None
