"""One image in, one upscaled image out: ``RealESRGANer`` (and GFPGAN for faces) as the jobs use it.

The parent process resolves the model once (:func:`realesrgan.app.model_choice.choose_model`) and puts it with the
settings into an :class:`UpscalerRecipe`, which is small and picklable; the image job builds its upscaler from it,
and each video worker process builds its own on its device, so weights are found, downloaded or converted once.

Video frames take a batched path (:meth:`ImageUpscaler.upscale_frames`): several frames per forward pass, and the
clamp, the scaling to 0..255 and the rounding to uint8 done on the device, so only the 8-bit frames cross to the
host. It gives the same pixels as :meth:`RealESRGANer.enhance` frame by frame.
"""

import logging
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Union

import cv2
import numpy as np
import torch

from realesrgan.app.face_enhance import build_face_enhancer, enhance_faces
from realesrgan.app.model_choice import ModelChoice
from realesrgan.inference.image_conversion import color_output, network_input
from realesrgan.inference.settings import UpscaleSettings
from realesrgan.inference.tile_runner import NonFiniteOutputError, TileCallback, is_out_of_memory
from realesrgan.utils import RealESRGANer

__all__ = ['FRAME_PASS_PIXELS', 'MAX_FRAMES_PER_PASS', 'ImageUpscaler', 'UpscalerRecipe', 'describe_engine']

logger = logging.getLogger(__name__)

# Input pixels per forward pass of video frames, by device type. On GPUs several frames fill the device better
# (PR #650 of the original: 4 frames of 1080p per pass). On CPUs fewer, larger passes spend less on the threads'
# start and sync of each layer: realesr-animevideov3 on 320x180 frames took 5.1 s a frame one per pass, 2.9 s two
# per pass and 2.3-3.2 s four per pass (2 shared AVX-512 cores, fp32), so CPUs take four such frames per pass.
FRAME_PASS_PIXELS = {'cuda': 4 * 1920 * 1080, 'mps': 2 * 1920 * 1080, 'cpu': 4 * 320 * 180}
MAX_FRAMES_PER_PASS = 16


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
        """How many video frames of this size :meth:`upscale_frames` should get at once on this device.

        Args:
            height: Frame height.
            width: Frame width.

        Returns:
            1 where frames cannot share a pass (tiles, faces), else as many as :data:`FRAME_PASS_PIXELS` of the
            device holds, at least 1 and at most :data:`MAX_FRAMES_PER_PASS`.
        """
        if self.face_enhancer is not None or self.upsampler.tile_size > 0:
            return 1
        budget = FRAME_PASS_PIXELS.get(self.upsampler.device.type, FRAME_PASS_PIXELS['cpu'])
        return max(1, min(MAX_FRAMES_PER_PASS, budget // max(1, height * width)))

    def upscale_frames(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        """Upscale video frames, several per forward pass: the same pixels as calling this object on each.

        The frames go through the network as one batch; the clamp, the scaling and the rounding to uint8 run on the
        device. Frames that cannot share a pass (tiles, faces, sizes or types that differ) are done one by one, and
        so is a batch whose pass ran out of memory or gave NaN/Inf in reduced precision (each frame then gets the
        retries of :meth:`RealESRGANer.enhance`).

        Args:
            frames: BGR uint8 frames.

        Returns:
            The upscaled BGR uint8 frames, in order.
        """
        first = frames[0] if frames else None
        if (
            len(frames) < 2
            or self.frames_per_pass(*first.shape[:2]) < 2
            or any(frame.shape != first.shape or frame.dtype != np.uint8 or frame.ndim != 3 for frame in frames)
            or first.shape[2] != 3
            or (self.max_pixels and first.shape[0] * first.shape[1] > self.max_pixels)
        ):
            return [self(frame) for frame in frames]
        try:
            return self._upscale_batch(frames)
        except (NonFiniteOutputError, RuntimeError) as error:
            if not isinstance(error, NonFiniteOutputError) and not is_out_of_memory(error):
                raise
            logger.info('A pass of %d frames failed (%s); upscaling them one by one.', len(frames), error)
            return [self(frame) for frame in frames]

    @torch.inference_mode()
    def _upscale_batch(self, frames: Sequence[np.ndarray]) -> List[np.ndarray]:
        """One forward pass over same-sized BGR uint8 frames, as :meth:`RealESRGANer.enhance` converts each."""
        upsampler = self.upsampler
        height, width = frames[0].shape[:2]
        upsampler._check_host_memory(frames[0], 255, self.outscale)
        padded = upsampler._size_rules().padded_size(height + upsampler.pre_pad, width + upsampler.pre_pad)
        inputs = [
            network_input(
                np.ascontiguousarray(frame),
                255,
                True,
                upsampler.pre_pad,
                padded,
                upsampler.device,
                upsampler.channels_last,
            )
            for frame in frames
        ]
        memory_format = torch.channels_last if upsampler.channels_last else torch.contiguous_format
        batch = torch.cat(inputs).contiguous(memory_format=memory_format)
        output = upsampler._runner().forward(batch, upsampler.precision)
        scale = upsampler.scale
        results = []
        for index in range(len(frames)):
            image = color_output(output[index : index + 1, :, : height * scale, : width * scale], 255)
            if self.outscale != float(scale):
                size = (int(width * self.outscale), int(height * self.outscale))
                image = cv2.resize(image, size, interpolation=cv2.INTER_LANCZOS4)
            results.append(image)
        return results


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

    def build(self, device: Union[str, torch.device, None] = None) -> ImageUpscaler:
        """Build the upscaler, on ``device`` when given (else the settings' device).

        Raises:
            realesrgan.app.face_enhance.FaceEnhanceUnavailable: ``face_enhance`` without GFPGAN or its weights.
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
