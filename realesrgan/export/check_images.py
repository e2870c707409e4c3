"""Inputs for checking an exported network against PyTorch: a random image and a real one, each at two sizes.

Random values reach every weight; a real image has the statistics the network was trained on (flat areas, edges),
where a wrongly ordered channel or a misplaced resize shows most. Two sizes catch graphs that only work at one shape.
"""

import os
from typing import List, Tuple

import cv2
import numpy as np

from realesrgan.fileio.images import read_image

__all__ = ['check_images', 'check_sizes']


def check_sizes(side: int, multiple: int) -> List[Tuple[int, int]]:
    """Two (height, width) sizes from ``side``: a square and a wide one, both multiples of ``multiple``.

    Args:
        side: Side of the square size.
        multiple: Heights and widths must be multiples of this (the network's ``traits.multiple_of``).

    Returns:
        ``[(side, side), (side * 3 / 4, side)]`` rounded down to multiples (at least ``multiple``).
    """

    def fit(value: int) -> int:
        return max(multiple, value // multiple * multiple)

    return [(fit(side), fit(side)), (fit(side * 3 // 4), fit(side))]


def check_images(image_path: str, num_in_ch: int, side: int, multiple: int) -> List[Tuple[str, np.ndarray]]:
    """A random image and center crops of a real image at the sizes of :func:`check_sizes`.

    Args:
        image_path: The real image (any format OpenCV reads); used for 1- and 3-channel networks only.
        num_in_ch: Channels the network takes.
        side: See :func:`check_sizes`.
        multiple: See :func:`check_sizes`.

    Returns:
        ``(label, image)`` pairs; images are (H, W, C) float32 in [0, 1], RGB for 3 channels.

    Raises:
        FileNotFoundError: The real image cannot be read, or is smaller than the sizes.
    """
    sizes = check_sizes(side, multiple)
    rng = np.random.default_rng(0)
    inputs = [(f'random {h}x{w}', rng.random((h, w, num_in_ch), dtype=np.float32)) for h, w in sizes]
    if num_in_ch not in (1, 3):
        return inputs
    flags = cv2.IMREAD_COLOR if num_in_ch == 3 else cv2.IMREAD_GRAYSCALE
    try:
        image = read_image(image_path, flags)
    except (OSError, ValueError) as error:
        raise FileNotFoundError(f'Cannot read the check image: {error} Pass another one with --image.') from None
    image = image[:, :, ::-1] if num_in_ch == 3 else image[:, :, None]
    name = os.path.basename(image_path)
    for h, w in sizes:
        if image.shape[0] < h or image.shape[1] < w:
            raise FileNotFoundError(
                f'The check image {image_path} ({image.shape[1]}x{image.shape[0]}) is smaller than {w}x{h}; '
                'pass a larger one with --image or a smaller --check-size.'
            )
        top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
        crop = np.ascontiguousarray(image[top : top + h, left : left + w], dtype=np.float32) / 255.0
        inputs.append((f'{name} {h}x{w}', crop))
    return inputs
