"""The comparison picture: for a few images, the same crop of each method's output (and the GT) side by side.

Each row is one image: its name above, then one cell per method, each the same square crop from the centre of
the image, enlarged with nearest-neighbour so that pixels stay visible, with the method's label under it.
"""

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['ComparisonRow', 'centre_box', 'comparison_picture']

CAPTION_HEIGHT = 22
TITLE_HEIGHT = 24
GAP = 4
BACKGROUND = 32
FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.45


@dataclass(frozen=True)
class ComparisonRow:
    """One row of the picture.

    Attributes:
        title: The image's name.
        cells: ``(label, image)`` per column; images (H, W) or (H, W, 3) BGR, uint8 or 0-255 floats.
    """

    title: str
    cells: Sequence[Tuple[str, np.ndarray]]


def centre_box(height: int, width: int, size: int) -> Tuple[int, int, int]:
    """``(top, left, side)`` of the centred square crop of ``size`` (smaller when the image is)."""
    side = min(size, height, width)
    return (height - side) // 2, (width - side) // 2, side


def _ascii(text: str) -> str:
    """OpenCV's fonts draw ASCII only."""
    return text.encode('ascii', 'replace').decode()


def _cell(img: np.ndarray, crop_size: int, cell_size: int, label: str) -> np.ndarray:
    img = np.clip(np.asarray(img, dtype=np.float64), 0, 255).round().astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    top, left, side = centre_box(img.shape[0], img.shape[1], crop_size)
    crop = cv2.resize(
        img[top : top + side, left : left + side], (cell_size, cell_size), interpolation=cv2.INTER_NEAREST
    )
    caption = np.full((CAPTION_HEIGHT, cell_size, 3), BACKGROUND, np.uint8)
    cv2.putText(caption, _ascii(label), (4, CAPTION_HEIGHT - 7), FONT, FONT_SCALE, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([crop, caption], axis=0)


def comparison_picture(rows: Sequence[ComparisonRow], crop_size: int = 64, cell_size: int = 192) -> np.ndarray:
    """Draw the picture.

    Args:
        rows: One per image.
        crop_size: Side of the crop taken from each image, in its own pixels.
        cell_size: Side of each cell in the picture.

    Returns:
        The picture, BGR uint8.

    Raises:
        ValueError: No rows, or a row without cells.
    """
    if not rows or not all(row.cells for row in rows):
        raise ValueError('the comparison picture needs at least one image with at least one output')
    columns = max(len(row.cells) for row in rows)
    width = columns * cell_size + (columns + 1) * GAP
    parts: List[np.ndarray] = []
    for row in rows:
        title = np.full((TITLE_HEIGHT, width, 3), BACKGROUND, np.uint8)
        cv2.putText(title, _ascii(row.title), (GAP, TITLE_HEIGHT - 7), FONT, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        line = np.full((cell_size + CAPTION_HEIGHT, width, 3), BACKGROUND, np.uint8)
        for index, (label, img) in enumerate(row.cells):
            left = GAP + index * (cell_size + GAP)
            line[:, left : left + cell_size] = _cell(img, crop_size, cell_size, label)
        parts += [title, line]
    parts.append(np.full((GAP, width, 3), BACKGROUND, np.uint8))
    return np.concatenate(parts, axis=0)
