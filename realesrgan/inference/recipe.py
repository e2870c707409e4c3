"""What to run: a resolved model and its settings (:class:`UpscalerRecipe`), and the image upscaler it builds.

The job's process resolves the model once (:func:`realesrgan.inference.model_choice.choose_model`) and puts it with
the settings into an :class:`UpscalerRecipe`, which is small and picklable: an executor hands it to each worker,
which builds its own :class:`ImageUpscaler` on its device, so weights are found, downloaded or converted once.
"""

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch

from realesrgan.inference.device import select_device
from realesrgan.inference.face_enhance import build_face_enhancer, enhance_faces
from realesrgan.inference.model_choice import ModelChoice
from realesrgan.inference.precision import resolve_precision
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.inference.tiling import TileCallback
from realesrgan.inference.upsampler import RealESRGANer

__all__ = ['ImageUpscaler', 'UpscalerRecipe', 'describe_engine']


def describe_engine(device: torch.device, precision: str, requested: str) -> str:
    """The line the jobs print once at the start: where and in which precision the network runs.

    Args:
        device: The device chosen.
        precision: The precision it runs in (``'fp32'``, ``'fp16'``, ``'bf16'``).
        requested: The precision asked for (``'auto'`` or a name).

    Returns:
        E.g. ``'Upscaling on cpu in bf16, chosen by auto (--fp32 gives the original's pixels).'``.
    """
    chosen = f'{precision}, chosen by auto' if requested == 'auto' else precision
    pixels = "the original's pixels" if precision == 'fp32' else "--fp32 gives the original's pixels"
    return f'Upscaling on {device} in {chosen} ({pixels}).'


class ImageUpscaler:
    """Upscale one image with the job's final scale and alpha choice, or restore its faces with GFPGAN.

    Args:
        upsampler: The Real-ESRGAN upsampler.
        outscale: Final scale.
        alpha_upsampler: How alpha channels are upscaled (see :meth:`RealESRGANer.enhance`).
        alpha_bleed: Fill the colour under fully transparent pixels first (see :meth:`RealESRGANer.enhance`).
        max_pixels: Largest input accepted (height times width); 0 for no limit.
        face_enhancer: A GFPGAN restorer built on ``upsampler``, or None.
    """

    def __init__(
        self,
        upsampler: RealESRGANer,
        outscale: float,
        alpha_upsampler: str,
        max_pixels: int,
        face_enhancer: Optional[Any] = None,
        alpha_bleed: bool = False,
    ) -> None:
        self.upsampler = upsampler
        self.outscale = outscale
        self.alpha_upsampler = alpha_upsampler
        self.alpha_bleed = alpha_bleed
        self.max_pixels = max_pixels
        self.face_enhancer = face_enhancer

    def __call__(self, img: np.ndarray, on_tile: Optional[TileCallback] = None) -> np.ndarray:
        """The upscaled image (same channels as ``img``).

        Args:
            img: (H, W) gray, (H, W, 3) BGR or (H, W, 4) BGRA image.
            on_tile: Called with (tiles done, tiles in all) after each batch of tiles.

        Raises:
            ValueError: The image has more than ``max_pixels`` pixels, or cannot be upscaled.
        """
        height, width = img.shape[:2]
        if self.max_pixels and height * width > self.max_pixels:
            raise ValueError(
                f'{width}x{height} is {height * width:,} pixels, more than the limit of '
                f'{self.max_pixels:,} (raise it with --max_pixels, 0 for none)'
            )
        if self.face_enhancer is not None:
            return enhance_faces(self.face_enhancer, img)
        output, _ = self.upsampler.enhance(
            img,
            outscale=self.outscale,
            alpha_upsampler=self.alpha_upsampler,
            on_tile=on_tile,
            alpha_bleed=self.alpha_bleed,
        )
        return output

    def frames_per_pass(self, height: int, width: int) -> int:
        """How many video frames of this size :meth:`upscale_frames` should get at once (1 with faces).

        Args:
            height: Frame height.
            width: Frame width.
        """
        if self.face_enhancer is not None:
            return 1
        return self.upsampler.frames_per_pass(height, width)

    def upscale_frames(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Upscale video frames, several per forward pass (:meth:`RealESRGANer.enhance_frames`) where they can be.

        Args:
            frames: BGR uint8 frames.

        Returns:
            The upscaled BGR uint8 frames, in order: the same pixels as calling this object on each.
        """
        oversized = self.max_pixels and any(frame.shape[0] * frame.shape[1] > self.max_pixels for frame in frames)
        if self.face_enhancer is not None or oversized:
            return [self(frame) for frame in frames]
        return self.upsampler.enhance_frames(frames, self.outscale)


@dataclass(frozen=True)
class UpscalerRecipe:
    """How to build the job's :class:`ImageUpscaler`; ``recipe(device)`` builds it on a device (video workers).

    Attributes:
        choice: The resolved model and its local weights.
        settings: The engine settings; ``settings.outscale`` None means the model's own final scale.
        face_enhance: Restore faces with GFPGAN (needs the ``gfpgan`` package and its weights).
        weights_dir: Where GFPGAN's weights are looked for; None for the default location.
    """

    choice: ModelChoice
    settings: UpscaleSettings
    face_enhance: bool = False
    weights_dir: Optional[str] = None

    @property
    def outscale(self) -> float:
        """The final scale of the images."""
        return self.settings.outscale if self.settings.outscale is not None else self.choice.outscale

    def describe(self, device: Union[str, torch.device]) -> str:
        """The line a job prints once at the start: where and in which precision the network runs on ``device``."""
        chosen = select_device(device)
        precision = resolve_precision(self.settings.precision, chosen, traits=self.choice.network.traits)
        return describe_engine(chosen, precision, self.settings.precision)

    def build(self, device: Union[str, torch.device, None] = None) -> ImageUpscaler:
        """Build the upscaler, on ``device`` when given (else the settings' device).

        Raises:
            realesrgan.inference.face_enhance.FaceEnhanceUnavailable: ``face_enhance`` without GFPGAN or its weights.
        """
        settings = self.settings if device is None else self.settings.replace(device=device)
        upsampler = RealESRGANer.from_choice(self.choice, settings)
        face_enhancer = build_face_enhancer(upsampler, self.outscale, self.weights_dir) if self.face_enhance else None
        return ImageUpscaler(
            upsampler, self.outscale, settings.alpha_upsampler, settings.max_pixels, face_enhancer, settings.alpha_bleed
        )

    def __call__(self, device: str) -> ImageUpscaler:
        """The upscaler on ``device`` (e.g. ``'cpu'``, ``'cuda:1'``): the factory the video workers call."""
        return self.build(device)
