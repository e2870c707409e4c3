"""Images of any bit depth brought to the 0-255 range BasicSR's metrics are written for, and the layout the metric
networks take."""

from typing import Optional

import numpy as np

__all__ = ['cropped', 'peak_of', 'rgb_batch', 'to_255']

_PEAK_OF_DTYPE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def peak_of(img: np.ndarray, data_range: Optional[float] = None) -> float:
    """The value of white in ``img``: ``data_range`` when given, else 255 (uint8), 65535 (uint16) or 1 (floats).

    Args:
        img: An image.
        data_range: The peak value, overriding the one of the dtype.
    """
    return float(data_range) if data_range is not None else _PEAK_OF_DTYPE.get(np.asarray(img).dtype, 1.0)


def to_255(img: np.ndarray, data_range: Optional[float] = None) -> np.ndarray:
    """``img`` as float64 on the 0-255 scale (white = 255), unchanged in layout and channel order.

    Args:
        img: An image; uint8, uint16 or float.
        data_range: Its peak value (see :func:`peak_of`).
    """
    img = np.asarray(img)
    return img.astype(np.float64) * (255.0 / peak_of(img, data_range))


def cropped(img: np.ndarray, crop_border: int) -> np.ndarray:
    """``img`` without ``crop_border`` pixels at each border (the same array when ``crop_border`` is 0)."""
    return img[crop_border:-crop_border, crop_border:-crop_border] if crop_border else img


def rgb_batch(img: np.ndarray, takes: str) -> np.ndarray:
    """A (H, W) gray or (H, W, 3) BGR image as the (1, 3, H, W) RGB batch that metric networks take.

    Args:
        img: The image; gray is repeated on the three channels.
        takes: Start of the error message, e.g. ``'LPIPS takes'``.

    Raises:
        ValueError: The image is neither gray nor 3-channel.
    """
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'{takes} gray or 3-channel images, not shape {img.shape}')
    return np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1))[None]
