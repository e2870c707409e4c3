"""The frame upscaler of the video workers: :class:`realesrgan.utils.RealESRGANer` (and GFPGAN) on one device.

The parent process resolves the model once (:func:`realesrgan.model_choice.choose_model`: name or weights file,
architecture, denoise blend) into a :class:`RealESRGANRecipe`, which is small and picklable; each worker calls
the recipe with its device to build its own ``RealESRGANer``, so weights are found, downloaded or converted only
once per job, exactly as ``inference_realesrgan.py`` would for images.
"""
import functools
import importlib.util
from dataclasses import dataclass
from typing import Optional

import numpy as np

from realesrgan.face_enhance import build_face_enhancer, enhance_faces
from realesrgan.model_choice import DEFAULT_WEIGHTS_DIR, ModelChoice, choose_model
from realesrgan.precision import PRECISIONS
from realesrgan.utils import DEFAULT_TILE_BLEND, RealESRGANer
from realesrgan.video.worker import FrameUpscaler


@dataclass(frozen=True)
class RealESRGANRecipe:
    """How a worker builds its upscaler: ``recipe(device)`` returns the frame upscaler.

    Attributes:
        choice: The resolved model and its local weights.
        outscale: Final scale of the frames (the network's output is resized when it differs).
        tile: Tile size (0: whole frames).
        tile_pad: Overlap of the tiles.
        pre_pad: Reflection padding added before the network.
        precision: ``'auto'``, ``'fp32'``, ``'fp16'`` or ``'bf16'`` (see :mod:`realesrgan.precision`).
        tile_blend: Extra cross-faded context of each tile seam.
        tile_batch: Tiles per forward pass.
        alpha_upsampler: Passed to ``RealESRGANer.enhance`` (video frames have no alpha; kept for parity).
        face_enhance: Restore faces with GFPGAN (needs the ``gfpgan`` package and its weights).
        weights_dir: Where GFPGAN's weights are looked for.
    """

    choice: ModelChoice
    outscale: float
    tile: int = 0
    tile_pad: int = 10
    pre_pad: int = 0
    precision: str = 'auto'
    tile_blend: int = DEFAULT_TILE_BLEND
    tile_batch: int = 1
    alpha_upsampler: str = 'realesrgan'
    face_enhance: bool = False
    weights_dir: str = DEFAULT_WEIGHTS_DIR

    def __call__(self, device: str) -> FrameUpscaler:
        """Build the upscaler on ``device`` (e.g. ``'cpu'``, ``'cuda:1'``).

        Raises:
            realesrgan.face_enhance.FaceEnhanceUnavailable: ``face_enhance`` without GFPGAN or its weights.
        """
        upsampler = self.choice.upsampler(
            tile=self.tile,
            tile_pad=self.tile_pad,
            pre_pad=self.pre_pad,
            device=device,
            precision=self.precision,
            tile_blend=self.tile_blend,
            tile_batch=self.tile_batch)
        if self.face_enhance:
            return functools.partial(enhance_faces, build_face_enhancer(upsampler, self.outscale, self.weights_dir))
        return _Enhance(upsampler, self.outscale, self.alpha_upsampler)


class _Enhance:
    """``RealESRGANer.enhance`` with the job's outscale, returning only the image."""

    def __init__(self, upsampler: RealESRGANer, outscale: float, alpha_upsampler: str) -> None:
        self.upsampler = upsampler
        self.outscale = outscale
        self.alpha_upsampler = alpha_upsampler

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        output, _ = self.upsampler.enhance(frame, outscale=self.outscale, alpha_upsampler=self.alpha_upsampler)
        return output


def make_recipe(model_name: Optional[str] = None,
                model_path: Optional[str] = None,
                denoise_strength: float = 0.5,
                outscale: Optional[float] = None,
                tile: int = 0,
                tile_pad: int = 10,
                pre_pad: int = 0,
                precision: str = 'auto',
                tile_blend: int = DEFAULT_TILE_BLEND,
                tile_batch: int = 1,
                alpha_upsampler: str = 'realesrgan',
                face_enhance: bool = False,
                weights_dir: str = DEFAULT_WEIGHTS_DIR) -> RealESRGANRecipe:
    """Check the arguments and find the weights, once, in the parent process.

    Args:
        model_name: Official model name; see :func:`realesrgan.model_choice.choose_model` for ``None``.
        model_path: Your own weights (file or URL) instead of the official ones.
        denoise_strength: Blend with the denoise partner of realesr-general-x4v3 (1: the model alone).
        outscale: Final scale; ``None`` for the model's own (2 or 3 for the -x2/-x3 variants, else 4).
        tile: Tile size, 0 for none.
        tile_pad: Tile overlap.
        pre_pad: Reflection padding before the network.
        precision: ``'auto'``, ``'fp32'``, ``'fp16'`` or ``'bf16'``.
        tile_blend: Extra cross-faded context of each tile seam.
        tile_batch: Tiles per forward pass.
        alpha_upsampler: ``'realesrgan'`` or another name (cv2 resize) for alpha channels.
        face_enhance: Restore faces with GFPGAN.
        weights_dir: Folder of downloaded and converted weights.

    Returns:
        The recipe.

    Raises:
        ValueError: Unknown model name (the message lists the valid ones), a non-positive outscale, a negative
            tile size or padding, an unknown precision, a denoise strength outside [0, 1], or ``face_enhance``
            without the gfpgan package.
        realesrgan.zoo.WeightsNotFoundError: No weights could be found, downloaded or converted.
    """
    if outscale is not None and not outscale > 0:
        raise ValueError(f'outscale must be positive, got {outscale:g}')
    if min(tile, tile_pad, pre_pad, tile_blend) < 0:
        raise ValueError('tile, tile_pad, pre_pad and tile_blend must not be negative, got '
                         f'{tile}, {tile_pad}, {pre_pad}, {tile_blend}')
    if tile_batch < 1:
        raise ValueError(f'tile_batch must be at least 1, got {tile_batch}')
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {", ".join(PRECISIONS)}, got {precision}')
    if face_enhance and importlib.util.find_spec('gfpgan') is None:
        raise ValueError('--face_enhance needs GFPGAN, which is not installed: install it with "pip install gfpgan", '
                         'or run without --face_enhance')
    choice = choose_model(model_name, model_path, denoise_strength, weights_dir)
    return RealESRGANRecipe(choice, outscale if outscale is not None else choice.outscale, tile, tile_pad, pre_pad,
                            precision, tile_blend, tile_batch, alpha_upsampler, face_enhance, weights_dir)
