"""The frame upscaler of the video workers: :class:`realesrgan.utils.RealESRGANer` on one device.

The parent process resolves the model once (name or weights file, architecture, denoise blend) into a
:class:`RealESRGANRecipe`, which is small and picklable; each worker calls the recipe with its device to build
its own ``RealESRGANer``, so weights are found, downloaded or converted only once per job.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

import numpy as np

from realesrgan.video.worker import FrameUpscaler
from realesrgan.zoo import build_arch, detect_architecture, get_model_spec, load_state_dict, resolve_model_path

DEFAULT_OUTSCALE = 4


@dataclass(frozen=True)
class RealESRGANRecipe:
    """How a worker builds its upscaler: ``recipe(device)`` returns the frame upscaler.

    Attributes:
        arch: Network architecture (``'RRDBNet'`` or ``'SRVGGNetCompact'``).
        arch_kwargs: Its constructor arguments.
        netscale: Scale of the network.
        model_paths: Local weights: one path, or two blended with ``dni_weight``.
        dni_weight: Blend weights of the two paths (deep network interpolation), or ``None``.
        outscale: Final scale of the frames (the network's output is resized when it differs).
        tile: Tile size (0: whole frames).
        tile_pad: Overlap of the tiles.
        pre_pad: Reflection padding added before the network.
        half: Run the network in float16 (for CUDA devices).
        alpha_upsampler: Passed to ``RealESRGANer.enhance`` (frames have no alpha; kept for parity).
    """

    arch: str
    arch_kwargs: Dict[str, Any] = field(hash=False)
    netscale: int
    model_paths: Tuple[str, ...]
    dni_weight: Optional[Tuple[float, float]]
    outscale: float
    tile: int = 0
    tile_pad: int = 10
    pre_pad: int = 0
    half: bool = False
    alpha_upsampler: str = 'realesrgan'

    def __call__(self, device: str) -> FrameUpscaler:
        """Build a ``RealESRGANer`` on ``device`` (e.g. ``'cpu'``, ``'cuda:1'``) and return its frame upscaler."""
        import torch

        from realesrgan.utils import RealESRGANer
        upsampler = RealESRGANer(
            scale=self.netscale,
            model_path=list(self.model_paths) if self.dni_weight else self.model_paths[0],
            dni_weight=list(self.dni_weight) if self.dni_weight else None,
            model=build_arch(self.arch, self.arch_kwargs),
            tile=self.tile,
            tile_pad=self.tile_pad,
            pre_pad=self.pre_pad,
            half=self.half,
            device=torch.device(device))
        return _Enhance(upsampler, self.outscale, self.alpha_upsampler)


class _Enhance:
    """``RealESRGANer.enhance`` with the job's outscale, returning only the image."""

    def __init__(self, upsampler: Any, outscale: float, alpha_upsampler: str) -> None:
        self.upsampler = upsampler
        self.outscale = outscale
        self.alpha_upsampler = alpha_upsampler

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        output, _ = self.upsampler.enhance(frame, outscale=self.outscale, alpha_upsampler=self.alpha_upsampler)
        return output


def make_recipe(model_name: str,
                outscale: Optional[float] = None,
                denoise_strength: float = 0.5,
                tile: int = 0,
                tile_pad: int = 10,
                pre_pad: int = 0,
                half: bool = False,
                alpha_upsampler: str = 'realesrgan',
                weights_dir: str = 'weights',
                model_path: Optional[str] = None) -> RealESRGANRecipe:
    """Check the arguments and find the weights, once, in the parent process.

    Args:
        model_name: Official model name (see :data:`realesrgan.zoo.MODEL_ZOO`).
        outscale: Final scale; ``None`` for the model's own (2 or 3 for the -x2/-x3 variants, else 4).
        denoise_strength: For a model with a denoise partner (realesr-general-x4v3): 1 is the model alone, 0 its
            strong-denoise partner alone, values between blend the two (as the original does).
        tile: Tile size, 0 for none.
        tile_pad: Tile overlap.
        pre_pad: Reflection padding before the network.
        half: float16 inference (give ``True`` only for CUDA devices).
        alpha_upsampler: ``'realesrgan'`` or any other name (cv2 resize) for alpha channels.
        weights_dir: Folder of cached, downloaded and converted weights.
        model_path: Your own weights (a file or URL) instead of the official ones; the architecture is read from
            the file, and no denoise blend is made.

    Returns:
        The recipe.

    Raises:
        ValueError: Unknown model name, a non-positive outscale, a negative tile size or padding, or a denoise
            strength outside [0, 1].
        realesrgan.zoo.WeightsNotFoundError: No weights could be found, downloaded or converted.
        realesrgan.zoo.CheckpointError: ``model_path`` is not a checkpoint of a supported network.
    """
    spec = get_model_spec(model_name)
    outscale = outscale if outscale is not None else spec.outscale or DEFAULT_OUTSCALE
    if outscale <= 0:
        raise ValueError(f'outscale must be positive, got {outscale:g}')
    if min(tile, tile_pad, pre_pad) < 0:
        raise ValueError(f'tile, tile_pad and pre_pad must not be negative, got {tile}, {tile_pad}, {pre_pad}')
    if not 0 <= denoise_strength <= 1:
        raise ValueError(f'denoise_strength must be between 0 and 1, got {denoise_strength:g}')
    if model_path:
        path = resolve_model_path(spec.name, weights_dir, model_path=model_path)
        info = detect_architecture(load_state_dict(path))
        return RealESRGANRecipe(info.arch, dict(info.kwargs), info.netscale, (path, ), None, outscale, tile, tile_pad,
                                pre_pad, half, alpha_upsampler)
    paths = (resolve_model_path(spec.name, weights_dir), )
    dni_weight = None
    if spec.dni_partner and denoise_strength != 1:
        paths += (resolve_model_path(spec.dni_partner, weights_dir), )
        dni_weight = (denoise_strength, 1 - denoise_strength)
    return RealESRGANRecipe(spec.arch, dict(spec.arch_kwargs), spec.netscale, paths, dni_weight, outscale, tile,
                            tile_pad, pre_pad, half, alpha_upsampler)
