"""Writing output images: JPEG, PNG, WebP and TIFF, with a quality, 16 bits where the format has them, metadata.

The pixels are encoded as the original writes them, by OpenCV with its defaults (JPEG quality 95, lossless WebP
when no quality is given), so an output without metadata is byte for byte the original's. OpenCV cannot write
PNG text chunks, DPI or TIFF metadata, so an output that keeps metadata is written by Pillow with the same encoder
settings: the same libjpeg / libwebp calls give the same image data (a test checks this for JPEG and WebP), and
PNG and TIFF are lossless anyway (TIFF files with metadata are uncompressed: Pillow compresses through libtiff,
which cannot write EXIF sub-directories). Pillow holds no 16-bit colour images: those keep their 16 bits and lose
their metadata, with a note.
"""

import io
import os
from typing import Any, Dict, List, Optional, Tuple

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

from realesrgan.fileio.atomic import atomic_output
from realesrgan.fileio.images import write_image
from realesrgan.fileio.metadata import ImageMetadata

__all__ = ['DEFAULT_JPEG_QUALITY', 'EIGHT_BIT_ONLY', 'format_of', 'save_image', 'to_format_depth']

# What cv2.imwrite uses without IMWRITE_JPEG_QUALITY, i.e. what the original writes.
DEFAULT_JPEG_QUALITY = 95
# The formats whose metadata is kept, by file extension, as Pillow names them.
_FORMATS = {'.jpg': 'JPEG', '.jpeg': 'JPEG', '.png': 'PNG', '.webp': 'WEBP', '.tif': 'TIFF', '.tiff': 'TIFF'}
# Formats without 16-bit samples: 16-bit results are converted to 8 bits for them.
EIGHT_BIT_ONLY = ('JPEG', 'WEBP')
# What each format can carry.
_CARRIES = {
    'JPEG': ('exif', 'icc_profile', 'dpi'),
    'PNG': ('exif', 'icc_profile', 'text', 'dpi'),
    'WEBP': ('exif', 'icc_profile'),
    'TIFF': ('exif', 'icc_profile', 'dpi'),
}
# libwebp's simple lossless API (OpenCV's lossless WebP) works at this effort.
_WEBP_LOSSLESS_EFFORT = 70
_OPENCV_WEBP_LOSSLESS = 101  # an IMWRITE_WEBP_QUALITY above 100 means lossless


def format_of(path: str) -> Optional[str]:
    """The format of an output file by its extension (``'JPEG'``, ``'PNG'``, ``'WEBP'``, ``'TIFF'``), else None."""
    return _FORMATS.get(os.path.splitext(path)[1].lower())


def to_format_depth(img: np.ndarray, path: str) -> Tuple[np.ndarray, bool]:
    """The image as the format of ``path`` can store it: 16-bit images become 8-bit for JPEG and WebP.

    Args:
        img: The image (uint8 or uint16, OpenCV layout).
        path: The output file.

    Returns:
        The image, and whether it was converted (``round(v / 257)``: 65535 becomes 255).
    """
    if img.dtype == np.uint16 and format_of(path) in EIGHT_BIT_ONLY:
        return np.round(img / 257.0).astype(np.uint8), True
    return img, False


def _opencv_params(fmt: Optional[str], quality: Optional[int]) -> List[int]:
    if quality is None:
        return []  # OpenCV's defaults, as the original
    if fmt == 'JPEG':
        return [cv2.IMWRITE_JPEG_QUALITY, quality]
    if fmt == 'WEBP':
        return [cv2.IMWRITE_WEBP_QUALITY, _OPENCV_WEBP_LOSSLESS if quality == 100 else quality]
    return []


def _pillow_image(img: np.ndarray) -> Optional[Image.Image]:
    """The Pillow image of an OpenCV one (BGR/BGRA or gray), or None when Pillow cannot hold it (16-bit colour)."""
    if img.ndim == 2:
        return Image.fromarray(img)  # 'L', or 'I;16' for uint16
    if img.dtype != np.uint8:
        return None
    order = [2, 1, 0, 3] if img.shape[2] == 4 else [2, 1, 0]
    return Image.fromarray(np.ascontiguousarray(img[:, :, order]))


