"""Image files on disk: list, read and write them, also for non-ASCII paths, used by inference, training and scripts.

``cv2.imread``/``cv2.imwrite`` fail on non-ASCII paths on some platforms, so files are read as bytes and decoded
(``np.fromfile`` + ``cv2.imdecode``) and written encoded (``cv2.imencode``), atomically
(:func:`realesrgan.fileio.atomic.atomic_output`).
"""

import os
from typing import List, Optional, Sequence

import cv2
import numpy as np

from realesrgan.fileio.atomic import atomic_output

__all__ = ['IMAGE_EXTENSIONS', 'decode_buffer', 'list_images', 'read_image', 'write_image']

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')


def list_images(folder: str, recursive: bool = False) -> List[str]:
    """List the image files of a folder, as paths relative to it, sorted.

    Args:
        folder: Folder to scan.
        recursive: Also scan sub-folders.

    Returns:
        Relative paths (with ``/`` separators) of the files whose extension is in :data:`IMAGE_EXTENSIONS`.

    Raises:
        FileNotFoundError: ``folder`` does not exist or is not a folder.
    """
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'Image folder "{folder}" does not exist (or is not a folder).')
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                found.append(os.path.relpath(os.path.join(root, name), folder).replace(os.sep, '/'))
        if not recursive:
            break
    return sorted(found)


def decode_buffer(buffer: np.ndarray, flags: int) -> Optional[np.ndarray]:
    """``cv2.imdecode`` that answers None for empty input too (OpenCV raises on an empty buffer).

    Args:
        buffer: Encoded image bytes, uint8.
        flags: OpenCV ``IMREAD_*`` flags.

    Returns:
        The decoded image, or None when the bytes are not an image.
    """
    if buffer.size == 0:
        return None
    return cv2.imdecode(buffer, flags)


def read_image(path: str, flags: int = cv2.IMREAD_UNCHANGED) -> np.ndarray:
    """Read an image file as OpenCV does (BGR order), also for non-ASCII paths.

    Args:
        path: Image file.
        flags: OpenCV ``IMREAD_*`` flags.

    Returns:
        The decoded image.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file is not a readable image.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'Image file "{path}" does not exist.')
    img = decode_buffer(np.fromfile(path, dtype=np.uint8), flags)
    if img is None:
        raise ValueError(f'Cannot decode image file "{path}": it is empty, truncated or not an image.')
    return img


def write_image(path: str, img: np.ndarray, params: Optional[Sequence[int]] = None) -> None:
    """Write an image atomically, creating the parent folder; the format follows the file extension.

    Args:
        path: Output file.
        img: Image in OpenCV layout (BGR/BGRA or gray).
        params: OpenCV ``IMWRITE_*`` parameters, e.g. ``[cv2.IMWRITE_PNG_COMPRESSION, 3]``.

    Raises:
        OSError: The image cannot be encoded or written.
    """
    ext = os.path.splitext(path)[1] or '.png'
    ok, buffer = cv2.imencode(ext, img, list(params or []))
    if not ok:
        raise OSError(f'Cannot encode an image of shape {img.shape} as "{ext}" for "{path}".')
    with atomic_output(path) as partial:
        buffer.tofile(partial)
