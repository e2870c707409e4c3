"""Optional face restoration with GFPGAN (``--face_enhance``), with Real-ESRGAN upscaling the background.

GFPGAN is not a dependency of this package. When it is missing, or its weights cannot be found or downloaded,
:func:`build_face_enhancer` raises :class:`FaceEnhanceUnavailable` with what to do, before any image is processed.
"""

import importlib.util
import os
import sys
from typing import Any, Optional

import cv2
import numpy as np

from realesrgan.zoo.location import resolve_weights_dir

__all__ = ['GFPGAN_URL', 'FaceEnhanceUnavailable', 'build_face_enhancer', 'enhance_faces', 'require_gfpgan']

GFPGAN_URL = 'https://github.com/TencentARC/GFPGAN/releases/download/v1.3.0/GFPGANv1.3.pth'


class FaceEnhanceUnavailable(RuntimeError):  # noqa: N818 (a state, not a failure of the caller's code)
    """GFPGAN or its weights are not available; the message says how to get them."""


def require_gfpgan() -> None:
    """Check that GFPGAN can be imported, without importing it (for a parent process whose workers will use it).

    Raises:
        FaceEnhanceUnavailable: GFPGAN is not installed; the message says how to install it.
    """
    try:
        found = importlib.util.find_spec('gfpgan') is not None
    except ValueError:  # already imported without a spec (a stand-in module)
        found = sys.modules.get('gfpgan') is not None
    if not found:
        raise FaceEnhanceUnavailable(_NOT_INSTALLED)


_NOT_INSTALLED = (
    '--face_enhance needs GFPGAN, which is not installed. Install it with pip install -e ".[face]" '
    '(or pip install gfpgan), or run without --face_enhance.'
)


def build_face_enhancer(upsampler: Any, outscale: float, weights_dir: Optional[str] = None) -> Any:
    """Create a GFPGAN v1.3 face restorer that upscales the rest of the image with ``upsampler``.

    Args:
        upsampler: The :class:`realesrgan.utils.RealESRGANer` for the background.
        outscale: Final scale of the images.
        weights_dir: Folder searched for ``GFPGANv1.3.pth`` before downloading it; None for the default location
            (:func:`realesrgan.zoo.default_weights_location`).

    Returns:
        A ``gfpgan.GFPGANer``.

    Raises:
        FaceEnhanceUnavailable: GFPGAN is not installed, or its weights (or the face detector's, which facexlib
            downloads on first use) cannot be loaded.
    """
    require_gfpgan()
    from gfpgan import GFPGANer

    weights_dir = resolve_weights_dir(weights_dir)
    local = os.path.join(weights_dir, os.path.basename(GFPGAN_URL))
    model_path = local if os.path.isfile(local) else GFPGAN_URL
    try:
        return GFPGANer(
            model_path=model_path, upscale=outscale, arch='clean', channel_multiplier=2, bg_upsampler=upsampler
        )
    except Exception as error:  # GFPGAN and facexlib raise many types for missing or undownloadable weights
        raise FaceEnhanceUnavailable(
            f'GFPGAN could not load its weights ({type(error).__name__}: {error}). Download {GFPGAN_URL} into '
            f'{weights_dir}/ (facexlib also downloads its face detector on first use, so run once with internet '
            'access), or run without --face_enhance.'
        ) from None


def enhance_faces(face_enhancer: Any, img: np.ndarray) -> np.ndarray:
    """Restore the faces of one image and upscale the rest.

    Args:
        face_enhancer: From :func:`build_face_enhancer`.
        img: BGR, BGRA or gray image; gray images are given to GFPGAN as 3 channels (it cannot take 2-D input).

    Returns:
        The restored, upscaled image.
    """
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    _, _, output = face_enhancer.enhance(img, has_aligned=False, only_center_face=False, paste_back=True)
    return output
