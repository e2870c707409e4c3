"""Images of any bit depth brought to the 0-255 range BasicSR's metrics are written for."""

from typing import Optional

import numpy as np

__all__ = ['peak_of', 'to_255']

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
