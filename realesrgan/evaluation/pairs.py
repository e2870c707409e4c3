"""Which output image goes with which GT image, and how both are read for measuring.

Outputs are matched to GT images by name with the rule of the command line, which writes ``<name>_<suffix>.<ext>``
for the input ``<name>.<ext>``: an output named ``<name>_<suffix>`` (any extension) is measured against the GT
named ``<name>`` (any extension); an output without the suffix is matched by its plain name.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np

from realesrgan.fileio.images import list_images, read_image
from realesrgan.metrics.image_range import to_255

__all__ = ['ImagePair', 'Matching', 'image_key', 'match_images', 'read_for_metrics']


def image_key(file_name: str, suffix: str = '') -> str:
    """The name an image is matched by: its file name without extension and without ``_<suffix>``.

    Args:
        file_name: The image's file name (or path relative to its folder).
        suffix: The output suffix (``out`` by default in the command line); empty for none.
    """
    stem = os.path.splitext(file_name)[0]
    tail = f'_{suffix}' if suffix else ''
    return stem[: -len(tail)] if tail and stem.endswith(tail) and len(stem) > len(tail) else stem


@dataclass(frozen=True)
class ImagePair:
    """An output image and its GT image (None when measuring without GT).

    Attributes:
        key: The shared name (see :func:`image_key`).
        image: Path of the image to measure.
        gt: Path of its GT image, or None.
    """

    key: str
    image: str
    gt: Optional[str]


@dataclass
class Matching:
    """The pairs found in two folders, and the files left without a partner, each with its reason.

    Attributes:
        pairs: The matched pairs, sorted by key.
        unmatched: ``(path, reason)`` of every file that could not be paired.
    """

    pairs: List[ImagePair] = field(default_factory=list)
    unmatched: List[Tuple[str, str]] = field(default_factory=list)


def _by_key(folder: str, suffix: str, unmatched: List[Tuple[str, str]]) -> Dict[str, str]:
    """The images of a folder by key; a second image of the same key is listed in ``unmatched``."""
    found: Dict[str, str] = {}
    for name in list_images(folder):
        key, path = image_key(name, suffix), os.path.join(folder, name)
        if key in found:
            unmatched.append((path, f'same name as {found[key]}: which one to measure is unclear, rename one'))
        else:
            found[key] = path
    return found


def match_images(folder: str, gt_folder: Optional[str] = None, suffix: str = '') -> Matching:
    """Pair the images of ``folder`` with those of ``gt_folder`` by name (see the module's rule).

    Args:
        folder: The images to measure (outputs of a model).
        gt_folder: Their GT images; None for no-reference metrics only (every image is its own pair).
        suffix: The outputs' suffix.

    Returns:
        The pairs and the unpaired files with reasons.

    Raises:
        FileNotFoundError: A folder does not exist.
    """
    matching = Matching()
    images = _by_key(folder, suffix, matching.unmatched)
    if gt_folder is None:
        matching.pairs = [ImagePair(key, path, None) for key, path in sorted(images.items())]
        return matching
    gts = _by_key(gt_folder, '', matching.unmatched)
    for key, path in sorted(images.items()):
        if key in gts:
            matching.pairs.append(ImagePair(key, path, gts[key]))
        else:
            matching.unmatched.append((path, f'no GT image named {key}.* in {gt_folder}'))
    for key, path in sorted(gts.items()):
        if key not in images:
            wanted = f'{key}_{suffix}.*' if suffix else f'{key}.*'
            matching.unmatched.append((path, f'no image named {wanted} in {folder} to compare with'))
    return matching


def read_for_metrics(path: str) -> np.ndarray:
    """An image file as the metrics take it: float64 on the 0-255 scale, (H, W) gray or (H, W, 3) BGR.

    16-bit images are scaled to the same range (65535 -> 255); an alpha channel is left out (the metrics
    measure colour).

    Args:
        path: The image file.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not a readable image.
    """
    img = read_image(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3 and img.shape[2] == 4:
        img = img[..., :3]
    elif img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    return to_255(img)