def _pillow_options(fmt: str, quality: Optional[int], metadata: ImageMetadata, gray: bool) -> Dict[str, Any]:
    """Pillow's save options that match OpenCV's encoder settings, and the metadata the format carries."""
    options: Dict[str, Any] = {}
    if fmt == 'JPEG':
        options.update(quality=DEFAULT_JPEG_QUALITY if quality is None else quality)
        if not gray:
            options['subsampling'] = '4:2:0'  # OpenCV's default
    elif fmt == 'WEBP':
        if quality is None or quality == 100:
            options.update(lossless=True, quality=_WEBP_LOSSLESS_EFFORT, method=4)
        else:
            options.update(quality=quality, method=4)
    elif fmt == 'TIFF':
        # Uncompressed, by Pillow's own writer: libtiff (which compresses) cannot write the EXIF and GPS
        # sub-directories. OpenCV, without metadata, compresses with LZW.
        options['compression'] = None
    carried = _CARRIES[fmt]
    if metadata.exif and 'exif' in carried:
        options['exif'] = metadata.exif
    if metadata.icc_profile and 'icc_profile' in carried:
        options['icc_profile'] = metadata.icc_profile
    if metadata.dpi and 'dpi' in carried:
        options['dpi'] = metadata.dpi
    if metadata.text and 'text' in carried:
        info = PngImagePlugin.PngInfo()
        for chunk in metadata.text:
            if chunk.lang is None:
                info.add_text(chunk.key, chunk.value)
            else:
                info.add_itxt(chunk.key, chunk.value, chunk.lang, chunk.translated_key)
        options['pnginfo'] = info
    return options


def _carries_any(fmt: Optional[str], metadata: Optional[ImageMetadata]) -> bool:
    return bool(metadata) and fmt in _CARRIES and any(getattr(metadata, name) for name in _CARRIES[fmt])


def save_image(
    path: str, img: np.ndarray, quality: Optional[int] = None, metadata: Optional[ImageMetadata] = None
) -> Optional[str]:
    """Write an image atomically, its folder created when missing; the format follows the extension of ``path``.

    Args:
        path: Output file.
        img: The image in OpenCV layout (BGR/BGRA or gray), uint8 or uint16 (16-bit only where the format has it:
            see :func:`to_format_depth`).
        quality: JPEG and WebP quality, 1 to 100 (100: lossless WebP); None for OpenCV's defaults (JPEG 95,
            lossless WebP), as the original.
        metadata: What to write besides the pixels (what the format carries of it); None for nothing.

    Returns:
        A note when metadata had to be left out (16-bit colour, or metadata Pillow refuses to write: the pixels
        are then written without it), else None.

    Raises:
        OSError: The image cannot be encoded or written.
    """
    fmt = format_of(path)
    if not _carries_any(fmt, metadata):
        write_image(path, img, _opencv_params(fmt, quality))
        return None
    pillow_image = _pillow_image(img)
    if pillow_image is None:
        write_image(path, img, _opencv_params(fmt, quality))
        return f'the metadata of 16-bit colour images is not kept in {fmt} files (Pillow writes no 16-bit colour)'
    buffer = io.BytesIO()
    try:
        pillow_image.save(buffer, fmt, **_pillow_options(fmt, quality, metadata, img.ndim == 2))
    except Exception as error:  # noqa: BLE001 (Pillow refuses some metadata, e.g. EXIF over 64 KB in JPEG)
        write_image(path, img, _opencv_params(fmt, quality))
        return f'metadata that Pillow cannot write in {fmt} files is left out ({" ".join(str(error).split())})'
    with atomic_output(path) as partial, open(partial, 'wb') as file:
        file.write(buffer.getvalue())
    return None
